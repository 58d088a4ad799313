import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { newDatabaseId } from '../src/domain/keys.js';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { tmpdir } from 'node:os';
import { endIdlePostgres, PostgresConnection } from '../src/store/postgres/connection.js';
import { PostgresEngine } from '../src/store/postgres/engine.js';
import { Store } from '../src/store/store.js';
import { findBinDir } from '../scripts/test-postgres.mjs';

/**
 * The PostgreSQL side of the test helpers. The `postgres` vitest project runs
 * the scenario files with TXPLAN_TEST_ENGINE=postgres; its global set-up
 * (test/postgres-setup.ts) gives every test process a server
 * (TXPLAN_TEST_POSTGRES_URL), a run id (TXPLAN_TEST_POSTGRES_RUN) and a
 * migrated template database. Each test folder (a temporary folder a test
 * made) gets a database of its own, cloned from the template the first time
 * something uses it.
 */

/** The database every test database is cloned from: migrated once per run. */
export const TEMPLATE_DATABASE = 'txplan_template';

/** What the global set-up hands to the test processes (also through vitest's `provide`). */
export interface TestPostgres {
  /** The test role's URL on the server, naming the maintenance database `postgres`. */
  url: string;
  /** This run's id: every database this run makes is named `txplan_t<run>_…`. */
  run: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    txplanPostgres: TestPostgres;
  }
}

/** True when this test process runs the scenarios on PostgreSQL. */
export const onPostgres = process.env.TXPLAN_TEST_ENGINE === 'postgres';

/** The prefix of every database made by run `run` (so its teardown drops them all). */
export const runPrefix = (run: string) => `txplan_t${run}_`;

function server(): TestPostgres {
  const url = process.env.TXPLAN_TEST_POSTGRES_URL;
  const run = process.env.TXPLAN_TEST_POSTGRES_RUN;
  if (!url || !run) throw new Error('TXPLAN_TEST_ENGINE=postgres needs the `postgres` vitest project, whose global set-up (test/postgres-setup.ts) starts or finds the server: run the file through `vitest --project postgres`.');
  return { url, run };
}

/** `url` naming database `name` instead. */
export function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/** SQL's quoting of an identifier. */
export const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;

/**
 * The test folder `path` lies in: the folder directly inside the system's
 * temporary folder (what mkdtemp made for the test). Undefined for paths
 * elsewhere (the repository itself, for instance).
 */
export function testFolderOf(path: string): string | undefined {
  // The repository may itself sit in the temporary folder (a CI clone): it is never a test's folder.
  const inRepository = relative(REPOSITORY, resolve(path));
  if (inRepository === '' || !(inRepository.startsWith('..') || isAbsolute(inRepository))) return undefined;
  const base = resolve(tmpdir());
  const rel = relative(base, resolve(path));
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return undefined;
  return join(base, rel.split(sep)[0]!);
}

const REPOSITORY = resolve(fileURLToPath(new URL('..', import.meta.url)));

/** The database name for test folder `folder`: readable, unique, at most 63 bytes. */
export function databaseNameFor(folder: string, run = server().run): string {
  const base = folder.split(sep).at(-1)!.toLowerCase().replace(/[^a-z0-9]+/g, '_').slice(0, 32);
  const hash = createHash('sha1').update(folder).digest('hex').slice(0, 8);
  return `${runPrefix(run)}${base}_${hash}`;
}

let admin: PostgresConnection | undefined;
const created = new Set<string>();
const readers = new Map<string, Store>();

/** One connection to the maintenance database, for CREATE and DROP DATABASE. */
function adminConnection(): PostgresConnection {
  admin ??= PostgresConnection.connect({ url: server().url, applicationName: 'txplan-tests' });
  return admin;
}

/**
 * The URL of test folder `folder`'s database, cloned from the template the
 * first time it is asked for.
 */
