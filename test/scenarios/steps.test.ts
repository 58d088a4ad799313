import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { databaseBytes, engine, query, testDatabase, txplan, workspace } from '../helpers.js';

/** A 1×1 transparent PNG, as a camera roll would never make it but every decoder reads it. */
const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8ffff3f0005fe02fea7d6a4b20000000049454e44ae426082', 'hex');
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/**
 * A workspace with clinic downtown (New York), one patient, plan 1 (active,
 * pay-as-you-go, weekly steps from 2026-11-02) and plan 2 (prescribed, no clinic).
 */
function clinicWorkspace() {
  const dir = workspace();
  const run = (...args: string[]) => txplan(args, { cwd: dir });
  const must = (...args: string[]) => {
    const result = run(...args);
    if (result.code !== 0) throw new Error(`txplan ${args.join(' ')} failed (${result.code}): ${result.stderr}`);
    return result;
  };
  must('clinic', 'add', 'downtown', '--name', 'Downtown', '--timezone', 'America/New_York');
  must('patient', 'add', '--first', 'Zoë', '--last', 'Ødegård', '--mrn', 'A-1001');
  must('plan', 'apply', 'A-1001', 'post-procedure-recovery', '--mode', 'start', '--yes', '--clinic', 'downtown', '--start', '2026-11-02', '--payment-method', 'pm_card_visa');
  must('plan', 'apply', 'A-1001', 'comprehensive-acne-resolution', '--mode', 'prescribe');
  /**
   * Everything a step command could change, as data (file bytes move with WAL
   * checkpoints). `stored` is what holds photo bytes: the files of the
   * attachments folder on SQLite, the attachment_blobs rows (by sha256) on PostgreSQL.
   */
  const state = () => {
    const db = testDatabase(dir, { readonly: true });
    try {
      const rows = (table: string) => db.prepare(`SELECT * FROM ${table} ORDER BY id`).all();
      const attachments = join(dir, '.txplan', 'attachments');
      const stored: string[] =
        engine === 'postgres'
          ? db.prepare('SELECT sha256 FROM attachment_blobs ORDER BY sha256').all().map((row: { sha256: string }) => row.sha256)
          : existsSync(attachments)
            ? readdirSync(attachments)
            : [];
      return { plans: rows('plans'), steps: rows('steps'), attachments: rows('attachments'), audit: rows('audit'), stored };
    } finally {
      db.close();
    }
  };
  const steps = (plan = 1) => state().steps.filter((s) => (s as { plan_id: number }).plan_id === plan) as Array<Record<string, unknown>>;
  return { dir, run, must, state, steps };
}

