import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { beforeAllWithFolders, query, txplan, withoutClockWarning, workspace } from '../helpers.js';
import { pdfText } from '../pdf-text.js';

/**
 * Correcting what the front desk and the clinician recorded: bookings that
 * must fit the plan's dates, booking removal, visits amended and undone, and
 * notes for the patient apart from the chart's. One workspace: plan 1 is a
 * pay-as-you-go recovery plan started on 2026-11-02 (ending 2027-03-02) at a
 * New York clinic; the clock is TXPLAN_NOW.
 */
const NOW = '2026-11-20T15:00:00Z';
/** A 1×1 transparent PNG: a photo taken at a visit. */
const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8ffff3f0005fe02fea7d6a4b20000000049454e44ae426082', 'hex');
let ws = '';
const run = (...args: string[]) => txplan(args, { cwd: ws, env: { TXPLAN_NOW: NOW } });
const runAt = (now: string, ...args: string[]) => txplan(args, { cwd: ws, env: { TXPLAN_NOW: now } });
const must = (...args: string[]) => {
  const result = run(...args);
  if (result.code !== 0) throw new Error(`txplan ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return result;
};
const errorOf = (result: { stderr: string }) => withoutClockWarning(result.stderr);
const step = (n: number) => query<Record<string, unknown>>(ws, 'SELECT * FROM steps WHERE plan_id = 1 AND n = ?', n)[0]!;
const lastAudit = () => {
  const row = query<{ action: string; before: string; after: string }>(ws, 'SELECT action, before, after FROM audit ORDER BY id DESC LIMIT 1')[0]!;
  return { action: row.action, before: JSON.parse(row.before) as Record<string, unknown>, after: JSON.parse(row.after) as Record<string, unknown> };
};

beforeAllWithFolders(() => {
  ws = workspace();
  must('clinic', 'add', 'downtown', '--name', 'Downtown', '--timezone', 'America/New_York');
  must('patient', 'add', '--first', 'Zoë', '--last', 'Ødegård', '--mrn', 'A-1001');
  must('plan', 'apply', 'A-1001', 'post-procedure-recovery', '--mode', 'start', '--yes', '--clinic', 'downtown', '--start', '2026-11-02', '--payment-method', 'pm_card_visa');
}, 60_000);

describe('plan book inside the plan dates', () => {
  it('refuses a time before the start in one sentence naming the dates and --force, and books it with --force (audited as forced)', () => {
    const refused = run('plan', 'book', '1', '3', '--at', '2026-10-30 10:00');
    expect(refused.code).toBe(1);
    expect(errorOf(refused)).toBe('txplan: 2026-10-30 10:00 is before plan 1 starts (it runs 2026-11-02 to 2027-03-02); book a time inside it, or add --force to book it anyway\n');
    expect(step(3).booked_at).toBeNull();

    const forced = run('plan', 'book', '1', '3', '--at', '2026-10-30 10:00', '--force');
    expect(forced.code).toBe(0);
    expect(step(3).booked_at).toBe('2026-10-30 10:00');
    expect(lastAudit()).toMatchObject({ action: 'plan.book', after: { step: 3, booked_at: '2026-10-30 10:00', forced: true } });
  });

  it('says what a rebooking replaced, and --clear removes the booking (the calendar event goes back to its recommended day, a new revision)', () => {
    const rebooked = must('plan', 'book', '1', '3', '--at', '2026-11-24 10:00');
    expect(rebooked.stdout).toContain('(was 2026-10-30 10:00, now 2026-11-24 10:00)');
    const sequence = step(3).booking_sequence as number;

    const cleared = must('plan', 'book', '1', '3', '--clear');
    expect(cleared.stdout).toContain('Cleared the booking of step 3 of plan 1 (was 2026-11-24 10:00)');
    expect(step(3)).toMatchObject({ booked_at: null, booking_sequence: sequence + 1 });
    expect(lastAudit()).toMatchObject({ action: 'plan.book_clear', before: { booked_at: '2026-11-24 10:00' }, after: { booked_at: null } });

    must('plan', 'schedule', '1', '--ics', 'plan.ics');
    const events = txplanCalendarEvents(join(ws, 'plan.ics'));
    const third = events.find((e) => e.includes('-step-3@'))!;
    expect(third).toContain('DTSTART;VALUE=DATE:');
    expect(third).not.toContain('TZID');
    expect(third).toContain(`SEQUENCE:${sequence + 1}`);
  });
});

describe('recorded visits: notes for the patient, amend and undo', () => {
  let chargeId = 0;

  it('keeps the --note internal: the handout prints only the --patient-note, and plan show labels both', async () => {
    must('plan', 'step', '--yes', '1', '2', '--done', '--date', '2026-11-09', '--note', 'Mild erythema on the left cheek', '--patient-note', 'Keep using the ceramide cream twice a day');
    chargeId = query<{ id: number; status: string }>(ws, "SELECT id, status FROM charges WHERE kind = 'step' AND step_n = 2")[0]!.id;
    must('handout', '1', '-o', 'handout.pdf');
    const pdf = await pdfText(join(ws, 'handout.pdf'));
    expect(pdf.text).toContain('Keep using the ceramide cream twice a day');
    expect(pdf.text).not.toContain('erythema');

    const shown = must('plan', 'show', '1').stdout;
    expect(shown).toContain('note (internal): Mild erythema on the left cheek');
    expect(shown).toContain('note (for the patient): Keep using the ceramide cream twice a day');
  });

  it('--amend changes only what is given, audited with before and after', () => {
    const amended = must('plan', 'step', '1', '2', '--amend', '--outcome', 'Redness settling', '--note', 'Erythema fading');
    expect(amended.stdout).toContain('Amended step 2 of plan 1: note, outcome.');
    expect(step(2)).toMatchObject({ status: 'done', completed_on: '2026-11-09', completion_note: 'Erythema fading', outcome: 'Redness settling', patient_note: 'Keep using the ceramide cream twice a day' });
    expect(lastAudit()).toMatchObject({
      action: 'plan.step_amend',
      before: { note: 'Mild erythema on the left cheek', outcome: null },
      after: { note: 'Erythema fading', outcome: 'Redness settling', patient_note: 'Keep using the ceramide cream twice a day' },
    });
  });

  it('--undo is refused while the visit charge is paid and not refunded, naming the charge and billing refund', () => {
    const refused = run('plan', 'step', '1', '2', '--undo');
    expect(refused.code).toBe(1);
    expect(errorOf(refused)).toMatch(new RegExp(`^txplan: Step 2 of plan 1 was paid by charge ${chargeId} \\(.+\\); refund it in full with "txplan billing refund ${chargeId} --reason …" first, then undo the step\\n$`));
    expect(step(2).status).toBe('done');
  });

  it('after a full refund, undoes the visit (audited) and records it again', () => {
    must('billing', 'refund', String(chargeId), '--reason', 'visit recorded on the wrong day', '--yes');
    const undone = must('plan', 'step', '1', '2', '--undo');
    expect(undone.stdout).toContain('Step 2 of plan 1 is pending again (it was done on 2026-11-09).');
    expect(step(2)).toMatchObject({ status: 'pending', completed_on: null, completion_note: null, patient_note: null, outcome: null, performed: null });
    expect(lastAudit()).toMatchObject({ action: 'plan.step_undo', before: { status: 'done', note: 'Erythema fading' }, after: { status: 'pending', note: null } });

    const redone = run('plan', 'step', '--yes', '1', '2', '--done', '--date', '2026-11-10', '--patient-note', 'Seen on the Tuesday');
    expect(redone.code).toBe(0);
    // Each visit has one charge: the refunded one is not made again, and the front desk is told.
    expect(errorOf(redone)).toContain(`was refunded, so this visit is not charged again`);
    expect(step(2)).toMatchObject({ status: 'done', completed_on: '2026-11-10', patient_note: 'Seen on the Tuesday' });
  });

  it('undoes and redoes a complimentary visit', () => {
    must('plan', 'step', '1', '1', '--done', '--date', '2026-11-02');
    must('plan', 'step', '1', '1', '--undo');
    expect(step(1).status).toBe('pending');
    must('plan', 'step', '1', '1', '--skip', '--date', '2026-11-03');
    expect(step(1)).toMatchObject({ status: 'skipped', completed_on: '2026-11-03' });
    // A photo added afterwards is kept with the visit (once, however often it is given).
    writeFileSync(join(ws, 'after.png'), PNG);
    expect(must('plan', 'step', '1', '1', '--amend', '--photo', 'after.png', 'after.png').stdout).toContain('Amended step 1 of plan 1: 1 photo.');
    expect(query(ws, 'SELECT * FROM attachments WHERE step_id = ?', step(1).id)).toHaveLength(1);
  });
});

describe('undo and a declined visit charge', () => {
  it('undoes a visit whose charge was declined, closing that charge so no retry charges a visit no longer recorded', () => {
    must('patient', 'add', '--first', 'José', '--last', 'Núñez', '--mrn', 'A-1002');
    must('plan', 'apply', 'A-1002', 'post-procedure-recovery', '--mode', 'start', '--yes', '--clinic', 'downtown', '--start', '2026-11-02', '--payment-method', 'pm_card_chargeDeclined');
    const declined = run('plan', 'step', '--yes', '2', '2', '--done', '--date', '2026-11-09');
    expect(declined.code).not.toBe(0);
    const charge = () => query<{ id: number; status: string; next_attempt_on: string | null }>(ws, "SELECT id, status, next_attempt_on FROM charges WHERE plan_id = 2 AND kind = 'step'")[0]!;
    expect(charge()).toMatchObject({ status: 'failed', next_attempt_on: expect.any(String) });

    const undone = must('plan', 'step', '2', '2', '--undo');
    expect(undone.stdout).toContain(`Its failed charge ${charge().id} is no longer retried`);
    expect(charge()).toMatchObject({ status: 'failed', next_attempt_on: null });
    expect(lastAudit()).toMatchObject({ action: 'plan.step_undo', after: { status: 'pending', charge_closed: charge().id } });
  });
});

describe('bad corrections', () => {
  it('refuses contradictory flags (exit 2) and amending or undoing a pending step (exit 1), changing nothing', () => {
    const before = query(ws, 'SELECT * FROM steps ORDER BY id');
    const cases: Array<{ args: string[]; code: number; message: RegExp }> = [
      { args: ['plan', 'book', '1', '4', '--at', '2026-11-25 10:00', '--clear'], code: 2, message: /either --at .* or --clear/ },
      { args: ['plan', 'step', '1', '2', '--undo', '--note', 'x'], code: 2, message: /--undo .* takes no --note/ },
      { args: ['plan', 'step', '1', '2', '--amend'], code: 2, message: /--amend needs something to change/ },
      { args: ['plan', 'step', '1', '2', '--done', '--amend'], code: 2, message: /exactly one of --done or --skip/ },
      { args: ['plan', 'step', '1', '4', '--amend', '--note', 'x'], code: 1, message: /step 4 is pending, so there is nothing recorded to amend/ },
      { args: ['plan', 'step', '1', '4', '--undo'], code: 1, message: /step 4 is already pending; nothing to undo/ },
    ];
    for (const { args, code, message } of cases) {
      const result = run(...args);
      expect({ args, code: result.code }).toEqual({ args, code });
      expect(errorOf(result)).toMatch(message);
      expect(errorOf(result).trim().split('\n')).toHaveLength(1);
    }
    expect(query(ws, 'SELECT * FROM steps ORDER BY id')).toEqual(before);
  });
});

describe('pause and resume with bookings', () => {
  it('flags a booking inside the pause, refuses a new one there, and on resume moves pending dates by the pause', () => {
    must('plan', 'book', '1', '4', '--at', '2026-11-25 10:00');
    const before = { 3: step(3).recommended_date as string, 4: step(4).recommended_date as string };

    const paused = run('plan', 'pause', '1', '--until', '2026-12-15', '--json');
    expect(paused.code).toBe(0);
    expect(JSON.parse(paused.stdout).bookings_in_pause).toEqual([{ step: 4, booked_at: '2026-11-25 10:00' }]);
    expect(errorOf(paused)).toContain('step 4 of plan 1 is booked for 2026-11-25 10:00, inside the pause');

    const inside = run('plan', 'book', '1', '3', '--at', '2026-11-30 09:00');
    expect(inside.code).toBe(1);
    expect(errorOf(inside)).toContain('falls inside the pause of plan 1 (paused from 2026-11-20 until 2026-12-15)');
    expect(errorOf(inside)).toContain('--force');

    const resumed = runAt('2026-11-27T15:00:00Z', 'plan', 'resume', '1', '--json');
    expect(resumed.code).toBe(0);
    expect(JSON.parse(resumed.stdout).bookings_in_pause).toEqual([{ step: 4, booked_at: '2026-11-25 10:00' }]);
    const week = (date: string) => new Date(Date.parse(`${date}T00:00:00Z`) + 7 * 86_400_000).toISOString().slice(0, 10);
    // Step 3 was due before the pause began and stays; step 4, due inside it, moves by the 7 days paused, as does the end.
    expect(before[3] < '2026-11-20' && before[4] >= '2026-11-20').toBe(true);
    expect(step(3).recommended_date).toBe(before[3]);
    expect(step(4).recommended_date).toBe(week(before[4]));
    expect(query<{ end_date: string }>(ws, 'SELECT end_date FROM plans WHERE id = 1')[0]!.end_date).toBe('2027-03-09');
    // The booking itself is not moved: the front desk decides.
    expect(step(4).booked_at).toBe('2026-11-25 10:00');
  });
});

/** The VEVENT blocks of an iCalendar file. */
function txplanCalendarEvents(file: string): string[] {
  // Unfolded: a long line continues after CRLF and one space.
  const text = readFileSync(file, 'utf8').replace(/\r\n /g, '');
  return text.split('BEGIN:VEVENT').slice(1).map((block) => block.split('END:VEVENT')[0]!);
}

