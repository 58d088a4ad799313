import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdempotencyConflictError, type ChargeRequest, type RefundRequest } from '../../src/billing/gateway.js';
import { gatewayFor } from '../../src/billing/gateways/index.js';
import { SandboxGateway } from '../../src/billing/gateways/sandbox.js';
import type { ResolvedSettings } from '../../src/registry/settings.js';
import { PostgresSandboxLedger } from '../../src/store/postgres/sandbox-ledger.js';
import type { PostgresEngine } from '../../src/store/postgres/engine.js';
import { SqliteSandboxLedger } from '../../src/store/sandbox-ledger.js';
import { openDatabase } from '../../src/store/database.js';
import { Store } from '../../src/store/store.js';
import { repoRoot } from '../helpers.js';
import { migrateScratch, scratchDatabase, type ScratchDatabase } from './scratch.js';

const STARTED = '2031-01-01T00:00:00.000Z';
const clock = () => new Date('2031-01-02T09:00:00.000Z');

function charge(key: string, amountMinor: number, token = 'pm_card_visa'): ChargeRequest {
  return { idempotencyKey: key, amountMinor, currency: 'USD', token, customer: null, description: 'Installment', planId: 1, patientId: 1, paysFor: 'installment 1', attemptStartedAt: STARTED };
}

function refund(key: string, chargeId: string, amountMinor: number): RefundRequest {
  return { idempotencyKey: key, chargeId, amountMinor, currency: 'USD', reason: 'changed plans', planId: 1, attemptStartedAt: STARTED };
}

async function listed<T>(entries: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const entry of entries) all.push(entry);
  return all;
}

/** What the sandbox promises, whatever keeps its ledger. */
async function sandboxContract(gateway: SandboxGateway): Promise<void> {
  const first = await gateway.charge(charge('plan-1-installment-1', 5000));
  expect(first).toEqual({ status: 'succeeded', id: expect.stringMatching(/^ch_[0-9a-f]{24}$/) });
  // A repeated key replays what was stored; with another amount it is refused.
  expect(await gateway.charge(charge('plan-1-installment-1', 5000))).toEqual(first);
  await expect(gateway.charge(charge('plan-1-installment-1', 5001))).rejects.toThrow(IdempotencyConflictError);
  const declined = await gateway.charge(charge('plan-2-installment-1', 3000, 'pm_card_chargeDeclinedStolenCard'));
  expect(declined).toEqual({ status: 'declined', id: expect.stringMatching(/^ch_/), code: 'stolen_card', message: 'Your card was declined.', hard: true });
  expect(await gateway.charge(charge('plan-2-installment-1', 3000, 'pm_card_visa'))).toEqual(declined);

  // Requests of one tick are one batch; a key twice in it is recorded once.
  const batch = await Promise.all([charge('Plan-9-visit-1', 700), charge('plan-3-installment-1', 100), charge('plan-3-installment-1', 100)].map((r) => gateway.charge(r)));
  expect(batch[1]).toEqual(batch[2]);
  expect(batch[0]!.status).toBe('succeeded');

  const refunded = await gateway.refund(refund('plan-1-installment-1-refund-1', first.id, 3000));
  expect(refunded).toEqual({ status: 'succeeded', id: expect.stringMatching(/^re_[0-9a-f]{24}$/) });
  expect(await gateway.refund(refund('plan-1-installment-1-refund-1', first.id, 3000))).toEqual(refunded);
  await expect(gateway.refund(refund('plan-1-installment-1-refund-1', first.id, 2000))).rejects.toThrow(IdempotencyConflictError);
  // 2,000 are left of the charge: in one batch the first refund takes 1,500 and the second finds too little.
  const [small, tooMuch] = await Promise.all([gateway.refund(refund('plan-1-installment-1-refund-2', first.id, 1500)), gateway.refund(refund('plan-1-installment-1-refund-3', first.id, 1000))]);
  expect(small!.status).toBe('succeeded');
  expect(tooMuch).toEqual({ status: 'failed', id: expect.stringMatching(/^re_/), code: 'amount_too_large', message: 'The refund is larger than what the charge has left.' });
  expect(await gateway.refund(refund('plan-2-installment-1-refund-1', declined.id, 100))).toEqual({ status: 'failed', id: expect.stringMatching(/^re_/), code: 'charge_not_refundable', message: `No succeeded charge ${declined.id} to refund.` });

  const charges = await listed(gateway.ledger());
  // In byte order of the key, as SQLite sorts: capitals first.
  expect(charges.map((c) => [c.idempotencyKey, c.amountMinor, c.status])).toEqual([
    ['Plan-9-visit-1', 700, 'succeeded'],
    ['plan-1-installment-1', 5000, 'succeeded'],
    ['plan-2-installment-1', 3000, 'declined'],
    ['plan-3-installment-1', 100, 'succeeded'],
  ]);
  expect(charges[1]).toEqual({ id: first.id, idempotencyKey: 'plan-1-installment-1', amountMinor: 5000, currency: 'USD', status: 'succeeded', createdAt: clock().toISOString() });
  const refunds = await listed(gateway.refunds());
  expect(refunds.map((r) => [r.idempotencyKey, r.chargeId, r.amountMinor, r.status])).toEqual([
    ['plan-1-installment-1-refund-1', first.id, 3000, 'succeeded'],
    ['plan-1-installment-1-refund-2', first.id, 1500, 'succeeded'],
    ['plan-1-installment-1-refund-3', first.id, 1000, 'failed'],
    ['plan-2-installment-1-refund-1', declined.id, 100, 'failed'],
  ]);
}

