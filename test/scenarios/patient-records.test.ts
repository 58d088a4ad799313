import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import type { Prompter } from '../../src/cli/prompter.js';
import { at, beforeAllWithFolders, clinicWorkspace, databaseEnv, query, txplan, withoutClockWarning } from '../helpers.js';

/**
 * Correcting patient records at the front desk: edit, merge, archive, the
 * duplicate warning of `patient add`, and searches that ignore case and
 * accents. One workspace for the file; each test adds the patients it uses.
 */

const ACNE = 'comprehensive-acne-resolution'; // monthly, 6 × $249.00
const START = '2027-01-04T09:00:00Z';
const MONTH_LATER = '2027-02-05T09:00:00Z';

let ws: string;
beforeAllWithFolders(() => {
  ws = clinicWorkspace(0);
});

const run = (...args: string[]) => txplan(args, { cwd: ws, env: at(START) });
const runAt = (now: string, ...args: string[]) => txplan(args, { cwd: ws, env: at(now) });
const err = (r: { stderr: string }) => withoutClockWarning(r.stderr);
function add(...args: string[]): number {
  const result = run('patient', 'add', ...args);
  if (result.code !== 0) throw new Error(`patient add ${args.join(' ')}: ${result.stderr}`);
  return Number(result.stdout.trim());
}
const count = (sql: string, ...params: unknown[]) => Number(query<{ n: number }>(ws, sql, ...params)[0]!.n);
const search = (text: string, ...flags: string[]) => (JSON.parse(run('patient', 'list', '--search', text, '--json', ...flags).stdout) as Array<{ id: number }>).map((p) => p.id);

describe('search', () => {
  it('ignores case and accents and matches name, MRN, email and phone digits', () => {
    const muller = add('--first', 'Jürgen', '--last', 'Müller', '--mrn', 'SRCH-1', '--email', 'J.Mueller@Example.org', '--phone', '+47 400 00 101');
    const nunez = add('--first', 'José', '--last', 'Núñez', '--mrn', 'SRCH-2');
    const odegard = add('--first', 'Zoë', '--last', 'Ødegård', '--mrn', 'SRCH-3');
    expect(search('muller')).toEqual([muller]);
    expect(search('MÜLLER')).toEqual([muller]);
    expect(search('nunez')).toEqual([nunez]);
    expect(search('jose nunez')).toEqual([nunez]);
    expect(search('odegard')).toEqual([odegard]);
    expect(search('srch-2')).toEqual([nunez]);
    expect(search('j.mueller@example')).toEqual([muller]);
    expect(search('400-00-101')).toEqual([muller]);
    expect(search('4740000101')).toEqual([muller]);
    expect(search('nobody-like-this')).toEqual([]);
  });
});

describe('patient add and likely duplicates', () => {
  it('refuses a likely duplicate off a terminal, naming the patient and --allow-duplicate, and writes nothing', () => {
    const first = add('--first', 'Ana', '--last', 'Peña', '--dob', '1985-05-05');
    const patients = count('SELECT count(*) AS n FROM patients');
    const sameName = run('patient', 'add', '--first', 'ANA', '--last', 'pena', '--dob', '1985-05-05');
    expect(sameName.code).toBe(1);
    expect(err(sameName)).toBe(`txplan: This looks like patient ${first}: the same name and date of birth; nothing was added. See "txplan patient show ${first}", or add --allow-duplicate if this is a different person\n`);
    const withEmail = add('--first', 'Bo', '--last', 'Lind', '--email', 'bo@example.org', '--phone', '555 0100');
    const sameEmail = run('patient', 'add', '--first', 'Robert', '--last', 'Lind', '--email', 'BO@example.org');
    expect(sameEmail.code).toBe(1);
    expect(err(sameEmail)).toContain(`patient ${withEmail}: the same email`);
    const samePhone = run('patient', 'add', '--first', 'Other', '--last', 'Person', '--phone', '(555) 0100');
    expect(samePhone.code).toBe(1);
    expect(err(samePhone)).toContain(`patient ${withEmail}: the same phone`);
    expect(count('SELECT count(*) AS n FROM patients')).toBe(patients + 1);
    // A different person with the same name and birthday.
    const allowed = run('patient', 'add', '--first', 'Ana', '--last', 'Pena', '--dob', '1985-05-05', '--allow-duplicate');
    expect(allowed.code).toBe(0);
    // The same name without a date of birth is no match.
    expect(run('patient', 'add', '--first', 'Ana', '--last', 'Peña').code).toBe(0);
  });
});

