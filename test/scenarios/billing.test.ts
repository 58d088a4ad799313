import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { parse } from 'yaml';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { at, binary, clockWarning, databaseBytes, databaseEnv, engine, holdAdvisoryBillingLock, runner, setUp, STRIPE_TEST_KEY, testDatabase, withoutClockWarning, workspace, type RunResult, type TestClock, type TestDatabase } from '../helpers.js';
import { startStandInProcess, type StandInProcess } from '../stripe/standin-process.js';
import { GATEWAYS, useStripe, type GatewayName } from '../stripe/workspace.js';

/**
 * SPEC §5 and §6, issue 4: every billing command and exit code, through the
 * built binary, in temporary workspaces. Time moves only with TXPLAN_NOW:
 * each workspace's clock starts at TODAY, `billing run --date D` runs with the
 * clock at D (a run never charges the future of its clock), and a plan
 * starting later than the clock is entered on its start date. Commands
 * without a date flag (cancel, pause, resume, payment, forecast) run at the
 * clock as it stands.
 *
 * Every test runs twice: against the offline sandbox, and against Stripe
 * through the real SDK (the local stand-in of test/stripe/, one for the file,
 * in a process of its own: txplan runs synchronously here, which would block
 * a stand-in in the test's own process).
 */

let standIn: StandInProcess;
beforeAll(async () => {
  standIn = await startStandInProcess({ seed: 10 });
});
afterAll(async () => {
  await standIn?.close();
});

/** The SDK pointed at the stand-in, to make Stripe hold what txplan did not send. */
function stripeClient(): Stripe {
  return new Stripe(STRIPE_TEST_KEY, { host: '127.0.0.1', port: standIn.port, protocol: 'http', maxNetworkRetries: 0, telemetry: false });
}

/**
 * A PaymentIntent made straight at Stripe (not by txplan) under `key`, declined or not as its card says;
 * its id. Metadata as the gateway writes it, so it counts as this database's charge.
 */
async function intentAtStripe(params: Stripe.PaymentIntentCreateParams, key: string): Promise<string> {
  try {
    return (await stripeClient().paymentIntents.create(params, { idempotencyKey: key })).id;
  } catch (error) {
    if (error instanceof Stripe.errors.StripeCardError && error.payment_intent) return error.payment_intent.id;
    throw error;
  }
}

/** The messages Stripe's test cards decline with (the same as the sandbox's). */
const DECLINE_MESSAGES: Record<Decline, string> = {
  generic_decline: 'Your card was declined.',
  insufficient_funds: 'Your card has insufficient funds.',
  stolen_card: 'Your card was declined.',
};
type Decline = 'generic_decline' | 'insufficient_funds' | 'stolen_card';
/** The sandbox's test tokens that save, then decline every charge so. */
const SANDBOX_DECLINERS: Record<Decline, string> = {
  generic_decline: 'pm_card_chargeDeclined',
  insufficient_funds: 'pm_card_chargeDeclinedInsufficientFunds',
  stolen_card: 'pm_card_chargeDeclinedStolenCard',
};

const ACNE = 'comprehensive-acne-resolution'; // monthly, 6 × $249.00, min term 3 months, early fee $150.00
const GLOW = 'glow-membership'; // monthly, 12 × $169.00
const MODERATE = 'moderate-acne-program'; // monthly, 4 × $199.00, no cancellation terms
const MILD = 'mild-acne-clearing'; // pay-as-you-go, 4 visits (week 1, 5, 9, 12)

interface Charge {
  id: number;
  plan_id: number;
  kind: 'installment' | 'step' | 'cancel_fee';
  installment: number | null;
  step_n: number | null;
  idempotency_key: string;
  due_date: string;
  amount_minor: number;
  currency: string;
  status: 'pending' | 'succeeded' | 'failed';
  attempts: number;
  next_attempt_on: string | null;
  hard_decline: boolean;
  decline_code: string | null;
  payment_token: string;
}

interface RunReport {
  date: string;
  charged: number;
  failed: number;
  skipped: number;
  completed_plans: number;
  past_due_plans: number;
  amount_minor: number;
  currency: string;
  dry_run: boolean;
  charges: Array<{ plan_id: number; installment: number | null; due_date: string; status: string; amount_minor: number; idempotency_key: string; decline_code: string | null; next_attempt_on: string | null }>;
}

/** One charge as the processor holds it: a row of the sandbox's ledger, or a PaymentIntent at Stripe. */
interface LedgerRow {
  id: string;
  idempotency_key: string;
  amount_minor: number;
  currency: string;
  token: string;
  status: 'succeeded' | 'declined';
  decline_code: string | null;
  /** The sandbox's own column (Stripe holds no such thing: hard or not is txplan's reading of the code). */
  hard?: number;
}

interface PlanJson {
  id: number;
  status: string;
  start_date: string | null;
  end_date: string | null;
  steps: Array<{ n: number; recommended_date: string | null; status: string; services: string[] }>;
}

// ---- dates (kept independent of src/domain/dates.ts) ----

function ymd(date: Date): string {
  return date.toISOString().slice(0, 10);
}
function parts(text: string): [number, number, number] {
  const [y, m, d] = text.split('-').map(Number) as [number, number, number];
  return [y, m, d];
}
/** The 1st of the month `months` after the month of `text`. */
function firstOfMonth(text: string, months = 0): string {
  const [y, m] = parts(text);
  return ymd(new Date(Date.UTC(y, m - 1 + months, 1)));
}
function plusDays(text: string, days: number): string {
  const [y, m, d] = parts(text);
  return ymd(new Date(Date.UTC(y, m - 1, d + days)));
}
/** Adds months, clamping to the month's last day. */
function plusMonths(text: string, months: number): string {
  const [y, m, d] = parts(text);
  const last = new Date(Date.UTC(y, m - 1 + months + 1, 0)).getUTCDate();
  return ymd(new Date(Date.UTC(y, m - 1 + months, Math.min(d, last))));
}
/** The simulated today every workspace starts at (a date alone is 12:00Z: the same date in every clinic's zone). */
const TODAY = '2027-03-10';

// ---- the workspace ----

interface Clinic {
  gateway: GatewayName;
  ws: string;
  /** txplan's clock (TXPLAN_NOW) for the commands this workspace runs. */
  clock: TestClock;
  run: (...args: string[]) => RunResult;
  json: <T = unknown>(...args: string[]) => T;
  /** `billing run --date D --json` with the clock moved to D (never back: an earlier D is a catch-up run), with its exit code. */
  bill: (date: string, ...more: string[]) => { code: number; report: RunReport; stderr: string };
  charges: (...filters: string[]) => Charge[];
  /** The processor's own record of this workspace's charges, in idempotency-key order. */
  ledger: () => LedgerRow[];
  /** txplan's database (SQLite's file, or the workspace's PostgreSQL database). */
  db: (readonly?: boolean) => TestDatabase;
  /** The sandbox processor's ledger: its own file beside a SQLite database; on PostgreSQL its tables sandbox_charges and sandbox_refunds in the same database, which `charges` and `refunds` in the SQL given name. */
  sandbox: (readonly?: boolean) => TestDatabase;
  /** `plan apply --mode start`; a start later than the clock moves the clock to it (the plan is entered on its start date). */
  apply: (template: string, start: string, token?: string, clinic?: string, patient?: string) => number;
  /** `plan apply --mode start` at the clock as it stands, even for a start after it (a plan entered ahead of its start). */
  applyAhead: (template: string, start: string, token?: string, clinic?: string, patient?: string) => number;
  /** Moves the clock to `now` (never back), then runs the command. */
  runAt: (now: string, ...args: string[]) => RunResult;
  /**
   * `plan payment` with a card that saves, then declines every charge with `code`:
   * the sandbox's pm_card_chargeDeclined… tokens; at Stripe (where those are declined when saved, as in
   * Stripe's test mode) pm_card_chargeCustomerFail, or a good card the stand-in then declines so.
   */
  declineWith: (plan: number, code: Decline) => RunResult;
  /** What the stored token of test card `name` looks like: the name itself in the sandbox, the pm_1… clone Stripe made at Stripe. */
  token: (name: string) => unknown;
  /** The processor's id of a charge: ch_<24 hex> in the sandbox, a PaymentIntent pi_… at Stripe. */
  chargeId: RegExp;
  /** What every idempotency key of this database starts with: txp_<database id>_. */
  k: string;
  /** This database's id. */
  databaseId: string;
}

