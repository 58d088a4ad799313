import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { at, binary, databaseEnv, engine, query, STRIPE_TEST_KEY, testDatabase, txplan, withoutClockWarning, workspace, seededRandom } from '../helpers.js';
import { copyDatabase, dropDatabaseFor } from '../postgres.js';
import { startStandIn, type Fault, type StandIn } from '../stripe/standin.mjs';
import { GATEWAYS, processorCharges, useStripe, type GatewayName } from '../stripe/workspace.js';

/**
 * Issue 4, point 4, and issue 10: never twice, never lost, through either
 * processor. A workspace holds many active monthly plans with installments
 * due; the billing batch (always the built binary) is run twice, run twice at
 * once, and SIGKILLed at random moments and rerun — charging the offline
 * sandbox, and charging Stripe (the stand-in under test/stripe/, through the
 * real SDK). Then the processor's own record (the sandbox's ledger, or the
 * stand-in's PaymentIntents) must hold exactly one charge for every due
 * installment, and txplan's charges must agree. Against Stripe, (d) also drops
 * answers the processor has already acted on.
 *
 * The first plans are made with the CLI; the rest are inserted directly into
 * the database (SQLite or PostgreSQL) as copies of the first (plan, steps, price, payment method,
 * patient and audit rows, as `plan apply` writes them), which takes
 * milliseconds instead of a process per plan. Their payment method is the
 * test card's name itself (pm_card_visa, no customer), which Stripe's test
 * mode, and so the stand-in, charges as it is.
 *
 * The stand-in runs inside this test process, so every txplan command that
 * may talk to it is spawned without blocking (`run`), never with spawnSync.
 */

const GLOW = 'glow-membership'; // 12 installments of $169.00
const FEE = 16900;
const START = '2031-01-15';
/** Installment 1 on Jan 15, 2 on Feb 1, 3 on Mar 1: three due on this date. */
const DATE = '2031-03-01';
const DUE = [1, 2, 3];
const PAYMENT_INTENTS = 'POST /v1/payment_intents';

interface Workspace {
  ws: string;
  planIds: number[];
  /** Plans paying with a card that declines (retryable). */
  declining: Set<number>;
  /** The Stripe stand-in this workspace charges; none for the sandbox. */
  standIn?: StandIn;
}

interface Report {
  charged: number;
  failed: number;
  amount_minor: number;
  charges: Array<{ idempotency_key: string; status: string }>;
}

interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** The stand-in for one test, closed when the test finishes; the sandbox needs none. */
async function processorFor(gateway: GatewayName, seed = 1, latencyMs = 0): Promise<StandIn | undefined> {
  if (gateway === 'sandbox') return undefined;
  const standIn = await startStandIn({ latencyMs, seed });
  onTestFinished(() => standIn.close());
  return standIn;
}

/**
 * `plans` active monthly plans at one clinic, started on START; every `declineEvery`-th one pays with `declineToken`.
 * With a stand-in, the workspace charges it through the Stripe gateway (`stripe` settings as in txplan.yaml).
 */
