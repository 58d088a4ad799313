import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PassThrough } from 'node:stream';
import { beforeAll, expect, onTestFinished } from 'vitest';
import type { BillablePlan } from '../src/billing/plan.js';
import { databaseUrlForCommand, dropDatabaseFor, dumpPostgres, hasTable, ledgerSql, onPostgres, postgresStore, queryPostgres } from './postgres.js';
import { LOCK_CLASS, LOCKS, type PostgresEngine } from '../src/store/postgres/engine.js';

export const repoRoot = resolve(fileURLToPath(new URL('..', import.meta.url)));
export const binary = join(repoRoot, 'bin', 'txplan');

/** The secret key every test process gets: a test-mode key only the stand-in accepts. */
export const STRIPE_TEST_KEY = 'sk_test_51TxplanStandInKey00000000';

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number;
}

/** Which database engine the scenarios run on in this test process (the vitest project sets TXPLAN_TEST_ENGINE). */
export const engine: 'sqlite' | 'postgres' = onPostgres ? 'postgres' : 'sqlite';

/**
 * The environment that points a txplan process started in `cwd` with `args`
 * at its test database: on PostgreSQL, TXPLAN_DB = the database of the test
 * folder holding `cwd` (or the folder an absolute path argument is in, as in
 * `init DIR`), unless the command names its own (--db, or TXPLAN_DB in `env`).
 * Nothing on SQLite. For tests that spawn txplan without `txplan()`.
 */
export function databaseEnv(cwd: string, args: readonly string[] = [], env: Record<string, string> = {}): Record<string, string> {
  if (!onPostgres || 'TXPLAN_DB' in env || args.some((a) => a === '--db' || a.startsWith('--db='))) return {};
  const url = databaseUrlForCommand(cwd, args);
  return url === undefined ? {} : { TXPLAN_DB: url };
}

/**
 * Runs the built txplan binary as a user would: a fresh process, no terminal,
 * a clean environment (no inherited TXPLAN_* or colour settings). On
 * PostgreSQL, the test folder's database (databaseEnv), unless
 * `testDatabase: false` leaves txplan to find its database as a user's would
 * (txplan.yaml, the workspace's SQLite file): for tests of that very choice.
 */
export function txplan(args: readonly string[], options: { cwd?: string; env?: Record<string, string>; input?: string; testDatabase?: boolean; bin?: string } = {}): RunResult {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith('TXPLAN_') && key !== 'NO_COLOR' && key !== 'FORCE_COLOR') env[key] = value;
  }
  const cwd = options.cwd ?? repoRoot;
  const spawnOptions: SpawnSyncOptions = {
    cwd,
    // A test key for workspaces pointed at the Stripe stand-in (test/stripe/); the sandbox never reads it.
    env: { ...env, TXPLAN_ACTOR: 'test', STRIPE_SECRET_KEY: STRIPE_TEST_KEY, ...(options.testDatabase === false ? {} : databaseEnv(cwd, args, options.env)), ...options.env },
    input: options.input ?? '',
    encoding: 'utf8',
    timeout: 60_000,
  };
  const result = spawnSync(process.execPath, [options.bin ?? binary, ...args], spawnOptions);
  if (result.error) throw result.error;
  return { stdout: String(result.stdout), stderr: String(result.stderr), code: result.status ?? -1 };
}

/** The clean-ups of folders made while a `beforeAllWithFolders` set-up runs. */
let fileCleanUps: Array<() => void> | undefined;

/**
 * A temporary folder, removed when the test that made it finishes (with its
 * PostgreSQL database, if it got one) — or, made in a `beforeAllWithFolders`,
 * when the file's tests have run.
 */
export function tempDir(prefix = 'txplan-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const cleanUp = () => {
    rmSync(dir, { recursive: true, force: true });
    if (onPostgres) dropDatabaseFor(dir);
  };
  if (fileCleanUps) fileCleanUps.push(cleanUp);
  else onTestFinished(cleanUp);
  return dir;
}

/** A beforeAll whose temporary folders (tempDir, workspace(), the receivers' workspaces) stay until the file's tests have run. */
export function beforeAllWithFolders(setUpFiles: () => void | Promise<void>, timeout?: number): void {
  beforeAll(async () => {
    const cleanUps: Array<() => void> = [];
    fileCleanUps = cleanUps;
    const cleanUpAll = () => cleanUps.forEach((cleanUp) => cleanUp());
    try {
      await setUpFiles();
    } catch (error) {
      cleanUpAll();
      throw error;
    } finally {
      fileCleanUps = undefined;
    }
    return cleanUpAll;
  }, timeout);
}

