import { spawn } from 'node:child_process';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { SandboxGateway } from '../../src/billing/gateways/sandbox.js';
import { binary, clinicWorkspace, databaseEnv, engine, ledgerRows, query, seededRandom, testDatabase, txplan, type RunResult, type TestDatabase } from '../helpers.js';
import { dumpDatabase, postgresStore, restoreDatabase } from '../postgres.js';
import { PostgresSandboxLedger } from '../../src/store/postgres/sandbox-ledger.js';
import type { RefundRow } from '../../src/domain/records.js';

/**
 * Issue 9: a refund is never made twice, the way charges are proven (see
 * never-twice.test.ts). A refund killed after it was written pending is
 * settled under its own key by rerunning the same command or by the next
 * billing run; a batch of refund commands SIGKILLed at random moments leaves
 * txplan and the processor's own ledger in agreement, each refund once, and
 * no charge refunded beyond its amount.
 */

const GLOW = 'glow-membership'; // monthly, 12 × $169.00
const FEE = 16900;
const NOW = '2031-03-01T09:00:00Z';

function environment(): Record<string, string> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TXPLAN_') && k !== 'NO_COLOR' && k !== 'FORCE_COLOR')) as Record<string, string>;
  return { ...env, TXPLAN_ACTOR: 'test', TXPLAN_NOW: NOW };
}

function spawnTxplan(ws: string, args: string[]) {
  const child = spawn(process.execPath, [binary, ...args], { cwd: ws, env: { ...environment(), ...databaseEnv(ws, args) }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stdout.resume();
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stderr }));
  });
  return { child, done };
}

/** Patients P-1 … P-n each on a 12-month plan from Jan 15, billed to Mar 1: three paid installments each. */
function billedWorkspace(patients: number): { ws: string; at: (...args: string[]) => RunResult } {
  const ws = clinicWorkspace(patients);
  const at = (...args: string[]) => txplan(args, { cwd: ws, env: { TXPLAN_NOW: NOW } });
  for (let i = 1; i <= patients; i++) {
    const start = txplan(['plan', 'apply', `P-${i}`, GLOW, '--mode', 'start', '--clinic', 'main', '--start', '2031-01-15', '--payment-method', 'pm_card_visa', '--yes'], { cwd: ws, env: { TXPLAN_NOW: '2031-01-15T09:00:00Z' } });
    if (start.code !== 0) throw new Error(start.stderr);
  }
  const run = at('billing', 'run');
  if (run.code !== 0) throw new Error(run.stderr);
  return { ws, at };
}

type Refund = Pick<RefundRow, 'id' | 'charge_id' | 'seq' | 'idempotency_key' | 'amount_minor' | 'currency' | 'reason' | 'status'>;

const refunds = (ws: string) => query<Refund>(ws, 'SELECT id, charge_id, seq, idempotency_key, amount_minor, currency, reason, status FROM refunds ORDER BY id');
const processorRefunds = (ws: string) => ledgerRows<{ idempotency_key: string; charge_id: string; amount_minor: number; status: string }>(ws, 'SELECT idempotency_key, charge_id, amount_minor, status FROM refunds ORDER BY idempotency_key');

/**
 * A slow processor: holds its ledger so no refund can be written to it until
 * `release()`. The SQLite ledger file is locked (BEGIN IMMEDIATE); on
 * PostgreSQL the ledger's refunds table is locked in a transaction of a
 * session of its own (readers still read it). With `nowait`, gives up (false)
 * rather than wait for a refund that is writing it now.
 */
function lockLedger(ledger: TestDatabase, nowait = false): boolean {
  if (engine === 'sqlite') {
    ledger.prepare('BEGIN IMMEDIATE').run();
    return true;
  }
  ledger.exec('BEGIN');
  try {
    ledger.exec(`LOCK TABLE sandbox_refunds IN EXCLUSIVE MODE${nowait ? ' NOWAIT' : ''}`);
    return true;
  } catch (error) {
    ledger.exec('ROLLBACK');
    if (nowait) return false;
    throw error;
  }
}

function unlockLedger(ledger: TestDatabase): void {
  if (engine === 'sqlite') ledger.prepare('ROLLBACK').run();
  else ledger.exec('ROLLBACK');
}