describe('txplan plan step', () => {
  it('marks a step done with a note, an outcome and a photo kept privately under .txplan/attachments (on PostgreSQL: in the database)', () => {
    const { dir, run, state, steps } = clinicWorkspace();
    writeFileSync(join(dir, 'week1.png'), PNG);
    const result = run('plan', 'step', '--yes', '1', '1', '--done', '--note', 'Healing well', '--outcome', 'Mild redness', '--photo', 'week1.png', '--date', '2026-11-02');
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toContain('Step 1 of plan 1 done on 2026-11-02, with 1 photo.');

    expect(steps()[0]).toMatchObject({ n: 1, status: 'done', completed_on: '2026-11-02', completion_note: 'Healing well', outcome: 'Mild redness' });
    const hash = sha256(PNG);
    if (engine === 'postgres') {
      // Every terminal sees the photo: its bytes are in the database, and no file is left in the workspace.
      const [blob] = query<{ bytes: Uint8Array; size: number }>(dir, 'SELECT bytes, size FROM attachment_blobs WHERE sha256 = ?', hash);
      expect(Buffer.from(blob!.bytes).equals(PNG)).toBe(true);
      expect(blob!.size).toBe(PNG.length);
      expect(existsSync(join(dir, '.txplan', 'attachments'))).toBe(false);
    } else {
      const file = join(dir, '.txplan', 'attachments', `${hash}.png`);
      expect(readFileSync(file).equals(PNG)).toBe(true);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(statSync(join(dir, '.txplan', 'attachments')).mode & 0o777).toBe(0o700);
    }
    const { attachments, audit } = state();
    const path = engine === 'postgres' ? `db:${hash}.png` : `.txplan/attachments/${hash}.png`;
    expect(attachments).toEqual([expect.objectContaining({ sha256: hash, path, original_name: 'week1.png', bytes: PNG.length })]);
    const entry = audit.at(-1) as { action: string; entity: string; entity_id: string; actor: string; before: string; after: string };
    expect(entry).toMatchObject({ action: 'plan.step', entity: 'plan', entity_id: '1', actor: 'test' });
    expect(JSON.parse(entry.before)).toMatchObject({ step: 1, status: 'pending', completed_on: null, photos: [] });
    expect(JSON.parse(entry.after)).toMatchObject({ step: 1, status: 'done', completed_on: '2026-11-02', note: 'Healing well', outcome: 'Mild redness', photos: [hash] });

    // The same picture on another step is stored once and attached twice.
    writeFileSync(join(dir, 'copy.png'), PNG);
    const json = run('--json', 'plan', 'step', '--yes', '1', '2', '--done', '--photo', 'copy.png', '--date', '2026-11-09');
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ id: expect.any(Number), plan_id: 1, n: 2, status: 'done', completed_on: '2026-11-09', attachments: [{ id: expect.any(Number), sha256: hash, original_name: 'copy.png' }] });
    expect(state().stored).toEqual([engine === 'postgres' ? hash : `${hash}.png`]);
    expect(state().attachments).toHaveLength(2);
  });

  it('marks a step skipped on the clinic’s today by default, and will not record a step twice', () => {
    const { run, steps, state } = clinicWorkspace();
    const skipped = run('plan', 'step', '--yes', '1', '2', '--skip', '--note', 'Travelling');
    expect(skipped.code).toBe(0);
    const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'America/New_York' }).format(new Date());
    expect(steps()[1]).toMatchObject({ status: 'skipped', completed_on: today, completion_note: 'Travelling' });

    expect(run('plan', 'step', '--yes', '1', '3', '--done', '--date', '2026-11-16').code).toBe(0);
    const before = state();
    for (const mark of ['--done', '--skip']) {
      const again = run('plan', 'step', '--yes', '1', '3', mark);
      expect(again.code).toBe(1);
      expect(again.stderr).toBe('txplan: Plan 1: step 3 is already done on 2026-11-16; change it with --amend, or return it to pending with --undo\n');
    }
    expect(state()).toEqual(before);
  });

  it('refuses bad input with one sentence and the right exit code, changing nothing', () => {
    const { dir, run, state } = clinicWorkspace();
    writeFileSync(join(dir, 'notes.txt'), 'not a picture\n');
    writeFileSync(join(dir, 'good.png'), PNG);
    const before = state();
    const cases: Array<{ args: string[]; code: number; message: RegExp }> = [
      { args: ['1', '2', '--done', '--skip'], code: 2, message: /exactly one of --done or --skip/ },
      { args: ['1', '2'], code: 2, message: /exactly one of --done or --skip/ },
      { args: ['1', '9', '--done'], code: 1, message: /Plan 1 has steps 1–4, so there is no step 9/ },
      { args: ['1', 'two', '--done'], code: 2, message: /"two" is not a step number/ },
      { args: ['2', '1', '--done'], code: 1, message: /Cannot record a step of plan 2: it has not started; start it first/ },
      { args: ['1', '2', '--done', '--date', '2099-01-01'], code: 1, message: /--date 2099-01-01 is in the future/ },
      { args: ['1', '2', '--done', '--date', '2026-10-30'], code: 1, message: /--date 2026-10-30 is before plan 1 started \(2026-11-02\)/ },
      { args: ['1', '2', '--done', '--date', '2026-02-30'], code: 2, message: /--date "2026-02-30" is not a date/ },
      { args: ['1', '2', '--done', '--photo', 'notes.txt'], code: 1, message: /The photo notes.txt is not a JPEG, PNG, HEIC or WebP image/ },
      { args: ['1', '2', '--done', '--photo', 'good.png', 'missing.jpg'], code: 1, message: /The photo missing.jpg does not exist/ },
      { args: ['1', '2', '--done', '--photo', '.'], code: 1, message: /is not a regular file/ },
      { args: ['99', '1', '--done'], code: 1, message: /No plan 99/ },
    ];
    for (const { args, code, message } of cases) {
      const result = run('plan', 'step', '--yes', ...args);
      expect(result.code, args.join(' ')).toBe(code);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(message);
      expect(result.stderr).toMatch(/^txplan: [^\n]+\n$/);
      expect(result.stderr).not.toContain('    at ');
    }
    expect(state()).toEqual(before);

    const json = run('--json', 'plan', 'step', '--yes', '1', '9', '--done');
    expect(json.stdout).toBe('');
    expect(JSON.parse(json.stderr)).toMatchObject({ error: { code: 'step_not_found' } });
  });

  it('refuses a card number in free text without ever writing or echoing it', () => {
    const { dir, run, state } = clinicWorkspace();
    const before = state();
    for (const flag of ['--note', '--outcome']) {
      const result = run('plan', 'step', '--yes', '1', '1', '--done', flag, 'paid with 4242 4242 4242 4242 today');
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`${flag} looks like it holds a card number`);
      expect(result.stderr + result.stdout).not.toMatch(/4242/);
    }
    writeFileSync(join(dir, '4111-1111-1111-1111.png'), PNG);
    const named = run('plan', 'step', '--yes', '1', '1', '--done', '--photo', '4111-1111-1111-1111.png');
    expect(named.code).toBe(1);
    expect(named.stderr).toContain('looks like it holds a card number');
    expect(named.stderr).not.toMatch(/4111/);
    expect(state()).toEqual(before);
    const bytes = databaseBytes(dir);
    expect(bytes).toContain('A-1001'); // the records are in what was read
    expect(bytes).not.toContain('4242 4242 4242 4242');
    expect(bytes).not.toContain('4242424242424242');
    expect(bytes).not.toContain('4111-1111');
  });
});