export function databaseUrlFor(folder: string): string {
  const { url } = server();
  const name = databaseNameFor(folder);
  if (!created.has(name)) {
    const db = adminConnection();
    const exists = db.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]).rowCount > 0;
    if (!exists) {
      db.query(`CREATE DATABASE ${ident(name)} TEMPLATE ${ident(TEMPLATE_DATABASE)}`);
      // Each clone is its own database to the processor: its own random id, as a fresh migration would give it.
      const clone = PostgresConnection.connect({ url: withDatabase(url, name), applicationName: 'txplan-tests' });
      try {
        clone.query('UPDATE database_info SET id = $1 WHERE singleton = 1', [newDatabaseId(randomBytes)]);
      } finally {
        clone.close();
      }
    }
    created.add(name);
  }
  return withDatabase(url, name);
}

/** Drops test folder `folder`'s database if this process made one (when the test that made the folder finishes). */
export function dropDatabaseFor(folder: string): void {
  const name = databaseNameFor(folder);
  if (!created.has(name)) return;
  letGo(name);
  try {
    adminConnection().query(`DROP DATABASE IF EXISTS ${ident(name)} WITH (FORCE)`);
  } catch {
    // A server process the test role may not stop is in it (a server of the developer's own, with autovacuum on): the run's teardown drops it.
    return;
  }
  created.delete(name);
}

/**
 * The database a txplan process should use, for the `txplan()` helper: that of
 * the test folder holding `cwd`, else of the first absolute path argument in
 * one (`init DIR`, `--workspace DIR`). Undefined when neither is in a test folder.
 */
export function databaseUrlForCommand(cwd: string, args: readonly string[]): string | undefined {
  const folder = testFolderOf(cwd) ?? args.filter((a) => isAbsolute(a)).map(testFolderOf).find((f) => f !== undefined);
  return folder === undefined ? undefined : databaseUrlFor(folder);
}

function folderOf(ws: string): string {
  const folder = testFolderOf(ws);
  if (folder === undefined) throw new Error(`${ws} is not inside the temporary folder, so it has no test database of its own on PostgreSQL.`);
  return folder;
}

/** A store on workspace `ws`'s database (its own connection; the caller closes it). */
export function postgresStore(ws: string): Store {
  const url = databaseUrlFor(folderOf(ws));
  return new Store(new PostgresEngine(PostgresConnection.connect({ url, applicationName: 'txplan-tests' }), databaseNameFor(folderOf(ws)), false));
}

/** Runs a read against workspace `ws`'s database, with SQLite-style `?` or `@name` parameters. */
export function queryPostgres<T>(ws: string, sql: string, params: readonly unknown[]): T[] {
  const name = databaseNameFor(folderOf(ws));
  let store = readers.get(name);
  if (!store) {
    store = postgresStore(ws);
    readers.set(name, store);
  }
  return store.statement<unknown[], T>(sql).all(...params);
}

/** The sandbox processor's ledger is in tables sandbox_charges / sandbox_refunds of the same database on PostgreSQL. */
export function ledgerSql(sql: string): string {
  return sql.replace(/\b(FROM|JOIN)\s+(charges|refunds)\b/gi, (_all, keyword: string, table: string) => `${keyword} sandbox_${table}`);
}

/** Whether workspace `ws`'s database has table `table` (the sandbox ledger exists after its first charge). */
export function hasTable(ws: string, table: string): boolean {
  return queryPostgres(ws, 'SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ?', [table]).length > 0;
}

/** Every value in workspace `ws`'s database, as `pg_dump --data-only` writes it. */
export function dumpPostgres(ws: string): string {
  const bindir = findBinDir();
  const pgDump = bindir ? join(bindir, 'pg_dump') : 'pg_dump';
  const result = spawnSync(pgDump, ['--data-only', '--no-owner', '--dbname', databaseUrlFor(folderOf(ws))], { maxBuffer: 1 << 30 });
  if (result.error) throw new Error(`pg_dump could not be run (${result.error.message}): install Debian's postgresql-client package.`);
  if (result.status !== 0) throw new Error(`pg_dump failed: ${String(result.stderr).trim()}`);
  return result.stdout.toString('latin1');
}