async function setup(plans: number, options: { declineEvery?: number; declineToken?: string; standIn?: StandIn; stripe?: Parameters<typeof useStripe>[2] } = {}): Promise<Workspace> {
  const { declineEvery = 0, declineToken = 'pm_card_chargeDeclined', standIn } = options;
  const ws = workspace();
  if (standIn) useStripe(ws, standIn.url, options.stripe);
  for (const args of [
    ['clinic', 'add', 'main', '--name', 'Main', '--timezone', 'UTC'],
    ['patient', 'add', '--first', 'First', '--last', 'Patient', '--mrn', 'N-1'],
    ['patient', 'add', '--first', 'Second', '--last', 'Patient', '--mrn', 'N-2'],
  ]) {
    const result = txplan(args, { cwd: ws });
    if (result.code !== 0) throw new Error(`setup ${args.join(' ')}: ${result.stderr}`);
  }
  // Two plans through the CLI, entered on their start date (txplan's clock, TXPLAN_NOW, set there): installment 1 is charged by plan apply itself.
  for (const mrn of ['N-1', 'N-2']) {
    const result = await run(ws, ['plan', 'apply', mrn, GLOW, '--mode', 'start', '--yes', '--clinic', 'main', '--start', START, '--payment-method', 'pm_card_visa', '--json', '--yes'], START).done;
    if (result.code !== 0) throw new Error(`plan apply: ${result.stderr}`);
  }

  const db = testDatabase(ws);
  const declining = new Set<number>();
  try {
    const model = db.prepare('SELECT * FROM plans WHERE id = 1').get() as Record<string, unknown>;
    const steps = db.prepare('SELECT * FROM steps WHERE plan_id = 1 ORDER BY n').all() as Array<Record<string, unknown>>;
    const prices = db.prepare('SELECT * FROM plan_prices WHERE plan_id = 1').all() as Array<Record<string, unknown>>;
    const insertPatient = db.prepare("INSERT INTO patients (mrn, first_name, last_name, created_at, updated_at) VALUES (?, 'Bulk', ?, @at, @at) RETURNING id".replace(/@at/g, "'2030-12-01T00:00:00.000Z'"));
    const insertMethod = db.prepare("INSERT INTO payment_methods (patient_id, token, brand, last4, exp_month, exp_year, created_at) VALUES (?, ?, 'visa', ?, 12, 2034, '2030-12-01T00:00:00.000Z') RETURNING id");
    const columns = Object.keys(model).filter((c) => c !== 'id');
    const insertPlan = db.prepare(`INSERT INTO plans (${columns.join(', ')}) VALUES (${columns.map((c) => `@${c}`).join(', ')}) RETURNING id`);
    const stepColumns = Object.keys(steps[0]!).filter((c) => c !== 'id');
    const insertStep = db.prepare(`INSERT INTO steps (${stepColumns.join(', ')}) VALUES (${stepColumns.map((c) => `@${c}`).join(', ')})`);
    const insertPrice = db.prepare('INSERT INTO plan_prices (plan_id, from_installment, monthly_fee_minor) VALUES (?, ?, ?)');
    const insertAudit = db.prepare("INSERT INTO audit (at, actor, action, entity, entity_id, before, after) VALUES ('2030-12-01T00:00:00.000Z', 'test', 'plan.start', 'plan', ?, NULL, ?)");
    db.exec('BEGIN');
    try {
      for (let i = 3; i <= plans; i++) {
        const decline = declineEvery > 0 && i % declineEvery === 0;
        const patient = Number((insertPatient.get(`B-${i}`, `Patient ${i}`) as { id: number }).id);
        const token = decline ? declineToken : 'pm_card_visa';
        const method = Number((insertMethod.get(patient, token, decline ? '0002' : '4242') as { id: number }).id);
        const id = Number((insertPlan.get({ ...model, patient_id: patient, payment_method_id: method }) as { id: number }).id);
        if (decline) declining.add(id);
        for (const step of steps) insertStep.run({ ...step, id: undefined, plan_id: id });
        for (const price of prices) insertPrice.run(id, price.from_installment, price.monthly_fee_minor);
        insertAudit.run(String(id), JSON.stringify({ patient_id: patient, template: `${GLOW}@3`, status: 'active', clinic_id: 'main', start_date: START }));
      }
      db.exec('COMMIT');
    } catch (error) {
      db.exec('ROLLBACK');
      throw error;
    }
    const planIds = (db.prepare('SELECT id FROM plans ORDER BY id').all() as Array<{ id: number }>).map((r) => r.id);
    if (planIds.length !== plans) throw new Error(`expected ${plans} plans, have ${planIds.length}`);
    return { ws, planIds, declining, ...(standIn ? { standIn } : {}) };
  } finally {
    db.close();
  }
}

/** `billing run --date D` with txplan's clock at D: a run never charges the future of its clock. */
async function bill(ws: string, date = DATE): Promise<Finished & { report: Report }> {
  const result = await run(ws, ['billing', 'run', '--date', date, '--json'], date).done;
  if (result.code !== 0 && result.code !== 3) throw new Error(`billing run exited ${result.code}: ${result.stderr}`);
  return { ...result, report: JSON.parse(result.stdout) as Report };
}