describe('txplan plan book', () => {
  it('records a booked clinic-local time and refuses malformed, missing or impossible ones', () => {
    const { run, steps, state } = clinicWorkspace();
    const booked = run('plan', 'book', '1', '2', '--at', '2026-11-10 14:30');
    expect(booked.code).toBe(0);
    expect(booked.stdout).toContain('Booked step 2 of plan 1 for 2026-11-10 14:30 at Downtown (America/New_York)');
    expect(steps()[1]).toMatchObject({ booked_at: '2026-11-10 14:30' });
    const entry = state().audit.at(-1) as { action: string; before: string; after: string };
    expect(entry.action).toBe('plan.book');
    // The booking's revision, which the calendar export carries as SEQUENCE and LAST-MODIFIED, is audited with it.
    expect(JSON.parse(entry.before)).toEqual({ step: 2, booked_at: null, sequence: 0, changed_at: null });
    expect(JSON.parse(entry.after)).toEqual({ step: 2, booked_at: '2026-11-10 14:30', sequence: 1, changed_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T[\d:.]+Z$/) });
    expect(steps()[1]).toMatchObject({ booking_sequence: 1, booking_changed_at: JSON.parse(entry.after).changed_at });

    const moved = run('--json', 'plan', 'book', '1', '2', '--at', '2026-11-11 09:00');
    expect(JSON.parse(moved.stdout)).toMatchObject({ id: expect.any(Number), plan_id: 1, n: 2, booked_at: '2026-11-11 09:00' });

    expect(run('plan', 'step', '--yes', '1', '1', '--done', '--date', '2026-11-02').code).toBe(0);
    const before = state();
    const cases: Array<{ args: string[]; code: number; message: RegExp }> = [
      { args: ['1', '3'], code: 2, message: /Missing --at "YYYY-MM-DD HH:MM"/ },
      { args: ['1', '3', '--at', '2026-11-16'], code: 2, message: /is not a date and time; write it as "YYYY-MM-DD HH:MM"/ },
      { args: ['1', '3', '--at', '2026-11-16 2:30 PM'], code: 2, message: /is not a date and time/ },
      { args: ['1', '3', '--at', '2026-11-16 24:00'], code: 2, message: /is not a date and time/ },
      { args: ['1', '3', '--at', '2027-02-29 10:00'], code: 2, message: /is not a date and time/ },
      { args: ['1', '3', '--at', '2027-03-14 02:30'], code: 1, message: /2027-03-14 02:30 does not exist in America\/New_York/ },
      { args: ['1', '1', '--at', '2026-11-20 10:00'], code: 1, message: /step 1 is already done on 2026-11-02, so it cannot be booked/ },
      { args: ['1', '7', '--at', '2026-11-20 10:00'], code: 1, message: /no step 7/ },
      { args: ['2', '1', '--at', '2026-11-20 10:00'], code: 1, message: /Plan 2 has no clinic.*start it with "txplan plan start 2 --clinic ID" first/ },
    ];
    for (const { args, code, message } of cases) {
      const result = run('plan', 'book', ...args);
      expect(result.code, args.join(' ')).toBe(code);
      expect(result.stderr).toMatch(message);
      expect(result.stderr).toMatch(/^txplan: [^\n]+\n$/);
    }
    expect(state()).toEqual(before);
  });
});

