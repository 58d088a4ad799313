import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { describe, expect, it } from 'vitest';
import { binary, clinicWorkspace, databaseEnv, git, ledgerRows, query, txplan } from '../helpers.js';

/**
 * Item 5 and 7 of issue 9 through the built binary: nothing moves money
 * without a confirmation — asked on a terminal, `--yes` otherwise — and a
 * refusal writes nothing.
 */

const ACNE = 'comprehensive-acne-resolution'; // monthly, 6 × $249.00, version 3

/** Commands on one workspace at a fixed clock. */
function at(ws: string, now: string) {
  return (...args: string[]) => txplan(args, { cwd: ws, env: { TXPLAN_NOW: now } });
}

const count = (ws: string, table: string) => query<{ n: number }>(ws, `SELECT count(*) AS n FROM ${table}`)[0]!.n;

/** Everything a refused command must leave as it was. */
const state = (ws: string) => ({
  plans: query(ws, 'SELECT id, status, version, template_version, payment_method_id FROM plans ORDER BY id'),
  charges: count(ws, 'charges'),
  audit: count(ws, 'audit'),
  payment_methods: count(ws, 'payment_methods'),
  ledger: ledgerRows(ws, 'SELECT * FROM charges').length,
});

function bumpTemplate(ws: string, version: number, fee: string | undefined): void {
  const file = join(ws, 'templates', `${ACNE}.yaml`);
  let text = readFileSync(file, 'utf8').replace(/^version: \d+$/m, `version: ${version}`);
  text = fee ? text.replace(/monthly_fee: "[\d.]+"/, `monthly_fee: "${fee}"`) : text.replace(/^goal: .*$/m, `goal: Clearer skin, version ${version}`);
  writeFileSync(file, text);
  git(ws, 'add', '-A');
  git(ws, 'commit', '-qm', `acne v${version}`);
}

