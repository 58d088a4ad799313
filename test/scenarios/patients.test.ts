import { spawnSync } from 'node:child_process';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { describe, expect, it } from 'vitest';
import { binary, databaseBytes, databaseEnv, databaseFile, engine, query, repoRoot, testDatabase, txplan, workspace } from '../helpers.js';


/** On SQLite a command that writes nothing leaves no database file behind; a PostgreSQL database is there from the start. */
const hasDatabase = (ws: string) => engine === 'postgres' || existsSync(databaseFile(ws));
const countPatients = (ws: string) => (hasDatabase(ws) ? query<{ n: number }>(ws, 'SELECT count(*) AS n FROM patients')[0]!.n : 0);
const countAudit = (ws: string) => (hasDatabase(ws) ? query<{ n: number }>(ws, 'SELECT count(*) AS n FROM audit')[0]!.n : 0);
/** Nothing was written: no database file on SQLite; on PostgreSQL no patient and no audit entry. */
const wroteNothing = (ws: string) => (engine === 'postgres' ? countPatients(ws) + countAudit(ws) === 0 : !existsSync(databaseFile(ws)));


const VISA = '4111 1111 1111 1111';
const CARD_FORMS = ['4111111111111111', '4111 1111 1111 1111', '4111-1111-1111-1111'];
const CARD_MESSAGE = 'looks like it holds a card number; txplan never stores card numbers, so remove it (payments use a processor token such as pm_…)';

function add(ws: string, ...args: string[]) {
  return txplan(['patient', 'add', ...args], { cwd: ws });
}

/**
 * Runs txplan on a pseudo-terminal (util-linux `script`), as a person would;
 * undefined where `script` is missing. The screen merges stdout and stderr.
 */