describe('txplan plan schedule', () => {
  it('lists the steps with dates, bookings, status, catalog names and notes', () => {
    const { run } = clinicWorkspace();
    run('plan', 'step', '--yes', '1', '1', '--done', '--date', '2026-11-02');
    run('plan', 'book', '1', '2', '--at', '2026-11-10 14:30');
    const human = run('plan', 'schedule', '1');
    expect(human.code).toBe(0);
    const lines = human.stdout.trimEnd().split('\n').map((l) => l.split('\t'));
    expect(lines).toHaveLength(4);
    expect(lines[0]).toEqual(['1', 'Week 1', '2026-11-02', '', 'done 2026-11-02', 'Post-Procedure Check-In', expect.stringContaining('Complimentary check-in')]);
    expect(lines[1]!.slice(0, 5)).toEqual(['2', 'Week 2', '2026-11-09', '2026-11-10 14:30', 'pending']);
    expect(lines[1]![5]).toContain('Gentle Hydrating Facial');

    const json = JSON.parse(run('--json', 'plan', 'schedule', '1').stdout) as { plan: { id: number }; steps: Array<Record<string, unknown>> };
    expect(json.plan).toMatchObject({ id: 1, status: 'active', clinic: { id: 'downtown', timezone: 'America/New_York' } });
    expect(json.steps).toHaveLength(4);
    expect(json.steps[1]).toMatchObject({ id: expect.any(Number), n: 2, when: 'Week 2', recommended_date: '2026-11-09', booked_at: '2026-11-10 14:30', status: 'pending', services: [{ id: 'hydrating-facial', name: expect.any(String) }, { id: 'led-therapy', name: expect.any(String) }] });

    const prescribed = JSON.parse(run('--json', 'plan', 'schedule', '2').stdout) as { steps: Array<{ recommended_date: unknown }> };
    expect(prescribed.steps.every((s) => s.recommended_date === null)).toBe(true);
  });

  it('exports the pending steps as iCalendar: booked ones at the clinic’s wall-clock time across a DST change, the rest all-day', () => {
    const { dir, run } = clinicWorkspace();
    run('plan', 'step', '--yes', '1', '1', '--done', '--date', '2026-11-02');
    run('plan', 'book', '1', '2', '--at', '2026-11-10 14:30'); // EST, UTC−5
    // EDT, UTC−4, after the March change; after the plan's end (2027-03-02) too, so booked with --force.
    run('plan', 'book', '1', '3', '--at', '2027-03-15 10:00', '--force');

    const result = run('plan', 'schedule', '1', '--ics', 'plan.ics');
    expect(result.code).toBe(0);
    const file = join(dir, 'plan.ics');
    expect(result.stdout).toContain(file);
    const text = readFileSync(file, 'utf8');
    expect(text).toMatch(/^BEGIN:VCALENDAR\r\nVERSION:2\.0\r\n/);
    expect(text.trimEnd()).toMatch(/END:VCALENDAR$/);
    const events = text.split('BEGIN:VEVENT').slice(1).map((e) => e.replace(/\r\n /g, ''));
    expect(events).toHaveLength(3);
    expect(text.match(/END:VEVENT/g)).toHaveLength(3);
    // UIDs name the database (its random id), the plan, the step and the clinic.
    const byStep = Object.fromEntries(events.map((e) => [/UID:txplan-[a-z]{24}-plan-1-step-(\d+)@downtown\.txplan\.invalid\r\n/.exec(e)![1], e]));
    expect(Object.keys(byStep).sort()).toEqual(['2', '3', '4']);
    const step2 = byStep['2']!;
    // Booked times are the clinic's wall-clock times, in its zone (defined in the file).
    expect(step2).toContain('DTSTART;TZID=America/New_York:20261110T143000\r\n');
    expect(step2).toMatch(/DTEND;TZID=America\/New_York:20261110T\d{6}\r\n/);
    expect(step2).toMatch(/SUMMARY:Post-Procedure Recovery Protocol: Gentle Hydrating Facial/);
    expect(step2).toMatch(/DESCRIPTION:Gentle hydrating facial/);
    expect(byStep['3']).toContain('DTSTART;TZID=America/New_York:20270315T100000\r\n');
    expect(byStep['3']).toContain('DTEND;TZID=America/New_York:20270315T102000\r\n'); // progress assessment: 20 minutes
    expect(byStep['4']).toContain('DTSTART;VALUE=DATE:20261123\r\n');
    expect(byStep['4']).toContain('TRANSP:TRANSPARENT\r\n');
    expect(text).toContain('BEGIN:VTIMEZONE\r\nTZID:America/New_York\r\n');
    expect(text).not.toMatch(/Zoë|Ødegård|A-1001|ATTENDEE|ORGANIZER/);

    // No overwrite without --force; with it, the file is replaced whole.
    writeFileSync(file, 'mine');
    const refused = run('plan', 'schedule', '1', '--ics', 'plan.ics');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/plan\.ics already exists; choose another file or add --force/);
    expect(readFileSync(file, 'utf8')).toBe('mine');
    const forced = run('--json', 'plan', 'schedule', '1', '--ics', 'plan.ics', '--force');
    expect(forced.code).toBe(0);
    expect(JSON.parse(forced.stdout)).toMatchObject({ plan: { id: 1 }, ics: { file, events: 3 } });
    expect(readFileSync(file, 'utf8')).toContain('BEGIN:VCALENDAR');
    expect(readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([]);
  });

  it('says a prescribed plan has no dates instead of writing an empty calendar', () => {
    const { dir, run } = clinicWorkspace();
    const result = run('plan', 'schedule', '2', '--ics', 'plan.ics');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^txplan: No calendar written: plan 2 is prescribed only and has no dates yet; start it/);
    expect(existsSync(join(dir, 'plan.ics'))).toBe(false);
  });
});