/**
 * The built binary in a child process that does not block this one (the
 * stand-in answers from here), with the environment `txplan()` gives: no
 * inherited TXPLAN_*, the test actor and Stripe test key, the clock at `date`.
 */
function run(ws: string, args: string[], date?: string) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TXPLAN_') && k !== 'NO_COLOR' && k !== 'FORCE_COLOR')) as Record<string, string>;
  const child = spawn(process.execPath, [binary, ...args], { cwd: ws, env: { ...env, TXPLAN_ACTOR: 'test', STRIPE_SECRET_KEY: STRIPE_TEST_KEY, ...databaseEnv(ws, args), ...(date ? at(date) : {}) }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<Finished>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done };
}

function spawnRun(ws: string, args: string[], date = DATE) {
  return run(ws, ['billing', 'run', '--date', date, ...args], date);
}

/** The processor's own record of the workspace's charges: the sandbox's ledger, or the stand-in's PaymentIntents. */
function readLedger(w: Pick<Workspace, 'ws' | 'standIn'>) {
  return processorCharges(w.ws, w.standIn);
}

/** What every idempotency key of the workspace's database starts with: txp_<database id>_. */
function keyPrefix(ws: string): string {
  return `txp_${query<{ id: string }>(ws, 'SELECT id FROM database_info')[0]!.id}_`;
}

function readCharges(ws: string): Array<{ plan_id: number; kind: string; installment: number | null; idempotency_key: string; status: string; amount_minor: number; attempts: number }> {
  return query<ReturnType<typeof readCharges>[number]>(ws, 'SELECT plan_id, kind, installment, idempotency_key, status, amount_minor, attempts FROM charges');
}

/**
 * The check of point 4, against the processor's own ledger: every due
 * installment was sent exactly once under its own key (no retries happen on
 * one date), succeeded unless its card declines, at its fee; nothing else was
 * charged; txplan's charges say the same, none pending; reconcile agrees.
 */
async function expectExactlyOnce(w: Workspace, due: readonly number[] = DUE, declinedDue: readonly number[] = due): Promise<void> {
  const k = keyPrefix(w.ws);
  const expected = new Map<string, string>();
  for (const id of w.planIds) {
    const declines = w.declining.has(id);
    for (const n of declines ? declinedDue : due) expected.set(`${k}plan-${id}-installment-${n}`, declines ? 'declined' : 'succeeded');
  }

  const ledger = readLedger(w);
  const seen = new Map<string, number>();
  for (const row of ledger) seen.set(row.idempotency_key, (seen.get(row.idempotency_key) ?? 0) + 1);
  const duplicated = [...seen].filter(([, n]) => n > 1).map(([key]) => key);
  expect(duplicated, 'keys charged more than once').toEqual([]);
  const missing = [...expected.keys()].filter((key) => !seen.has(key));
  expect(missing.slice(0, 10), `${missing.length} due installments never reached the processor`).toEqual([]);
  const unexpected = ledger.filter((row) => !expected.has(row.idempotency_key)).map((row) => row.idempotency_key);
  expect(unexpected.slice(0, 10), 'charges the processor holds that nobody owed (retries, later installments)').toEqual([]);
  const wrong = ledger.filter((row) => row.status !== expected.get(row.idempotency_key) || row.amount_minor !== FEE || row.currency !== 'USD');
  expect(wrong.slice(0, 10)).toEqual([]);
  expect(ledger).toHaveLength(expected.size);
  // Every succeeded processor charge pays one installment: the succeeded keys are exactly the installment keys.
  expect(ledger.filter((row) => row.status === 'succeeded').every((row) => /^txp_[a-z]{24}_plan-\d+-installment-\d+$/.test(row.idempotency_key))).toBe(true);
  if (w.standIn) {
    // Stripe's own count: exactly one succeeded PaymentIntent per installment that was to succeed, none for any other key of this database.
    const succeeded = [...w.standIn.succeededByKey()].filter(([key]) => key.startsWith(k));
    const owed = [...expected].filter(([, status]) => status === 'succeeded').map(([key]) => key);
    expect(succeeded.filter(([, n]) => n !== 1), 'keys with more than one succeeded PaymentIntent').toEqual([]);
    expect(succeeded.map(([key]) => key).sort()).toEqual(owed.sort());
  }

  const charges = readCharges(w.ws);
  expect(charges.filter((c) => c.status === 'pending'), 'charges left pending').toEqual([]);
  expect(charges).toHaveLength(expected.size);
  const mismatched = charges.filter((c) => c.kind !== 'installment' || c.attempts !== 1 || c.amount_minor !== FEE || c.idempotency_key !== `${k}plan-${c.plan_id}-installment-${c.installment}` || (c.status === 'succeeded' ? 'succeeded' : 'declined') !== expected.get(c.idempotency_key));
  expect(mismatched.slice(0, 10)).toEqual([]);

  const reconcile = await run(w.ws, ['billing', 'reconcile']).done;
  expect(reconcile.stdout + reconcile.stderr).toContain('Every charge matches');
  expect(reconcile.code).toBe(0);
}


