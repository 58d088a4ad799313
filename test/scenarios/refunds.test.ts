import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { stripVTControlCharacters } from 'node:util';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { binary, databaseEnv, engine, ledgerRows, query, setUp, STRIPE_TEST_KEY, testDatabase, txplan, type RunResult } from '../helpers.js';
import { startStandInProcess, type StandInProcess } from '../stripe/standin-process.js';
import { databaseIdOf, GATEWAYS, useStripe } from '../stripe/workspace.js';

/**
 * Issue 9, item 6: refunds through the built binary, on the rehearsal clock.
 * One workspace is shared: plan 1 (12 × $169.00) has installments 1–3 paid;
 * patient P-2's first installment was declined, which leaves a failed charge.
 * The tests run in order: first what must be refused (nothing written), then
 * a partial and a full refund, then everything that accounts for them.
 * All of it twice: against the sandbox, and against Stripe through the real
 * SDK (the stand-in of test/stripe/, in its own process: txplan runs
 * synchronously here).
 */

let standIn: StandInProcess;
beforeAll(async () => {
  standIn = await startStandInProcess({ seed: 9 });
});
afterAll(async () => {
  await standIn?.close();
});

const GLOW = 'glow-membership'; // monthly, 12 × $169.00
const NOW = '2031-03-01T09:00:00Z';

interface RefundRow {
  id: number;
  charge_id: number;
  seq: number;
  idempotency_key: string;
  amount_minor: number;
  status: string;
  reason: string;
  actor: string;
}