/** A fresh workspace made by `txplan init`. */
export function workspace(): string {
  const dir = join(tempDir(), 'clinic');
  const result = txplan(['init', dir]);
  if (result.code !== 0) throw new Error(`txplan init failed: ${result.stderr}`);
  return dir;
}

export function git(cwd: string, ...args: string[]): string {
  const result = spawnSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, GIT_AUTHOR_NAME: 'Test', GIT_AUTHOR_EMAIL: 'test@example.invalid', GIT_COMMITTER_NAME: 'Test', GIT_COMMITTER_EMAIL: 'test@example.invalid' },
  });
  if (result.status !== 0) throw new Error(`git ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}

/**
 * A simulated clock for tests: txplan's "now" moves only through TXPLAN_NOW.
 * Set `now` (an ISO date-time, or a date alone = 12:00Z) and the commands run
 * after it see that time; undefined is the real clock.
 */
export interface TestClock {
  now: string | undefined;
}

/** The environment that sets txplan's clock to `now`. */
export const at = (now: string): Record<string, string> => ({ TXPLAN_NOW: now });

/** The one stderr line a writing command prints while TXPLAN_NOW is `now`. */
export function clockWarning(now: string): string {
  const instant = /^\d{4}-\d{2}-\d{2}$/.test(now) ? `${now}T12:00:00.000Z` : new Date(now).toISOString();
  return `txplan: warning: TXPLAN_NOW is set: txplan's clock reads ${instant} (a rehearsal clock); unset it for real work\n`;
}

/** stderr without the simulated clock's warning line (where the rest of it is parsed, as --json errors are). */
export function withoutClockWarning(stderr: string): string {
  return stderr.replace(/^txplan: warning: TXPLAN_NOW is set: .*\n/, '');
}