/**
 * Makes test folder `to`'s database a copy of workspace `ws`'s (CREATE
 * DATABASE … TEMPLATE, the sandbox ledger with it), as copying a SQLite
 * workspace's folder copies its files. This process's reader of `ws` is
 * closed first: the server copies only a database nobody is connected to.
 */
export function copyDatabase(ws: string, to: string): void {
  const source = databaseNameFor(folderOf(ws));
  letGo(source);
  const name = databaseNameFor(folderOf(to));
  adminConnection().query(`CREATE DATABASE ${ident(name)} TEMPLATE ${ident(source)}`);
  created.add(name);
}

/**
 * Ends this process's sessions on database `name` (the cached reader, and
 * the connections closed stores left for reuse), so it can be dropped or be
 * the template of another.
 */
function letGo(name: string): void {
  readers.get(name)?.close();
  readers.delete(name);
  endIdlePostgres();
}

function pgTool(name: string, args: string[]): void {
  const bindir = findBinDir();
  const result = spawnSync(bindir ? join(bindir, name) : name, args, { maxBuffer: 1 << 30 });
  if (result.error) throw new Error(`${name} could not be run (${result.error.message}): install Debian's postgresql-client package.`);
  if (result.status !== 0) throw new Error(`${name} failed: ${String(result.stderr).trim()}`);
}

/** Dumps workspace `ws`'s whole database to `file` with pg_dump (custom format), as a clinic's nightly backup would. */
export function dumpDatabase(ws: string, file: string): void {
  pgTool('pg_dump', ['--format=custom', '--no-owner', '--file', file, '--dbname', databaseUrlFor(folderOf(ws))]);
}

/**
 * Puts dump `file` back as workspace `ws`'s database (dropped, made anew,
 * pg_restore), as a clinic restoring last night's backup does. The sandbox
 * processor's ledger stands for a processor elsewhere, which no restore of
 * the clinic's database takes back: its tables keep what they hold now.
 */
export function restoreDatabase(ws: string, file: string): void {
  replaceDatabase(ws, 'template0', (url) => pgTool('pg_restore', ['--no-owner', '--exit-on-error', '--dbname', url, file]));
}

/**
 * Puts test folder `from`'s database (a copy made earlier with
 * copyDatabase) back as workspace `ws`'s, as an administrator recreating the
 * database from an old copy (CREATE DATABASE … TEMPLATE) does; the sandbox
 * ledger keeps what it holds now, as in restoreDatabase.
 */
export function putBackDatabase(ws: string, from: string): void {
  const source = databaseNameFor(folderOf(from));
  letGo(source);
  replaceDatabase(ws, source, () => undefined);
}

/** Drops workspace `ws`'s database and makes it anew from `template`, then `fill(url)`; the sandbox ledger is kept as it is now. */
function replaceDatabase(ws: string, template: string, fill: (url: string) => void): void {
  const name = databaseNameFor(folderOf(ws));
  const url = databaseUrlFor(folderOf(ws));
  const ledger = { sandbox_charges: queryPostgres<unknown>(ws, 'SELECT * FROM sandbox_charges', []), sandbox_refunds: queryPostgres<unknown>(ws, 'SELECT * FROM sandbox_refunds', []) };
  letGo(name);
  adminConnection().query(`DROP DATABASE ${ident(name)} WITH (FORCE)`);
  adminConnection().query(`CREATE DATABASE ${ident(name)} TEMPLATE ${ident(template)}`);
  fill(url);
  const db = PostgresConnection.connect({ url, applicationName: 'txplan-tests' });
  try {
    for (const [table, rows] of Object.entries(ledger)) {
      db.query(`DELETE FROM ${ident(table)}`);
      db.query(`INSERT INTO ${ident(table)} SELECT * FROM jsonb_populate_recordset(NULL::${ident(table)}, $1::jsonb)`, [JSON.stringify(rows)]);
    }
  } finally {
    db.close();
  }
}