function onTerminal(ws: string, args: readonly string[]): { screen: string; code: number } | undefined {
  const command = [process.execPath, binary, '--no-color', ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const run = spawnSync('script', ['-qec', command, '/dev/null'], { cwd: ws, encoding: 'utf8', env: { ...process.env, TERM: 'xterm', TXPLAN_ACTOR: 'test', ...databaseEnv(ws, args) } });
  if (run.error) return undefined;
  return { screen: stripVTControlCharacters(run.stdout).replace(/\r/g, ''), code: run.status ?? -1 };
}

function csv(ws: string, name: string, text: string | Buffer): string {
  writeFileSync(join(ws, name), text);
  return name;
}

describe('txplan patient add', () => {
  it('adds a patient, prints only the id when piped, and audits the new row', () => {
    const ws = workspace();
    const result = add(ws, '--first', ' Zoë ', '--last', 'Ødegård', '--dob', '1988-02-14', '--email', 'zoe@example.org', '--phone', '+47 400 00 101', '--mrn', 'LUM-1001');
    expect(result).toEqual({ code: 0, stdout: '1\n', stderr: '' });

    // The patient's own columns: the folded search columns beside them are not part of the record.
    const [row] = query(ws, 'SELECT id, mrn, first_name, last_name, dob, email, phone, created_at, updated_at, archived_at, merged_into FROM patients');
    expect(row).toMatchObject({ id: 1, mrn: 'LUM-1001', first_name: 'Zoë', last_name: 'Ødegård', dob: '1988-02-14', email: 'zoe@example.org', phone: '+47 400 00 101' });
    const audit = query<{ actor: string; action: string; entity: string; entity_id: string; before: string | null; after: string }>(ws, 'SELECT * FROM audit');
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actor: 'test', action: 'patient.add', entity: 'patient', entity_id: '1', before: null });
    expect(JSON.parse(audit[0]!.after)).toEqual(row);
  });

  it('confirms with the name on a terminal', () => {
    const ws = workspace();
    const terminal = onTerminal(ws, ['patient', 'add', '--first', 'Zoë', '--last', 'Ødegård', '--mrn', 'LUM-1001']);
    if (!terminal) return;
    expect(terminal).toEqual({ code: 0, screen: '✔ Added patient 1: Zoë Ødegård (MRN LUM-1001)\n' });
  });

  it('prints the patient object with its id under --json', () => {
    const ws = workspace();
    const result = txplan(['--json', 'patient', 'add', '--first', 'José', '--last', 'Núñez', '--phone', '+1 (555) 010-0142'], { cwd: ws });
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual({
      id: 1,
      mrn: null,
      first_name: 'José',
      last_name: 'Núñez',
      dob: null,
      email: null,
      phone: '+1 (555) 010-0142',
      archived_at: null,
      merged_into: null,
      created_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
      updated_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
    });
  });

  it('creates the database private: the file 0600 in a 0700 folder (on PostgreSQL: no database file in the workspace at all)', () => {
    const ws = workspace();
    expect(add(ws, '--first', 'Mei', '--last', 'Nakamura').code).toBe(0);
    if (engine === 'postgres') {
      // The records live on the server; nothing of them is written beside the workspace.
      expect(existsSync(join(ws, '.txplan', 'txplan.db'))).toBe(false);
      expect(countPatients(ws)).toBe(1);
      return;
    }
    expect(statSync(join(ws, '.txplan')).mode & 0o777).toBe(0o700);
    expect(statSync(databaseFile(ws)).mode & 0o777).toBe(0o600);
    for (const suffix of ['-wal', '-shm']) if (existsSync(databaseFile(ws) + suffix)) expect(statSync(databaseFile(ws) + suffix).mode & 0o077).toBe(0);
  });

  it('refuses an MRN that belongs to another patient with exit 1, writing nothing', () => {
    const ws = workspace();
    expect(add(ws, '--first', 'Zoë', '--last', 'Ødegård', '--mrn', 'LUM-1001').code).toBe(0);
    const result = add(ws, '--first', 'José', '--last', 'Núñez', '--mrn', 'LUM-1001');
    expect(result).toEqual({ code: 1, stdout: '', stderr: 'txplan: MRN LUM-1001 already belongs to patient 1; use another MRN, or "txplan patient show 1" to see that patient\n' });
    expect(countPatients(ws)).toBe(1);
    expect(countAudit(ws)).toBe(1);

    const json = txplan(['--json', 'patient', 'add', '--first', 'José', '--last', 'Núñez', '--mrn', 'LUM-1001'], { cwd: ws });
    expect(json.stdout).toBe('');
    expect(JSON.parse(json.stderr)).toEqual({ error: { code: 'mrn_taken', message: expect.stringContaining('MRN LUM-1001 already belongs to patient 1') } });
  });

  it('refuses a card number in any field with exit 1, never echoing or storing it', () => {
    const ws = workspace();
    expect(add(ws, '--first', 'Zoë', '--last', 'Ødegård').code).toBe(0);
    const attempts: Array<[string, string]> = [
      ['--first', VISA],
      ['--last', `Núñez ${CARD_FORMS[2]}`],
      ['--email', `${CARD_FORMS[0]}@example.org`],
      ['--phone', VISA],
      ['--mrn', CARD_FORMS[0]!],
    ];
    for (const [flag, value] of attempts) {
      const args = ['--first', 'José', '--last', 'Núñez', flag, value];
      const result = add(ws, ...args);
      expect(result.code, flag).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toBe(`txplan: ${flag} ${CARD_MESSAGE}\n`);
      const json = txplan(['--json', 'patient', 'add', ...args], { cwd: ws });
      expect(JSON.parse(json.stderr).error.code).toBe('card_number');
      for (const form of CARD_FORMS) expect(result.stderr + json.stderr).not.toContain(form);
    }
    const bytes = databaseBytes(ws);
    for (const form of CARD_FORMS) expect(bytes).not.toContain(form);
    expect(countPatients(ws)).toBe(1);
    expect(countAudit(ws)).toBe(1);
  });

  it('refuses an invalid or future date of birth as a usage error, without writing', () => {
    const ws = workspace();
    const cases: Array<[string, string]> = [
      ['1988-02-30', 'txplan: --dob is not a real calendar date; check the month and the day\n'],
      ['14/02/1988', 'txplan: --dob is not a date in the form YYYY-MM-DD; write it like 1985-04-23\n'],
      ['2999-01-01', 'txplan: --dob is in the future; check the year\n'],
    ];
    for (const [dob, stderr] of cases) {
      expect(add(ws, '--first', 'Zoë', '--last', 'Ødegård', '--dob', dob), dob).toEqual({ code: 2, stdout: '', stderr });
    }
    expect(countPatients(ws)).toBe(0);
  });

  it('refuses other malformed values, naming every flag to fix', () => {
    const ws = workspace();
    const result = add(ws, '--first', 'Zoë', '--last', 'Ødegård', '--email', 'zoe-at-example', '--phone', 'call me', '--mrn', 'LUM 1001');
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('txplan: --email is not an email address; write it like name@example.com (--phone and --mrn need fixing too)\n');
    expect(result.stderr).not.toContain('zoe-at-example');
  });

  it('asks for no names when it cannot prompt: a missing name is a usage error', () => {
    const ws = workspace();
    expect(add(ws, '--first', 'Zoë')).toEqual({ code: 2, stdout: '', stderr: 'txplan: Missing --last; every patient needs a first and a last name (--first NAME --last NAME)\n' });
    expect(add(ws, '--first', '  ', '--last', 'Ødegård')).toEqual({ code: 2, stdout: '', stderr: 'txplan: --first is empty; every patient needs a first name\n' });
  });
});

