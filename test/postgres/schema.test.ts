import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { FailedError } from '../../src/errors.js';
import { migrate } from '../../src/store/database.js';
import { PostgresConnection } from '../../src/store/postgres/connection.js';
import { postgresDrift } from '../../src/store/postgres/drift.js';
import { migratePostgres, postgresSchemaVersion } from '../../src/store/postgres/migrate.js';
import { POSTGRES_LATEST, postgresMigrations, type PostgresMigration } from '../../src/store/postgres/migrations/index.js';
import { repoRoot, tempDir } from '../helpers.js';
import { searchColumnsOf } from '../../src/domain/patient-search.js';
import { postgresTestUrl } from './server.js';

const SERVER = postgresTestUrl();
const NOW = '2027-01-04T09:00:00.000Z';

/** The server's URL with another database in its path. */
function urlOf(database: string): string {
  const url = /^(postgres(?:ql)?:\/\/[^/?]*)(?:\/[^?]*)?(\?.*)?$/.exec(SERVER);
  if (!url) throw new Error(`TXPLAN_TEST_POSTGRES_URL is not a postgres:// URL: ${SERVER}`);
  return `${url[1]}/${database}${url[2] ?? ''}`;
}

const database = `txplan_schema_test_${randomBytes(6).toString('hex')}`;
let admin: PostgresConnection;
let conn: PostgresConnection;
let schema: string;

beforeAll(() => {
  admin = PostgresConnection.connect({ url: SERVER });
  admin.query(`CREATE DATABASE ${database}`);
  conn = PostgresConnection.connect({ url: urlOf(database) });
});

afterAll(() => {
  conn?.close();
  admin?.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  admin?.close();
});

// Each test gets an empty schema of its own, first on the connection's search path.
beforeEach(() => {
  schema = `s_${randomBytes(6).toString('hex')}`;
  conn.query(`CREATE SCHEMA ${schema}`);
  conn.query(`SET search_path TO ${schema}`);
});

function tables(): string[] {
  return conn.query<{ name: string }>('SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1').rows.map((r) => r.name);
}