/**
 * (c) charging the sandbox: runs killed at random moments in time, drawn over
 * the duration of a full run measured on a copy of the workspace, over two
 * billing dates (≈ 17,800 charges).
 */
async function killSandboxRuns(): Promise<void> {
  const seed = Number(process.env.NEVER_TWICE_SEED ?? Math.floor(Math.random() * 2 ** 31));
  console.log(`never-twice (c, sandbox): seed ${seed} (replay with NEVER_TWICE_SEED=${seed})`);
  const random = seededRandom(seed);
  // 1,500 plans (two chunks of the run); 1 in 40 pays with a card that declines hard, which
  // makes its plan past due at once: its first charges are declined once each and never retried.
  const w = await setup(1500, { declineEvery: 40, declineToken: 'pm_card_chargeDeclinedStolenCard' });
  const log: string[] = [];
  let killed = 0;

  /** One billing date: kill runs at random moments until one ends by itself, then rerun until one ends normally. */
  async function episode(date: string): Promise<void> {
    // The run's typical duration, measured on a copy of the workspace (its own database and ledger).
    const copy = join(mkdtempSync(join(tmpdir(), 'txplan-calibrate-')), 'ws');
    let typical: number;
    try {
      cpSync(w.ws, copy, { recursive: true });
      // On PostgreSQL the database and the sandbox ledger in it are on the server: copy them there.
      if (engine === 'postgres') copyDatabase(w.ws, copy);
      const t0 = Date.now();
      const full = await spawnRun(copy, [], date).done;
      expect([0, 3]).toContain(full.code);
      typical = Date.now() - t0;
    } finally {
      rmSync(dirname(copy), { recursive: true, force: true });
      if (engine === 'postgres') dropDatabaseFor(dirname(copy));
    }
    log.push(`${date}: a full run takes ${typical} ms`);
    for (let round = 1; round <= 10; round++) {
      const delay = Math.round(50 + random() * Math.max(0, typical - 50));
      const { child, done } = spawnRun(w.ws, [], date);
      const timer = setTimeout(() => child.kill('SIGKILL'), delay);
      const result = await done;
      clearTimeout(timer);
      const charges = readCharges(w.ws);
      const state = `charges: ${charges.filter((c) => c.status === 'pending').length} pending, ${charges.filter((c) => c.status !== 'pending').length} settled; ledger ${readLedger(w).length}`;
      log.push(`  round ${round}: kill after ${delay} ms → ${result.signal ?? `exit ${result.code}`}; ${state}`);
      if (result.signal === 'SIGKILL') {
        killed++;
        continue;
      }
      expect([0, 3], result.stderr).toContain(result.code); // it finished first: a normal end
      break;
    }
    log.push(`  rerun: ${await rerunUntilNormalEnd(w.ws, date)}`);
  }

  try {
    await episode('2031-06-01'); // installments 1–6 of every plan: ≈ 9,000 charges
    await expectExactlyOnce(w, [1, 2, 3, 4, 5, 6]);
    await episode('2031-12-01'); // installments 7–12: ≈ 8,800 more; the past-due plans are skipped
  } finally {
    console.log(`never-twice (c, sandbox): seed ${seed}, ${killed} kills\n${log.join('\n')}`);
  }
  expect(killed).toBeGreaterThan(0);
  await expectExactlyOnce(w, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], [1, 2, 3, 4, 5, 6]);
  expectPastDueAreTheDeclining(w);
  // And one more run finds nothing left to do.
  expect((await bill(w.ws, '2031-12-01')).report).toMatchObject({ charged: 0, failed: 0, charges: [] });
}

