import { randomBytes } from 'node:crypto';
import { newDatabaseId } from '../../domain/keys.js';
import { FailedError } from '../../errors.js';
import type { PostgresConnection } from './connection.js';
import { POSTGRES_LATEST, postgresMigrations, SCHEMA_MIGRATIONS_TABLE, type PostgresMigration } from './migrations/index.js';

/** What migrating needs of a connection. */
export type Queryable = Pick<PostgresConnection, 'query'>;

/**
 * The session advisory lock held while migrating ("txplan" and 1 in hex), so
 * two processes starting at once do not both migrate: the second waits, then
 * finds nothing left to do. A bigint beyond 2^53, so always sent as text.
 */
export const MIGRATION_LOCK_KEY = '32783521548430849';

/**
 * Applies each pending migration up to `target` in its own transaction, its
 * schema_migrations row written in the same one, so a failure leaves the
 * database as it was. Refuses a database a newer txplan has migrated.
 * Returns the versions applied.
 */
export function migratePostgres(
  conn: Queryable,
  target = POSTGRES_LATEST,
  now: string = new Date().toISOString(),
  list: readonly PostgresMigration[] = postgresMigrations,
): number[] {
  const known = list.length === 0 ? 0 : list[list.length - 1]!.version;
  // Most starts find the schema up to date: that needs no lock.
  const seen = postgresSchemaVersion(conn);
  if (seen > known) throw tooNew(seen, known);
  if (seen >= Math.min(target, known)) return [];
  conn.query('SELECT pg_advisory_lock($1::bigint)', [MIGRATION_LOCK_KEY]);
  try {
    conn.query(SCHEMA_MIGRATIONS_TABLE);
    let version = appliedVersion(conn);
    if (version > known) throw tooNew(version, known);
    const applied: number[] = [];
    for (const migration of list) {
      if (migration.version <= version || migration.version > target) continue;
      apply(conn, migration, now);
      version = migration.version;
      applied.push(version);
    }
    return applied;
  } finally {
    try {
      conn.query('SELECT pg_advisory_unlock($1::bigint)', [MIGRATION_LOCK_KEY]);
    } catch {
      // a lost connection has released its locks already
    }
  }
}

function tooNew(version: number, known: number): FailedError {
  return new FailedError(`The database was written by a newer txplan (schema ${version}, this one knows ${known}); upgrade txplan`, 'database_too_new');
}

function apply(conn: Queryable, migration: PostgresMigration, now: string): void {
  try {
    conn.query('BEGIN');
    // What the migration's SQL reads for the rows it seeds; the id is made as SQLite's migration 005 makes it.
    conn.query("SELECT set_config('txplan.now', $1, true), set_config('txplan.database_id', $2, true)", [now, newDatabaseId(randomBytes)]);
    conn.query(migration.sql);
    conn.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [migration.version, migration.name, now]);
    conn.query('COMMIT');
  } catch (error) {
    try {
      conn.query('ROLLBACK');
    } catch {
      // the transaction ended with the connection
    }
    if ((error as { code?: string }).code === '42P07' || (error as { code?: string }).code === '42710') {
      // The tables are there but their migration's record is not: schema_migrations was changed by hand.
      throw new FailedError(
        `The database already holds what txplan's migration ${migration.version} makes (${(error as Error).message}), but schema_migrations has no record of it: it was changed by hand; put its row back or restore the database from the server's backups (pg_dump); nothing was changed`,
        'db_drift',
      );
    }
    throw new FailedError(
      `The database could not be upgraded to schema ${migration.version} (${migration.name}): ${(error as Error).message}; nothing was changed`,
      'database_migration',
    );
  }
}

/** The newest version recorded, or 0 for a database txplan has not set up. */
export function postgresSchemaVersion(conn: Queryable): number {
  const exists = conn.query<{ table: string | null }>("SELECT to_regclass('schema_migrations')::text AS table").rows[0]?.table;
  return exists ? appliedVersion(conn) : 0;
}

function appliedVersion(conn: Queryable): number {
  return conn.query<{ version: number | null }>('SELECT max(version) AS version FROM schema_migrations').rows[0]?.version ?? 0;
}