describe('patient edit', () => {
  it('writes the changed fields, prints before → after, and audits them', () => {
    const id = add('--first', 'Mary', '--last', 'Smtih', '--mrn', 'ED-1');
    const edited = run('patient', 'edit', 'ED-1', '--last', 'Smith', '--dob', '1990-03-02');
    expect(edited.code).toBe(0);
    expect(edited.stdout).toBe(`✔ Updated patient ${id}: Mary Smith\n  Last name: Smtih → Smith\n  Date of birth: (none) → 1990-03-02\n`);
    const [entry] = query<{ before: string; after: string }>(ws, "SELECT before, after FROM audit WHERE action = 'patient.edit' AND entity_id = ?", String(id));
    expect(JSON.parse(entry!.before)).toEqual({ last_name: 'Smtih', dob: null });
    expect(JSON.parse(entry!.after)).toEqual({ last_name: 'Smith', dob: '1990-03-02' });
    // Searchable under the new name at once.
    expect(search('smith')).toContain(id);

    const json = JSON.parse(run('patient', 'edit', String(id), '--email', 'mary@example.org', '--json').stdout) as { changed: Record<string, unknown>; patient: { email: string } };
    expect(json.changed).toEqual({ email: { before: null, after: 'mary@example.org' } });
    expect(json.patient.email).toBe('mary@example.org');
  });

  it('refuses an MRN another patient holds (1), a bad value (2) and no flags off a terminal (2), writing nothing', () => {
    const id = add('--first', 'Kim', '--last', 'Park', '--mrn', 'ED-2');
    const other = add('--first', 'Lee', '--last', 'Chan', '--mrn', 'ED-3');
    const audit = count('SELECT count(*) AS n FROM audit');
    const taken = run('patient', 'edit', String(id), '--mrn', 'ED-3');
    expect(taken.code).toBe(1);
    expect(err(taken)).toBe(`txplan: MRN ED-3 already belongs to patient ${other}; use another MRN, or "txplan patient show ${other}" to see that patient\n`);
    const bad = run('patient', 'edit', String(id), '--dob', '1990-13-40');
    expect(bad.code).toBe(2);
    expect(err(bad)).toMatch(/^txplan: --dob /);
    const none = run('patient', 'edit', String(id));
    expect(none.code).toBe(2);
    expect(err(none)).toContain('Nothing to change');
    expect(count('SELECT count(*) AS n FROM audit')).toBe(audit);
    expect(query(ws, 'SELECT mrn FROM patients WHERE id = ?', id)).toEqual([{ mrn: 'ED-2' }]);
  });
});