/**
 * (c) charging Stripe, as issue 10 asks: 2,000 plans, one billing date
 * (installments 1–3: 5,998 PaymentIntents), killed with SIGKILL at 10 random
 * moments, then rerun until a run ends normally. A moment is a point in the
 * work, not in time: a run is killed once the stand-in has received a random
 * number of PaymentIntent requests (10 seeded draws over the 5,998), so every
 * kill lands while charges are in flight and answers are being settled —
 * a time-based kill after a few rounds mostly finds the little work left done
 * already. Meanwhile a small share of requests meets a 429 (Retry-After 1 s), a
 * 500, or an answer lost after the PaymentIntent was made, so the same-key
 * retries run while the runs are being killed.
 */
async function killStripeRuns(): Promise<void> {
  const seed = Number(process.env.NEVER_TWICE_SEED ?? Math.floor(Math.random() * 2 ** 31));
  console.log(`never-twice (c, stripe): seed ${seed} (replay with NEVER_TWICE_SEED=${seed})`);
  const random = seededRandom(seed);
  // A few milliseconds per answer, so that several requests are in flight whenever a run is killed.
  const standIn = (await processorFor('stripe', seed, 5))!;
  // 1 in 40 pays with a card Stripe declines hard (stolen_card): its plan goes past due, its charges are declined once each.
  const w = await setup(2000, { declineEvery: 40, declineToken: 'pm_card_chargeDeclinedStolenCard', standIn });
  const faults: Fault[] = [
    { kind: '429', route: PAYMENT_INTENTS, rate: 0.001, retryAfter: 1 },
    { kind: '500', route: PAYMENT_INTENTS, rate: 0.003 },
    { kind: 'drop', route: PAYMENT_INTENTS, rate: 0.005 },
  ];
  standIn.configure({ seed, faults });
  const due = w.planIds.length * DUE.length - 2; // the two CLI plans paid installment 1 at apply
  const requests = () => standIn.stats().byRoute[PAYMENT_INTENTS] ?? 0;
  const before = requests();
  const moments = Array.from({ length: 10 }, () => Math.floor(random() * due)).sort((a, b) => a - b);
  const log: string[] = [`${due} installments due on ${DATE}; kill after PaymentIntent requests no. ${moments.join(', ')}`];
  let killed = 0;
  try {
    for (const [round, moment] of moments.entries()) {
      const { child, done } = spawnRun(w.ws, []);
      const watch = setInterval(() => {
        if (requests() - before >= moment) child.kill('SIGKILL');
      }, 2);
      const result = await done;
      clearInterval(watch);
      const charges = readCharges(w.ws);
      const state = `charges: ${charges.filter((c) => c.status === 'pending').length} pending, ${charges.filter((c) => c.status !== 'pending').length} settled; requests ${requests() - before}; PaymentIntents ${readLedger(w).length}`;
      log.push(`  round ${round + 1}: kill at request ${moment} → ${result.signal ?? `exit ${result.code}`}; ${state}`);
      if (result.signal === 'SIGKILL') {
        killed++;
        continue;
      }
      expect([0, 3], result.stderr).toContain(result.code); // it finished first: a normal end
      break;
    }
    log.push(`  rerun: ${await rerunUntilNormalEnd(w.ws, DATE)}`);
  } finally {
    const stats = standIn.stats();
    console.log(`never-twice (c, stripe): seed ${seed}, ${killed} kills; stand-in: ${stats.requests} requests, ${stats.replays} replays, faults ${JSON.stringify(stats.faultsInjected)}, at most ${stats.maxInFlight} in flight\n${log.join('\n')}`);
  }
  expect(killed).toBeGreaterThan(0);
  // Lost answers were asked again under their keys: the stand-in replayed what it had done.
  expect(standIn.stats().replays).toBeGreaterThan(0);
  standIn.configure({ faults: [] });
  await expectExactlyOnce(w);
  expectPastDueAreTheDeclining(w);
  expect((await bill(w.ws)).report).toMatchObject({ charged: 0, failed: 0, charges: [] });
}