describe.each(GATEWAYS)('%s', (gateway) => {
  let ws: string;
  let at: (...args: string[]) => RunResult;
  let paidCharge: { id: number; idempotency_key: string };
  let failedCharge: number;
  let forecastBefore: { months: Array<{ month: string; total_minor: number }>; total_minor: number };

  const refunds = () => query<RefundRow>(ws, 'SELECT id, charge_id, seq, idempotency_key, amount_minor, status, reason, actor FROM refunds ORDER BY id');
  /** The processor's own refunds of this workspace: the sandbox's ledger, or the refunds at Stripe carrying this database's id. */
  const processorRefunds = () => {
    if (gateway === 'stripe') {
      const id = databaseIdOf(ws);
      return standIn
        .refunds()
        .filter((r) => r.metadata.txplan_database === id)
        .map((r) => ({ idempotency_key: r.metadata.txplan_key!, amount_minor: r.amount, status: r.status, charge_id: r.payment_intent }))
        .sort((a, b) => (a.idempotency_key < b.idempotency_key ? -1 : 1));
    }
    // The SQLite ledger file gets its refunds table with its first refund; PostgreSQL's migrations make sandbox_refunds.
    const hasRefunds = engine === 'postgres' || ledgerRows<{ n: number }>(ws, "SELECT count(*) AS n FROM sqlite_master WHERE name = 'refunds'")[0]?.n;
    return hasRefunds ? ledgerRows<{ idempotency_key: string; amount_minor: number; status: string; charge_id: string }>(ws, 'SELECT idempotency_key, amount_minor, status, charge_id FROM refunds ORDER BY idempotency_key') : [];
  };
  const refundAudit = () => query<{ action: string; actor: string; after: string }>(ws, "SELECT action, actor, after FROM audit WHERE entity = 'refund' ORDER BY id");
  const oneSentence = (result: RunResult) => result.stderr.split('\n').filter((line) => line && !line.includes('TXPLAN_NOW is set'));

  let folder: string;

  /** `billing refund` on a real pseudo-terminal (util-linux `script`): waits for the question, answers it, returns the exit code and screen. */
  async function onTerminal(args: string[], answer: string): Promise<{ code: number; question: string; screen: string }> {
    const command = [process.execPath, binary, 'billing', 'refund', ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    const child = spawn('script', ['-qec', command, '/dev/null'], { cwd: ws, env: { ...process.env, TERM: 'xterm', TXPLAN_ACTOR: 'test', STRIPE_SECRET_KEY: STRIPE_TEST_KEY, TXPLAN_NOW: NOW, ...databaseEnv(ws, args) } });
    let screen = '';
    child.stdout.on('data', (chunk: Buffer) => (screen += chunk.toString()));
    const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
    const deadline = Date.now() + 20_000;
    while (!/\?\s*\(y\/N\)/.test(stripVTControlCharacters(screen))) {
      if (Date.now() > deadline) throw new Error(`no question on screen:\n${stripVTControlCharacters(screen)}`);
      await new Promise((r) => setTimeout(r, 25));
    }
    // The question may wrap at the terminal's width: read as one line.
    const question = stripVTControlCharacters(screen).replace(/\s+/g, ' ');
    child.stdin.write(answer);
    const code = await exited;
    return { code, question, screen: stripVTControlCharacters(screen) };
  }

  beforeAll(() => {
    // Made here rather than with clinicWorkspace(), whose clean-up belongs to a single test.
    folder = mkdtempSync(join(tmpdir(), 'txplan-refunds-'));
    ws = join(folder, 'clinic');
    if (txplan(['init', ws]).code !== 0) throw new Error('txplan init failed');
    if (gateway === 'stripe') useStripe(ws, standIn.url);
    setUp(ws, [
      ['clinic', 'add', 'main', '--name', 'Main Street', '--timezone', 'UTC'],
      ['patient', 'add', '--first', 'Ada', '--last', 'Lovelace', '--mrn', 'P-1'],
      ['patient', 'add', '--first', 'Grace', '--last', 'Hopper', '--mrn', 'P-2'],
    ]);
    const on = (now: string) => (...args: string[]) => txplan(args, { cwd: ws, env: { TXPLAN_NOW: now } });
    at = on(NOW);
    const start = on('2031-01-15T09:00:00Z')('plan', 'apply', 'P-1', GLOW, '--mode', 'start', '--clinic', 'main', '--start', '2031-01-15', '--payment-method', 'pm_card_visa', '--yes');
    if (start.code !== 0) throw new Error(start.stderr);
    // Plan 2 pays its first installment, then its card starts declining: the run leaves it a failed charge.
    on('2031-01-15T09:00:00Z')('plan', 'apply', 'P-2', GLOW, '--mode', 'start', '--clinic', 'main', '--start', '2031-01-15', '--payment-method', 'pm_card_visa', '--yes');
    // (Stripe declines pm_card_chargeDeclined already when it is saved; pm_card_chargeCustomerFail saves, then declines.)
    const declining = on('2031-01-16T09:00:00Z')('plan', 'payment', '2', '--payment-method', gateway === 'sandbox' ? 'pm_card_chargeDeclined' : 'pm_card_chargeCustomerFail', '--yes');
    if (declining.code !== 0) throw new Error(declining.stderr);
    const run = at('billing', 'run');
    if (run.code !== 3) throw new Error(run.stderr); // plan 2's installments declined
    const charges = query<{ id: number; idempotency_key: string; status: string; plan_id: number; installment: number }>(ws, 'SELECT id, idempotency_key, status, plan_id, installment FROM charges ORDER BY id');
    paidCharge = charges.find((c) => c.status === 'succeeded' && c.installment === 3)!;
    failedCharge = charges.find((c) => c.status === 'failed')!.id;
    forecastBefore = JSON.parse(at('billing', 'forecast', '--months', '3', '--json').stdout);
  });

  afterAll(() => rmSync(folder, { recursive: true, force: true }));

  describe('billing refund (issue 9, item 6)', () => {
    it('off a terminal without --yes, refuses in one sentence naming --yes and writes nothing', () => {
      const result = at('billing', 'refund', String(paidCharge.id), '--reason', 'changed her mind');
      expect(result.code).toBe(2);
      expect(oneSentence(result)).toHaveLength(1);
      expect(result.stderr).toContain('--yes');
      expect(refunds()).toEqual([]);
      expect(processorRefunds()).toEqual([]);
    });

    it('refuses an over-refund, a refund of an unpaid charge, a missing reason, a bad amount and an unknown charge: one sentence each, nothing written', () => {
      const over = at('billing', 'refund', String(paidCharge.id), '--amount', '169.01', '--reason', 'too much', '--yes');
      expect(over.code).toBe(1);
      expect(oneSentence(over)).toEqual([`txplan: Charge ${paidCharge.id} has $169.00 left to refund of $169.00, less than the $169.01 asked; nothing was refunded. Refund at most $169.00`]);
      const unpaid = at('billing', 'refund', String(failedCharge), '--reason', 'declined anyway', '--yes');
      expect(unpaid.code).toBe(1);
      expect(oneSentence(unpaid)).toHaveLength(1);
      expect(unpaid.stderr).toContain(`Charge ${failedCharge} is failed, not paid`);
      const noReason = at('billing', 'refund', String(paidCharge.id), '--yes');
      expect(noReason.code).toBe(2);
      expect(oneSentence(noReason)).toHaveLength(1);
      expect(noReason.stderr).toContain('--reason');
      const badAmount = at('billing', 'refund', String(paidCharge.id), '--amount', '12.345', '--reason', 'x', '--yes');
      expect(badAmount.code).toBe(2);
      expect(oneSentence(badAmount)).toHaveLength(1);
      const card = at('billing', 'refund', String(paidCharge.id), '--reason', 'refund to 4242 4242 4242 4242', '--yes');
      expect(card.code).toBe(1);
      expect(oneSentence(card)).toHaveLength(1);
      expect(card.stderr).not.toContain('4242 4242');
      const unknown = at('billing', 'refund', '999', '--reason', 'x', '--yes');
      expect(unknown.code).toBe(1);
      expect(oneSentence(unknown)).toEqual(['txplan: No charge 999; "txplan billing charges" lists charges with their ids']);
      expect(refunds()).toEqual([]);
      expect(processorRefunds()).toEqual([]);
      expect(refundAudit()).toEqual([]);
    });

    it('refunds part of a charge, then the rest, each under its own key, once at the processor, audited with actor and reason', () => {
      const part = at('billing', 'refund', String(paidCharge.id), '--amount', '50', '--reason', 'missed session', '--yes');
      expect(part.code, part.stderr).toBe(0);
      expect(part.stdout).toContain(`Refunded $50.00 of charge ${paidCharge.id}`);
      expect(part.stdout).toContain('$119.00 remains refundable');
      const rest = at('billing', 'refund', String(paidCharge.id), '--reason', 'moved away', '--yes', '--json');
      expect(rest.code, rest.stderr).toBe(0);
      expect(JSON.parse(rest.stdout)).toMatchObject({ charge_id: paidCharge.id, seq: 2, amount_minor: 11900, status: 'succeeded', remaining_minor: 0, resumed: false });
      const again = at('billing', 'refund', String(paidCharge.id), '--amount', '0.01', '--reason', 'one more', '--yes');
      expect(again.code).toBe(1);
      expect(again.stderr).toContain('already been refunded in full');

      const key = (seq: number) => `${paidCharge.idempotency_key}-refund-${seq}`;
      expect(refunds()).toEqual([
        { id: 1, charge_id: paidCharge.id, seq: 1, idempotency_key: key(1), amount_minor: 5000, status: 'succeeded', reason: 'missed session', actor: 'test' },
        { id: 2, charge_id: paidCharge.id, seq: 2, idempotency_key: key(2), amount_minor: 11900, status: 'succeeded', reason: 'moved away', actor: 'test' },
      ]);
      const chargeAtProcessor =
        gateway === 'sandbox'
          ? ledgerRows<{ id: string }>(ws, `SELECT id FROM charges WHERE idempotency_key = '${paidCharge.idempotency_key}'`)[0]!.id
          : standIn.paymentIntents().find((pi) => pi.metadata.txplan_key === paidCharge.idempotency_key && pi.status === 'succeeded')!.id;
      if (gateway === 'stripe') expect(chargeAtProcessor).toMatch(/^pi_/);
      expect(processorRefunds()).toEqual([
        { idempotency_key: key(1), amount_minor: 5000, status: 'succeeded', charge_id: chargeAtProcessor },
        { idempotency_key: key(2), amount_minor: 11900, status: 'succeeded', charge_id: chargeAtProcessor },
      ]);
      if (gateway === 'stripe') {
        // The clinic's reasons may say something about health: Stripe is told only that the refund was asked for, and ids.
        const atStripe = standIn.refunds().filter((r) => r.metadata.txplan_database === databaseIdOf(ws));
        expect(atStripe.map((r) => [r.reason, r.metadata])).toEqual(
          [1, 2].map((seq) => ['requested_by_customer', { txplan_key: key(seq), txplan_database: databaseIdOf(ws), txplan_plan: '1' }]),
        );
        expect(JSON.stringify(atStripe)).not.toMatch(/missed session|moved away/);
      }
      const audit = refundAudit();
      expect(audit.map((a) => a.action)).toEqual(['refund.created', 'refund.succeeded', 'refund.created', 'refund.succeeded']);
      expect(audit.every((a) => a.actor === 'test' && !a.after.includes('pm_card'))).toBe(true);
      expect(JSON.parse(audit[1]!.after)).toMatchObject({ charge_id: paidCharge.id, key: key(1), amount_minor: 5000, reason: 'missed session', status: 'succeeded' });
    });

    it('billing charges, plan show and the forecast account for the refunds; reconcile agrees', () => {
      const charges = JSON.parse(at('billing', 'charges', '--json').stdout) as Array<{ id: number; refunded_minor: number; refund_pending_minor: number }>;
      expect(charges.find((c) => c.id === paidCharge.id)).toMatchObject({ refunded_minor: 16900, refund_pending_minor: 0 });
      expect(charges.filter((c) => c.id !== paidCharge.id).every((c) => c.refunded_minor === 0)).toBe(true);
      const table = at('billing', 'charges', '--plan', '1');
      // Piped, the table is plain tab-separated lines: the refunded amount is the column after the attempts.
      const row = table.stdout.split('\n').map((line) => line.split('\t')).find((cells) => cells[0] === String(paidCharge.id))!;
      expect(row.slice(4, 8)).toEqual(['$169.00', 'succeeded', '1', '$169.00']);
      const listed = JSON.parse(at('billing', 'charges', '--refunds', '--json').stdout) as Array<{ charge_id: number; amount_minor: number; plan_id: number }>;
      expect(listed.map((r) => [r.charge_id, r.plan_id, r.amount_minor])).toEqual([[paidCharge.id, 1, 5000], [paidCharge.id, 1, 11900]]);

      const show = JSON.parse(at('plan', 'show', '1', '--json').stdout) as { payments: { paid_minor: number; refunded_minor: number; net_minor: number } };
      expect(show.payments).toMatchObject({ paid_minor: 3 * 16900, refunded_minor: 16900, net_minor: 2 * 16900 });
      expect(at('plan', 'show', '1').stdout).toContain('Paid      $507.00; refunded $169.00; net $338.00');

      const forecast = JSON.parse(at('billing', 'forecast', '--months', '3', '--json').stdout) as { months: Array<{ month: string; refunds_minor: number; total_minor: number }>; total_minor: number };
      expect(forecast.months[0]).toMatchObject({ month: '2031-03', refunds_minor: 16900, total_minor: forecastBefore.months[0]!.total_minor - 16900 });
      expect(forecast.months.slice(1).map((m) => m.total_minor)).toEqual(forecastBefore.months.slice(1).map((m) => m.total_minor));
      expect(forecast.total_minor).toBe(forecastBefore.total_minor - 16900);

      const reconcile = at('billing', 'reconcile');
      expect(reconcile.code, reconcile.stdout).toBe(0);
    });

    it('reconcile reports a refund only the processor holds, and one the processor does not hold, and exits 1', async () => {
      let missing = `${paidCharge.idempotency_key}-refund-1`;
      if (gateway === 'sandbox') {
        // The processor's ledger: its own file beside a SQLite database, its own tables in a PostgreSQL one.
        const ledger = engine === 'sqlite' ? new Database(join(ws, '.txplan', 'sandbox-gateway.db')) : testDatabase(ws);
        const refundsTable = engine === 'sqlite' ? 'refunds' : 'sandbox_refunds';
        try {
          ledger.prepare(`INSERT INTO ${refundsTable} (id, idempotency_key, charge_id, amount_minor, currency, reason, status, created_at) VALUES ('re_extra', 'txp_other_plan-9-installment-1-refund-1', 'ch_x', 700, 'USD', 'x', 'succeeded', '2031-03-01T00:00:00Z')`).run();
          ledger.prepare(`DELETE FROM ${refundsTable} WHERE idempotency_key = ?`).run(`${paidCharge.idempotency_key}-refund-1`);
        } finally {
          ledger.close();
        }
      } else {
        // Stripe's records cannot be edited by hand. Stripe gets a refund of plan 1's installment 2 that txplan never
        // asked for (made straight with the SDK, with this database's metadata), and txplan records one of the same
        // installment that Stripe never made.
        const second = query<{ id: number; idempotency_key: string; gateway_charge_id: string; created_at: string }>(ws, 'SELECT id, idempotency_key, gateway_charge_id, created_at FROM charges WHERE installment = 2 AND plan_id = 1')[0]!;
        const stripe = new Stripe(STRIPE_TEST_KEY, { host: '127.0.0.1', port: standIn.port, protocol: 'http', maxNetworkRetries: 0, telemetry: false });
        await stripe.refunds.create({ payment_intent: second.gateway_charge_id, amount: 700, metadata: { txplan_key: 'txp_other_plan-9-installment-1-refund-1', txplan_database: databaseIdOf(ws), txplan_plan: '9' } });
        missing = `${second.idempotency_key}-refund-1`;
        const db = testDatabase(ws);
        try {
          db.prepare("INSERT INTO refunds (charge_id, seq, idempotency_key, amount_minor, currency, reason, actor, status, gateway, gateway_refund_id, created_at, updated_at) VALUES (?, 1, ?, 300, 'USD', 'x', 'test', 'succeeded', 'stripe', 're_never_made', ?, ?)").run(second.id, missing, second.created_at, second.created_at);
        } finally {
          db.close();
        }
      }
      const result = at('billing', 'reconcile', '--json');
      expect(result.code).toBe(1);
      const differences = (JSON.parse(result.stdout) as { differences: Array<{ idempotency_key: string; problem: string }> }).differences;
      expect(differences.map((d) => [d.idempotency_key, d.problem])).toEqual(
        expect.arrayContaining([
          [missing, 'missing_at_processor'],
          ['txp_other_plan-9-installment-1-refund-1', 'unknown_to_txplan'],
        ]),
      );
      expect(differences).toHaveLength(2);
    });

    it('on a terminal, says what it will refund, of which charge, to which card, and asks; no refunds nothing, yes refunds', async () => {
      const first = query<{ id: number }>(ws, 'SELECT id FROM charges WHERE installment = 1 AND plan_id = 1')[0]!.id;
      const before = refunds().length;
      const no = await onTerminal([String(first), '--reason', 'asked on a terminal'], 'n\r');
      expect(no.question).toContain(`Refund $169.00 (in full) of charge ${first} (plan 1, installment 1, $169.00 due 2031-01-15) to visa •••• 4242?`);
      expect(no.code).toBe(130);
      expect(refunds()).toHaveLength(before);
      const yes = await onTerminal([String(first), '--amount', '10', '--reason', 'asked on a terminal'], 'y\r');
      expect(yes.question).toContain(`Refund $10.00 (of $169.00 refundable) of charge ${first}`);
      expect(yes.code, yes.screen).toBe(0);
      expect(refunds().slice(before).map((r) => [r.charge_id, r.amount_minor, r.status])).toEqual([[first, 1000, 'succeeded']]);
    });
  });
});