function failure(run: () => unknown): Error {
  try {
    run();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a failure');
}

describe('PostgreSQL migrations', () => {
  it('build the latest schema once, record its version, and apply nothing the second time', () => {
    expect(postgresSchemaVersion(conn)).toBe(0);
    expect(migratePostgres(conn, POSTGRES_LATEST, NOW)).toEqual([11, 12, 13, 14, 15]);
    expect(POSTGRES_LATEST).toBe(15);
    expect(postgresSchemaVersion(conn)).toBe(15);
    expect(conn.query('SELECT version, applied_at FROM schema_migrations ORDER BY version').rows).toEqual([
      { version: 11, applied_at: NOW },
      { version: 12, applied_at: NOW },
      { version: 13, applied_at: NOW },
      { version: 14, applied_at: NOW },
      { version: 15, applied_at: NOW },
    ]);
    const info = conn.query<{ singleton: number; id: string; created_at: string }>('SELECT singleton, id, created_at FROM database_info').rows;
    expect(info).toHaveLength(1);
    expect(info[0]!.id).toMatch(/^[a-z]{24}$/);
    expect(info[0]!.created_at).toBe(NOW);
    expect(tables()).toEqual(expect.arrayContaining(['audit', 'charges', 'declined_starts', 'refunds', 'acknowledged_processor_charges', 'billing_lock', 'sandbox_charges', 'sandbox_refunds', 'attachment_blobs', 'schema_migrations']));

    expect(migratePostgres(conn, POSTGRES_LATEST, NOW)).toEqual([]);
    expect(conn.query('SELECT count(*)::int AS n FROM schema_migrations').rows).toEqual([{ n: 5 }]);
    expect(conn.query('SELECT count(*)::int AS n FROM database_info').rows).toEqual([{ n: 1 }]);
  });

  it('leave nothing half-applied when a migration fails', () => {
    const broken: PostgresMigration = { version: POSTGRES_LATEST + 1, name: 'a broken one', sql: 'CREATE TABLE half_done (a integer); ALTER TABLE plans ADD COLUMN x integer; SELECT no_such_function();' };
    migratePostgres(conn, POSTGRES_LATEST, NOW);
    const before = tables();

    const error = failure(() => migratePostgres(conn, POSTGRES_LATEST + 1, NOW, [...postgresMigrations, broken]));
    expect(error).toBeInstanceOf(FailedError);
    expect(error.message).toMatch(new RegExp(`^The database could not be upgraded to schema ${POSTGRES_LATEST + 1} \\(a broken one\\): .*no_such_function.*; nothing was changed$`));
    expect(conn.query('SELECT version FROM schema_migrations ORDER BY version').rows).toEqual([{ version: 11 }, { version: 12 }, { version: 13 }, { version: 14 }, { version: 15 }]);
    expect(tables()).toEqual(before);
    expect(postgresDrift(conn)).toEqual([]);
    // The connection is usable afterwards: no transaction left open, the lock released.
    expect(conn.query('SELECT pg_try_advisory_lock(32783521548430849) AS got').rows).toEqual([{ got: true }]);
    conn.query('SELECT pg_advisory_unlock(32783521548430849)');
  });

  it('013 folds the patients already there as the store folds new ones (domain/patient-search)', () => {
    migratePostgres(conn, 12, NOW);
    const people = [
      ['A-1', 'Zoë', 'Ødegård', 'Zoe@Example.org', '+47 400 00 101'],
      [null, 'José', 'Núñez', null, null],
      ['B-2', 'Łukasz', 'Żółć', null, '(555) 010-0100'],
      [null, 'Anne  Sophie', 'Æbelø-Straße', null, null],
    ] as const;
    for (const p of people) conn.query('INSERT INTO patients (mrn, first_name, last_name, email, phone, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)', [...p, NOW]);
    migratePostgres(conn, POSTGRES_LATEST, NOW);
    const rows = conn.query<{ search_text: string; search_phone: string | null }>('SELECT search_text, search_phone FROM patients ORDER BY id').rows;
    expect(rows).toEqual(people.map(([mrn, first_name, last_name, email, phone]) => ({ ...searchColumnsOf({ mrn, first_name, last_name, email, phone }) })));
  });

  it('leave an empty database empty when the first migration fails', () => {
    const first = postgresMigrations[0]!;
    const error = failure(() => migratePostgres(conn, POSTGRES_LATEST, NOW, [{ ...first, sql: `${first.sql}; SELECT 1 / 0;` }]));
    expect(error.message).toMatch(/schema 11 .*division by zero.*nothing was changed/);
    expect(tables()).toEqual(['schema_migrations']);
    expect(postgresSchemaVersion(conn)).toBe(0);
  });

  it('refuse a database a newer txplan has migrated', () => {
    migratePostgres(conn, POSTGRES_LATEST, NOW);
    conn.query("INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, 'from the future', $1)", [NOW]);
    const error = failure(() => migratePostgres(conn, POSTGRES_LATEST, NOW));
    expect(error).toBeInstanceOf(FailedError);
    expect(error.message).toBe('The database was written by a newer txplan (schema 99, this one knows 15); upgrade txplan');
    expect(postgresDrift(conn)).toEqual(['the schema is version 99, newer than this txplan knows (15); upgrade txplan']);
  });

  it('end with one schema when two processes migrate at once', async () => {
    const built = join(repoRoot, 'dist', 'store', 'postgres', 'migrate.js');
    expect(existsSync(built), 'run npm run build first').toBe(true);
    // A file, not -e: the connection's worker inherits the process's flags, and --input-type=module breaks it.
    const script = join(tempDir(), 'migrate.mjs');
    writeFileSync(
      script,
      `const { PostgresConnection } = await import(${JSON.stringify(pathToFileURL(join(repoRoot, 'dist', 'store', 'postgres', 'connection.js')).href)});
       const { migratePostgres } = await import(${JSON.stringify(pathToFileURL(built).href)});
       const conn = PostgresConnection.connect({ url: process.argv[2] });
       conn.query('SET search_path TO ' + process.argv[3]);
       console.log(JSON.stringify(migratePostgres(conn, undefined, process.argv[4])));
       conn.close();`,
    );
    const run = () => promisify(execFile)(process.execPath, [script, urlOf(database), schema, NOW], { timeout: 60_000 });
    const results = await Promise.all([run(), run()]);
    expect(results.map((r) => JSON.parse(r.stdout) as number[]).sort((a, b) => b.length - a.length)).toEqual([[11, 12, 13, 14, 15], []]);
    expect(conn.query('SELECT version FROM schema_migrations ORDER BY version').rows).toEqual([{ version: 11 }, { version: 12 }, { version: 13 }, { version: 14 }, { version: 15 }]);
    expect(conn.query('SELECT count(*)::int AS n FROM database_info').rows).toEqual([{ n: 1 }]);
    expect(postgresDrift(conn)).toEqual([]);
  });
});

describe('the PostgreSQL schema', () => {
  beforeEach(() => {
    migratePostgres(conn, POSTGRES_LATEST, NOW);
  });

  function addCharge(installment: number, key: string): void {
    conn.query(
      `INSERT INTO charges (plan_id, kind, installment, idempotency_key, due_date, amount_minor, currency, status, gateway, payment_token, created_at, updated_at)
       VALUES (7, 'installment', $1, $2, '2027-01-04', 24900, 'USD', 'pending', 'sandbox', 'pm_card_visa', $3, $3)`,
      [installment, key, NOW],
    );
  }

  it('has SQLite\'s tables, columns in the same order, nullability, indexes and triggers', () => {
    const sqlite = new Database(':memory:');
    migrate(sqlite);
    const sqliteTables = sqlite.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all().map((r) => r.name);
    for (const table of sqliteTables) {
      const expected = (sqlite.pragma(`table_info(${table})`) as Array<{ name: string; notnull: number; pk: number }>).map((c) => ({ name: c.name, nullable: c.notnull === 0 && c.pk === 0 }));
      const actual = conn.query<{ name: string; nullable: boolean }>(
        "SELECT column_name AS name, is_nullable = 'YES' AS nullable FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
        [table],
      ).rows;
      expect(actual, table).toEqual(expected);
    }
    const names = (type: string) => sqlite.prepare<[string], { name: string }>("SELECT name FROM sqlite_master WHERE type = ? AND name NOT LIKE 'sqlite_%' ORDER BY name").all(type).map((r) => r.name);
    const pgIndexes = conn.query<{ name: string }>('SELECT indexname AS name FROM pg_indexes WHERE schemaname = current_schema()').rows.map((r) => r.name);
    expect(pgIndexes).toEqual(expect.arrayContaining(names('index')));
    const pgTriggers = conn.query<{ name: string }>('SELECT DISTINCT trigger_name AS name FROM information_schema.triggers WHERE trigger_schema = current_schema()').rows.map((r) => r.name);
    expect(pgTriggers).toEqual(expect.arrayContaining(names('trigger')));
    sqlite.close();
  });

  it('keeps the audit log append-only', () => {
    conn.query("INSERT INTO audit (at, actor, action, entity, entity_id, before, after) VALUES ($1, 'test', 'patient.add', 'patient', '1', NULL, '{}')", [NOW]);
    expect(failure(() => conn.query("UPDATE audit SET actor = 'someone else'")).message).toBe('audit entries are append-only');
    expect(failure(() => conn.query('DELETE FROM audit')).message).toBe('audit entries are append-only');
    expect(failure(() => conn.query('TRUNCATE audit')).message).toBe('audit entries are append-only');
    expect(conn.query('SELECT actor FROM audit').rows).toEqual([{ actor: 'test' }]);
  });

  it('refuses a second charge for the same installment', () => {
    addCharge(1, 'txp_db_p7_i1');
    const error = failure(() => addCharge(1, 'txp_db_p7_i1_again'));
    expect(error).toMatchObject({ code: '23505', constraint: 'charges_installment' });
    addCharge(2, 'txp_db_p7_i2');
    expect(conn.query('SELECT installment FROM charges ORDER BY installment').rows).toEqual([{ installment: 1 }, { installment: 2 }]);
  });

  it('keeps charges as SQLite does: never deleted, settled only forward', () => {
    addCharge(1, 'txp_db_p7_i1');
    expect(failure(() => conn.query('DELETE FROM charges')).message).toMatch(/^charges are never deleted/);
    expect(failure(() => conn.query('UPDATE charges SET amount_minor = 1')).message).toMatch(/never change$/);
    conn.query("UPDATE charges SET status = 'failed', decline_code = 'card_declined'");
    expect(failure(() => conn.query("UPDATE charges SET status = 'succeeded'")).message).toMatch(/^a charge only changes/);
  });

  it('lets a charge leave only for declined_starts, whole', () => {
    conn.query("INSERT INTO patients (first_name, last_name, created_at, updated_at) VALUES ('Zoë', 'Ødegård', $1, $1)", [NOW]);
    addCharge(1, 'txp_db_p7_i1');
    conn.query("UPDATE charges SET status = 'failed', decline_code = 'card_declined'");
    conn.query('BEGIN');
    conn.query(
      `INSERT INTO declined_starts (patient_id, removed_plan_id, template, charge_id, kind, installment, idempotency_key, due_date, amount_minor, currency, attempts, decline_code, gateway, created_at, declined_at)
       SELECT 1, plan_id, 'acne@3', id, kind, installment, idempotency_key, due_date, amount_minor, currency, attempts, decline_code, gateway, created_at, $1 FROM charges`,
      [NOW],
    );
    conn.query('DELETE FROM charges');
    conn.query('COMMIT');
    expect(conn.query('SELECT count(*)::int AS n FROM charges').rows).toEqual([{ n: 0 }]);
    expect(conn.query('SELECT idempotency_key FROM declined_starts').rows).toEqual([{ idempotency_key: 'txp_db_p7_i1' }]);
  });

  it('orders patients by name as SQLite\'s NOCASE does, with the index', () => {
    for (const [first, last] of [['ann', 'émile'], ['Bo', 'Zed'], ['cy', 'abel'], ['Di', 'Émile'], ['ed', 'Abel']]) {
      conn.query('INSERT INTO patients (first_name, last_name, created_at, updated_at) VALUES ($1, $2, $3, $3)', [first, last, NOW]);
    }
    const order = 'ORDER BY lower(last_name), lower(first_name), id';
    expect(conn.query(`SELECT last_name FROM patients ${order}`).rows.map((r) => r.last_name)).toEqual(['abel', 'Abel', 'Zed', 'Émile', 'émile']);
    conn.query('SET enable_seqscan = off');
    const plan = conn.query<{ 'QUERY PLAN': string }>(`EXPLAIN SELECT id FROM patients ${order}`).rows.map((r) => r['QUERY PLAN']).join('\n');
    conn.query('RESET enable_seqscan');
    expect(plan).toContain('patients_name');
  });

  it('stores a photo only with its own size and a sha256 for a name', () => {
    const bytes = Buffer.from('not really a photo');
    conn.query('INSERT INTO attachment_blobs (sha256, bytes, size, created_at) VALUES ($1, $2, $3, $4)', ['a'.repeat(64), bytes, bytes.length, NOW]);
    expect(failure(() => conn.query('INSERT INTO attachment_blobs (sha256, bytes, size, created_at) VALUES ($1, $2, $3, $4)', ['b'.repeat(64), bytes, 1, NOW]))).toMatchObject({ code: '23514' });
    expect(failure(() => conn.query('INSERT INTO attachment_blobs (sha256, bytes, size, created_at) VALUES ($1, $2, $3, $4)', ['NOT-A-HASH', bytes, bytes.length, NOW]))).toMatchObject({ code: '23514' });
  });

  it('shows no drift after migrating, and each change made behind its back', () => {
    expect(postgresDrift(conn)).toEqual([]);
    conn.query('DROP INDEX plans_patient');
    conn.query('ALTER TABLE charges ALTER COLUMN amount_minor TYPE integer');
    conn.query('ALTER TABLE plans ADD COLUMN colour text');
    conn.query('ALTER TABLE audit DISABLE TRIGGER audit_no_delete');
    conn.query('ALTER TABLE steps ALTER COLUMN note SET NOT NULL');
    conn.query('CREATE TABLE notes (id integer)');
    expect(postgresDrift(conn)).toEqual([
      'table notes is not part of txplan',
      'column charges.amount_minor is integer, expected bigint',
      'column steps.note is NOT NULL, expected to allow NULL',
      'column plans.colour is not part of txplan',
      'index plans_patient is missing',
      'trigger audit_no_delete on audit is disabled',
    ]);
  });

  it('reports a changed unique index and a dropped trigger', () => {
    conn.query('DROP INDEX charges_installment');
    conn.query('CREATE UNIQUE INDEX charges_installment ON charges (plan_id, installment)');
    conn.query('DROP TRIGGER audit_no_update ON audit');
    const drift = postgresDrift(conn);
    expect(drift).toHaveLength(2);
    expect(drift[0]).toMatch(/^index charges_installment is ".*\(plan_id, installment\)", expected ".* WHERE \(kind = 'installment'::text\)"$/);
    expect(drift[1]).toBe('trigger audit_no_update on audit is missing');
  });
});