let pg: ScratchDatabase;
let pgStore: Store;
const folders: string[] = [];

beforeAll(() => {
  // English collation sorts "plan-1" before "Plan-9"; the ledger lists in byte order all the same.
  pg = scratchDatabase('ledger_test', { icuLocale: 'en-US' });
  pgStore = pg.store();
  migrateScratch(pgStore);
});

afterAll(() => {
  pg?.drop();
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

function folder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'txplan-ledger-'));
  folders.push(dir);
  return dir;
}

const ledgers = [
  { engine: 'SQLite', open: () => new SqliteSandboxLedger(join(folder(), '.txplan', 'sandbox-gateway.db')) },
  {
    engine: 'PostgreSQL',
    open: () => {
      pgStore.statement('TRUNCATE sandbox_charges, sandbox_refunds').run();
      return new PostgresSandboxLedger(pgStore);
    },
  },
];

describe.each(ledgers)('the sandbox processor with its ledger on $engine', ({ open }) => {
  it('charges, replays a key, refuses a key with another amount, refunds within what is left, and lists its ledger', async () => {
    const gateway = new SandboxGateway(open(), clock);
    try {
      await sandboxContract(gateway);
    } finally {
      gateway.close();
    }
  });
});

describe('choosing where the sandbox keeps its ledger', () => {
  const settings = { payments: { gateway: 'sandbox' } } as ResolvedSettings;
  const place = { databaseId: 'db-1', env: {}, now: clock };

  it('beside a SQLite database: sandbox-gateway.db in the same folder, its charges table', async () => {
    const dir = folder();
    const store = new Store(openDatabase(join(dir, 'txplan.db')));
    const gateway = gatewayFor(settings, { ...place, store, databasePath: join(dir, 'txplan.db') });
    try {
      await gateway.charge(charge('plan-5-installment-1', 4200));
    } finally {
      gateway.close();
      store.close();
    }
    const file = new Database(join(dir, 'sandbox-gateway.db'), { readonly: true });
    try {
      expect(file.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(file.prepare('SELECT idempotency_key, amount_minor FROM charges').all()).toEqual([{ idempotency_key: 'plan-5-installment-1', amount_minor: 4200 }]);
    } finally {
      file.close();
    }
  });

  it('on PostgreSQL: the sandbox_charges table of the same database, and no file', async () => {
    const dir = folder();
    pgStore.statement('TRUNCATE sandbox_charges, sandbox_refunds').run();
    const gateway = gatewayFor(settings, { ...place, store: pgStore, databasePath: join(dir, 'txplan.db') });
    try {
      await gateway.charge(charge('plan-6-installment-1', 4300));
    } finally {
      gateway.close();
    }
    expect(pgStore.statement('SELECT idempotency_key, amount_minor FROM sandbox_charges').all()).toEqual([{ idempotency_key: 'plan-6-installment-1', amount_minor: 4300 }]);
    expect(existsSync(join(dir, 'sandbox-gateway.db'))).toBe(false);
    // Closing the gateway leaves txplan's store open.
    expect(pgStore.statement('SELECT 1 AS one').get()).toEqual({ one: 1 });
  });
});

/** One billing machine: connects to the database, sends every request at once and prints the answers. */
const MACHINE = (dist: string) => `
import { Store } from ${JSON.stringify(pathToFileURL(join(dist, 'store/store.js')).href)};
import { PostgresEngine } from ${JSON.stringify(pathToFileURL(join(dist, 'store/postgres/engine.js')).href)};
import { PostgresConnection } from ${JSON.stringify(pathToFileURL(join(dist, 'store/postgres/connection.js')).href)};
import { PostgresSandboxLedger } from ${JSON.stringify(pathToFileURL(join(dist, 'store/postgres/sandbox-ledger.js')).href)};
import { SandboxGateway } from ${JSON.stringify(pathToFileURL(join(dist, 'billing/gateways/sandbox.js')).href)};
const [url, requests] = [process.argv[2], JSON.parse(process.argv[3])];
const store = new Store(new PostgresEngine(PostgresConnection.connect({ url }), 'machine', false));
const gateway = new SandboxGateway(new PostgresSandboxLedger(store));
const results = await Promise.all(requests.map(({ refund, ...request }) => (refund ? gateway.refund(request) : gateway.charge(request))));
process.stdout.write(JSON.stringify(results));
store.close();
`;

type Sent = (ChargeRequest & { refund?: false }) | (RefundRequest & { refund: true });

function machine(script: string, url: string, requests: Sent[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, url, JSON.stringify(requests)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Waits until two sessions of the database wait for a lock (both machines at the starting line). */
async function bothWaiting(store: Store): Promise<void> {
  for (;;) {
    // The activity view is read once per transaction unless told to look again, and the caller holds one open.
    store.statement('SELECT pg_stat_clear_snapshot()').get();
    if (store.statement<[], { n: number }>("SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'").get()!.n >= 2) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

function machineScript(): string {
  const dist = join(repoRoot, 'dist');
  if (!existsSync(join(dist, 'store/postgres/sandbox-ledger.js'))) throw new Error('Build txplan first (npm run build): the machines run the built code');
  const script = join(folder(), 'machine.mjs');
  writeFileSync(script, MACHINE(dist));
  return script;
}

describe('two machines billing one PostgreSQL database', () => {
  it('charge the same keys at the same moment: one ledger row per key, and both are told the same', async () => {
    const script = machineScript();
    pgStore.statement('TRUNCATE sandbox_charges, sandbox_refunds').run();
    // The same keys, in opposite orders, so the two batches cross.
    const keys = Array.from({ length: 200 }, (_, i) => `plan-${i + 1}-visit-1`);
    // The starting line: the test holds a lock on the ledger's table that keeps out every insert. Once both
    // machines' inserts wait for it, it is let go, and the two inserts of the same keys run at the same moment.
    const starter = pg.store();
    const line = (starter.engine as PostgresEngine).connection;
    line.query('BEGIN');
    line.query('LOCK TABLE sandbox_charges IN SHARE ROW EXCLUSIVE MODE');
    const requests = keys.map((key) => charge(key, 2500));
    const runs = [machine(script, pg.url, requests), machine(script, pg.url, [...requests].reverse())];
    await bothWaiting(starter);
    line.query('COMMIT');
    const [a, b] = await Promise.all(runs);
    expect(a!.stderr).toBe('');
    expect(b!.stderr).toBe('');
    expect([a!.code, b!.code]).toEqual([0, 0]);
    const fromA = JSON.parse(a!.stdout) as Array<{ status: string; id: string }>;
    const fromB = (JSON.parse(b!.stdout) as Array<{ status: string; id: string }>).reverse();
    expect(fromA).toHaveLength(200);
    expect(fromB).toEqual(fromA);
    expect(new Set(fromA.map((r) => r.status))).toEqual(new Set(['succeeded']));
    const rows = pgStore.statement<[], { idempotency_key: string; n: number }>('SELECT idempotency_key, count(*) AS n FROM sandbox_charges GROUP BY idempotency_key').all();
    expect(rows).toHaveLength(200);
    expect(rows.every((r) => r.n === 1)).toBe(true);
    expect(new Set(rows.map((r) => r.idempotency_key))).toEqual(new Set(keys));
  });

  it('refund one charge at the same moment: they take turns, and never refund more than it had', async () => {
    const script = machineScript();
    pgStore.statement('TRUNCATE sandbox_charges, sandbox_refunds').run();
    const ledger = new PostgresSandboxLedger(pgStore);
    const paid = await new SandboxGateway(ledger, clock).charge(charge('plan-1-installment-1', 5000));
    // Each asks back 3,000 of the 5,000 under its own key: only one can have it.
    const starter = pg.store();
    const line = (starter.engine as PostgresEngine).connection;
    line.query('BEGIN');
    line.query('LOCK TABLE sandbox_refunds IN SHARE ROW EXCLUSIVE MODE');
    const runs = ['a', 'b'].map((machineName) => machine(script, pg.url, [{ ...refund(`plan-1-installment-1-refund-${machineName}`, paid.id, 3000), refund: true }]));
    await bothWaiting(starter);
    line.query('COMMIT');
    const answers = (await Promise.all(runs)).map((run) => {
      expect(run.stderr).toBe('');
      return (JSON.parse(run.stdout) as Array<{ status: string; code?: string }>)[0]!;
    });
    expect(answers.map((a) => a.status).sort()).toEqual(['failed', 'succeeded']);
    expect(answers.find((a) => a.status === 'failed')!.code).toBe('amount_too_large');
    expect(pgStore.statement<[], { n: number; total: number }>("SELECT count(*) AS n, coalesce(sum(amount_minor), 0) AS total FROM sandbox_refunds WHERE status = 'succeeded'").get()).toEqual({ n: 1, total: 3000 });
  });
});