/** A workspace with two clinics (one on UTC, one on Los Angeles time) and three patients, its clock at `today`, charging through `gateway`. */
function makeClinic(gateway: GatewayName, today = TODAY): Clinic {
  const ws = workspace();
  if (gateway === 'stripe') useStripe(ws, standIn.url);
  const clock: TestClock = { now: today };
  const { run, json } = runner(ws, clock);
  setUp(ws, [
    ['clinic', 'add', 'main', '--name', 'Main Street', '--timezone', 'UTC'],
    ['clinic', 'add', 'west', '--name', 'Westside', '--timezone', 'America/Los_Angeles'],
    ['patient', 'add', '--first', 'Ada', '--last', 'Lovelace', '--mrn', 'P-1'],
    ['patient', 'add', '--first', 'Grace', '--last', 'Hopper', '--mrn', 'P-2'],
    ['patient', 'add', '--first', 'Alan', '--last', 'Turing', '--mrn', 'P-3'],
  ], today);
  const db = (readonly = true) => testDatabase(ws, { readonly });
  const sandbox = (readonly = true): TestDatabase => {
    if (engine === 'sqlite') return new Database(join(ws, '.txplan', 'sandbox-gateway.db'), { readonly });
    const handle = testDatabase(ws, { readonly });
    const ledgerTables = (sql: string) => sql.replace(/\b(FROM|JOIN|INTO|UPDATE)\s+(charges|refunds)\b/gi, (_all, keyword: string, table: string) => `${keyword} sandbox_${table}`);
    return { prepare: (sql) => handle.prepare(ledgerTables(sql)), exec: (sql) => handle.exec(ledgerTables(sql)), close: () => handle.close() };
  };
  const databaseId = query<{ id: string }>(db(), 'SELECT id FROM database_info')[0]!.id;
  const k = `txp_${databaseId}_`;
  const forward = (now: string) => {
    if (now > clock.now!) clock.now = now;
  };
  // Entered today for a start later on, with installment 1 charged at once (--charge-now) rather than by the run on the start date.
  const applyAhead = (template: string, start: string, token = 'pm_card_visa', where = 'main', patient = 'P-1') =>
    json<{ id: number }>('plan', 'apply', patient, template, '--mode', 'start', '--yes', '--charge-now', '--clinic', where, '--start', start, '--payment-method', token).id;
  const ledger = (): LedgerRow[] => {
    if (gateway === 'sandbox') {
      const handle = sandbox();
      try {
        return handle.prepare('SELECT * FROM charges ORDER BY idempotency_key').all() as LedgerRow[];
      } finally {
        handle.close();
      }
    }
    const rows = standIn
      .paymentIntents()
      .filter((pi) => pi.metadata.txplan_database === databaseId)
      .map((pi): LedgerRow => ({
        id: pi.id,
        idempotency_key: pi.metadata.txplan_key!,
        amount_minor: pi.amount,
        currency: pi.currency.toUpperCase(),
        token: pi.payment_method!,
        status: pi.status === 'succeeded' ? 'succeeded' : 'declined',
        decline_code: pi.last_payment_error ? (pi.last_payment_error.decline_code ?? pi.last_payment_error.code) : null,
      }));
    // Key order, as the sandbox's ledger reads (a stable sort keeps two of one key oldest first).
    return rows.sort((a, b) => (a.idempotency_key < b.idempotency_key ? -1 : a.idempotency_key > b.idempotency_key ? 1 : 0));
  };
  return {
    gateway,
    k,
    databaseId,
    ws,
    clock,
    run,
    json,
    runAt: (now, ...args) => {
      forward(now);
      return run(...args);
    },
    bill: (date, ...more) => {
      forward(date);
      const result = run('billing', 'run', '--date', date, '--json', ...more);
      if (result.code !== 0 && result.code !== 3) throw new Error(`billing run --date ${date} exited ${result.code}: ${result.stderr}`);
      return { code: result.code, report: JSON.parse(result.stdout) as RunReport, stderr: result.stderr };
    },
    charges: (...filters) => json<Charge[]>('billing', 'charges', ...filters),
    ledger,
    db,
    sandbox,
    // Entered on its start date (the clock set there for the command, never moved back for the rest): installment 1 is charged at once, and nothing else.
    apply: (template, start, token = 'pm_card_visa', where = 'main', patient = 'P-1') => {
      forward(start);
      const now = clock.now;
      clock.now = start;
      try {
        return json<{ id: number }>('plan', 'apply', patient, template, '--mode', 'start', '--yes', '--clinic', where, '--start', start, '--payment-method', token).id;
      } finally {
        clock.now = now;
      }
    },
    applyAhead,
    declineWith: (plan, code) => {
      if (gateway === 'sandbox') return run('plan', 'payment', '--yes', String(plan), '--payment-method', SANDBOX_DECLINERS[code]);
      if (code === 'generic_decline') return run('plan', 'payment', '--yes', String(plan), '--payment-method', 'pm_card_chargeCustomerFail');
      // A debit Visa (not the visa every plan here starts with: one patient saving one card twice gets the same clone back).
      const result = run('plan', 'payment', '--yes', String(plan), '--payment-method', 'pm_card_visa_debit');
      if (result.code !== 0) return result;
      const token = json<{ payment_method: { token: string } }>('plan', 'show', String(plan)).payment_method.token;
      expect(token).toMatch(/^pm_1/);
      standIn.setOutcome(token, { code: 'card_declined', decline_code: code, message: DECLINE_MESSAGES[code] });
      return result;
    },
    token: (name) => (gateway === 'sandbox' ? name : expect.stringMatching(/^pm_1[A-Za-z0-9]+$/)),
    chargeId: gateway === 'sandbox' ? /^ch_[0-9a-f]{24}$/ : /^pi_[A-Za-z0-9]+$/,
  };
}

function query<T = Record<string, unknown>>(handle: TestDatabase, sql: string, ...params: unknown[]): T[] {
  try {
    return handle.prepare(sql).all(...params) as T[];
  } finally {
    handle.close();
  }
}

function keysOf(rows: Array<{ idempotency_key: string }>): string[] {
  return rows.map((r) => r.idempotency_key).sort();
}

/** Drops the triggers that keep a charge's fixed columns and its status transitions (as tampering with the database would). */
const DROP_CHARGE_TRIGGERS = engine === 'sqlite' ? 'DROP TRIGGER charges_fixed_columns; DROP TRIGGER charges_transitions;' : 'DROP TRIGGER charges_fixed_columns ON charges; DROP TRIGGER charges_transitions ON charges;';

// ---- tests ----