describe('patient merge', () => {
  it('moves plans, charges and payment methods to the kept patient, leaving a tombstone that resolves to it', () => {
    const keep = add('--first', 'Maria', '--last', 'García', '--dob', '1970-07-07', '--mrn', 'MG-1');
    const dup = add('--first', 'Maria', '--last', 'Garcia', '--dob', '1970-07-07', '--mrn', 'MG-2', '--allow-duplicate');
    for (const [patient, card] of [[keep, 'pm_card_visa'], [dup, 'pm_card_mastercard']] as const) {
      const started = run('plan', 'apply', String(patient), ACNE, '--mode', 'start', '--clinic', 'main', '--payment-method', card, '--yes');
      if (started.code !== 0) throw new Error(started.stderr);
    }
    expect(runAt(MONTH_LATER, 'billing', 'run', '--yes').code).toBe(0);

    const holdings = (id: number) => ({
      plans: count('SELECT count(*) AS n FROM plans WHERE patient_id = ?', id),
      charges: count('SELECT count(*) AS n FROM charges WHERE plan_id IN (SELECT id FROM plans WHERE patient_id = ?)', id),
      payment_methods: count('SELECT count(*) AS n FROM payment_methods WHERE patient_id = ?', id),
    });
    const before = { keep: holdings(keep), dup: holdings(dup) };
    expect(before.keep).toEqual({ plans: 1, charges: 2, payment_methods: 1 });
    expect(before.dup).toEqual({ plans: 1, charges: 2, payment_methods: 1 });

    // Both have an active plan of the same template: refused without --yes, nothing moved.
    const refused = run('patient', 'merge', String(keep), String(dup));
    expect(refused.code).toBe(1);
    expect(err(refused)).toContain(`Both patients have an active plan of ${ACNE}`);
    expect(err(refused)).toContain('--yes');
    expect({ keep: holdings(keep), dup: holdings(dup) }).toEqual(before);

    const merged = run('patient', 'merge', 'MG-1', 'MG-2', '--yes');
    expect(merged.code).toBe(0);
    expect(merged.stdout).toContain(`Merged patient ${dup} (Maria Garcia) into patient ${keep} (Maria García)`);
    expect(merged.stdout).toContain('moved 1 plan, 2 charges, 1 payment method');
    // Nothing lost: the counts before equal the counts after, all on the kept patient.
    expect(holdings(keep)).toEqual({ plans: 2, charges: 4, payment_methods: 2 });
    expect(holdings(dup)).toEqual({ plans: 0, charges: 0, payment_methods: 0 });
    expect(query(ws, 'SELECT merged_into FROM patients WHERE id = ?', dup)).toEqual([{ merged_into: keep }]);

    const [entry] = query<{ entity_id: string; after: string }>(ws, "SELECT entity_id, after FROM audit WHERE action = 'patient.merge'");
    expect(entry!.entity_id).toBe(String(keep));
    expect(JSON.parse(entry!.after)).toMatchObject({ merged_into: keep, moved: { plans: 1, charges: 2, payment_methods: 1 } });

    // The tombstone resolves to the kept record, by id and by MRN.
    const shown = run('patient', 'show', 'MG-2', '--json');
    expect(JSON.parse(shown.stdout)).toMatchObject({ id: keep, merged_from: dup, plans: [expect.anything(), expect.anything()] });
    const text = run('patient', 'show', String(dup));
    expect(err(text)).toBe(`Patient ${dup} was merged into patient ${keep}; showing patient ${keep}.\n`);
    expect(text.stdout).toContain(`patient ${keep}`);
    // The kept patient's history includes the tombstone's, never rewritten.
    const history = JSON.parse(run('audit', '--entity', 'patient', '--id', String(keep), '--reverse', '--json').stdout) as Array<{ action: string; entity_id: string }>;
    expect(history.map((e) => [e.action, e.entity_id])).toEqual([
      ['patient.add', String(keep)],
      ['patient.add', String(dup)],
      ['patient.merge', String(keep)],
    ]);
    // Merged records are listed no more.
    expect(search('garcia', '--all')).toEqual([keep]);

    // Into itself, into a tombstone, or a tombstone again: refused.
    expect(run('patient', 'merge', String(keep), String(keep)).code).toBe(2);
    const intoTombstone = run('patient', 'merge', String(dup), String(keep));
    expect(intoTombstone.code).toBe(1);
    expect(err(intoTombstone)).toContain(`Patient ${dup} was merged into patient ${keep}`);
    expect(run('patient', 'merge', String(keep), String(dup)).code).toBe(1);
  });
});