describe('confirming before money moves, off a terminal', () => {
  it('plan start refuses without --yes (exit 2, one sentence, nothing written) and charges with it', () => {
    const ws = clinicWorkspace(1);
    const run = at(ws, '2027-01-04T09:00:00Z');
    expect(run('plan', 'apply', 'P-1', ACNE, '--mode', 'prescribe').code).toBe(0); // charges nothing: no question
    const before = state(ws);
    const refused = run('plan', 'start', '1', '--payment-method', 'pm_card_visa');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe('txplan: This would charge $249.00 to Visa •••• 4242 now (plan 1, Comprehensive Acne Resolution: installment 1 of 6), which needs a confirmation: run it on a terminal to be asked, or add --yes\n');
    expect(state(ws)).toEqual(before);

    expect(run('plan', 'start', '1', '--payment-method', 'pm_card_visa', '--yes').code).toBe(0);
    expect(query(ws, 'SELECT plan_id, installment, amount_minor, status FROM charges')).toEqual([{ plan_id: 1, installment: 1, amount_minor: 24900, status: 'succeeded' }]);
  });

  it('plan payment that reactivates a past-due plan says what the next run retries, on which card', () => {
    const ws = clinicWorkspace(1);
    expect(at(ws, '2027-01-04T09:00:00Z')('plan', 'apply', 'P-1', ACNE, '--mode', 'start', '--clinic', 'main', '--payment-method', 'pm_card_visa', '--yes').code).toBe(0);
    // A stolen card on file: installment 2 is declined hard and the plan goes past due.
    expect(at(ws, '2027-01-20T09:00:00Z')('plan', 'payment', '1', '--payment-method', 'pm_card_chargeDeclinedStolenCard').code).toBe(0);
    const february = at(ws, '2027-02-01T09:00:00Z');
    february('billing', 'run');
    expect(query(ws, 'SELECT status FROM plans')).toEqual([{ status: 'past_due' }]);
    const before = state(ws);
    const refused = february('plan', 'payment', '1', '--payment-method', 'pm_card_mastercard');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe('txplan: This would charge $249.00 to Mastercard •••• 4444 by the next billing run (reactivating plan 1, Comprehensive Acne Resolution: installment 2), which needs a confirmation: run it on a terminal to be asked, or add --yes\n');
    expect(state(ws)).toEqual(before);
    expect(february('plan', 'payment', '1', '--payment-method', 'pm_card_mastercard', '--yes').code).toBe(0);
    expect(query(ws, 'SELECT status FROM plans')).toEqual([{ status: 'active' }]);
  });

  it('template rollout: the dry run lists each plan\'s old and new price; a new price needs --yes; no new price, no question', () => {
    const ws = clinicWorkspace(2);
    const run = at(ws, '2027-01-04T09:00:00Z');
    for (const [patient, card] of [['P-1', 'pm_card_visa'], ['P-2', 'pm_card_mastercard']] as const) {
      expect(run('plan', 'apply', patient, ACNE, '--mode', 'start', '--clinic', 'main', '--payment-method', card, '--yes').code).toBe(0);
    }
    bumpTemplate(ws, 4, '259.00');
    const dry = run('template', 'rollout', ACNE, '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/plan 1: v3 → v4[^]*price from installment 2: \$249\.00 → \$259\.00[^]*plan 2: v3 → v4[^]*price from installment 2: \$249\.00 → \$259\.00/);

    const before = state(ws);
    const refused = run('template', 'rollout', ACNE);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe('txplan: This would start a new price for 2 running plans (plan 1 (Visa •••• 4242): $249.00 → $259.00 a month from installment 2; plan 2 (Mastercard •••• 4444): $249.00 → $259.00 a month from installment 2), which needs a confirmation: run it on a terminal to be asked, or add --yes\n');
    expect(state(ws)).toEqual(before);
    expect(run('template', 'rollout', ACNE, '--yes').code).toBe(0);
    expect(query(ws, 'SELECT template_version FROM plans')).toEqual([{ template_version: 4 }, { template_version: 4 }]);

    bumpTemplate(ws, 5, undefined); // content only: the price stays
    const quiet = run('template', 'rollout', ACNE);
    expect(quiet.code).toBe(0);
    expect(query(ws, 'SELECT template_version FROM plans')).toEqual([{ template_version: 5 }, { template_version: 5 }]);
  });

  it('plan start of a prescribed plan whose template moved on needs a choice: as prescribed, or the current version', () => {
    const ws = clinicWorkspace(2);
    const run = at(ws, '2027-01-04T09:00:00Z');
    for (const patient of ['P-1', 'P-2']) expect(run('plan', 'apply', patient, ACNE, '--mode', 'prescribe').code).toBe(0);
    bumpTemplate(ws, 4, '259.00');
    const before = state(ws);
    const refused = run('plan', 'start', '1', '--payment-method', 'pm_card_visa', '--yes');
    expect(refused.code).toBe(2);
    // What changed is shown first, then the one-sentence refusal.
    expect(refused.stderr).toBe(`Plan 1 was prescribed from ${ACNE} v3; the template is now at v4:\n  monthly fee: $249.00/month → $259.00/month\ntxplan: Plan 1 was prescribed from ${ACNE} v3 and the template is now at v4; say which to start with --as-prescribed or --current-version\n`);
    expect(state(ws)).toEqual(before);

    expect(run('plan', 'start', '1', '--as-prescribed', '--payment-method', 'pm_card_visa', '--yes').code).toBe(0);
    const current = run('plan', 'start', '2', '--current-version', '--payment-method', 'pm_card_visa', '--yes');
    expect(current.code).toBe(0);
    expect(current.stdout).toContain(`Started plan 2 on ${ACNE} v4`);
    expect(query(ws, 'SELECT p.id, p.template_version, c.amount_minor FROM plans p JOIN charges c ON c.plan_id = p.id ORDER BY p.id')).toEqual([
      { id: 1, template_version: 3, amount_minor: 24900 },
      { id: 2, template_version: 4, amount_minor: 25900 },
    ]);
  });
});

describe('no ghosts', () => {
  it('a declined first installment leaves no charge pointing at a missing plan; the attempt is listed under the patient', () => {
    const ws = clinicWorkspace(2);
    const run = at(ws, '2027-01-04T09:00:00Z');
    const declined = run('plan', 'apply', 'P-1', ACNE, '--mode', 'start', '--clinic', 'main', '--payment-method', 'pm_card_chargeDeclined', '--yes');
    expect(declined.code).toBe(1);
    expect(declined.stderr).toContain('was declined');
    expect(run('plan', 'apply', 'P-2', ACNE, '--mode', 'start', '--clinic', 'main', '--payment-method', 'pm_card_visa', '--yes').code).toBe(0);

    expect(query(ws, 'SELECT id, plan_id FROM charges WHERE plan_id NOT IN (SELECT id FROM plans)')).toEqual([]);
    const check = run('db', 'check', '--json');
    expect(check.code).toBe(0);
    expect(JSON.parse(check.stdout)).toMatchObject({ ok: true, foreign_keys: [] });

    const mine = JSON.parse(run('billing', 'charges', '--patient', 'P-1', '--json').stdout) as Array<Record<string, unknown>>;
    expect(mine).toEqual([expect.objectContaining({ plan_id: null, patient_id: 1, declined_start: { removed_plan_id: 1, template: `${ACNE}@3` }, installment: 1, amount_minor: 24900, status: 'failed', decline_code: 'generic_decline' })]);
    const theirs = JSON.parse(run('billing', 'charges', '--patient', 'P-2', '--json').stdout) as Array<Record<string, unknown>>;
    expect(theirs).toEqual([expect.objectContaining({ plan_id: 2, amount_minor: 24900, status: 'succeeded' })]);
    expect(run('billing', 'charges', '--patient', 'P-1').stdout).toMatch(/start declined, plan 1 not kept \(patient 1\)/);
    // The processor recorded the declined attempt: txplan's records still match its ledger.
    expect(run('billing', 'reconcile').code).toBe(0);
  });
});

describe('confirming before money moves, on a terminal', () => {
  it('plan start shows the amount, what it pays for and the card, and asks (y/N); "n" charges nothing', async () => {
    const ws = clinicWorkspace(1);
    expect(txplan(['plan', 'apply', 'P-1', ACNE, '--mode', 'prescribe'], { cwd: ws }).code).toBe(0);
    const command = [process.execPath, binary, 'plan', 'start', '1', '--payment-method', 'pm_card_amex'].map((a) => `'${a}'`).join(' ');
    const child = spawn('script', ['-qec', command, '/dev/null'], { cwd: ws, env: { ...process.env, TERM: 'xterm', TXPLAN_ACTOR: 'test', TXPLAN_NOW: '2027-01-04T09:00:00Z', ...databaseEnv(ws) } });
    let screen = '';
    child.stdout.on('data', (chunk: Buffer) => (screen += chunk.toString()));
    const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
    const deadline = Date.now() + 20_000;
    while (!stripVTControlCharacters(screen).includes('(y/N)')) {
      if (Date.now() > deadline) throw new Error(`no question on screen:\n${stripVTControlCharacters(screen)}`);
      await new Promise((r) => setTimeout(r, 25));
    }
    const question = stripVTControlCharacters(screen);
    expect(question).toContain('Plan 1, Comprehensive Acne Resolution — charged to Amex •••• 8431 now:');
    expect(question).toContain('$249.00  installment 1 of 6');
    expect(question).toContain('Charge $249.00 to Amex •••• 8431 now? (y/N)');
    child.stdin.write('n\r');
    expect(await exited).toBe(130);
    expect(count(ws, 'charges')).toBe(0);
    expect(query(ws, 'SELECT status FROM plans')).toEqual([{ status: 'prescribed' }]);
  });
});