describe.each(GATEWAYS)('%s', (gateway) => {
  const clinic = (today?: string) => makeClinic(gateway, today);


  describe('charging at program start', () => {
    it('plan apply --mode start charges installment 1, recorded by txplan and by the processor', () => {
      const c = clinic();
      const id = c.apply(ACNE, '2031-01-15');
      const charges = c.charges();
      expect(charges).toHaveLength(1);
      expect(charges[0]).toMatchObject({
        plan_id: id,
        kind: 'installment',
        installment: 1,
        idempotency_key: `${c.k}plan-${id}-installment-1`,
        due_date: '2031-01-15',
        amount_minor: 24900,
        currency: 'USD',
        status: 'succeeded',
        attempts: 1,
        payment_token: c.token('pm_card_visa'),
      });
      const ledger = c.ledger();
      expect(ledger).toHaveLength(1);
      expect(ledger[0]).toMatchObject({ idempotency_key: `${c.k}plan-${id}-installment-1`, amount_minor: 24900, currency: 'USD', token: charges[0]!.payment_token, status: 'succeeded' });
      expect(ledger[0]!.id).toMatch(c.chargeId);
      if (gateway === 'stripe') {
        // Brand and last4 come back from Stripe for the pm_1… clone it made of pm_card_visa.
        expect(c.json<{ payment_method: { token: string; brand: string; last4: string } }>('plan', 'show', String(id)).payment_method).toMatchObject({ token: charges[0]!.payment_token, brand: 'visa', last4: '4242' });
        // An off-session PaymentIntent on the patient's customer, named by ids only.
        const intent = standIn.paymentIntents().find((pi) => pi.id === ledger[0]!.id)!;
        expect(intent.customer).toMatch(/^cus_/);
        expect(intent.metadata).toEqual({ txplan_key: `${c.k}plan-${id}-installment-1`, txplan_database: c.databaseId, txplan_plan: String(id), txplan_patient: '1', txplan_for: 'installment 1' });
        expect(standIn.customers().find((cu) => cu.id === intent.customer)!.metadata).toEqual({ txplan_database: c.databaseId, txplan_patient: '1' });
      }
      expect(c.json<PlanJson>('plan', 'show', String(id)).status).toBe('active');
      expect(c.run('billing', 'reconcile').code).toBe(0);
    });

    it('a declined first installment exits 1 with the reason and leaves no plan behind', () => {
      const c = clinic('2031-01-15');
      // Stripe declines pm_card_chargeDeclined when it is saved (the test below); this one saves, then declines the charge.
      const declining = gateway === 'sandbox' ? 'pm_card_chargeDeclined' : 'pm_card_chargeCustomerFail';
      const result = c.run('plan', 'apply', 'P-1', ACNE, '--mode', 'start', '--yes', '--clinic', 'main', '--start', '2031-01-15', '--payment-method', declining);
      expect(result.code).toBe(1);
      expect(result.stderr).toBe(clockWarning('2031-01-15') + 'txplan: The first installment of $249.00 was declined (generic_decline: Your card was declined.); the program was not started. Try another payment method\n');
      expect(result.stdout).toBe('');
      expect(c.json<unknown[]>('plan', 'list')).toEqual([]);
      expect(query<{ n: number }>(c.db(), 'SELECT count(*) AS n FROM plans')[0]!.n).toBe(0);
      expect(query<{ n: number }>(c.db(), 'SELECT count(*) AS n FROM steps')[0]!.n).toBe(0);
      expect(query<{ n: number }>(c.db(), 'SELECT count(*) AS n FROM plan_prices')[0]!.n).toBe(0);
      const audit = c.json<Array<{ action: string; entity: string; entity_id: string; after: { decline_code?: string } }>>('audit', '--entity', 'plan', '--reverse');
      expect(audit.map((a) => a.action)).toEqual(['plan.start', 'plan.start_declined']);
      expect(audit[1]!.after.decline_code).toBe('generic_decline');
      // The processor saw one declined charge, and txplan's record agrees with it.
      expect(c.ledger().map((r) => [r.idempotency_key, r.status, r.decline_code])).toEqual([[`${c.k}plan-1-installment-1`, 'declined', 'generic_decline']]);
      expect(c.run('billing', 'charges', '--plan', '1').code).toBe(1); // the plan is gone; its charge stays as the record
      expect(c.charges('--status', 'failed').map((ch) => ch.idempotency_key)).toEqual([`${c.k}plan-1-installment-1`]);
      expect(c.run('billing', 'reconcile').code).toBe(0);
      // A billing run does not resurrect or retry it.
      expect(c.bill('2031-06-01').report).toMatchObject({ charged: 0, failed: 0 });
      expect(c.ledger()).toHaveLength(1);

      // --json: the error as JSON on stderr, nothing on stdout. Entered on its start date again.
      c.clock.now = '2031-01-15';
      const asJson = c.run('plan', 'apply', 'P-1', ACNE, '--mode', 'start', '--yes', '--clinic', 'main', '--start', '2031-01-15', '--payment-method', 'pm_card_chargeCustomerFail', '--json');
      expect(asJson.code).toBe(1);
      expect(asJson.stdout).toBe('');
      expect(JSON.parse(withoutClockWarning(asJson.stderr))).toEqual({ error: { code: 'declined', message: expect.stringContaining('was declined (generic_decline') } });
      expect(c.json<unknown[]>('plan', 'list')).toEqual([]);
      // Plan ids are never reused, so neither are idempotency keys: a good card now makes plan 3.
      const id = c.apply(ACNE, '2031-01-15');
      expect(id).toBe(3);
      expect(c.ledger().map((r) => [r.idempotency_key, r.status])).toEqual([
        [`${c.k}plan-1-installment-1`, 'declined'],
        [`${c.k}plan-2-installment-1`, 'declined'],
        [`${c.k}plan-3-installment-1`, 'succeeded'],
      ]);
    });

    it('plan start of a prescribed plan, declined, puts it back as prescribed; a good card then starts it', () => {
      const c = clinic();
      const { id } = c.json<{ id: number }>('plan', 'apply', 'P-2', ACNE, '--mode', 'prescribe');
      c.clock.now = '2031-01-15';
      // At Stripe, a debit Visa the stand-in declines for insufficient funds while this command runs (Stripe's
      // pm_card_chargeDeclinedInsufficientFunds would be declined when saved, before any charge).
      const card = gateway === 'sandbox' ? 'pm_card_chargeDeclinedInsufficientFunds' : 'pm_card_visa_debit';
      if (gateway === 'stripe') standIn.setOutcome(card, { code: 'card_declined', decline_code: 'insufficient_funds', message: DECLINE_MESSAGES.insufficient_funds });
      let declined: RunResult;
      try {
        declined = c.run('plan', 'start', '--yes', String(id), '--clinic', 'main', '--start', '2031-01-15', '--payment-method', card, '--yes');
      } finally {
        if (gateway === 'stripe') standIn.setOutcome(card, null);
      }
      expect(declined.code).toBe(1);
      expect(declined.stderr).toContain('was declined (insufficient_funds: Your card has insufficient funds.); the program was not started');
      const back = c.json<PlanJson>('plan', 'show', String(id));
      expect(back).toMatchObject({ status: 'prescribed', start_date: null, end_date: null });
      expect(back.steps.map((s) => s.recommended_date)).toEqual([null, null, null, null, null, null]);
      expect(c.json<Array<{ action: string }>>('audit', '--entity', 'plan', '--id', String(id), '--reverse').map((a) => a.action)).toEqual(['plan.prescribe', 'plan.start', 'plan.start_declined']);
      // The declined charge is closed: no billing run retries it while the plan is prescribed.
      expect(c.bill('2031-02-10').report).toMatchObject({ charged: 0, failed: 0, skipped: 0 });

      // Started on its start date this time.
      c.clock.now = '2031-01-15';
      const started = c.json<PlanJson>('plan', 'start', '--yes', String(id), '--clinic', 'main', '--start', '2031-01-15', '--payment-method', 'pm_card_visa', '--yes');
      expect(started).toMatchObject({ status: 'active', start_date: '2031-01-15', end_date: '2031-07-15' });
      const [charge] = c.charges('--plan', String(id));
      expect(charge).toMatchObject({ installment: 1, status: 'succeeded', attempts: 2, amount_minor: 24900, payment_token: c.token('pm_card_visa') });
      expect(c.ledger().map((r) => [r.idempotency_key, r.status])).toEqual([
        [`${c.k}plan-${id}-installment-1`, 'declined'],
        [`${c.k}plan-${id}-installment-1-attempt-2`, 'succeeded'],
      ]);
      expect(c.run('billing', 'reconcile').code).toBe(0);
    });

    if (gateway === 'stripe') {
      // Stripe's test mode declines its decline cards when they are saved to the customer, not when charged.
      it('a card Stripe declines when saving it is a clear error at apply, start and payment, and changes nothing', () => {
        const c = clinic('2031-01-15');
        const before = standIn.paymentIntents().length;
        const apply = c.run('plan', 'apply', 'P-1', ACNE, '--mode', 'start', '--yes', '--clinic', 'main', '--start', '2031-01-15', '--payment-method', 'pm_card_chargeDeclined');
        expect(apply.code).toBe(1);
        expect(apply.stdout).toBe('');
        expect(withoutClockWarning(apply.stderr)).toBe('txplan: Stripe declined the card when saving it (generic decline); nothing was saved, ask the patient for another card\n');
        expect(c.json<unknown[]>('plan', 'list')).toEqual([]);
        expect(query<{ n: number }>(c.db(), 'SELECT count(*) AS n FROM plans')[0]!.n).toBe(0);
        expect(query<{ n: number }>(c.db(), 'SELECT count(*) AS n FROM charges')[0]!.n).toBe(0);
        expect(query<{ n: number }>(c.db(), 'SELECT count(*) AS n FROM payment_methods')[0]!.n).toBe(0);

        const { id } = c.json<{ id: number }>('plan', 'apply', 'P-2', ACNE, '--mode', 'prescribe');
        const start = c.run('plan', 'start', '--yes', String(id), '--clinic', 'main', '--start', '2031-01-15', '--payment-method', 'pm_card_chargeDeclinedStolenCard');
        expect(start.code).toBe(1);
        expect(start.stderr).toContain('Stripe declined the card when saving it (stolen card); nothing was saved');
        expect(c.json<PlanJson>('plan', 'show', String(id))).toMatchObject({ status: 'prescribed', start_date: null });

        const active = c.apply(ACNE, '2031-01-15', 'pm_card_visa', 'main', 'P-3');
        const token = c.json<{ payment_method: { token: string } }>('plan', 'show', String(active)).payment_method.token;
        const payment = c.run('plan', 'payment', '--yes', String(active), '--payment-method', 'pm_card_chargeDeclinedInsufficientFunds');
        expect(payment.code).toBe(1);
        expect(payment.stderr).toContain('Stripe declined the card when saving it (insufficient funds); nothing was saved');
        expect(c.json<{ payment_method: { token: string } }>('plan', 'show', String(active)).payment_method.token).toBe(token);
        // Only the good card's installment reached Stripe as a charge.
        expect(standIn.paymentIntents().length - before).toBe(1);
        expect(c.ledger().map((r) => [r.idempotency_key, r.status])).toEqual([[`${c.k}plan-${active}-installment-1`, 'succeeded']]);
        expect(c.run('billing', 'reconcile').code).toBe(0);
      });
    }
  });

  describe('payment methods', () => {
    it('refuses card numbers in payment flags and free text without writing them anywhere; refuses unknown tokens', () => {
      const c = clinic();
      const id = c.apply(ACNE, '2031-01-15');
      const card = '4242 4242 4242 4242';
      for (const args of [
        ['plan', 'payment', '--yes', String(id), '--payment-method', card],
        ['plan', 'payment', '--yes', String(id), '--payment-method', '4242-4242-4242-4242'],
        ['plan', 'apply', 'P-2', ACNE, '--mode', 'start', '--yes', '--clinic', 'main', '--payment-method', '4242424242424242'],
        ['plan', 'cancel', '--yes', String(id), '--reason', `card ${card}`],
      ]) {
        const result = c.run(...args);
        expect(result.code, args.join(' ')).toBe(1);
        expect(result.stderr).toContain('card number');
        expect(result.stderr.replace(/[ -]/g, '')).not.toContain('4242424242424242');
      }
      const unknown = c.run('plan', 'payment', '--yes', String(id), '--payment-method', 'pm_card_nosuch');
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toContain(gateway === 'sandbox' ? 'The sandbox processor has no payment method "pm_card_nosuch"' : 'Stripe has no payment method pm_card_nosuch; check the token');
      const notToken = c.run('plan', 'payment', '--yes', String(id), '--payment-method', 'visa');
      expect(notToken.code).toBe(1);
      expect(c.run('plan', 'payment', '--yes', String(id)).code).toBe(2);
      expect(c.json<PlanJson & { payment_method: { token: string } }>('plan', 'show', String(id)).payment_method.token).toEqual(c.token('pm_card_visa'));
      expect(c.charges()[0]!.payment_token).toBe(c.json<PlanJson & { payment_method: { token: string } }>('plan', 'show', String(id)).payment_method.token);
      expect(c.json<PlanJson>('plan', 'show', String(id)).status).toBe('active');
      // Nothing of the card reached a file (on PostgreSQL: any value of the database, the sandbox's ledger tables included).
      const hasCard = (bytes: string) => bytes.includes('4242424242424242') || bytes.includes('4242 4242 4242 4242') || bytes.includes('4242-4242-4242-4242');
      if (engine === 'postgres') expect(hasCard(databaseBytes(c.ws)), 'the database').toBe(false);
      else {
        for (const file of ['txplan.db', 'txplan.db-wal', 'sandbox-gateway.db', 'sandbox-gateway.db-wal']) {
          let bytes = '';
          try {
            bytes = readFileSync(join(c.ws, '.txplan', file)).toString('latin1');
          } catch {
            continue;
          }
          expect(hasCard(bytes), file).toBe(false);
        }
      }
      // Nor did it reach Stripe.
      if (gateway === 'stripe') expect(JSON.stringify([standIn.customers(), standIn.paymentIntents()]).replace(/[ -]/g, '')).not.toContain('4242424242424242');
    });
  });

  describe('pay-as-you-go visits', () => {
    it('plan step --done charges the visit at the prices frozen when the plan was applied; complimentary visits are free', () => {
      const c = clinic();
      const today = TODAY;
      const start = plusDays(today, -100); // all four visits (weeks 1, 5, 9, 12) are in the past
      const id = c.apply(MILD, start);
      expect(c.charges()).toEqual([]); // nothing is charged at the start of a pay-as-you-go plan

      // The catalog's deep cleansing facial goes from $150.00 to $175.00 after the plan was applied.
      const catalog = join(c.ws, 'catalog.yaml');
      const before = readFileSync(catalog, 'utf8');
      const after = before.replace(/(- id: deep-cleansing-facial\n(?:.*\n)*?\s+price: )"150\.00"/, '$1"175.00"');
      expect(after).not.toBe(before);
      writeFileSync(catalog, after);

      // Visit 1: skin consultation (complimentary) + deep cleansing facial $150.00 + extractions $35.00.
      const visit1 = c.run('plan', 'step', '--yes', String(id), '1', '--done', '--date', start);
      expect(visit1.code).toBe(0);
      expect(visit1.stdout).toContain('; charged $185.00.');
      // Visit 4: progress assessment only, complimentary: no charge at all.
      const visit4 = c.run('plan', 'step', '--yes', String(id), '4', '--done', '--date', plusDays(start, 77));
      expect(visit4.code).toBe(0);
      expect(visit4.stdout).not.toContain('charged');
      // Visit 2 skipped: not charged.
      expect(c.run('plan', 'step', '--yes', String(id), '2', '--skip').code).toBe(0);

      const charges = c.charges('--plan', String(id));
      expect(charges.map((ch) => [ch.kind, ch.step_n, ch.idempotency_key, ch.amount_minor, ch.status, ch.due_date])).toEqual([['step', 1, `${c.k}plan-${id}-step-1`, 18500, 'succeeded', start]]);
      expect(c.ledger().map((r) => [r.idempotency_key, r.amount_minor, r.status])).toEqual([[`${c.k}plan-${id}-step-1`, 18500, 'succeeded']]);

      // A new plan applied now gets the new price.
      const later = c.apply(MILD, start, 'pm_card_mastercard', 'main', 'P-2');
      expect(c.run('plan', 'step', '--yes', String(later), '1', '--done', '--date', start).stdout).toContain('; charged $210.00.');

      // A declined visit is recorded as done, and the command says the charge was declined (exit 1).
      const declining = c.apply(MILD, start, 'pm_card_chargeCustomerFail', 'main', 'P-3');
      const declined = c.run('plan', 'step', '--yes', String(declining), '1', '--done', '--date', start);
      expect(declined.code).toBe(1);
      expect(declined.stderr).toContain(`Step 1 of plan ${declining} is recorded as done, but its charge of $210.00 was declined (generic_decline`);
      expect(c.json<PlanJson>('plan', 'show', String(declining)).steps[0]!.status).toBe('done');
      // The billing run retries the declined visit 3 days later, under a new attempt key.
      const retry = c.bill(plusDays(TODAY, 3));
      expect(retry.code).toBe(3);
      expect(retry.report.charges.map((ch) => [ch.idempotency_key, ch.status, ch.amount_minor])).toEqual([[`${c.k}plan-${declining}-step-1`, 'failed', 21000]]);
      expect(c.ledger().filter((r) => r.idempotency_key.startsWith(`${c.k}plan-${declining}-`)).map((r) => r.idempotency_key)).toEqual([`${c.k}plan-${declining}-step-1`, `${c.k}plan-${declining}-step-1-attempt-2`]);
      expect(c.run('billing', 'reconcile').code).toBe(0);
    });
  });

  describe('cancellation fees', () => {
    it('inside the minimum term the early fee is charged; --waive-fee does not charge it; after the term there is none', () => {
      const c = clinic();
      const today = TODAY;
      const inside = c.apply(ACNE, today);
      const cancelled = c.run('plan', 'cancel', '--yes', String(inside), '--reason', 'Moving away');
      expect(cancelled.code).toBe(0);
      expect(cancelled.stdout).toContain('The early cancellation fee of $150.00 was charged.');
      const fee = c.charges('--plan', String(inside)).filter((ch) => ch.kind === 'cancel_fee');
      expect(fee.map((ch) => [ch.idempotency_key, ch.amount_minor, ch.status])).toEqual([[`${c.k}plan-${inside}-cancel-fee`, 15000, 'succeeded']]);
      expect(c.ledger().filter((r) => r.idempotency_key === `${c.k}plan-${inside}-cancel-fee`).map((r) => [r.amount_minor, r.status])).toEqual([[15000, 'succeeded']]);

      const waived = c.apply(ACNE, today, 'pm_card_visa', 'main', 'P-2');
      const result = c.run('plan', 'cancel', '--yes', String(waived), '--reason', 'Goodwill', '--waive-fee');
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('The early cancellation fee of $150.00 was waived.');
      expect(c.charges('--plan', String(waived)).map((ch) => ch.kind)).toEqual(['installment']);

      // Started 4 months ago: the 3-month minimum term is over.
      const after = c.apply(ACNE, plusMonths(today, -4), 'pm_card_visa', 'main', 'P-3');
      const late = c.run('plan', 'cancel', '--yes', String(after), '--reason', 'Done with it', '--waive-due'); // installments 2–5, due by now, forgiven
      expect(late.code).toBe(0);
      expect(late.stdout).not.toContain('fee');
      expect(c.charges('--plan', String(after)).map((ch) => ch.kind)).toEqual(['installment']);
      // A template without cancellation terms never has a fee.
      const noTerms = c.apply(MODERATE, today, 'pm_card_visa', 'main', 'P-3');
      expect(c.run('plan', 'cancel', '--yes', String(noTerms), '--reason', 'x').stdout).not.toContain('fee');
      expect(c.charges('--plan', String(noTerms)).map((ch) => ch.kind)).toEqual(['installment']);

      // Cancelled plans are never billed again.
      expect(c.bill(plusMonths(today, 12)).report).toMatchObject({ charged: 0, failed: 0 });
      expect(c.ledger().filter((r) => !r.idempotency_key.endsWith('-installment-1') && !r.idempotency_key.endsWith('-cancel-fee'))).toEqual([]);
      expect(c.run('billing', 'reconcile').code).toBe(0);
    });
  });

  describe('a declined early cancellation fee', () => {
    it('is reported (exit 1, the plan stays cancelled) and retried by the billing run 3 days later', () => {
      const c = clinic();
      const today = TODAY;
      const id = c.apply(ACNE, today);
      expect(c.declineWith(id, 'generic_decline').code).toBe(0);
      const cancel = c.run('plan', 'cancel', '--yes', String(id), '--reason', 'Moving away');
      expect(cancel.code).toBe(1);
      expect(cancel.stderr).toBe(`${clockWarning(today)}txplan: Plan ${id} is cancelled, but its early cancellation fee of $150.00 was declined (generic_decline): Your card was declined.; retried on ${plusDays(today, 3)}\n`);
      expect(c.json<PlanJson>('plan', 'show', String(id)).status).toBe('cancelled');
      expect(c.charges('--plan', String(id), '--status', 'failed')).toEqual([expect.objectContaining({ kind: 'cancel_fee', idempotency_key: `${c.k}plan-${id}-cancel-fee`, next_attempt_on: plusDays(today, 3) })]);

      expect(c.bill(plusDays(today, 2)).report).toMatchObject({ charged: 0, failed: 0, charges: [] });
      const retry = c.bill(plusDays(today, 3));
      expect(retry.code).toBe(3);
      expect(retry.report.charges.map((ch) => [ch.idempotency_key, ch.status, ch.amount_minor, ch.next_attempt_on])).toEqual([[`${c.k}plan-${id}-cancel-fee`, 'failed', 15000, plusDays(today, 8)]]);
      // Only the fee: the cancelled plan's installments are never charged again.
      expect(keysOf(c.ledger())).toEqual([`${c.k}plan-${id}-cancel-fee`, `${c.k}plan-${id}-cancel-fee-attempt-2`, `${c.k}plan-${id}-installment-1`]);
      expect(c.run('billing', 'reconcile').code).toBe(0);
    });
  });

  describe('billing run', () => {
    it('charges each installment on its 1st: exit 0, one summary line, the JSON of SPEC §6; completes the plan at the end', () => {
      const c = clinic();
      const id = c.apply(ACNE, '2031-01-15');
      expect(c.bill('2031-01-31').report).toMatchObject({ charged: 0, failed: 0, amount_minor: 0, charges: [] });

      const feb = c.bill('2031-02-01');
      expect(feb.code).toBe(0);
      expect(feb.report).toMatchObject({ date: '2031-02-01', charged: 1, failed: 0, skipped: 0, completed_plans: 0, amount_minor: 24900, currency: 'USD' });
      expect(feb.report.charges).toEqual([expect.objectContaining({ plan_id: id, installment: 2, status: 'succeeded', amount_minor: 24900, idempotency_key: `${c.k}plan-${id}-installment-2` })]);

      // Without --json: exactly one line on stdout, nothing on stderr.
      const mar = c.runAt('2031-03-01', 'billing', 'run', '--date', '2031-03-01');
      expect(mar.code).toBe(0);
      expect(mar.stdout).toBe('billing run 2031-03-01: charged 1 ($249.00), failed 0, skipped 0, completed 0, past due 0, overdue 0\n');
      expect(mar.stderr).toBe(clockWarning('2031-03-01')); // only the simulated clock's line

      const jun = c.bill('2031-06-01');
      expect(jun.report.charges.map((ch) => ch.installment)).toEqual([4, 5, 6]);
      expect(jun.report.amount_minor).toBe(3 * 24900);
      // The last visit is on June 15: not completed on it, completed the day after (every visit recorded).
      const handle = c.db(false);
      handle.prepare("UPDATE steps SET status = 'done', completed_on = recommended_date WHERE plan_id = ?").run(id);
      handle.close();
      expect(c.bill('2031-06-15').report.completed_plans).toBe(0);
      expect(c.json<PlanJson>('plan', 'show', String(id)).status).toBe('active');
      const done = c.bill('2031-06-16');
      expect(done.report).toMatchObject({ charged: 0, completed_plans: 1 });
      expect(c.json<PlanJson>('plan', 'show', String(id)).status).toBe('completed');
      expect(c.json<Array<{ action: string }>>('audit', '--entity', 'plan', '--id', String(id), '--reverse').map((a) => a.action)).toEqual(['plan.start', 'plan.complete']);
      expect(c.bill('2031-12-01').report).toMatchObject({ charged: 0, completed_plans: 0 });

      expect(keysOf(c.ledger())).toEqual([1, 2, 3, 4, 5, 6].map((k) => `${c.k}plan-${id}-installment-${k}`).sort());
      expect(c.charges().map((ch) => [ch.installment, ch.due_date, ch.status])).toEqual([
        [1, '2031-01-15', 'succeeded'],
        [2, '2031-02-01', 'succeeded'],
        [3, '2031-03-01', 'succeeded'],
        [4, '2031-04-01', 'succeeded'],
        [5, '2031-05-01', 'succeeded'],
        [6, '2031-06-01', 'succeeded'],
      ]);
    });

    it('catches up missed months: one run months later charges every missed installment, once', () => {
      const c = clinic();
      const id = c.apply(GLOW, '2031-01-15');
      const late = c.bill('2031-06-10');
      expect(late.code).toBe(0);
      expect(late.report.charged).toBe(5);
      expect(late.report.amount_minor).toBe(5 * 16900);
      expect(late.report.charges.map((ch) => ch.idempotency_key)).toEqual([2, 3, 4, 5, 6].map((k) => `${c.k}plan-${id}-installment-${k}`));
      expect(c.charges('--since', '2031-02-01').map((ch) => ch.due_date)).toEqual(['2031-02-01', '2031-03-01', '2031-04-01', '2031-05-01', '2031-06-01']);
      // The same date again, and an earlier one: nothing.
      expect(c.bill('2031-06-10').report).toMatchObject({ charged: 0, failed: 0, charges: [] });
      expect(c.bill('2031-03-01').report).toMatchObject({ charged: 0, failed: 0, charges: [] });
      const ledger = c.ledger();
      expect(ledger).toHaveLength(6);
      expect(new Set(ledger.map((r) => r.idempotency_key)).size).toBe(6);
      expect(ledger.every((r) => r.status === 'succeeded' && r.amount_minor === 16900)).toBe(true);
    });

    it('retries a declined installment 3, 5 and 7 days later, then makes the plan past due; plan payment brings it back and the next run retries at once', () => {
      const c = clinic();
      const id = c.apply(ACNE, '2031-01-15');
      expect(c.declineWith(id, 'insufficient_funds').code).toBe(0);

      const first = c.bill('2031-02-01');
      expect(first.code).toBe(3);
      expect(first.report).toMatchObject({ charged: 0, failed: 1, past_due_plans: 0, amount_minor: 0 });
      expect(first.report.charges).toEqual([expect.objectContaining({ plan_id: id, installment: 2, status: 'failed', decline_code: 'insufficient_funds', next_attempt_on: '2031-02-04', idempotency_key: `${c.k}plan-${id}-installment-2` })]);
      const human = c.runAt('2031-02-03', 'billing', 'run', '--date', '2031-02-03');
      expect(human.code).toBe(0); // nothing due a retry yet
      expect(human.stdout).toBe('billing run 2031-02-03: charged 0 ($0.00), failed 0, skipped 0, completed 0, past due 0, overdue 0\n');

      const second = c.runAt('2031-02-04', 'billing', 'run', '--date', '2031-02-04');
      expect(second.code).toBe(3);
      expect(second.stderr).toBe(`${clockWarning('2031-02-04')}declined ${c.k}plan-${id}-installment-2 $249.00: insufficient_funds, retry on 2031-02-09\n`);
      expect(second.stdout).toBe('billing run 2031-02-04: charged 0 ($0.00), failed 1, skipped 0, completed 0, past due 0, overdue 0\n');
      expect(c.bill('2031-02-08').report.failed).toBe(0);
      expect(c.bill('2031-02-09').report.charges.map((ch) => ch.next_attempt_on)).toEqual(['2031-02-16']);
      const last = c.bill('2031-02-16');
      expect(last.code).toBe(3);
      expect(last.report).toMatchObject({ failed: 1, past_due_plans: 1 });
      expect(last.report.charges[0]!.next_attempt_on).toBeNull();
      expect(c.json<PlanJson>('plan', 'show', String(id)).status).toBe('past_due');
      expect(c.charges('--plan', String(id), '--status', 'failed')).toEqual([expect.objectContaining({ installment: 2, attempts: 4, next_attempt_on: null, hard_decline: false })]);
      const audit = c.json<Array<{ action: string; after: { status?: string; decline_code?: string } }>>('audit', '--entity', 'plan', '--id', String(id), '--reverse');
      expect(audit.map((a) => a.action)).toEqual(['plan.start', 'plan.payment', 'plan.past_due']);
      expect(audit[2]!.after).toMatchObject({ status: 'past_due', decline_code: 'insufficient_funds' });

      // Past due: no more retries, installment 3 is not charged; the plan is counted as skipped.
      const skipped = c.bill('2031-03-01');
      expect(skipped.code).toBe(0);
      expect(skipped.report).toMatchObject({ charged: 0, failed: 0, skipped: 1, charges: [] });
      expect(keysOf(c.ledger())).toEqual([`${c.k}plan-${id}-installment-1`, `${c.k}plan-${id}-installment-2`, `${c.k}plan-${id}-installment-2-attempt-2`, `${c.k}plan-${id}-installment-2-attempt-3`, `${c.k}plan-${id}-installment-2-attempt-4`]);
      expect(c.ledger().filter((r) => r.idempotency_key.startsWith(`${c.k}plan-${id}-installment-2`)).every((r) => r.status === 'declined' && r.decline_code === 'insufficient_funds')).toBe(true);

      const payment = c.run('plan', 'payment', '--yes', String(id), '--payment-method', 'pm_card_visa');
      expect(payment.code).toBe(0);
      expect(payment.stdout).toContain('It is active again; the next billing run retries what was declined.');
      expect(c.json<PlanJson>('plan', 'show', String(id)).status).toBe('active');
      const recovered = c.bill('2031-03-01');
      expect(recovered.code).toBe(0);
      expect(recovered.report).toMatchObject({ charged: 2, failed: 0, amount_minor: 2 * 24900 });
      expect(recovered.report.charges.map((ch) => [ch.installment, ch.status]).sort()).toEqual([[2, 'succeeded'], [3, 'succeeded']]);
      const paid = c.ledger().filter((r) => r.status === 'succeeded').map((r) => r.idempotency_key).sort();
      expect(paid).toEqual([`${c.k}plan-${id}-installment-1`, `${c.k}plan-${id}-installment-2-attempt-5`, `${c.k}plan-${id}-installment-3`]);
      expect(c.ledger().find((r) => r.idempotency_key === `${c.k}plan-${id}-installment-2-attempt-5`)!.token).toEqual(c.token('pm_card_visa'));
      expect(c.ledger().find((r) => r.idempotency_key === `${c.k}plan-${id}-installment-2-attempt-5`)!.token).toBe(c.json<{ payment_method: { token: string } }>('plan', 'show', String(id)).payment_method.token);
      expect(c.run('billing', 'reconcile').code).toBe(0);
    });

    it('a hard decline makes the plan past due at once, without any retry', () => {
      const c = clinic();
      const id = c.apply(ACNE, '2031-01-15');
      expect(c.declineWith(id, 'stolen_card').code).toBe(0);
      const run = c.runAt('2031-02-01', 'billing', 'run', '--date', '2031-02-01');
      expect(run.code).toBe(3);
      expect(run.stderr).toBe(`${clockWarning('2031-02-01')}declined ${c.k}plan-${id}-installment-2 $249.00: stolen_card, plan past due\n`);
      expect(run.stdout).toBe('billing run 2031-02-01: charged 0 ($0.00), failed 1, skipped 0, completed 0, past due 1, overdue 0\n');
      expect(c.json<PlanJson>('plan', 'show', String(id)).status).toBe('past_due');
      expect(c.charges('--status', 'failed')).toEqual([expect.objectContaining({ installment: 2, attempts: 1, hard_decline: true, next_attempt_on: null, decline_code: 'stolen_card' })]);
      for (const date of ['2031-02-04', '2031-02-20', '2031-04-01']) {
        const later = c.bill(date);
        expect(later.code).toBe(0);
        // Skipped only once something is due again (installments 3 and 4 by April 1).
        expect(later.report).toMatchObject({ charged: 0, failed: 0, skipped: date === '2031-04-01' ? 1 : 0 });
      }
      // The sandbox marks it hard itself; Stripe holds the decline code txplan reads as hard.
      if (gateway === 'sandbox') expect(c.ledger().filter((r) => r.idempotency_key.includes('installment-2')).map((r) => [r.idempotency_key, r.hard])).toEqual([[`${c.k}plan-${id}-installment-2`, 1]]);
      else expect(c.ledger().filter((r) => r.idempotency_key.includes('installment-2')).map((r) => [r.idempotency_key, r.status, r.decline_code])).toEqual([[`${c.k}plan-${id}-installment-2`, 'declined', 'stolen_card']]);
      // A new payment method: the hard-declined installment is retried with it, and the missed ones charged.
      expect(c.run('plan', 'payment', '--yes', String(id), '--payment-method', 'pm_card_amex').code).toBe(0);
      expect(c.bill('2031-04-01').report).toMatchObject({ charged: 3, failed: 0 }); // installment 2 retried, 3 and 4 charged
    });

    if (gateway === 'stripe') {
      // Stripe only: the sandbox has no card whose bank asks the patient to confirm (3-D Secure).
      it('a charge the bank wants the patient to confirm fails as needing the patient: past due at once, said by the run, plan show and billing charges; plan payment brings it back', () => {
        const c = clinic();
        const id = c.apply(ACNE, '2031-01-15');
        expect(c.run('plan', 'payment', '--yes', String(id), '--payment-method', 'pm_card_authenticationRequired').code).toBe(0);
        const run = c.runAt('2031-02-01', 'billing', 'run', '--date', '2031-02-01');
        expect(run.code).toBe(3);
        expect(run.stderr).toContain(`declined ${c.k}plan-${id}-installment-2 $249.00: authentication_required, plan ${id} past due; needs the patient: their bank asks them to confirm the payment`);
        expect(run.stdout).toBe('billing run 2031-02-01: charged 0 ($0.00), failed 1, skipped 0, completed 0, past due 1, needing the patient 1, overdue 0\n');
        expect(c.json<PlanJson>('plan', 'show', String(id)).status).toBe('past_due');
        expect(c.run('plan', 'show', String(id)).stdout).toContain('needs the patient');
        expect(c.json<Array<Charge & { needs_patient: boolean }>>('billing', 'charges', '--status', 'failed')).toEqual([
          expect.objectContaining({ idempotency_key: `${c.k}plan-${id}-installment-2`, decline_code: 'authentication_required', needs_patient: true, next_attempt_on: null }),
        ]);
        expect(c.run('billing', 'charges', '--plan', String(id)).stdout).toContain('needs the patient');
        // Stripe holds the off-session attempt as failed for authentication, and agrees with txplan.
        expect(c.ledger().map((r) => [r.idempotency_key, r.status, r.decline_code])).toEqual([
          [`${c.k}plan-${id}-installment-1`, 'succeeded', null],
          [`${c.k}plan-${id}-installment-2`, 'declined', 'authentication_required'],
        ]);
        expect(c.run('billing', 'reconcile').code).toBe(0);
        // Never retried on its own: nothing a retry could clear.
        expect(c.bill('2031-02-04').report).toMatchObject({ charged: 0, failed: 0 });
        // Another card: active again, and the next run charges installment 2 under a new attempt key.
        expect(c.run('plan', 'payment', '--yes', String(id), '--payment-method', 'pm_card_mastercard').code).toBe(0);
        expect(c.json<PlanJson>('plan', 'show', String(id)).status).toBe('active');
        expect(c.bill('2031-02-05').report.charges.map((ch) => [ch.idempotency_key, ch.status])).toEqual([[`${c.k}plan-${id}-installment-2`, 'succeeded']]);
        expect(keysOf(c.ledger().filter((r) => r.status === 'succeeded'))).toEqual([`${c.k}plan-${id}-installment-1`, `${c.k}plan-${id}-installment-2-attempt-2`]);
        expect(c.run('billing', 'reconcile').code).toBe(0);
      });
    }

    it('skips paused plans; on resume the unpaid installments continue from the next 1st and the end date moves', () => {
      const c = clinic();
      const today = TODAY;
      const start = firstOfMonth(today, -3);
      const id = c.apply(ACNE, start);
      expect(c.bill(firstOfMonth(today, -2)).report.charged).toBe(1); // installment 2
      const plan = c.json<PlanJson>('plan', 'show', String(id));
      expect(plan.end_date).toBe(firstOfMonth(today, 3));

      expect(c.json<PlanJson>('plan', 'pause', String(id)).status).toBe('paused');
      // Installments 3 (a month ago) and 4 (this month's 1st) are due, but the plan is paused.
      const paused = c.bill(today);
      expect(paused.code).toBe(0);
      expect(paused.report).toMatchObject({ charged: 0, failed: 0, skipped: 1, charges: [] });

      const resumed = c.json<PlanJson>('plan', 'resume', String(id));
      expect(resumed.status).toBe('active');
      // Resumed today: installment 3 now falls due on the next 1st (today itself when today is a 1st).
      const next = today.endsWith('-01') ? today : firstOfMonth(today, 1);
      const moved = next === today ? 1 : 2;
      expect(resumed.end_date).toBe(firstOfMonth(today, 3 + moved));
      const audit = c.json<Array<{ action: string; after: { paused_months?: number } }>>('audit', '--entity', 'plan', '--id', String(id), '--reverse');
      expect(audit.at(-1)).toMatchObject({ action: 'plan.resume', after: { paused_months: moved } });

      // The missed months are not caught up after a pause: nothing on the day before the next 1st.
      expect(c.bill(plusDays(next, -1)).report).toMatchObject({ charged: 0, charges: [] });
      const third = c.bill(next);
      expect(third.report.charges.map((ch) => [ch.installment, ch.status])).toEqual([[3, 'succeeded']]);
      expect(c.charges('--plan', String(id)).find((ch) => ch.installment === 3)!.due_date).toBe(next);
      expect(c.bill(firstOfMonth(next, 1)).report.charges.map((ch) => ch.installment)).toEqual([4]);
    });

    it('charges each installment at its own fee after a price change, and bills as of the clinic’s today without --date', () => {
      const c = clinic();
      const today = TODAY;
      const start = firstOfMonth(today, -1);
      const id = c.apply(ACNE, start);
      // The new fee applies from the first installment not yet due today: installment 3 (next month's 1st).
      const edited = c.run('plan', 'edit', String(id), '--set', 'pricing.monthly_fee=300.00');
      expect(edited.code).toBe(0);
      expect(edited.stdout).toContain('the new fee applies from installment 3');

      // No --date: the clinic's today. Installment 2 (this month's 1st) is due, at the old fee.
      const now = c.run('billing', 'run', '--json');
      expect(now.code).toBe(0);
      expect((JSON.parse(now.stdout) as RunReport).charges.map((ch) => [ch.idempotency_key, ch.amount_minor])).toEqual([[`${c.k}plan-${id}-installment-2`, 24900]]);
      const later = c.bill(firstOfMonth(today, 2));
      expect(later.report.charges.map((ch) => [ch.installment, ch.amount_minor])).toEqual([[3, 30000], [4, 30000]]);
      expect(c.ledger().map((r) => [r.idempotency_key, r.amount_minor])).toEqual([1, 2, 3, 4].map((k) => [`${c.k}plan-${id}-installment-${k}`, k <= 2 ? 24900 : 30000]));
    });

    it('a fee edit on a plan starting in the future applies from installment 2, since installment 1 was charged at the start', () => {
      const c = clinic('2031-01-05');
      const id = c.applyAhead(ACNE, '2031-01-15'); // entered ten days ahead; installment 1 charged now, $249.00
      const edited = c.run('plan', 'edit', String(id), '--set', 'pricing.monthly_fee=300.00');
      expect(edited.code).toBe(0);
      expect(c.charges('--plan', String(id)).map((ch) => [ch.installment, ch.amount_minor])).toEqual([[1, 24900]]);
      // Observed: "the new fee applies from installment 1" and prices [{ from_installment: 1, amount_minor: 30000 }].
      expect(edited.stdout).toContain('the new fee applies from installment 2');
      expect(c.json<{ prices: Array<{ from_installment: number; amount_minor: number }> }>('plan', 'show', String(id)).prices.map((p) => [p.from_installment, p.amount_minor])).toEqual([[1, 24900], [2, 30000]]);
    });

    it('--dry-run charges nothing and writes nothing', () => {
      const c = clinic();
      const id = c.apply(ACNE, '2031-01-15');
      const declining = c.apply(ACNE, '2031-01-15', 'pm_card_visa', 'main', 'P-2');
      expect(c.declineWith(declining, 'generic_decline').code).toBe(0);
      const snapshot = () => ({
        charges: query(c.db(), 'SELECT * FROM charges ORDER BY id'),
        plans: query(c.db(), 'SELECT id, status, updated_at FROM plans ORDER BY id'),
        audit: query(c.db(), 'SELECT count(*) AS n FROM audit'),
        lock: query(c.db(), 'SELECT * FROM billing_lock'),
        ledger: c.ledger(),
      });
      const before = snapshot();
      const dry = c.run('billing', 'run', '--date', '2031-03-01', '--dry-run', '--json');
      expect(dry.code).toBe(0); // a dry run never exits 3: nothing was declined
      const report = JSON.parse(dry.stdout) as RunReport;
      expect(report).toMatchObject({ dry_run: true, charged: 0, failed: 0, amount_minor: 0 });
      expect(report.charges.map((ch) => [ch.idempotency_key, ch.status, ch.amount_minor])).toEqual([
        [`${c.k}plan-${id}-installment-2`, 'planned', 24900],
        [`${c.k}plan-${id}-installment-3`, 'planned', 24900],
        [`${c.k}plan-${declining}-installment-2`, 'planned', 24900],
        [`${c.k}plan-${declining}-installment-3`, 'planned', 24900],
      ]);
      const human = c.run('billing', 'run', '--date', '2031-03-01', '--dry-run');
      expect(human.code).toBe(0);
      expect(human.stdout).toContain('would charge 4 ($996.00)');
      expect(human.stdout).toContain('nothing was charged or written');
      expect(snapshot()).toEqual(before);

      // The real run then does exactly what the dry run announced.
      const real = c.bill('2031-03-01');
      expect(real.code).toBe(3);
      expect(real.report.charges.map((ch) => ch.idempotency_key).sort()).toEqual(report.charges.map((ch) => ch.idempotency_key).sort());

      // A plan due to complete (every visit recorded) is only announced.
      c.bill('2031-06-01');
      const handle = c.db(false);
      handle.prepare("UPDATE steps SET status = 'done', completed_on = recommended_date WHERE plan_id = ?").run(id);
      handle.close();
      const completing = JSON.parse(c.run('billing', 'run', '--date', '2031-07-01', '--dry-run', '--json').stdout) as RunReport;
      expect(completing.completed_plans).toBe(1);
      expect(c.json<PlanJson>('plan', 'show', String(id)).status).toBe('active');
    });

    it('--clinic limits the run to one clinic; bad arguments exit 2', () => {
      const c = clinic();
      const main = c.apply(ACNE, '2031-01-15', 'pm_card_visa', 'main', 'P-1');
      const west = c.apply(ACNE, '2031-01-15', 'pm_card_visa', 'west', 'P-2');
      const westRun = c.bill('2031-02-01', '--clinic', 'west');
      expect(westRun.report.charges.map((ch) => ch.idempotency_key)).toEqual([`${c.k}plan-${west}-installment-2`]);
      const all = c.bill('2031-02-01');
      expect(all.report.charges.map((ch) => ch.idempotency_key)).toEqual([`${c.k}plan-${main}-installment-2`]);
      expect(c.bill('2031-02-01', '--clinic', 'main').report.charges).toEqual([]);

      const unknown = c.run('billing', 'run', '--clinic', 'nowhere', '--date', '2031-03-01');
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toContain('No clinic "nowhere"');
      expect(c.run('billing', 'run', '--date', '2031-02-30').code).toBe(2);
      expect(c.run('billing', 'run', '--date', 'tomorrow').code).toBe(2);
      expect(c.run('billing', 'run', '--wait', 'forever').code).toBe(2);
      expect(c.run('billing', 'run', '--bogus').code).toBe(2);
      expect(c.ledger()).toHaveLength(4); // nothing charged by the refused runs
    });
  });

  describe('billing charges', () => {
    it('filters by plan, status and due date; refuses a bad status or date', () => {
      const c = clinic();
      const a = c.apply(ACNE, '2031-01-15');
      const b = c.apply(MODERATE, '2031-01-20', 'pm_card_visa', 'main', 'P-2');
      expect(c.declineWith(b, 'generic_decline').code).toBe(0);
      c.bill('2031-03-01');

      const all = c.charges();
      expect(all.map((ch) => ch.idempotency_key).sort()).toEqual([`${c.k}plan-${a}-installment-1`, `${c.k}plan-${a}-installment-2`, `${c.k}plan-${a}-installment-3`, `${c.k}plan-${b}-installment-1`, `${c.k}plan-${b}-installment-2`, `${c.k}plan-${b}-installment-3`].sort());
      expect(all.every((ch) => typeof ch.id === 'number')).toBe(true);
      expect(c.charges('--plan', String(b)).map((ch) => ch.installment)).toEqual([1, 2, 3]);
      expect(c.charges('--status', 'failed').map((ch) => ch.idempotency_key)).toEqual([`${c.k}plan-${b}-installment-2`, `${c.k}plan-${b}-installment-3`]);
      expect(c.charges('--status', 'succeeded')).toHaveLength(4);
      expect(c.charges('--status', 'pending')).toEqual([]);
      expect(c.charges('--since', '2031-02-01').map((ch) => ch.due_date)).toEqual(['2031-02-01', '2031-02-01', '2031-03-01', '2031-03-01']);
      expect(c.charges('--since', '2031-01-16').map((ch) => ch.idempotency_key)).toContain(`${c.k}plan-${b}-installment-1`);
      expect(c.charges('--plan', String(a), '--status', 'failed', '--since', '2031-01-01')).toEqual([]);

      const table = c.run('billing', 'charges', '--plan', String(b));
      expect(table.code).toBe(0);
      expect(table.stdout).toContain('generic_decline, retry 2031-03-04');

      const badStatus = c.run('billing', 'charges', '--status', 'paid');
      expect(badStatus.code).toBe(2);
      expect(badStatus.stderr).toBe('txplan: --status "paid" is not a charge status; use pending, succeeded or failed\n');
      expect(c.run('billing', 'charges', '--since', '2031-13-01').code).toBe(2);
      const missing = c.run('billing', 'charges', '--plan', '999');
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain('999');
    });
  });

  describe('billing reconcile', () => {
    it('exits 0 when txplan and the processor agree, 1 listing each difference', async () => {
      const c = clinic();
      const id = c.apply(ACNE, '2031-01-15');
      c.bill('2031-03-01');
      const ok = c.run('billing', 'reconcile');
      expect(ok.code).toBe(0);
      expect(ok.stdout).toContain(`Every charge matches the ${gateway === 'stripe' ? 'Stripe' : 'sandbox'} processor's records.`);
      expect(c.json<{ ok: boolean; differences: unknown[] }>('billing', 'reconcile')).toEqual({ gateway, ok: true, on_hold: false, differences: [] });

      if (gateway === 'stripe') {
        // Stripe's records cannot be edited by hand: txplan's are. txplan records a fourth installment Stripe never
        // charged, another amount for installment 3, and a fifth installment as paid that Stripe declined; Stripe
        // holds a charge with this database's metadata that txplan never made.
        const db = c.db(false);
        db.exec(DROP_CHARGE_TRIGGERS);
        db.prepare('UPDATE charges SET amount_minor = 1 WHERE idempotency_key = ?').run(`${c.k}plan-${id}-installment-3`);
        db.prepare(
          `INSERT INTO charges (plan_id, kind, installment, step_n, idempotency_key, due_date, amount_minor, currency, status, attempts, retries_allowed, gateway, gateway_charge_id, payment_token, created_at, updated_at)
           SELECT plan_id, 'installment', 4, NULL, ?, '2031-03-01', 24900, 'USD', 'succeeded', 1, 3, 'stripe', 'pi_never_made', payment_token, created_at, updated_at FROM charges WHERE idempotency_key = ?`,
        ).run(`${c.k}plan-${id}-installment-4`, `${c.k}plan-${id}-installment-3`);
        db.prepare(
          `INSERT INTO charges (plan_id, kind, installment, step_n, idempotency_key, due_date, amount_minor, currency, status, attempts, retries_allowed, gateway, gateway_charge_id, payment_token, created_at, updated_at)
           SELECT plan_id, 'installment', 5, NULL, ?, '2031-03-01', 24900, 'USD', 'succeeded', 1, 3, 'stripe', 'pi_x', payment_token, created_at, updated_at FROM charges WHERE idempotency_key = ?`,
        ).run(`${c.k}plan-${id}-installment-5`, `${c.k}plan-${id}-installment-3`);
        db.close();
        const fifth = `${c.k}plan-${id}-installment-5`;
        await intentAtStripe({ amount: 24900, currency: 'usd', payment_method: 'pm_card_chargeCustomerFail', confirm: true, metadata: { txplan_key: fifth, txplan_database: c.databaseId, txplan_plan: String(id) } }, fifth);
        const stray = `${c.k}plan-99-installment-1`;
        await intentAtStripe({ amount: 500, currency: 'usd', payment_method: 'pm_card_visa', confirm: true, metadata: { txplan_key: stray, txplan_database: c.databaseId, txplan_plan: '99' } }, stray);
        const bad = c.run('billing', 'reconcile');
        expect(bad.code).toBe(1);
        expect(bad.stdout.trim().split('\n')).toEqual([
          `${c.k}plan-${id}-installment-3 (plan ${id}): txplan has $0.01, the processor $249.00`,
          `${c.k}plan-${id}-installment-4 (plan ${id}): txplan recorded succeeded, but the processor has no such charge`,
          `${fifth} (plan ${id}): txplan recorded succeeded, the processor declined`,
          `${c.k}plan-99-installment-1: the processor charged a charge txplan has no record of ($5.00)`,
          '✖ 4 differences with the Stripe processor',
        ]);
        const asJson = c.run('billing', 'reconcile', '--json');
        expect(asJson.code).toBe(1);
        const report = JSON.parse(asJson.stdout) as { gateway: string; ok: boolean; differences: Array<{ idempotency_key: string; problem: string; plan_id: number | null }> };
        expect(report).toMatchObject({ gateway: 'stripe', ok: false });
        expect(report.differences.map((d) => [d.idempotency_key, d.problem, d.plan_id])).toEqual([
          [`${c.k}plan-${id}-installment-3`, 'amount', id],
          [`${c.k}plan-${id}-installment-4`, 'missing_at_processor', id],
          [fifth, 'status', id],
          [stray, 'unknown_to_txplan', null],
        ]);
        return;
      }

      // The processor loses installment 2, changes the amount of installment 3 and has a charge txplan never made.
      const ledger = c.sandbox(false);
      ledger.prepare('DELETE FROM charges WHERE idempotency_key = ?').run(`${c.k}plan-${id}-installment-2`);
      ledger.prepare('UPDATE charges SET amount_minor = 1 WHERE idempotency_key = ?').run(`${c.k}plan-${id}-installment-3`);
      ledger.prepare("INSERT INTO charges (id, idempotency_key, amount_minor, currency, token, status, decline_code, decline_message, hard, created_at) VALUES ('ch_stray', ?, 500, 'USD', 'pm_card_visa', 'succeeded', NULL, NULL, 0, '2031-01-01T00:00:00Z')").run(`${c.k}plan-99-installment-1`);
      ledger.close();

      const bad = c.run('billing', 'reconcile');
      expect(bad.code).toBe(1);
      const lines = bad.stdout.trim().split('\n');
      expect(lines).toEqual([
        `${c.k}plan-${id}-installment-2 (plan ${id}): txplan recorded succeeded, but the processor has no such charge`,
        `${c.k}plan-${id}-installment-3 (plan ${id}): txplan has $249.00, the processor $0.01`,
        `${c.k}plan-99-installment-1: the processor charged a charge txplan has no record of ($5.00)`,
        '✖ 3 differences with the sandbox processor',
      ]);
      const asJson = c.run('billing', 'reconcile', '--json');
      expect(asJson.code).toBe(1);
      const report = JSON.parse(asJson.stdout) as { ok: boolean; differences: Array<{ idempotency_key: string; problem: string; plan_id: number | null }> };
      expect(report.ok).toBe(false);
      expect(report.differences.map((d) => [d.idempotency_key, d.problem, d.plan_id])).toEqual([
        [`${c.k}plan-${id}-installment-2`, 'missing_at_processor', id],
        [`${c.k}plan-${id}-installment-3`, 'amount', id],
        [`${c.k}plan-99-installment-1`, 'unknown_to_txplan', null],
      ]);
    });

    it('reports a charge left pending, and the next billing run settles it through the same key', async () => {
      const c = clinic();
      const id = c.apply(ACNE, '2031-01-15');
      const token = c.charges()[0]!.payment_token;
      // A run stopped after writing installment 2 pending, before calling the processor;
      // and one stopped after the processor charged installment 3, before recording the answer.
      const db = c.db(false);
      const insert = db.prepare(
        `INSERT INTO charges (plan_id, kind, installment, step_n, idempotency_key, due_date, amount_minor, currency, status, attempts, retries_allowed, gateway, payment_token, created_at, updated_at)
         VALUES (?, 'installment', ?, NULL, ?, ?, 24900, 'USD', 'pending', 1, 3, ?, ?, '2031-03-01T05:00:00Z', '2031-03-01T05:00:00Z')`,
      );
      for (const [k, due] of [[2, '2031-02-01'], [3, '2031-03-01']] as const) insert.run(id, k, `${c.k}plan-${id}-installment-${k}`, due, gateway, token);
      db.close();
      let doneBeforeCrash = 'ch_done_before_crash';
      if (gateway === 'sandbox') {
        const ledger = c.sandbox(false);
        ledger.prepare("INSERT INTO charges (id, idempotency_key, amount_minor, currency, token, status, decline_code, decline_message, hard, created_at) VALUES ('ch_done_before_crash', ?, 24900, 'USD', 'pm_card_visa', 'succeeded', NULL, NULL, 0, '2031-03-01T05:00:01Z')").run(`${c.k}plan-${id}-installment-3`);
        ledger.close();
      } else {
        // The request txplan's run sent for installment 3, under its key, answered at Stripe but never recorded.
        const key = `${c.k}plan-${id}-installment-3`;
        const customer = standIn.paymentIntents().find((pi) => pi.metadata.txplan_key === `${c.k}plan-${id}-installment-1`)!.customer!;
        doneBeforeCrash = await intentAtStripe(
          {
            amount: 24900,
            currency: 'usd',
            customer,
            payment_method: token,
            allowed_payment_method_types: ['card'],
            confirm: true,
            off_session: true,
            description: `Plan ${id}, installment 3`,
            metadata: { txplan_key: key, txplan_database: c.databaseId, txplan_plan: String(id), txplan_patient: '1', txplan_for: 'installment 3' },
          },
          key,
        );
      }
      const replays = standIn.stats().replays;

      const pending = c.run('billing', 'reconcile');
      expect(pending.code).toBe(1);
      expect(pending.stdout).toContain(`${c.k}plan-${id}-installment-2 (plan ${id}): pending in txplan and never reached the processor; the next billing run sends it`);
      expect(pending.stdout).toContain(`${c.k}plan-${id}-installment-3 (plan ${id}): the processor succeeded it, but txplan has not recorded the answer yet; the next billing run does`);
      expect(c.charges('--status', 'pending')).toHaveLength(2);

      // Even a run for a date before they fell due settles what is in flight.
      const settled = c.bill('2031-01-20');
      expect(settled.code).toBe(0);
      expect(settled.report.charges.map((ch) => [ch.installment, ch.status]).sort()).toEqual([[2, 'succeeded'], [3, 'succeeded']]);
      expect(c.charges('--status', 'pending')).toEqual([]);
      // Installment 3 was replayed, not charged a second time.
      const rows = c.ledger();
      expect(rows.filter((r) => r.idempotency_key === `${c.k}plan-${id}-installment-3`).map((r) => r.id)).toEqual([doneBeforeCrash]);
      // At Stripe, by the same request under the same key: Stripe answered it from its idempotency store.
      if (gateway === 'stripe') expect(standIn.stats().replays).toBe(replays + 1);
      expect(keysOf(rows)).toEqual([1, 2, 3].map((k) => `${c.k}plan-${id}-installment-${k}`));
      expect(c.run('billing', 'reconcile').code).toBe(0);
      expect(c.bill('2031-03-01').report.charges).toEqual([]);
    });
  });

  describe('the processor', () => {
    it('refuses a repeated key with another amount: the charge stays pending, the run exits 3, nothing is charged twice', () => {
      const c = clinic();
      const id = c.apply(ACNE, '2031-01-15');
      c.bill('2031-02-01');
      // Installment 2's row is damaged back to pending with another amount (as tampering with the file would:
      // the database's own triggers refuse such an update, so they go first).
      const db = c.db(false);
      db.exec(DROP_CHARGE_TRIGGERS);
      db.prepare("UPDATE charges SET status = 'pending', amount_minor = 30000 WHERE idempotency_key = ?").run(`${c.k}plan-${id}-installment-2`);
      db.close();
      const run = c.run('billing', 'run', '--date', '2031-02-01');
      expect(run.code).toBe(3);
      expect(run.stdout).toContain('failed 1');
      expect(c.charges('--status', 'pending').map((ch) => ch.idempotency_key)).toEqual([`${c.k}plan-${id}-installment-2`]);
      expect(c.ledger().filter((r) => r.idempotency_key.startsWith(`${c.k}plan-${id}-installment-2`)).map((r) => [r.idempotency_key, r.amount_minor, r.status])).toEqual([[`${c.k}plan-${id}-installment-2`, 24900, 'succeeded']]);
      const reconcile = c.run('billing', 'reconcile');
      expect(reconcile.code).toBe(1);
      expect(reconcile.stdout).toContain(`${c.k}plan-${id}-installment-2 (plan ${id}): txplan has $300.00, the processor $249.00`);
    });

    it('reconcile matches a charge with ten and more attempts (keys ...-attempt-10 sort before ...-attempt-2)', async () => {
      const c = clinic();
      const id = c.apply(ACNE, '2031-01-15');
      const attempts = 11;
      const db = c.db(false);
      db.prepare(
        `INSERT INTO charges (plan_id, kind, installment, step_n, idempotency_key, due_date, amount_minor, currency, status, attempts, retries_allowed, hard_decline, decline_code, gateway, gateway_charge_id, payment_token, created_at, updated_at)
         VALUES (?, 'installment', 2, NULL, ?, '2031-02-01', 24900, 'USD', 'failed', ?, 12, 0, 'generic_decline', ?, 'ch_x', 'pm_card_chargeDeclined', '2031-02-01T00:00:00Z', '2031-02-01T00:00:00Z')`,
      ).run(id, `${c.k}plan-${id}-installment-2`, attempts, gateway);
      db.close();
      const attemptKey = (n: number) => (n === 1 ? `${c.k}plan-${id}-installment-2` : `${c.k}plan-${id}-installment-2-attempt-${n}`);
      if (gateway === 'stripe') {
        // Stripe holds a declined PaymentIntent for every attempt but the 7th: that one is named; once it is there too, all match.
        const declinedAt = (n: number) =>
          intentAtStripe({ amount: 24900, currency: 'usd', payment_method: 'pm_card_chargeCustomerFail', confirm: true, metadata: { txplan_key: attemptKey(n), txplan_database: c.databaseId, txplan_plan: String(id) } }, attemptKey(n));
        for (let n = 1; n <= attempts; n++) if (n !== 7) await declinedAt(n);
        const bad = c.run('billing', 'reconcile');
        expect(bad.code).toBe(1);
        expect(bad.stdout.trim().split('\n')).toEqual([`${attemptKey(7)} (plan ${id}): txplan recorded declined, but the processor has no such charge`, '✖ 1 difference with the Stripe processor']);
        await declinedAt(7);
        expect(c.ledger().filter((r) => r.idempotency_key.startsWith(attemptKey(1))).every((r) => r.status === 'declined' && r.decline_code === 'generic_decline')).toBe(true);
        const ok = c.run('billing', 'reconcile');
        expect(ok.stdout).toContain('Every charge matches');
        expect(ok.code).toBe(0);
        return;
      }
      const ledger = c.sandbox(false);
      const insert = ledger.prepare("INSERT INTO charges (id, idempotency_key, amount_minor, currency, token, status, decline_code, decline_message, hard, created_at) VALUES (?, ?, 24900, 'USD', 'pm_card_chargeDeclined', 'declined', 'generic_decline', 'Your card was declined.', 0, '2031-02-01T00:00:00Z')");
      for (let n = 1; n <= attempts; n++) insert.run(`ch_attempt_${n}`, n === 1 ? `${c.k}plan-${id}-installment-2` : `${c.k}plan-${id}-installment-2-attempt-${n}`);
      ledger.close();
      const ok = c.run('billing', 'reconcile');
      expect(ok.stdout).toContain('Every charge matches');
      expect(ok.code).toBe(0);
      // One attempt missing at the processor is named.
      const again = c.sandbox(false);
      again.prepare('DELETE FROM charges WHERE idempotency_key = ?').run(`${c.k}plan-${id}-installment-2-attempt-7`);
      again.close();
      const bad = c.run('billing', 'reconcile');
      expect(bad.code).toBe(1);
      expect(bad.stdout.trim().split('\n')).toEqual([`${c.k}plan-${id}-installment-2-attempt-7 (plan ${id}): txplan recorded declined, but the processor has no such charge`, '✖ 1 difference with the sandbox processor']);
    });
  });

  describe('billing forecast', () => {
    it('projects the active plans month by month, and the sums match the plans', () => {
      const c = clinic();
      const today = TODAY; // the workspace's zone
      const next = firstOfMonth(today, 1);
      // Entered today, ahead of their starts.
      c.applyAhead(ACNE, next); // installments 2..6 on the 1sts of months +2..+6
      c.applyAhead(MODERATE, plusDays(next, 14), 'pm_card_visa', 'main', 'P-2'); // installments 2..4 on months +2..+4
      const paused = c.applyAhead(GLOW, next, 'pm_card_visa', 'main', 'P-3');
      c.run('plan', 'pause', String(paused));
      // P-2, not P-3: P-3 already holds the paused plan of this template, and a second one would be refused as a duplicate.
      const cancelled = c.applyAhead(GLOW, next, 'pm_card_visa', 'main', 'P-2');
      c.run('plan', 'cancel', '--yes', String(cancelled), '--reason', 'x', '--waive-fee', '--yes');
      const payg = c.applyAhead(MILD, next, 'pm_card_visa', 'main', 'P-1');

      // What each pay-as-you-go visit costs, from the catalog (complimentary services are free).
      const catalog = parse(readFileSync(join(c.ws, 'catalog.yaml'), 'utf8')) as { services: Array<{ id: string; price: string; complimentary?: boolean }> };
      const price = new Map(catalog.services.map((s) => [s.id, s.complimentary ? 0 : Math.round(Number(s.price) * 100)]));
      const steps = c.json<PlanJson>('plan', 'show', String(payg)).steps;

      const months = 4;
      const forecast = c.json<{
        currency: string;
        from: string;
        months: Array<{ month: string; installments: number; installments_minor: number; visits: number; visits_minor: number; retries_minor: number; total_minor: number }>;
        installments_remaining: number;
        installments_remaining_minor: number;
        total_minor: number;
      }>('billing', 'forecast', '--months', String(months));
      const keys = Array.from({ length: months }, (_, i) => firstOfMonth(today, i).slice(0, 7));
      expect(forecast.currency).toBe('USD');
      expect(forecast.from).toBe(keys[0]);
      expect(forecast.months.map((m) => m.month)).toEqual(keys);

      const expected = keys.map((month, i) => {
        const installments = i >= 2 ? 2 : 0;
        const installmentsMinor = i >= 2 ? 24900 + 19900 : 0;
        const visits = steps.filter((s) => s.recommended_date!.startsWith(month)).map((s) => s.services.reduce((sum, id) => sum + price.get(id)!, 0)).filter((v) => v > 0);
        const visitsMinor = visits.reduce((a, b) => a + b, 0);
        return { month, installments, installments_minor: installmentsMinor, visits: visits.length, visits_minor: visitsMinor, retries_minor: 0, refunds_minor: 0, total_minor: installmentsMinor + visitsMinor };
      });
      expect(forecast.months).toEqual(expected);
      expect(expected.reduce((n, m) => n + m.visits, 0)).toBeGreaterThanOrEqual(2); // the visits really are in the window
      expect(forecast.installments_remaining).toBe(5 + 3);
      expect(forecast.installments_remaining_minor).toBe(5 * 24900 + 3 * 19900);
      expect(forecast.total_minor).toBe(expected.reduce((sum, m) => sum + m.total_minor, 0));

      const year = c.json<{ months: unknown[]; total_minor: number }>('billing', 'forecast', '--months', '12');
      expect(year.months).toHaveLength(12);
      const paygTotal = steps.map((s) => s.services.reduce((sum, id) => sum + price.get(id)!, 0)).reduce((a, b) => a + b, 0);
      expect(year.total_minor).toBe(5 * 24900 + 3 * 19900 + paygTotal);

      for (const bad of ['0', '-1', 'abc', '121']) expect(c.run('billing', 'forecast', '--months', bad).code, bad).toBe(2);
    });

    it('counts a declined installment awaiting its retry, and nothing of past-due plans', () => {
      const c = clinic();
      const today = TODAY;
      const start = firstOfMonth(today, -1);
      const retrying = c.apply(ACNE, start, 'pm_card_visa', 'main', 'P-1');
      expect(c.declineWith(retrying, 'generic_decline').code).toBe(0);
      const pastDue = c.apply(ACNE, start, 'pm_card_visa', 'main', 'P-2');
      expect(c.declineWith(pastDue, 'stolen_card').code).toBe(0);
      expect(c.bill(firstOfMonth(today)).code).toBe(3); // installment 2 of both declined
      expect(c.json<PlanJson>('plan', 'show', String(pastDue)).status).toBe('past_due');

      const forecast = c.json<{ months: Array<{ month: string; installments: number; installments_minor: number; retries_minor: number; total_minor: number }>; installments_remaining: number; total_minor: number }>('billing', 'forecast', '--months', '3');
      // The retry (3 days after this month's 1st, or today if that has passed) falls in this month.
      expect(forecast.months.map((m) => [m.installments, m.installments_minor, m.retries_minor, m.total_minor])).toEqual([
        [0, 0, 24900, 24900],
        [1, 24900, 0, 24900],
        [1, 24900, 0, 24900],
      ]);
      expect(forecast.installments_remaining).toBe(4); // installments 3–6 of the active plan only
      expect(forecast.total_minor).toBe(3 * 24900);
    });
  });

  describe('the billing lock', () => {
    function sleeper(): Promise<ChildProcess> {
      return new Promise((resolve, reject) => {
        const child = spawn('sleep', ['30'], { stdio: 'ignore' });
        child.once('spawn', () => resolve(child));
        child.once('error', reject);
      });
    }
    function exited(child: ChildProcess): Promise<void> {
      return new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));
    }
    function runAsync(cwd: string, args: string[], clock: TestClock): Promise<RunResult & { ms: number }> {
      const started = Date.now();
      return new Promise((resolve, reject) => {
        const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TXPLAN_') && k !== 'NO_COLOR' && k !== 'FORCE_COLOR'));
        const child = spawn(process.execPath, [binary, ...args], { cwd, env: { ...env, TXPLAN_ACTOR: 'test', STRIPE_SECRET_KEY: STRIPE_TEST_KEY, ...databaseEnv(cwd, args), ...at(clock.now!) }, stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
        child.once('error', reject);
        child.once('close', (code) => resolve({ stdout, stderr, code: code ?? -1, ms: Date.now() - started }));
      });
    }
    /** Writes the lock row naming `pid`. */
    function writeLock(c: Clinic, pid: number): void {
      const db = c.db(false);
      db.prepare("INSERT INTO billing_lock (id, pid, started_at) VALUES (1, ?, '2031-02-01T00:00:00.000Z') ON CONFLICT (id) DO UPDATE SET pid = excluded.pid").run(pid);
      db.close();
    }
    /**
     * A run holding the lock, process `pid`: on SQLite the row naming it; on PostgreSQL also a live session
     * holding the advisory lock, as a run does. `release()` ends that session (the server frees the lock).
     */
    function holdLock(c: Clinic, pid: number): { release: () => void } {
      writeLock(c, pid);
      return { release: holdAdvisoryBillingLock(() => c.db(false)) };
    }

    it('a live holder makes a second run exit 4; --wait waits for it; a dead holder is taken over', async () => {
      const c = clinic();
      const id = c.apply(ACNE, '2031-01-15');
      c.clock.now = '2031-02-01';
      const holder = await sleeper();
      let held: { release: () => void } | undefined;
      try {
        held = holdLock(c, holder.pid!);
        const busy = c.run('billing', 'run', '--date', '2031-02-01');
        expect(busy.code).toBe(4);
        expect(busy.stdout).toBe('');
        expect(busy.stderr).toBe(`${clockWarning('2031-02-01')}txplan: Another billing run (process ${holder.pid}, started 2031-01-31 19:00 America/New_York) is working; let it finish, or rerun with --wait SECONDS\n`);
        const busyJson = c.run('billing', 'run', '--date', '2031-02-01', '--json');
        expect(busyJson.code).toBe(4);
        expect(JSON.parse(withoutClockWarning(busyJson.stderr))).toEqual({ error: { code: 'busy', message: expect.stringContaining(`process ${holder.pid}`) } });
        expect(c.ledger()).toHaveLength(1);
        // A dry run takes no lock.
        expect(c.run('billing', 'run', '--date', '2031-02-01', '--dry-run').code).toBe(0);
        // Waiting a second is not long enough.
        const short = await runAsync(c.ws, ['billing', 'run', '--date', '2031-02-01', '--wait', '1'], c.clock);
        expect(short.code).toBe(4);
        expect(short.ms).toBeGreaterThanOrEqual(1000);

        // Waiting long enough: the holder ends after ~1.5 s, the waiting run then does the work.
        const waiting = runAsync(c.ws, ['billing', 'run', '--date', '2031-02-01', '--wait', '20', '--json'], c.clock);
        await new Promise((r) => setTimeout(r, 1500));
        expect(c.ledger()).toHaveLength(1); // still waiting
        holder.kill('SIGKILL');
        await exited(holder);
        held.release(); // on PostgreSQL the holder's connection closes with it
        const waited = await waiting;
        expect(waited.code).toBe(0);
        expect(waited.ms).toBeGreaterThanOrEqual(1400);
        expect((JSON.parse(waited.stdout) as RunReport).charges.map((ch) => ch.idempotency_key)).toEqual([`${c.k}plan-${id}-installment-2`]);
      } finally {
        held?.release();
        holder.kill('SIGKILL');
      }
      // The run released the lock.
      expect(query(c.db(), 'SELECT * FROM billing_lock')).toEqual([]);

      // A lock left by a process that died (kill -9 mid-run) is taken over at once (on PostgreSQL: a row no session backs).
      writeLock(c, holder.pid!);
      const takeover = c.bill('2031-03-01');
      expect(takeover.code).toBe(0);
      expect(takeover.report.charges.map((ch) => ch.idempotency_key)).toEqual([`${c.k}plan-${id}-installment-3`]);
      expect(query(c.db(), 'SELECT * FROM billing_lock')).toEqual([]);
    });
  });

  describe('a planned pause', () => {
    it('ends at the first billing run on or after --until, and billing continues from the next 1st', () => {
      const c = clinic('2026-11-28');
      // Started in the past, paused today until a date the run then passes.
      const id = c.apply(ACNE, '2026-10-05');
      expect(c.run('plan', 'pause', String(id), '--until', '2027-02-10').code).toBe(0);
      const before = c.bill('2027-02-01');
      expect(before.report.charges).toEqual([]);
      expect(c.json<{ status: string }>('plan', 'show', String(id)).status).toBe('paused');

      const after = c.bill('2027-02-10');
      const plan = c.json<{ status: string; end_date: string }>('plan', 'show', String(id));
      expect(plan.status).toBe('active');
      const actions = c.json<Array<{ action: string; actor: string }>>('audit', '--entity', 'plan', '--id', String(id)).map((a) => a.action);
      expect(actions).toContain('plan.resume');
      // Installment 2 was never charged before the pause: it continues from the next 1st after it ends.
      expect(after.code).toBe(0);
      expect(after.report.charges).toEqual([]);
      expect(c.bill('2027-03-01').report.charges.map((ch) => [ch.installment, ch.due_date, ch.status])).toEqual([[2, '2027-03-01', 'succeeded']]);
      expect(plan.end_date).toBe('2027-08-05');
    });
  });
});