describe('patient archive', () => {
  it('hides an archived patient, never bills their plan, refuses new plans, and unarchive brings them back', () => {
    const id = add('--first', 'Olga', '--last', 'Ivanova', '--mrn', 'AR-1');
    expect(run('plan', 'apply', 'AR-1', ACNE, '--mode', 'start', '--clinic', 'main', '--payment-method', 'pm_card_visa', '--yes').code).toBe(0);
    const planCharges = () => count('SELECT count(*) AS n FROM charges WHERE plan_id IN (SELECT id FROM plans WHERE patient_id = ?)', id);
    expect(planCharges()).toBe(1);

    const refused = run('patient', 'archive', 'AR-1');
    expect(refused.code).toBe(1);
    expect(err(refused)).toMatch(/^txplan: Patient \d+ has a running plan: plan \d+ \(active\); an archived patient is never billed, .*add --yes/);
    expect(query(ws, 'SELECT archived_at FROM patients WHERE id = ?', id)).toEqual([{ archived_at: null }]);

    const archived = run('patient', 'archive', 'AR-1', '--yes');
    expect(archived.code).toBe(0);
    expect(err(archived)).toMatch(/will not be billed while the patient is archived/);
    expect(search('ivanova')).toEqual([]);
    expect(search('ivanova', '--all')).toEqual([id]);
    expect(search('ivanova', '--archived')).toEqual([id]);
    expect(search('', '--archived')).toEqual([id]);

    // A month on, the billing run skips the archived patient's plan.
    expect(runAt(MONTH_LATER, 'billing', 'run', '--yes').code).toBe(0);
    expect(planCharges()).toBe(1);
    const apply = run('plan', 'apply', 'AR-1', 'mild-acne-clearing', '--mode', 'prescribe');
    expect(apply.code).toBe(1);
    expect(err(apply)).toBe(`txplan: Patient ${id} is archived; unarchive them first ("txplan patient unarchive ${id}")\n`);
    expect(count("SELECT count(*) AS n FROM audit WHERE action = 'patient.archive' AND entity_id = ?", String(id))).toBe(1);
    // Nor is a fee charged: cancelling inside the minimum term is refused before anything is written, unless the fee is waived.
    const [{ id: planId }] = query<{ id: number }>(ws, 'SELECT id FROM plans WHERE patient_id = ?', id) as [{ id: number }];
    const cancel = run('plan', 'cancel', String(planId), '--reason', 'Moved away', '--yes');
    expect(cancel.code).toBe(1);
    expect(err(cancel)).toBe(`txplan: Patient ${id} is archived and never billed, so the early cancellation fee of plan ${planId} cannot be charged; unarchive them first ("txplan patient unarchive ${id}"), or cancel with --waive-fee\n`);
    expect(query(ws, 'SELECT status FROM plans WHERE id = ?', planId)).toEqual([{ status: 'active' }]);
    expect(planCharges()).toBe(1);

    expect(run('patient', 'unarchive', String(id)).code).toBe(0);
    expect(search('ivanova')).toEqual([id]);
    expect(run('plan', 'apply', 'AR-1', 'mild-acne-clearing', '--mode', 'prescribe').code).toBe(0);
  });
});

/** One txplan command in-process on fake terminal streams, with `prompter` answering. */
async function onTerminal(args: string[], prompter: Prompter): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const sink = (append: (text: string) => void) => Object.assign(new Writable({ write: (chunk: Buffer | string, _encoding, done) => { append(chunk.toString()); done(); } }), { isTTY: true, columns: 100 });
  const code = await main(['node', 'txplan', ...args], {
    streams: { stdout: sink((t) => (stdout += t)), stderr: sink((t) => (stderr += t)), stdin: Object.assign(new PassThrough(), { isTTY: true }) },
    env: { ...process.env, ...databaseEnv(ws, args), TXPLAN_ACTOR: 'test', TXPLAN_NOW: START, NO_COLOR: '1' },
    cwd: ws,
    prompter: () => Promise.resolve(prompter),
  });
  return { code, stdout, stderr };
}