/** A plan row as `plan apply` would leave it, written straight into the database. */
function insertPlan(ws: string, patientId: number, status: string, name = 'Comprehensive Acne Resolution'): number {
  const db = testDatabase(ws);
  try {
    const row = db
      .prepare(
        `INSERT INTO plans (patient_id, template_id, template_version, template_hash, name, type, status, snapshot, currency, start_date, end_date, created_at, updated_at)
         VALUES (?, 'comprehensive-acne-resolution', 3, 'hash', ?, 'monthly', ?, '{}', 'USD', '2026-01-15', '2026-07-15', '2026-01-15T10:00:00Z', '2026-01-15T10:00:00Z')
         RETURNING id`,
      )
      .get(patientId, name, status) as { id: number };
    return Number(row.id);
  } finally {
    db.close();
  }
}

describe('txplan patient list', () => {
  function seeded(): string {
    const ws = workspace();
    add(ws, '--first', 'Zoë', '--last', 'Ødegård', '--dob', '1988-02-14', '--email', 'zoe@example.org', '--mrn', 'LUM-1001');
    add(ws, '--first', 'José', '--last', 'Núñez', '--phone', '+1 (555) 010-0142', '--mrn', 'LUM-1002');
    add(ws, '--first', 'Ярослава', '--last', 'Коваленко');
    insertPlan(ws, 1, 'active');
    insertPlan(ws, 1, 'completed');
    return ws;
  }

  it('prints tab-separated lines when piped, sorted by last name, with plan counts', () => {
    const ws = seeded();
    const result = txplan(['patient', 'list'], { cwd: ws });
    expect(result).toEqual({
      code: 0,
      stdout: ['2\tLUM-1002\tNúñez, José\t\t\t\'+1 (555) 010-0142\t0', '1\tLUM-1001\tØdegård, Zoë\t1988-02-14\tzoe@example.org\t\t2', '3\t\tКоваленко, Ярослава\t\t\t\t0', ''].join('\n'),
      stderr: '',
    });
  });

  it('prints an aligned table on a terminal', () => {
    const ws = seeded();
    const terminal = onTerminal(ws, ['patient', 'list']);
    if (!terminal) return;
    expect(terminal.screen.split('\n')).toEqual([
      'ID  MRN       NAME                 DOB         EMAIL            PHONE              PLANS',
      '2   LUM-1002  Núñez, José          -           -                +1 (555) 010-0142  0',
      '1   LUM-1001  Ødegård, Zoë         1988-02-14  zoe@example.org  -                  2 (1 active)',
      '3   -         Коваленко, Ярослава  -           -                -                  0',
      '',
    ]);
  });

  it('prints a JSON array of patients with ids and plan counts', () => {
    const ws = seeded();
    const result = txplan(['patient', 'list', '--json'], { cwd: ws });
    expect(result.code).toBe(0);
    const list = JSON.parse(result.stdout) as Array<Record<string, unknown>>;
    expect(list.map((p) => [p.id, p.plans, p.active_plans])).toEqual([
      [2, 0, 0],
      [1, 2, 1],
      [3, 0, 0],
    ]);
    expect(list[1]).toMatchObject({ id: 1, mrn: 'LUM-1001', first_name: 'Zoë', last_name: 'Ødegård', dob: '1988-02-14', email: 'zoe@example.org', phone: null });
  });

  it('searches names, MRNs and emails, with % and _ taken literally', () => {
    const ws = seeded();
    const ids = (search: string) => (JSON.parse(txplan(['patient', 'list', '--search', search, '--json'], { cwd: ws }).stdout) as Array<{ id: number }>).map((p) => p.id);
    expect(ids('Ødegård')).toEqual([1]);
    expect(ids('josé núñez')).toEqual([2]);
    expect(ids('LUM-100')).toEqual([2, 1]);
    expect(ids('example.org')).toEqual([1]);
    expect(ids('Ярослава')).toEqual([3]);
    expect(ids('%')).toEqual([]);
    const none = txplan(['patient', 'list', '--search', 'Nobody Here'], { cwd: ws });
    expect(none).toEqual({ code: 0, stdout: '', stderr: 'No patient matches that search; try part of a name, an MRN, an email address or a phone number.\n' });
  });

  it('says how to add patients when there are none', () => {
    const ws = workspace();
    const result = txplan(['patient', 'list'], { cwd: ws });
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('No patients yet; add one with "txplan patient add');
    expect(txplan(['patient', 'list', '--json'], { cwd: ws }).stdout).toBe('[]\n');
  });
});

