import { FailedError } from '../../errors.js';
import { PostgresConnection, PostgresError } from './connection.js';
import { PostgresEngine } from './engine.js';
import { connectFailure, postgresProblem } from './errors.js';
import { migratePostgres, postgresSchemaVersion } from './migrate.js';
import { POSTGRES_LATEST } from './migrations/index.js';
import { OPENING, type OpeningRow } from './opening.js';
import type { OpeningMarks } from './engine.js';

export interface PostgresOpenOptions {
  /** The postgres:// URL; libpq's variables (PGHOST, PGUSER, PGPASSWORD, PGSSLMODE, …) fill in what it leaves out. */
  url: string;
  /** How messages name the database: the URL without its password. */
  display: string;
  /** When migrations are recorded as applied. */
  now: string;
  /** Stop at this schema version (tests build earlier ones). */
  targetVersion?: number;
  readonly?: boolean;
}

/**
 * Whether the session may only read, the schema version and the database's
 * marks, in one round trip or none (see opening.ts): a database txplan has
 * not set up yet has no schema_migrations table, and is asked again without it.
 */
function openingFacts(connection: PostgresConnection): { readOnly: boolean; version: number; marks?: OpeningMarks } {
  try {
    const row = connection.takeOpening<OpeningRow>() ?? connection.query<OpeningRow>(OPENING.text, OPENING.params, 'txplan_opening').rows[0]!;
    const marks = row.id !== null && row.sequences ? { id: String(row.id), sequences: row.sequences } : undefined;
    return { readOnly: row.read_only === 'on', version: row.version ?? 0, ...(marks ? { marks } : {}) };
  } catch (error) {
    if (!(error instanceof PostgresError) || error.code !== '42P01') throw error;
    return { readOnly: connection.query<{ transaction_read_only: string }>('SHOW transaction_read_only').rows[0]?.transaction_read_only === 'on', version: postgresSchemaVersion(connection) };
  }
}

/** The oldest server txplan runs on: 13 has everything it uses and is the oldest still supported upstream. */
export const OLDEST_SERVER = 130000;

/**
 * Connects to the database and brings its schema up to date. Every failure is
 * one sentence: an unreachable server, a refused login, a missing database,
 * a server too old, a schema newer than this txplan. A migration runs in its
 * own transaction, so a failure leaves the schema as it was.
 */
export function openPostgres(options: PostgresOpenOptions): PostgresEngine {
  let connection: PostgresConnection;
  try {
    connection = PostgresConnection.connect({ url: options.url, applicationName: 'txplan', opening: true });
  } catch (error) {
    throw connectFailure(error, options.display, asked(options.url));
  }
  try {
    const old = tooOld(connection.serverVersion, options.display);
    if (old) throw old;
    const facts = openingFacts(connection);
    const readOnly = options.readonly === true || facts.readOnly;
    const version = facts.version;
    if (version > POSTGRES_LATEST) {
      throw new FailedError(`The database ${options.display} was written by a newer txplan (schema ${version}, this one knows ${POSTGRES_LATEST}); upgrade txplan`, 'database_too_new');
    }
    const target = options.targetVersion ?? POSTGRES_LATEST;
    if (version < target) {
      if (facts.readOnly) throw new FailedError(`The database ${options.display} needs an upgrade but can only be read here; run "txplan db check" as a user who may change it`, 'database_read_only');
      // Opened only to read (txplan doctor): nothing is migrated.
      if (readOnly) throw new FailedError(`The database ${options.display} needs an upgrade; run any txplan command that writes, such as "txplan db check"`, 'database_old');
      migratePostgres(connection, target, options.now);
      return new PostgresEngine(connection, options.display, readOnly);
    }
    const engine = new PostgresEngine(connection, options.display, readOnly, facts.marks);
    engine.serverReadOnly = facts.readOnly;
    return engine;
  } catch (error) {
    connection.close();
    throw postgresProblem(error, options.display) ?? error;
  }
}

/** The refusal of a server older than PostgreSQL 13 (server_version_num: 120005 is 12.5, 90624 is 9.6.24), or undefined. */
export function tooOld(serverVersion: number, display: string): FailedError | undefined {
  if (serverVersion >= OLDEST_SERVER) return undefined;
  const major = Math.floor(serverVersion / 10000);
  const shown = major >= 10 ? `${major}` : `${major}.${Math.floor(serverVersion / 100) % 100}`;
  return new FailedError(`The PostgreSQL server for ${display} runs version ${shown}; txplan needs PostgreSQL 13 or newer: upgrade the server or point txplan at a newer one; nothing was changed`, 'database_too_old');
}

/** The user and database the URL names, for messages (libpq's defaults fill in the rest, unnamed here). */
function asked(url: string): { user?: string; database?: string } {
  try {
    const parsed = new URL(url);
    const database = decodeURIComponent(parsed.pathname.replace(/^\//, '')) || parsed.searchParams.get('dbname') || undefined;
    const user = decodeURIComponent(parsed.username) || parsed.searchParams.get('user') || undefined;
    return { ...(user ? { user } : {}), ...(database ? { database } : {}) };
  } catch {
    return {};
  }
}