/** Runs the batch again until one ends normally (a killed run's lock is cleared by the next). */
async function rerunUntilNormalEnd(ws: string, date: string): Promise<string> {
  let final: Finished | undefined;
  for (let attempt = 0; attempt < 3 && !(final && (final.code === 0 || final.code === 3)); attempt++) final = await spawnRun(ws, [], date).done;
  expect([0, 3], final!.stderr).toContain(final!.code);
  return `exit ${final!.code}; ${final!.stdout.trim()}`;
}

/** Hard declines: each of those plans is past due, its charges failed once, never retried. */
function expectPastDueAreTheDeclining(w: Workspace): void {
  const past = txplan(['plan', 'list', '--status', 'past_due', '--json'], { cwd: w.ws });
  expect((JSON.parse(past.stdout) as Array<{ id: number }>).map((p) => p.id)).toEqual([...w.declining].sort((a, b) => a - b));
}

for (const gateway of GATEWAYS) {
  describe(`never twice, never lost (issue 4, point 4), charging ${gateway === 'stripe' ? 'Stripe (the stand-in)' : 'the sandbox'}`, () => {
    it('(a) running the batch twice for the same date charges nothing the second time', async () => {
      const w = await setup(400, { declineEvery: 25, standIn: await processorFor(gateway) });
      const first = await bill(w.ws);
      const due = w.planIds.length * DUE.length - 2; // the two CLI plans paid installment 1 at apply
      expect(first.code).toBe(3); // the declining cards
      expect(first.report.charged + first.report.failed).toBe(due);
      expect(first.report.failed).toBe(w.declining.size * DUE.length);
      expect(first.report.amount_minor).toBe(first.report.charged * FEE);

      const second = await bill(w.ws);
      expect(second.code).toBe(0);
      expect(second.report).toMatchObject({ charged: 0, failed: 0, amount_minor: 0, charges: [] });
      await expectExactlyOnce(w);
    });

    it('(b) two runs started at once: one does the work, the other exits 4 (or waits, then finds nothing to do)', async () => {
      const w = await setup(1500, { standIn: await processorFor(gateway) });
      const due = w.planIds.length * DUE.length - 2;
      const [a, b] = await Promise.all([spawnRun(w.ws, ['--json']).done, spawnRun(w.ws, ['--json']).done]);
      const codes = [a.code, b.code].sort();
      const busy = [a, b].find((r) => r.code === 4);
      const worker = [a, b].find((r) => r.code === 0);
      expect(codes, `stderr: ${a.stderr} | ${b.stderr}`).toEqual([0, 4]);
      expect(JSON.parse(withoutClockWarning(busy!.stderr))).toMatchObject({ error: { code: 'busy' } });
      expect(busy!.stdout).toBe('');
      expect((JSON.parse(worker!.stdout) as Report).charged).toBe(due);
      await expectExactlyOnce(w);

      // With --wait, on a fresh month: both finish; together they charge each installment of April once.
      const april = async () => {
        const result = await spawnRun(w.ws, ['--json', '--wait', '60'], '2031-04-01').done;
        return { code: result.code, report: JSON.parse(result.stdout || '{}') as Report, stderr: result.stderr };
      };
      const both = await Promise.all([april(), april()]);
      expect(both.map((r) => r.code), both.map((r) => r.stderr).join(' | ')).toEqual([0, 0]);
      expect(both.map((r) => r.report.charged).sort((x, y) => x - y)).toEqual([0, w.planIds.length]);
      const ledger = readLedger(w);
      const april4 = ledger.filter((r) => r.idempotency_key.endsWith('-installment-4'));
      expect(april4).toHaveLength(w.planIds.length);
      expect(new Set(april4.map((r) => r.idempotency_key)).size).toBe(w.planIds.length);
      expect(ledger).toHaveLength(w.planIds.length * 4);
    });

    it('(c) SIGKILLed at random moments over thousands of due installments, then rerun: each charged exactly once, none lost', async () => {
      if (gateway === 'sandbox') await killSandboxRuns();
      else await killStripeRuns();
    }, 240_000);

    // The sandbox answers in the same process that asks, so no answer can be lost on the way back: its
    // analogue of (d), a run stopped after the processor acted and before txplan wrote it down, is (c).
    if (gateway === 'stripe') {
      it('(d) an answer lost after Stripe made the PaymentIntent: asked again under the same key within the run, or by the next run; one PaymentIntent per key', async () => {
        const standIn = (await processorFor('stripe'))!;
        // One request at a time, so the lost answers below all belong to the first charge.
        const w = await setup(20, { standIn, stripe: { concurrency: 1 } });
        const due = w.planIds.length * DUE.length - 2;
        const k = keyPrefix(w.ws);
        const piRequests = () => standIn.stats().byRoute[PAYMENT_INTENTS] ?? 0;

        // Within the run: the first charge's answer is lost five times over. The SDK resends a closed
        // connection once by itself; the gateway asks twice more under the same key, and the third
        // time the resend gets the stand-in's stored answer back.
        standIn.configure({ faults: [{ kind: 'drop', route: PAYMENT_INTENTS, times: 5 }] });
        standIn.resetStats();
        const march = await bill(w.ws);
        expect(march.code).toBe(0);
        expect(march.report.charged).toBe(due);
        expect(standIn.stats().faultsInjected.drop).toBe(5);
        expect(piRequests()).toBe(due + 5);
        expect(standIn.stats().replays).toBeGreaterThanOrEqual(1);
        await expectExactlyOnce(w);

        // Every answer lost, every time: the gateway gives up, each charge stays pending (never failed,
        // never asked under a new key) though Stripe made its PaymentIntent.
        useStripe(w.ws, standIn.url, { concurrency: 32 });
        standIn.configure({ faults: [{ kind: 'drop', route: PAYMENT_INTENTS }] });
        standIn.resetStats();
        const april = await bill(w.ws, '2031-04-01');
        expect(april.report.charged).toBe(0);
        const aprilKeys = w.planIds.map((id) => `${k}plan-${id}-installment-4`).sort();
        const pending = readCharges(w.ws).filter((c) => c.status === 'pending');
        expect(pending.map((c) => c.idempotency_key).sort()).toEqual(aprilKeys);
        expect(pending.every((c) => c.attempts === 1)).toBe(true);
        const asked = piRequests();
        expect(asked).toBeGreaterThan(aprilKeys.length); // each was asked more than once
        expect(readLedger(w).filter((r) => r.idempotency_key.endsWith('-installment-4'))).toHaveLength(aprilKeys.length);
        // Stripe holds April's money, txplan does not know yet: reconcile says so.
        const unsure = await run(w.ws, ['billing', 'reconcile']).done;
        expect(unsure.code, unsure.stdout + unsure.stderr).toBe(1);

        // The next run, answers arriving again: each pending charge is settled from the replay, nothing new is made.
        standIn.configure({ faults: [] });
        standIn.resetStats();
        const again = await bill(w.ws, '2031-04-01');
        expect(again.code).toBe(0);
        expect(again.report.charged).toBe(aprilKeys.length);
        expect(piRequests()).toBe(aprilKeys.length);
        expect(standIn.stats().replays).toBe(aprilKeys.length);
        await expectExactlyOnce(w, [1, 2, 3, 4]);
      });
    }
  });
}
