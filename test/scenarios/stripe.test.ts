import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { at, clinicWorkspace, databaseBytes, query, STRIPE_TEST_KEY, txplan, withoutClockWarning, type RunResult } from '../helpers.js';
import { startStandInProcess, type StandInProcess } from '../stripe/standin-process.js';
import { databaseIdOf, useStripe } from '../stripe/workspace.js';

/**
 * Issue 10: charging real cards through Stripe, seen from the command line —
 * the configuration refused before anything reaches Stripe, cards saved to
 * the patient's customer, what Stripe is told (and never told), a charge
 * that needs the patient, an unanswered processor, a key used for other
 * work, and reconcile against Stripe's own records. Every command is the
 * built binary talking to the local stand-in through the official SDK.
 */

const ACNE = 'comprehensive-acne-resolution'; // monthly, 6 × $249.00
const START = '2031-01-15';

let standIn: StandInProcess;

beforeAll(async () => {
  standIn = await startStandInProcess({ seed: 10 });
});
afterAll(async () => {
  await standIn.close();
});

/** Patients P-1 and P-2 at clinic "main", the workspace charging through the stand-in. */
function stripeClinic(): { ws: string; run: (now: string, ...args: string[]) => RunResult; json: <T>(now: string, ...args: string[]) => T } {
  const ws = clinicWorkspace(2);
  useStripe(ws, standIn.url);
  const run = (now: string, ...args: string[]) => txplan(args, { cwd: ws, env: at(now) });
  const json = <T,>(now: string, ...args: string[]): T => {
    const result = run(now, ...args, '--json');
    if (result.code !== 0) throw new Error(`txplan ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
    return JSON.parse(result.stdout) as T;
  };
  return { ws, run, json };
}

const requests = async () => (await standIn.stats()).requests;
const errorLines = (result: RunResult) => withoutClockWarning(result.stderr).trim().split('\n');
const mine = <T extends { metadata: Record<string, string> }>(ws: string, objects: T[]) => objects.filter((o) => o.metadata.txplan_database === databaseIdOf(ws));
const start = (c: ReturnType<typeof stripeClinic>, token: string, patient = 'P-1') => c.run(START, 'plan', 'apply', patient, ACNE, '--mode', 'start', '--yes', '--clinic', 'main', '--start', START, '--payment-method', token);

describe('configuration, checked before anything reaches Stripe', () => {
  it('refuses a missing key, a live key in test mode, a bad API base and a broken payments section, with one sentence each and nothing sent or written', async () => {
    const c = stripeClinic();
    const before = await requests();
    const cases: Array<{ env: Record<string, string>; message: RegExp; edit?: (yaml: string) => string }> = [
      { env: { STRIPE_SECRET_KEY: '' }, message: /^txplan: payments\.gateway is stripe, but STRIPE_SECRET_KEY is not set; export the secret key/ },
      { env: { STRIPE_SECRET_KEY: 'sk_live_51LiveKeyThatMustNeverShow' }, message: /^txplan: STRIPE_SECRET_KEY is a live key, but payments\.stripe\.mode is test; use a test key/ },
      { env: { STRIPE_SECRET_KEY: '4242424242424242' }, message: /^txplan: STRIPE_SECRET_KEY is not a Stripe secret key/ },
      { env: { TXPLAN_STRIPE_API_BASE: 'ftp://127.0.0.1:1' }, message: /^txplan: TXPLAN_STRIPE_API_BASE "ftp:\/\/127\.0\.0\.1:1" must be an http\(s\) origin without a path/ },
      { env: {}, message: /^txplan: txplan\.yaml:\d+: .*concurrency.*; txplan takes no payment while its settings are broken/, edit: (yaml) => yaml.replace('max_rps: 0', 'max_rps: 0\n    concurrency: 0') },
    ];
    const settings = join(c.ws, 'txplan.yaml');
    const original = readFileSync(settings, 'utf8');
    for (const { env, message, edit } of cases) {
      writeFileSync(settings, edit ? edit(original) : original);
      const result = txplan(['plan', 'apply', 'P-1', ACNE, '--mode', 'start', '--yes', '--clinic', 'main', '--start', START, '--payment-method', 'pm_card_visa'], { cwd: c.ws, env: { ...at(START), ...env } });
      expect(result.code, result.stderr).toBe(1);
      expect(errorLines(result)).toHaveLength(1);
      expect(errorLines(result)[0]).toMatch(message);
      expect(result.stderr).not.toContain('LiveKeyThatMustNeverShow');
    }
    writeFileSync(settings, original);
    expect(await requests()).toBe(before);
    expect(query(c.ws, 'SELECT id FROM plans')).toEqual([]);
    expect(query(c.ws, 'SELECT id FROM payment_methods')).toEqual([]);
  });

  it('never shows the secret key: not when Stripe refuses it, not with --debug, not in the database or the audit', async () => {
    const c = stripeClinic();
    // A test key this stand-in does not take: Stripe answers 401 with the key masked; txplan masks what is left.
    const key = 'sk_test_51RevokedKeyNobodyMayRead42';
    const refused = txplan(['plan', 'apply', 'P-1', ACNE, '--mode', 'start', '--yes', '--clinic', 'main', '--start', START, '--payment-method', 'pm_card_visa', '--debug'], {
      cwd: c.ws,
      env: { ...at(START), STRIPE_SECRET_KEY: key, TXPLAN_STRIPE_API_BASE: standInRejecting.url },
    });
    expect(refused.code).toBe(1);
    expect(withoutClockWarning(refused.stderr)).toMatch(/^txplan: Stripe refused the secret key in STRIPE_SECRET_KEY/);
    for (const part of [key, key.slice(8), key.slice(-12), 'RevokedKey']) {
      expect(refused.stdout + refused.stderr).not.toContain(part);
      expect(databaseBytes(c.ws)).not.toContain(part);
    }
    expect(query(c.ws, 'SELECT id FROM plans')).toEqual([]);
    // With the right key, the whole audit trail of a start holds no key either.
    expect(start(c, 'pm_card_visa').code).toBe(0);
    expect(JSON.stringify(query(c.ws, 'SELECT * FROM audit'))).not.toMatch(/sk_(test|live)_/);
  });
});

let standInRejecting: StandInProcess;
beforeAll(async () => {
  standInRejecting = await startStandInProcess({ apiKey: STRIPE_TEST_KEY });
});
afterAll(async () => {
  await standInRejecting.close();
});

describe('cards saved with Stripe', () => {
  it('makes one customer per patient named only by ids, attaches the card, and stores Stripe\'s token, brand, last four and expiry', async () => {
    const c = stripeClinic();
    expect(start(c, 'pm_card_visa').code).toBe(0);
    const customers = mine(c.ws, (await standIn.customers()));
    expect(customers).toHaveLength(1);
    expect(customers[0]!.metadata).toEqual({ txplan_database: databaseIdOf(c.ws), txplan_patient: '1' });
    const [method] = query<{ token: string; brand: string; last4: string; exp_month: number; exp_year: number; customer: string }>(c.ws, 'SELECT token, brand, last4, exp_month, exp_year, customer FROM payment_methods');
    expect(method).toEqual({ token: expect.stringMatching(/^pm_1\w+$/), brand: 'visa', last4: '4242', exp_month: 12, exp_year: 2034, customer: customers[0]!.id });
    // A second card for the same patient goes to the same customer; another patient gets their own.
    const plan = query<{ id: number }>(c.ws, 'SELECT id FROM plans')[0]!.id;
    expect(c.run(START, 'plan', 'payment', String(plan), '--payment-method', 'pm_card_mastercard', '--yes').code).toBe(0);
    expect(start(c, 'pm_card_amex', 'P-2').code).toBe(0);
    expect(mine(c.ws, (await standIn.customers())).map((x) => x.metadata.txplan_patient)).toEqual(['1', '2']);
    expect(query(c.ws, 'SELECT patient_id, brand, customer FROM payment_methods ORDER BY id')).toEqual([
      { patient_id: 1, brand: 'visa', customer: customers[0]!.id },
      { patient_id: 1, brand: 'mastercard', customer: customers[0]!.id },
      { patient_id: 2, brand: 'amex', customer: mine(c.ws, (await standIn.customers()))[1]!.id },
    ]);

    // Nothing about the patient or their health went to Stripe: no name, no plan title, no template, no notes.
    const sent = JSON.stringify([mine(c.ws, (await standIn.customers())), mine(c.ws, (await standIn.paymentIntents()))]);
    for (const word of ['Ada', 'Lovelace', 'Grace', 'Hopper', 'Acne', 'acne', 'P-1', 'Main Street']) expect(sent).not.toContain(word);
    const intent = mine(c.ws, (await standIn.paymentIntents()))[0]!;
    expect(intent).toMatchObject({ amount: 24900, currency: 'usd', status: 'succeeded', customer: customers[0]!.id, payment_method: method!.token, description: `Plan ${plan}, installment 1` });
    expect(intent.metadata).toEqual({ txplan_key: `txp_${databaseIdOf(c.ws)}_plan-${plan}-installment-1`, txplan_database: databaseIdOf(c.ws), txplan_plan: String(plan), txplan_patient: '1', txplan_for: 'installment 1' });
  });

  // A card Stripe declines when it is saved is covered by the billing scenarios, on plan apply, start and payment.
  it('a token Stripe does not know is one clear error and changes nothing', async () => {
    const c = stripeClinic();
    const unknown = start(c, 'pm_1NoSuchMethod0000');
    expect(unknown.code).toBe(1);
    expect(errorLines(unknown)).toEqual([expect.stringMatching(/^txplan: Stripe has no payment method pm_1NoSuchMethod0000; check the token/)]);
    expect(query(c.ws, 'SELECT id FROM plans')).toEqual([]);
    expect(query(c.ws, 'SELECT id FROM payment_methods')).toEqual([]);
    expect(query(c.ws, 'SELECT id FROM charges')).toEqual([]);
    expect(mine(c.ws, (await standIn.paymentIntents()))).toEqual([]);
  });
});

describe('a charge that needs the patient (SCA)', () => {
  it('fails, makes the plan past due at once, and plan show, billing charges and the run say so; plan payment brings it back', async () => {
    const c = stripeClinic();
    expect(start(c, 'pm_card_visa').code).toBe(0);
    const { id: plan, token } = query<{ id: number; token: string }>(c.ws, 'SELECT p.id, m.token FROM plans p JOIN payment_methods m ON m.id = p.payment_method_id')[0]!;
    // The bank now wants the patient to confirm every payment on this card.
    await standIn.setOutcome(token, { code: 'authentication_required', message: 'Your card was declined. This transaction requires authentication.' });
    const run = c.run('2031-02-01', 'billing', 'run', '--date', '2031-02-01');
    expect(run.code).toBe(3);
    expect(run.stdout).toContain('failed 1');
    expect(run.stdout).toContain('past due 1, needing the patient 1,');
    expect(run.stderr).toContain(`plan ${plan} past due; needs the patient: their bank asks them to confirm the payment (3-D Secure)`);
    const show = c.run('2031-02-01', 'plan', 'show', String(plan));
    expect(show.stdout).toMatch(/Past due\s+installment 2 needs the patient: their bank asks them to confirm the payment/);
    expect(c.json<{ status: string; past_due: { needs_patient: boolean; decline_code: string } }>('2031-02-01', 'plan', 'show', String(plan))).toMatchObject({ status: 'past_due', past_due: { needs_patient: true, decline_code: 'authentication_required' } });
    const charges = c.json<Array<{ installment: number; status: string; needs_patient: boolean; hard_decline: boolean; next_attempt_on: string | null }>>('2031-02-01', 'billing', 'charges', '--plan', String(plan));
    expect(charges.map((x) => [x.installment, x.status, x.needs_patient, x.hard_decline, x.next_attempt_on])).toEqual([
      [1, 'succeeded', false, false, null],
      [2, 'failed', true, true, null],
    ]);
    expect(c.run('2031-02-01', 'billing', 'charges', '--plan', String(plan)).stdout).toContain('authentication_required, needs the patient');
    // No retry while the plan waits for the patient.
    expect(c.run('2031-02-10', 'billing', 'run', '--date', '2031-02-10').stdout).toContain('charged 0');

    // The patient gives another card: the plan is active again and the next run charges installment 2 on it.
    expect(c.run('2031-02-10', 'plan', 'payment', String(plan), '--payment-method', 'pm_card_mastercard', '--yes').code).toBe(0);
    const again = c.run('2031-02-11', 'billing', 'run', '--date', '2031-02-11', '--json');
    expect(JSON.parse(again.stdout)).toMatchObject({ charged: 1, failed: 0, needs_patient: 0 });
    expect(c.run('2031-02-11', 'billing', 'reconcile').code).toBe(0);
  });

  it('an answer of requires_action (no off-session exemption) is the same: a failed charge needing the patient', async () => {
    const c = stripeClinic();
    expect(start(c, 'pm_card_visa').code).toBe(0);
    const { token } = query<{ token: string }>(c.ws, 'SELECT token FROM payment_methods')[0]!;
    await standIn.setOutcome(token, 'requires_action');
    const run = JSON.parse(c.run('2031-02-01', 'billing', 'run', '--date', '2031-02-01', '--json').stdout) as { failed: number; needs_patient: number; past_due_plans: number; charges: Array<{ decline_code: string }> };
    expect(run).toMatchObject({ failed: 1, needs_patient: 1, past_due_plans: 1 });
    expect(run.charges[0]!.decline_code).toBe('authentication_required');
    expect(c.run('2031-02-01', 'billing', 'reconcile').code).toBe(0);
  });
});

describe('when Stripe does not answer, or answers for other work', () => {
  it('a charge Stripe never answers stays pending, is asked again under the same key, and is charged once', async () => {
    const c = stripeClinic();
    expect(start(c, 'pm_card_visa').code).toBe(0);
    await standIn.configure({ faults: [{ kind: '500', route: 'POST /v1/payment_intents' }] });
    let down: RunResult;
    try {
      down = c.run('2031-02-01', 'billing', 'run', '--date', '2031-02-01');
    } finally {
      await standIn.configure({ faults: [] });
    }
    expect(down.code).toBe(3);
    expect(down.stderr).toMatch(/unanswered txp_\w+_plan-1-installment-2 \$249\.00: Stripe did not answer charge \S+ \(Stripe failed with HTTP 500; \d+ tries\); it stays pending and the next billing run asks again under the same key/);
    expect(query(c.ws, "SELECT status FROM charges WHERE installment = 2")).toEqual([{ status: 'pending' }]);
    const pending = c.run('2031-02-01', 'billing', 'reconcile');
    expect(pending.code).toBe(1);
    expect(pending.stdout).toContain('plan-1-installment-2 (plan 1): pending in txplan and never reached the processor');

    const back = JSON.parse(c.run('2031-02-02', 'billing', 'run', '--date', '2031-02-02', '--json').stdout) as { charged: number };
    expect(back.charged).toBe(1);
    expect(mine(c.ws, (await standIn.paymentIntents())).map((pi) => [pi.metadata.txplan_for, pi.status])).toEqual([
      ['installment 1', 'succeeded'],
      ['installment 2', 'succeeded'],
    ]);
    expect(c.run('2031-02-02', 'billing', 'reconcile').code).toBe(0);
  });

  it('a key Stripe already holds for other work stops that charge, reports it, and reconcile shows it', async () => {
    const c = stripeClinic();
    expect(start(c, 'pm_card_visa').code).toBe(0);
    const key = `txp_${databaseIdOf(c.ws)}_plan-1-installment-2`;
    // Someone (a restored copy, a bug) already used installment 2's key for another amount.
    const other = new Stripe(STRIPE_TEST_KEY, { host: '127.0.0.1', port: standIn.port, protocol: 'http', maxNetworkRetries: 0 });
    await other.paymentIntents.create(
      { amount: 100, currency: 'usd', payment_method: 'pm_card_visa', confirm: true, off_session: true, metadata: { txplan_key: key, txplan_database: databaseIdOf(c.ws), txplan_plan: '1', txplan_patient: '1', txplan_for: 'installment 2' } },
      { idempotencyKey: key },
    );
    const run = c.run('2031-02-01', 'billing', 'run', '--date', '2031-02-01');
    expect(run.code).toBe(3);
    expect(run.stderr).toContain(`unanswered ${key} $249.00`);
    expect(run.stderr).toContain('it was used before with a different amount');
    expect(query(c.ws, 'SELECT status FROM charges WHERE installment = 2')).toEqual([{ status: 'pending' }]);
    const reconcile = c.run('2031-02-01', 'billing', 'reconcile');
    expect(reconcile.code).toBe(1);
    expect(reconcile.stdout).toContain(`${key} (plan 1): txplan has $249.00, the processor $1.00`);
    expect(mine(c.ws, (await standIn.paymentIntents())).filter((pi) => pi.metadata.txplan_key === key)).toHaveLength(1);
  });
});

describe('billing reconcile against Stripe', () => {
  it('lists a charge Stripe made that txplan has no record of, one line, exit 1; another database\'s charges in the same account are left alone', async () => {
    const c = stripeClinic();
    expect(start(c, 'pm_card_visa').code).toBe(0);
    expect(c.run(START, 'billing', 'reconcile').stdout).toContain("Every charge matches the Stripe processor's records");
    const other = new Stripe(STRIPE_TEST_KEY, { host: '127.0.0.1', port: standIn.port, protocol: 'http', maxNetworkRetries: 0 });
    const stray = `txp_${databaseIdOf(c.ws)}_plan-9-installment-1`;
    await other.paymentIntents.create({ amount: 4200, currency: 'usd', payment_method: 'pm_card_visa', confirm: true, off_session: true, metadata: { txplan_key: stray, txplan_database: databaseIdOf(c.ws) } }, { idempotencyKey: stray });
    // Another database's charges in the same Stripe account are not this one's business.
    await other.paymentIntents.create({ amount: 999, currency: 'usd', payment_method: 'pm_card_visa', confirm: true, off_session: true, metadata: { txplan_key: 'txp_someotherdatabaseidxxx_plan-1-installment-1', txplan_database: 'someotherdatabaseidxxx' } });
    const result = c.run(START, 'billing', 'reconcile');
    expect(result.code).toBe(1);
    expect(result.stdout.trim().split('\n')).toEqual([`${stray}: the processor charged a charge txplan has no record of ($42.00)`, '✖ 1 difference with the Stripe processor']);
    const json = JSON.parse(c.run(START, 'billing', 'reconcile', '--json').stdout) as { gateway: string; ok: boolean; differences: Array<{ problem: string; processor: { id: string } }> };
    expect(json).toMatchObject({ gateway: 'stripe', ok: false, differences: [{ problem: 'unknown_to_txplan', processor: { id: expect.stringMatching(/^pi_/) } }] });
  });
});