const noChoice = () => Promise.reject(new Error('no choice expected'));

describe('on a terminal (in-process)', () => {
  it('patient edit without flags asks field by field, showing the current values', async () => {
    const id = add('--first', 'Hana', '--last', 'Kovac', '--mrn', 'TT-1', '--email', 'hana@example.org');
    const asked: Array<[string, string | undefined]> = [];
    const answers: Record<string, string> = { 'Last name:': 'Kovač', 'Email:': '-' };
    const result = await onTerminal(['patient', 'edit', 'TT-1'], {
      input: (message, options) => {
        asked.push([message, options?.default]);
        return Promise.resolve(answers[message] ?? options?.default ?? '');
      },
      select: noChoice,
      confirm: () => Promise.resolve(false),
    });
    expect(result.code).toBe(0);
    expect(asked).toEqual([
      ['First name:', 'Hana'],
      ['Last name:', 'Kovac'],
      ['Date of birth (YYYY-MM-DD):', undefined],
      ['Email:', 'hana@example.org'],
      ['Phone:', undefined],
      ['MRN:', 'TT-1'],
    ]);
    expect(result.stdout).toContain('Last name: Kovac → Kovač');
    expect(query(ws, 'SELECT last_name, email FROM patients WHERE id = ?', id)).toEqual([{ last_name: 'Kovač', email: null }]);
  });

  it('patient add shows a likely duplicate and asks; "no" adds nothing, "yes" adds the patient', async () => {
    const first = add('--first', 'Ines', '--last', 'Müller', '--dob', '1975-04-04');
    const patients = count('SELECT count(*) AS n FROM patients');
    const args = ['patient', 'add', '--first', 'ines', '--last', 'Muller', '--dob', '1975-04-04'];
    const questions: string[] = [];
    const answering = (yes: boolean): Prompter => ({ input: () => Promise.reject(new Error('no input expected')), select: noChoice, confirm: (message) => (questions.push(message), Promise.resolve(yes)) });
    const declined = await onTerminal(args, answering(false));
    expect(declined.code).toBe(130);
    expect(declined.stderr).toContain(`Patient ${first}: Ines Müller, born 1975-04-04 has the same name and date of birth.`);
    expect(count('SELECT count(*) AS n FROM patients')).toBe(patients);
    const accepted = await onTerminal(args, answering(true));
    expect(accepted.code).toBe(0);
    expect(questions).toEqual(['Add a new patient anyway?', 'Add a new patient anyway?']);
    expect(count('SELECT count(*) AS n FROM patients')).toBe(patients + 1);
  });

  it('plan apply asks again when the patient search finds no one', async () => {
    const id = add('--first', 'Søren', '--last', 'Kierkegaard', '--mrn', 'IA-1');
    const inputs = ['nobody-by-that-name', 'soren kierkeg'];
    const asked: string[] = [];
    let offered: string[] = [];
    const result = await onTerminal(['plan', 'apply', '--mode', 'prescribe'], {
      input: (message) => {
        asked.push(message);
        const next = inputs.shift();
        return next === undefined ? Promise.reject(new Error('asked once too often')) : Promise.resolve(next);
      },
      select: (message, choices) => {
        if (message === 'Patient:') offered = choices.map((c) => c.value);
        return Promise.resolve(message === 'Template:' ? (choices.find((c) => c.value === 'mild-acne-clearing')?.value ?? choices[0]!.value) : choices[0]!.value);
      },
      // The editor question is declined; the wizard's last question (go ahead?) is answered yes.
      confirm: (message) => Promise.resolve(!/editor/.test(message)),
    });
    expect(result.code).toBe(0);
    expect(asked).toHaveLength(2);
    expect(asked[1]).toMatch(/^No patient matches that; try another/);
    expect(offered).toEqual([String(id)]);
    expect(count("SELECT count(*) AS n FROM plans WHERE patient_id = ? AND status = 'prescribed'", id)).toBe(1);
  });
});
