import { FailedError, type TxplanError } from '../../errors.js';
import { PostgresError } from './connection.js';

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOENT', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'EPIPE', 'timeout']);

/**
 * The one sentence for a failure to connect to the server at `display` (the
 * URL without its password): unreachable, refused login, missing database,
 * TLS trouble. `user` and `database` are what the connection asked for.
 */
export function connectFailure(error: unknown, display: string, asked: { user?: string; database?: string }): TxplanError {
  const e = error instanceof PostgresError ? error : new PostgresError(String((error as Error)?.message ?? error), undefined, undefined, undefined);
  const code = e.code ?? '';
  const user = asked.user ? `user "${asked.user}"` : 'this user';
  if (UNREACHABLE.has(code) || /timeout|terminated unexpectedly/i.test(e.message)) {
    return new FailedError(`Cannot reach the PostgreSQL server for ${display} (${reason(e)}): check that the server is running and that the host and port are right (the URL, or PGHOST and PGPORT); nothing was changed`, 'database_unreachable');
  }
  if (code === '28P01' || /password authentication failed/i.test(e.message)) {
    return new FailedError(`The PostgreSQL server for ${display} refused the password of ${user}: check the password given in PGPASSWORD, ~/.pgpass or the variable named in the URL; nothing was changed`, 'database_login');
  }
  if (/password must be a string|client password must be|SASL: SCRAM-SERVER-FIRST-MESSAGE: client password/i.test(e.message)) {
    return new FailedError(`The PostgreSQL server for ${display} asks ${user} for a password and none was given: set PGPASSWORD (or ~/.pgpass), or name a variable in the URL; nothing was changed`, 'database_login');
  }
  if (code === '28000') {
    return new FailedError(`The PostgreSQL server for ${display} does not let ${user} connect (${e.message}): ask its administrator to allow it in pg_hba.conf; nothing was changed`, 'database_login');
  }
  if (code === '3D000') {
    const name = asked.database ? `"${asked.database}"` : 'named in the URL';
    return new FailedError(`There is no database ${name} on the PostgreSQL server for ${display}: create it first (createdb ${asked.database ?? 'NAME'}) or correct the URL; nothing was changed`, 'database_missing');
  }
  if (code === '42501') {
    return new FailedError(`${user[0]!.toUpperCase()}${user.slice(1)} may not use the database ${display} (${e.message}): grant it CONNECT and CREATE on the database, or use the owner; nothing was changed`, 'database_permission');
  }
  if (/ssl|tls|certificate/i.test(e.message)) {
    return new FailedError(`The TLS connection to the PostgreSQL server for ${display} failed (${e.message}): check sslmode in the URL or PGSSLMODE, and the server's certificate; nothing was changed`, 'database_tls');
  }
  if (code === '53300') {
    return new FailedError(`The PostgreSQL server for ${display} has no free connection slots: try again in a moment, or raise max_connections; nothing was changed`, 'database_busy');
  }
  return new FailedError(`Cannot connect to the PostgreSQL server for ${display}: ${e.message}; nothing was changed`, 'database');
}

/**
 * The one sentence for a failure the server reports while txplan works
 * (connection lost, disk full, read-only server, permissions), or undefined
 * for any other error, which is the command's own to explain.
 */
export function postgresProblem(error: unknown, display: string): TxplanError | undefined {
  if (!(error instanceof PostgresError)) return undefined;
  const code = error.code ?? '';
  if (UNREACHABLE.has(code) || code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03' || code === 'closed' || /Connection terminated/i.test(error.message)) {
    return new FailedError(`The connection to the PostgreSQL server for ${display} was lost (${reason(error)}): the transaction under way was rolled back; check the server and run the command again`, 'database_unreachable');
  }
  if (code === '23505') {
    // Another terminal wrote the same thing between this command's check and its write (the checks run on SQLite's single writer; a bulk job on PostgreSQL lets others go on).
    const what = /mrn/i.test(error.constraint ?? '') ? 'a patient with the same MRN' : /charges/i.test(error.constraint ?? '') ? 'the same charge' : `the same record (${error.constraint ?? 'a unique value'})`;
    return new FailedError(`Another terminal saved ${what} on ${display} at the same moment; nothing was changed: look at what is there now, and run the command again if it is still needed`, 'conflict');
  }
  if (code === '42P01' || code === '42703') {
    // A table or column txplan's migrations made is gone: the schema was changed by hand.
    return new FailedError(`The database ${display} is missing part of txplan's schema (${error.message}): it was changed by hand; "txplan db check" lists what differs, so undo the change or restore the database from the server's backups (pg_dump); nothing was changed`, 'db_drift');
  }
  if (code === '53100') return new FailedError(`The PostgreSQL server for ${display} has run out of disk space: free some space on the server and run the command again; nothing was changed`, 'disk_full');
  if (code === '25006') return new FailedError(`The PostgreSQL server for ${display} accepts only reads (a standby, or default_transaction_read_only): point txplan at the primary to change anything; nothing was changed`, 'database_read_only');
  if (code === '42501') return new FailedError(`The database user may not do this on ${display} (${error.message}): grant it the privileges on txplan's tables, or use the owner; nothing was changed`, 'database_permission');
  if (code === '57014') return new FailedError(`The PostgreSQL server for ${display} cancelled a statement (${error.message}): check statement_timeout and run the command again; nothing was changed`, 'database_busy');
  return undefined;
}

function reason(error: PostgresError): string {
  if (error.code === 'ENOENT') return 'no server socket at that place';
  if (error.code === 'ECONNREFUSED') return 'connection refused';
  if (error.code === 'ENOTFOUND' || error.code === 'EAI_AGAIN') return 'unknown host';
  if (error.code === 'timeout' || /timeout/i.test(error.message)) return 'no answer in time';
  return error.message;
}