describe('txplan patient show', () => {
  it('shows the profile and the plans, found by id or by MRN', () => {
    const ws = workspace();
    add(ws, '--first', 'Zoë', '--last', 'Ødegård', '--dob', '1988-02-14', '--email', 'zoe@example.org', '--mrn', 'LUM-1001');
    const planId = insertPlan(ws, 1, 'active');
    for (const ref of ['1', 'LUM-1001', 'mrn:LUM-1001']) {
      const result = txplan(['patient', 'show', ref], { cwd: ws });
      expect(result.code, ref).toBe(0);
      expect(result.stderr).toBe('');
      const lines = result.stdout.split('\n');
      expect(lines[0]).toBe('Zoë Ødegård  patient 1');
      expect(lines).toContain('MRN     LUM-1001');
      expect(result.stdout).toMatch(/^Born {4}1988-02-14 \(\d+\)$/m);
      expect(lines).toContain('Email   zoe@example.org');
      expect(lines).toContain('Phone   -');
      expect(result.stdout).toContain('Plans (1)');
      expect(result.stdout).toMatch(new RegExp(`^${planId} +Comprehensive Acne Resolution +comprehensive-acne-resolution v3 +monthly +active +2026-01-15 +2026-07-15 +-$`, 'm'));
    }
  });

  it('prints the patient with a plans array under --json', () => {
    const ws = workspace();
    add(ws, '--first', 'José', '--last', 'Núñez', '--mrn', 'LUM-1002');
    const json = (ref: string) => JSON.parse(txplan(['patient', 'show', ref, '--json'], { cwd: ws }).stdout) as Record<string, unknown> & { plans: Array<Record<string, unknown>> };
    expect(json('LUM-1002')).toMatchObject({ id: 1, mrn: 'LUM-1002', first_name: 'José', last_name: 'Núñez', plans: [] });
    const planId = insertPlan(ws, 1, 'prescribed', 'Glow Club');
    const shown = json('1');
    expect(shown.plans).toEqual([expect.objectContaining({ id: planId, patient_id: 1, name: 'Glow Club', status: 'prescribed', template_id: 'comprehensive-acne-resolution', template_version: 3 })]);
    expect(shown.plans[0]).not.toHaveProperty('patient_name');
  });

  it('says a patient has no plans yet', () => {
    const ws = workspace();
    add(ws, '--first', 'Mei', '--last', 'Nakamura');
    expect(txplan(['patient', 'show', '1'], { cwd: ws }).stdout).toContain('No plans yet; apply one with "txplan plan apply 1 <template> --mode start|prescribe".');
  });

  it('exits 1 on a miss, suggesting a close MRN', () => {
    const ws = workspace();
    add(ws, '--first', 'Zoë', '--last', 'Ødegård', '--mrn', 'LUM-1001');
    const miss = txplan(['patient', 'show', 'LUM-1011'], { cwd: ws });
    expect(miss).toEqual({ code: 1, stdout: '', stderr: 'txplan: No patient with MRN "LUM-1011"; did you mean MRN "LUM-1001"? ("txplan patient list --search TEXT" finds patients by name)\n' });
    const json = txplan(['patient', 'show', '42', '--json'], { cwd: ws });
    expect(json.code).toBe(1);
    expect(json.stdout).toBe('');
    expect(JSON.parse(json.stderr)).toMatchObject({ error: { code: 'not_found' } });
  });
});