/** Commands against one workspace: `run` returns the result, `json` parses --json output and fails loudly on an error. With a clock, each command runs at `clock.now`. */
export function runner(ws: string, clock?: TestClock): { run: (...args: string[]) => RunResult; json: <T = unknown>(...args: string[]) => T } {
  const run = (...args: string[]) => txplan(args, { cwd: ws, env: clock?.now !== undefined ? at(clock.now) : {} });
  const json = <T,>(...args: string[]): T => {
    const result = run(...args, '--json');
    if (result.code !== 0) throw new Error(`txplan ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
    return JSON.parse(result.stdout) as T;
  };
  return { run, json };
}

/** Runs set-up commands, each of which must succeed (at the simulated time `now`, if given). */
export function setUp(ws: string, commands: ReadonlyArray<readonly string[]>, now?: string): void {
  for (const args of commands) {
    const result = txplan(args, { cwd: ws, env: now !== undefined ? at(now) : {} });
    if (result.code !== 0) throw new Error(`setup ${args.join(' ')}: ${result.stderr}`);
  }
}

/** The workspace's database file (SQLite only: on PostgreSQL it throws, naming the test that asked). */
export function databaseFile(ws: string): string {
  if (onPostgres) throw new Error("databaseFile(): this test reads SQLite's database file, but it runs on PostgreSQL (TXPLAN_TEST_ENGINE=postgres): make it engine-neutral, or leave its file out of the postgres project in vitest.config.ts.");
  return join(ws, '.txplan', 'txplan.db');
}

/** Reads the workspace database directly, read-only, and closes it (on PostgreSQL: the test folder's database, `?`/`@name` parameters as on SQLite). */
export function query<T = Record<string, unknown>>(ws: string, sql: string, ...params: unknown[]): T[] {
  if (onPostgres) return queryPostgres<T>(ws, sql, params);
  const db = new Database(databaseFile(ws), { readonly: true });
  try {
    return db.prepare(sql).all(...params) as T[];
  } finally {
    db.close();
  }
}

/** The few calls tests make on a database handle, the same on both engines. */
export interface TestDatabase {
  prepare(sql: string): { get(...params: unknown[]): any; all(...params: unknown[]): any[]; run(...params: unknown[]): { changes: number } };
  exec(sql: string): void;
  close(): void;
}

/**
 * The workspace's database, opened directly (SQLite-style `?`/`@name`
 * parameters on both engines); the caller closes it. On SQLite it is the
 * better-sqlite3 handle itself.
 */
export function testDatabase(ws: string, options: { readonly?: boolean } = {}): TestDatabase {
  if (!onPostgres) return new Database(databaseFile(ws), { readonly: options.readonly === true, fileMustExist: true });
  const store = postgresStore(ws);
  return {
    prepare: (sql) => store.statement(sql) as unknown as ReturnType<TestDatabase['prepare']>,
    exec: (sql) => void (store.engine as PostgresEngine).connection.query(sql),
    close: () => store.close(),
  };
}

/**
 * On PostgreSQL, a live session on `open()`'s database holding the billing
 * lock's advisory lock, as a running billing run's does; the returned release
 * closes it and the lock is freed, as when a run's session ends. On SQLite the
 * lock is its row alone, and there is nothing to release.
 */
export function holdAdvisoryBillingLock(open: () => TestDatabase): () => void {
  if (!onPostgres) return () => undefined;
  const session = open();
  expect(session.prepare('SELECT pg_try_advisory_lock(?, ?) AS ok').get(LOCK_CLASS, LOCKS.billing)).toEqual({ ok: true });
  let held = true;
  return () => {
    if (held) session.close();
    held = false;
  };
}

/**
 * Every byte SQLite keeps for the database: the file, its WAL and shared
 * memory (to prove a value never reached it). On PostgreSQL: every value of
 * the test database, as `pg_dump --data-only` writes it.
 */
export function databaseBytes(ws: string): string {
  if (onPostgres) return dumpPostgres(ws);
  return ['', '-wal', '-shm']
    .map((suffix) => databaseFile(ws) + suffix)
    .filter((file) => existsSync(file))
    .map((file) => readFileSync(file).toString('latin1'))
    .join('');
}

export { seededRandom } from './random.mjs';

const PEOPLE = [
  ['Ada', 'Lovelace'],
  ['Grace', 'Hopper'],
  ['Alan', 'Turing'],
  ['Edsger', 'Dijkstra'],
] as const;

/** A workspace with the clinic "main" (UTC) and patients P-1 … P-n (ids 1 … n), then `more` set-up commands, run at the simulated time `now` if given. */
export function clinicWorkspace(patients: number, more: ReadonlyArray<readonly string[]> = [], now?: string): string {
  const ws = workspace();
  setUp(ws, [
    ['clinic', 'add', 'main', '--name', 'Main Street', '--timezone', 'UTC'],
    ...PEOPLE.slice(0, patients).map(([first, last], i) => ['patient', 'add', '--first', first, '--last', last, '--mrn', `P-${i + 1}`]),
  ]);
  setUp(ws, more, now);
  return ws;
}

/**
 * Reads the sandbox processor's own ledger ([] before its first charge): its
 * tables `charges` and `refunds` (on PostgreSQL, sandbox_charges and
 * sandbox_refunds in the workspace's database; `FROM`/`JOIN charges|refunds` are
 * renamed).
 */
export function ledgerRows<T>(ws: string, sql: string): T[] {
  if (onPostgres) return hasTable(ws, 'sandbox_charges') ? queryPostgres<T>(ws, ledgerSql(sql), []) : [];
  const file = join(ws, '.txplan', 'sandbox-gateway.db');
  if (!existsSync(file)) return [];
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare(sql).all() as T[];
  } finally {
    db.close();
  }
}

/** A terminal on both ends (in-process streams marked as TTYs), so a command decides to ask; `output` is what it wrote to stdout. */
export function fakeTerminal() {
  const tty = <T extends object>(stream: T) => Object.assign(stream, { isTTY: true });
  const stdout = tty(new PassThrough());
  const chunks: string[] = [];
  stdout.on('data', (c: Buffer) => chunks.push(c.toString()));
  return { streams: { stdin: tty(new PassThrough()), stdout, stderr: tty(new PassThrough()) }, output: () => chunks.join('') };
}

/** A plan as the pure billing plan sees it: by default plan 42, active, monthly, six installments of $249.00 from 2027-01-15. */
export function billable(overrides: Partial<BillablePlan> & { months?: number; fee?: number } = {}): BillablePlan {
  const { months = 6, fee = 24900, ...rest } = overrides;
  return {
    id: 42,
    status: 'active',
    type: 'monthly',
    start_date: '2027-01-15',
    end_date: null,
    billing_offset_months: 0,
    fees: Array.from({ length: months }, () => fee),
    last_step_date: null,
    pending_steps: 0,
    has_payment_method: true,
    cancelled_on: null,
    paused_on: null,
    dues_waived: false,
    ...rest,
  };
}