/** A handle on the processor's ledger: the SQLite file beside the database, or (PostgreSQL) the database itself. */
function ledgerHandle(ws: string): TestDatabase {
  return engine === 'sqlite' ? new Database(join(ws, '.txplan', 'sandbox-gateway.db')) : testDatabase(ws);
}

/** The sandbox processor itself, on the workspace's ledger; `close()` closes what it opened. */
function sandboxProcessor(ws: string): { processor: SandboxGateway; close: () => void } {
  if (engine === 'sqlite') {
    const processor = new SandboxGateway(join(ws, '.txplan', 'sandbox-gateway.db'));
    return { processor, close: () => processor.close() };
  }
  const store = postgresStore(ws);
  const processor = new SandboxGateway(new PostgresSandboxLedger(store));
  return { processor, close: () => (processor.close(), store.close()) };
}

/**
 * Starts `billing refund` while the processor's ledger is locked (the
 * processor is slow to answer), waits until the refund is durable and
 * pending in txplan, and kills the process with SIGKILL: the crash between
 * asking the processor and recording its answer.
 */
async function killedWhilePending(ws: string, args: string[]): Promise<Refund> {
  const ledger = ledgerHandle(ws);
  lockLedger(ledger);
  try {
    const before = refunds(ws).length;
    const { child, done } = spawnTxplan(ws, ['billing', 'refund', ...args]);
    const deadline = Date.now() + 20_000;
    while (refunds(ws).length === before && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    child.kill('SIGKILL');
    expect((await done).signal).toBe('SIGKILL');
  } finally {
    unlockLedger(ledger);
    ledger.close();
  }
  const left = refunds(ws).at(-1)!;
  expect(left.status).toBe('pending');
  return left;
}

describe('a refund is never made twice (issue 9)', () => {
  it('a refund killed after it was written pending is settled under its own key by rerunning the command, or by the next billing run', async () => {
    const { ws, at } = billedWorkspace(1);
    const charge = query<{ id: number; idempotency_key: string; gateway_charge_id: string }>(ws, 'SELECT id, idempotency_key, gateway_charge_id FROM charges WHERE installment = 2')[0]!;
    const args = [String(charge.id), '--amount', '40', '--reason', 'missed session', '--yes'];

    // Killed after the processor made the refund, before txplan recorded it.
    const first = await killedWhilePending(ws, args);
    expect(first).toMatchObject({ seq: 1, amount_minor: 4000, idempotency_key: `${charge.idempotency_key}-refund-1` });
    const { processor, close } = sandboxProcessor(ws);
    try {
      expect(await processor.refund({ idempotencyKey: first.idempotency_key, chargeId: charge.gateway_charge_id, amountMinor: 4000, currency: 'USD', reason: 'missed session', planId: 1, attemptStartedAt: new Date().toISOString() })).toMatchObject({ status: 'succeeded' });
    } finally {
      close();
    }
    const rerun = at('billing', 'refund', ...args);
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(rerun.stdout).toContain('now settled under its own key');
    expect(refunds(ws).map((r) => [r.seq, r.amount_minor, r.status])).toEqual([[1, 4000, 'succeeded']]);
    expect(processorRefunds(ws).map((r) => [r.idempotency_key, r.amount_minor, r.status])).toEqual([[first.idempotency_key, 4000, 'succeeded']]);

    // Killed before the processor heard of it: the next billing run sends it, once.
    const second = await killedWhilePending(ws, [String(charge.id), '--amount', '25', '--reason', 'goodwill', '--yes']);
    expect(second).toMatchObject({ seq: 2, amount_minor: 2500 });
    expect(processorRefunds(ws)).toHaveLength(1);
    const run = JSON.parse(at('billing', 'run', '--json').stdout) as { refunds_settled: number };
    expect(run.refunds_settled).toBe(1);
    const over = at('billing', 'refund', String(charge.id), '--amount', '104.01', '--reason', 'too much', '--yes');
    expect(over.code).toBe(1);
    expect(over.stderr).toContain('$104.00 left to refund');
    expect(refunds(ws).map((r) => [r.seq, r.amount_minor, r.status])).toEqual([[1, 4000, 'succeeded'], [2, 2500, 'succeeded']]);
    expect(processorRefunds(ws).map((r) => [r.idempotency_key, r.amount_minor])).toEqual([[first.idempotency_key, 4000], [second.idempotency_key, 2500]]);
    expect(at('billing', 'reconcile').code).toBe(0);
  });

  it('SIGKILLed at random moments during a batch of refunds, then settled: txplan and the processor agree, each refund once, no charge refunded beyond its amount', async () => {
    const seed = Number(process.env.NEVER_TWICE_SEED ?? Math.floor(Math.random() * 2 ** 31));
    console.log(`refunds never-twice: seed ${seed} (replay with NEVER_TWICE_SEED=${seed})`);
    const random = seededRandom(seed);
    const { ws, at } = billedWorkspace(3);
    const charges = query<{ id: number; idempotency_key: string; gateway_charge_id: string }>(ws, "SELECT id, idempotency_key, gateway_charge_id FROM charges WHERE status = 'succeeded' ORDER BY id");
    expect(charges).toHaveLength(9);

    // Three refunds of $60.00 asked of each $169.00 charge, six processes at a time: at most two fit.
    const commands = [1, 2, 3].flatMap((n) => charges.map((c) => [String(c.id), '--amount', '60', '--reason', `batch ${n}`, '--yes']));
    let killed = 0;
    let killedPending = 0;
    const outcomes: string[] = [];
    // One kill certainly lands while its refund is pending (the processor's ledger held locked until it does);
    // the random ones below may or may not, depending on the machine's load.
    await killedWhilePending(ws, commands.shift()!);
    killed++;
    killedPending++;
    outcomes.push('SIGKILL');
    // A slow processor: its ledger is locked for stretches, so refunds wait at the processor, durable and pending, when the kills come.
    const ledger = ledgerHandle(ws);
    let slow = true;
    const stall = async () => {
      while (slow) {
        // On PostgreSQL this process waits synchronously for a lock: it never waits for one a refund holds.
        const locked = lockLedger(ledger, true);
        await new Promise((resolve) => setTimeout(resolve, 100 + random() * 400));
        if (locked) unlockLedger(ledger);
        await new Promise((resolve) => setTimeout(resolve, 50 + random() * 150));
      }
    };
    const stalling = stall();
    for (let i = 0; i < commands.length; i += 6) {
      await Promise.all(
        commands.slice(i, i + 6).map(async (args) => {
          const { child, done } = spawnTxplan(ws, ['billing', 'refund', ...args]);
          // Most kills come a random moment after the refund is durable and pending (waiting at the slow processor,
          // or just answered); others at a random moment from the start, wherever the process then is.
          const mode = random();
          const after = Math.round(random() * 300);
          let timer: NodeJS.Timeout | undefined;
          let finished = false;
          if (mode < 0.45) {
            void (async () => {
              const deadline = Date.now() + 15_000;
              while (!finished && Date.now() < deadline && !refunds(ws).some((r) => r.charge_id === Number(args[0]) && r.reason === args[4])) await new Promise((resolve) => setTimeout(resolve, 10));
              if (!finished) timer = setTimeout(() => child.kill('SIGKILL'), after);
            })();
          } else if (mode < 0.65) timer = setTimeout(() => child.kill('SIGKILL'), Math.round(300 + random() * 2500));
          const result = await done;
          finished = true;
          clearTimeout(timer);
          if (result.signal === 'SIGKILL') {
            killed++;
            const reason = args[4]!;
            if (refunds(ws).some((r) => r.charge_id === Number(args[0]) && r.reason === reason && r.status === 'pending')) killedPending++;
          }
          else expect([0, 1], result.stderr).toContain(result.code);
          outcomes.push(result.signal ?? `exit ${result.code}`);
        }),
      );
    }
    slow = false;
    await stalling;
    ledger.close();
    console.log(`refunds never-twice: seed ${seed}, ${killed} kills, ${killedPending} of them with their refund pending; ${outcomes.join(', ')}`);
    // Settle whatever the killed processes left pending.
    const pending = refunds(ws).filter((r) => r.status === 'pending');
    const answered = pending.filter((r) => processorRefunds(ws).some((p) => p.idempotency_key === r.idempotency_key)).length;
    console.log(`refunds never-twice: ${pending.length} refunds pending (${answered} of them made by the processor) before the settling run`);
    const run = at('billing', 'run');
    expect(run.code, run.stderr).toBe(0);

    const ours = refunds(ws);
    const theirs = processorRefunds(ws);
    expect(ours.filter((r) => r.status === 'pending'), 'refunds left pending').toEqual([]);
    // txplan never sent a refund the processor had to turn down for being too large.
    expect(ours.filter((r) => r.status !== 'succeeded')).toEqual([]);
    expect(new Set(theirs.map((r) => r.idempotency_key)).size).toBe(theirs.length);
    expect(theirs.map((r) => [r.idempotency_key, r.amount_minor, r.status])).toEqual(
      [...ours].sort((a, b) => (a.idempotency_key < b.idempotency_key ? -1 : 1)).map((r) => [r.idempotency_key, r.amount_minor, r.status]),
    );
    for (const charge of charges) {
      const mine = ours.filter((r) => r.charge_id === charge.id);
      expect(mine.reduce((sum, r) => sum + r.amount_minor, 0)).toBeLessThanOrEqual(FEE);
      expect(mine.map((r) => r.idempotency_key)).toEqual(mine.map((r) => `${charge.idempotency_key}-refund-${r.seq}`));
      expect(theirs.filter((r) => r.charge_id === charge.gateway_charge_id).reduce((sum, r) => sum + r.amount_minor, 0)).toBeLessThanOrEqual(FEE);
    }
    expect(at('billing', 'reconcile').code).toBe(0);
    expect(killed).toBeGreaterThan(0);
    expect(killedPending, 'kills that landed while a refund was pending').toBeGreaterThan(0);
    // At most two $60.00 refunds fit in a $169.00 charge.
    expect(ours.length).toBeLessThanOrEqual(2 * charges.length);
  });

  it('after a restore to a copy older than a refund, the refund is reported, accepted, and counted: a new refund neither replays it nor goes beyond the charge', () => {
    const { ws, at } = billedWorkspace(1);
    const charge = query<{ id: number; idempotency_key: string }>(ws, 'SELECT id, idempotency_key FROM charges WHERE installment = 1')[0]!;
    const backup = join(ws, '..', 'backup');
    if (engine === 'sqlite') expect(at('db', 'backup', backup).code).toBe(0);
    else {
      // On PostgreSQL txplan leaves backups to the server's own tools: the dump and its restore are pg_dump's and pg_restore's.
      const refused = at('db', 'backup', backup);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('pg_dump');
      dumpDatabase(ws, backup);
    }
    expect(at('billing', 'refund', String(charge.id), '--amount', '100', '--reason', 'before the restore', '--yes').code).toBe(0);
    if (engine === 'sqlite') expect(at('db', 'restore', backup, '--yes', '--force').code).toBe(0);
    else restoreDatabase(ws, backup);

    const held = at('billing', 'refund', String(charge.id), '--amount', '10', '--reason', 'after the restore', '--yes');
    expect(held.code).toBe(1);
    expect(held.stderr).toContain('billing reconcile');
    const shown = JSON.parse(at('billing', 'reconcile', '--json').stdout) as { differences: Array<{ idempotency_key: string; problem: string }> };
    expect(shown.differences).toEqual([expect.objectContaining({ idempotency_key: `${charge.idempotency_key}-refund-1`, problem: 'unknown_to_txplan' })]);
    expect(at('billing', 'reconcile', '--accept').code).toBe(0);

    // $100.00 of $169.00 went back before the restore: $69.01 is too much, and the next refund is number 2.
    const over = at('billing', 'refund', String(charge.id), '--amount', '69.01', '--reason', 'after the restore', '--yes');
    expect(over.code).toBe(1);
    expect(over.stderr).toContain('$69.00 left to refund');
    expect(at('billing', 'refund', String(charge.id), '--amount', '69', '--reason', 'after the restore', '--yes').code).toBe(0);
    expect(refunds(ws).map((r) => [r.seq, r.amount_minor, r.status])).toEqual([[2, 6900, 'succeeded']]);
    expect(processorRefunds(ws).map((r) => [r.idempotency_key, r.amount_minor, r.status])).toEqual([
      [`${charge.idempotency_key}-refund-1`, 10000, 'succeeded'],
      [`${charge.idempotency_key}-refund-2`, 6900, 'succeeded'],
    ]);
    expect(at('billing', 'reconcile').code).toBe(0);
  });
});