describe('txplan patient import', () => {
  it('imports the sample file with every name intact and one audit entry per patient', () => {
    const ws = workspace();
    const result = txplan(['patient', 'import', join(repoRoot, 'examples', 'patients.csv')], { cwd: ws });
    expect(result.code).toBe(0);
    // No progress bar in a pipe.
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe(`✔ Imported ${join(repoRoot, 'examples', 'patients.csv')}: added 12 (ids 1–12), updated 0, unchanged 0, skipped 0.\n`);

    const rows = query<{ mrn: string; first_name: string; last_name: string }>(ws, 'SELECT mrn, first_name, last_name FROM patients ORDER BY id');
    expect(rows).toHaveLength(12);
    expect(rows).toEqual(
      expect.arrayContaining([
        { mrn: 'LUM-1001', first_name: 'Zoë', last_name: 'Ødegård' },
        { mrn: 'LUM-1002', first_name: 'José', last_name: 'Núñez' },
        { mrn: 'LUM-1003', first_name: 'Łukasz', last_name: 'Żółć' },
        { mrn: 'LUM-1004', first_name: 'Ярослава', last_name: 'Коваленко' },
        { mrn: 'LUM-1010', first_name: 'Henrik', last_name: 'Bergström, Jr.' },
      ]),
    );
    const audit = query<{ action: string; entity: string; entity_id: string; actor: string; before: string | null; after: string }>(ws, 'SELECT * FROM audit ORDER BY id');
    expect(audit).toHaveLength(12);
    expect(new Set(audit.map((a) => `${a.action} ${a.entity} ${a.actor}`))).toEqual(new Set(['patient.import patient test']));
    expect(audit.map((a) => a.entity_id)).toEqual(Array.from({ length: 12 }, (_, i) => String(i + 1)));
    expect(audit.every((a) => a.before === null)).toBe(true);
    expect(JSON.parse(audit[0]!.after)).toMatchObject({ id: 1, mrn: 'LUM-1001', first_name: 'Zoë' });
  });

  it('reads a BOM, CRLF line ends, quoted commas, quotes and line breaks, and trailing empty lines', () => {
    const ws = workspace();
    const text = '\uFEFFlast_name,first_name,mrn,email,dob,phone\r\n"Bergström, Jr.",Henrik,A-1,henrik@example.se,1983-10-02,"+46 70 000 01 10"\r\n"Ødegård","Zoë\r\nMarie",A-2,,,\r\n\r\n"O""Connor",Siobhán,A-3,,,\r\n,,,,,\r\n\r\n\r\n';
    const result = txplan(['--json', 'patient', 'import', csv(ws, 'tricky.csv', text)], { cwd: ws });
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    const report = JSON.parse(result.stdout) as { file: string; dry_run: boolean; count: number; patients: Array<Record<string, unknown>> };
    expect(report).toMatchObject({ file: 'tricky.csv', dry_run: false, count: 3 });
    expect(report.patients.map((p) => [p.id, p.line, p.first_name, p.last_name, p.mrn, p.email, p.dob, p.phone])).toEqual([
      [1, 2, 'Henrik', 'Bergström, Jr.', 'A-1', 'henrik@example.se', '1983-10-02', '+46 70 000 01 10'],
      [2, 3, 'Zoë Marie', 'Ødegård', 'A-2', null, null, null],
      [3, 6, 'Siobhán', 'O"Connor', 'A-3', null, null, null],
    ]);
    expect(query(ws, 'SELECT first_name, last_name FROM patients ORDER BY id')).toEqual([
      { first_name: 'Henrik', last_name: 'Bergström, Jr.' },
      { first_name: 'Zoë Marie', last_name: 'Ødegård' },
      { first_name: 'Siobhán', last_name: 'O"Connor' },
    ]);
  });

  it('leaves the database untouched when one row is bad, listing the problem by line and column', () => {
    const ws = workspace();
    add(ws, '--first', 'Existing', '--last', 'Patient', '--mrn', 'LUM-0001');
    const [before, auditBefore] = [countPatients(ws), countAudit(ws)];
    const text = 'first_name,last_name,dob,mrn\nZoë,Ødegård,1988-02-14,LUM-1001\n"José\nMaría",Núñez,1979-02-30,LUM-1002\nŁukasz,Żółć,1992-07-21,LUM-1003\n';
    const result = txplan(['patient', 'import', csv(ws, 'one-bad.csv', text)], { cwd: ws });
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr: 'txplan: one-bad.csv has 1 problem, so nothing was imported; fix it and run the import again:\n  row 3, column dob: is not a real calendar date; check the month and the day\n',
    });
    expect(countPatients(ws)).toBe(before);
    expect(countAudit(ws)).toBe(auditBefore);
  });

  it('refuses MRNs taken in the database or repeated in the file, all in one report', () => {
    const ws = workspace();
    add(ws, '--first', 'Existing', '--last', 'Patient', '--mrn', 'LUM-1001');
    const text = 'first_name,last_name,mrn\nZoë,Ødegård,LUM-1001\nJosé,Núñez,LUM-1002\nŁukasz,Żółć,LUM-1002\n';
    const result = txplan(['patient', 'import', csv(ws, 'dupes.csv', text)], { cwd: ws });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      'txplan: dupes.csv has 2 problems, so nothing was imported; fix them and run the import again:\n' +
        '  row 2, column mrn: MRN LUM-1001 already belongs to patient 1; use another MRN, or "txplan patient show 1" to see that patient\n' +
        '  row 4, column mrn: MRN LUM-1002 is also on row 3; each patient needs their own MRN\n' +
        'For patients already in txplan, add --update to write the changed fields from the file, or --skip-existing to leave them as they are.\n',
    );
    expect(countPatients(ws)).toBe(1);
  });

  it('lists at most 20 problems and counts the rest', () => {
    const ws = workspace();
    const text = `first_name,last_name,dob\n${Array.from({ length: 30 }, (_, i) => `P${i},Q${i},not-a-date\n`).join('')}`;
    const result = txplan(['patient', 'import', csv(ws, 'many.csv', text)], { cwd: ws });
    expect(result.code).toBe(1);
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines[0]).toBe('txplan: many.csv has 30 problems, so nothing was imported; fix them and run the import again:');
    expect(lines).toHaveLength(22);
    expect(lines[1]).toBe('  row 2, column dob: is not a date in the form YYYY-MM-DD; write it like 1985-04-23');
    expect(lines[21]).toBe('  and 10 more');
  });

  it('refuses a card number in a cell without echoing it or writing it', () => {
    const ws = workspace();
    add(ws, '--first', 'Existing', '--last', 'Patient');
    const text = `first_name,last_name,phone,email\nZoë,Ødegård,"${VISA}",zoe@example.org\nJosé,Núñez,+1 555 010 0142,${CARD_FORMS[0]}@example.com\n`;
    const result = txplan(['patient', 'import', csv(ws, 'cards.csv', text)], { cwd: ws });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`row 2, column phone: ${CARD_MESSAGE}`);
    expect(result.stderr).toContain(`row 3, column email: ${CARD_MESSAGE}`);
    for (const form of CARD_FORMS) {
      expect(result.stderr).not.toContain(form);
      expect(databaseBytes(ws)).not.toContain(form);
    }
    expect(countPatients(ws)).toBe(1);
  });

  it('refuses columns holding the same field and missing columns, naming them', () => {
    const ws = workspace();
    const cases: Array<[string, string]> = [
      ['first_name,last_name,mrn,MRN\nZoë,Ødegård,A,B\n', 'txplan: bad.csv row 1 (the header): columns "mrn" (column 3) and "MRN" (column 4) both hold mrn; remove one, or say which with --map "MRN=FIELD"\n'],
      [
        'first_name,dob\nZoë,1988-02-14\n',
        'txplan: bad.csv row 1 (the header): no column holds last_name; name one "Last Name", "Surname", "Family name", "Last", "Lastname", "Patient last name" or "last_name", or point to it with --map "HEADER=last_name"\n',
      ],
    ];
    for (const [text, stderr] of cases) {
      expect(txplan(['patient', 'import', csv(ws, 'bad.csv', text)], { cwd: ws })).toEqual({ code: 1, stdout: '', stderr });
    }
    expect(wroteNothing(ws)).toBe(true);
  });

  it('says clearly when the file is empty, has only a header, is missing or is not UTF-8', () => {
    const ws = workspace();
    const run = (name: string) => txplan(['patient', 'import', name], { cwd: ws });
    expect(run(csv(ws, 'empty.csv', ''))).toEqual({ code: 1, stdout: '', stderr: 'txplan: empty.csv is empty; it needs a header row (first_name,last_name,dob,email,phone,mrn) and one row per patient\n' });
    expect(run(csv(ws, 'header.csv', '\uFEFFfirst_name,last_name\r\n\r\n'))).toEqual({ code: 1, stdout: '', stderr: 'txplan: header.csv has a header row but no patients; add one row per patient below it\n' });
    expect(run('missing.csv')).toEqual({ code: 1, stdout: '', stderr: 'txplan: There is no file missing.csv; check the path\n' });
    const latin1 = run(csv(ws, 'latin1.csv', Buffer.from('first_name,last_name\nZo\xeb,\xd8deg\xe5rd\n', 'latin1')));
    expect(latin1.code).toBe(1);
    expect(latin1.stderr).toMatch(/^txplan: latin1\.csv is not UTF-8 text; save it as "CSV UTF-8"/);
    const quote = run(csv(ws, 'quote.csv', 'first_name,last_name\nZoë,Ødegård\n"José,Núñez\nMei,Nakamura\n'));
    expect(quote.code).toBe(1);
    expect(quote.stderr).toMatch(/^txplan: quote\.csv row 3: a quoted field is never closed/);
    expect(wroteNothing(ws)).toBe(true);
  });

  it('--dry-run checks everything and writes nothing', () => {
    const ws = workspace();
    const file = join(repoRoot, 'examples', 'patients.csv');
    // Without a database, a dry run does not even create one.
    const first = txplan(['patient', 'import', file, '--dry-run', '--json'], { cwd: ws });
    expect(first.code).toBe(0);
    expect(wroteNothing(ws)).toBe(true);
    const report = JSON.parse(first.stdout) as { dry_run: boolean; count: number; patients: Array<Record<string, unknown>> };
    expect(report).toMatchObject({ dry_run: true, count: 12 });
    expect(report.patients[0]).toEqual({ line: 2, row: 2, mrn: 'LUM-1001', first_name: 'Zoë', last_name: 'Ødegård', dob: '1988-02-14', email: 'zoe.odegard@example.org', phone: '+47 400 00 101' });

    add(ws, '--first', 'Existing', '--last', 'Patient');
    const [patients, audit] = [countPatients(ws), countAudit(ws)];
    const piped = txplan(['patient', 'import', file, '--dry-run'], { cwd: ws });
    expect(piped.code).toBe(0);
    expect(piped.stdout.split('\n')[0]).toBe('row 2: add Ødegård, Zoë (MRN LUM-1001)');
    expect(piped.stderr).toBe(`Dry run of ${file}: would add 12, update 0, leave 0 unchanged and skip 0; nothing was written.\n`);
    expect([countPatients(ws), countAudit(ws)]).toEqual([patients, audit]);

    // A dry run finds the same problems a real import would, including MRNs in the database.
    txplan(['patient', 'import', file], { cwd: ws });
    const again = txplan(['patient', 'import', file, '--dry-run'], { cwd: ws });
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/has 12 problems, so it cannot be imported as it is; fix them/);
    expect(countPatients(ws)).toBe(13);
  });

  it('shows a progress bar on a terminal and nothing of it when piped', () => {
    const ws = workspace();
    const rows = Array.from({ length: 50 }, (_, i) => `First${i},Last${i},BULK-${i}`).join('\n');
    csv(ws, 'bulk.csv', `first_name,last_name,mrn\n${rows}\n`);
    const terminal = onTerminal(ws, ['patient', 'import', 'bulk.csv']);
    if (!terminal) return; // no util-linux `script` here: the pipe half is covered by every other test
    const { screen } = terminal;
    expect(terminal.code).toBe(0);
    expect(screen).toContain('Importing [');
    expect(screen).toContain('50/50');
    expect(screen).toContain('Imported bulk.csv: added 50 (ids 1–50)');
    expect(countPatients(ws)).toBe(50);
  });
});
