import { accessSync, chmodSync, closeSync, constants, existsSync, openSync, readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import type Database from 'better-sqlite3';
import { isSqliteError, sqliteDriver } from './sqlite/driver.js';
import { FailedError, type TxplanError } from '../errors.js';
import { makeFolder } from '../files.js';
import { LATEST_VERSION, migrations, type Migration } from './migrations/index.js';

export type Db = Database.Database;

export interface OpenOptions {
  /** Stop at this schema version (tests build every earlier version). */
  targetVersion?: number;
  readonly?: boolean;
  /** How long a statement waits for another process's write lock (SQLite's busy timeout). */
  busyTimeoutMs?: number;
}

/**
 * Opens (creating when missing) the patient database: the folder 0700, the
 * file 0600 before SQLite first writes to it, WAL, foreign keys, full sync,
 * and migrated to the latest schema. A database whose file or folder cannot
 * be written (permissions, a read-only disk) is opened read-only, so reading
 * commands still work and writers are told why they cannot.
 */
export function openDatabase(path: string, options: OpenOptions = {}): Db {
  const folder = dirname(path);
  if (!existsSync(path)) {
    if (options.readonly) throw new FailedError(`There is no database at ${path} yet; add a clinic or a patient first`, 'no_database');
    try {
      makeFolder(folder, 0o700);
      // Create the file private before SQLite opens it; its -wal and -shm files take the same mode.
      closeSync(openSync(path, 'wx', 0o600));
    } catch (error) {
      throw new FailedError(`Cannot create the database ${path}: ${fileProblem(error as NodeJS.ErrnoException)}`, 'database');
    }
    if ((statSync(folder).mode & 0o077) !== 0 && folder.endsWith('.txplan')) chmodSync(folder, 0o700);
  }
  const unwritable = options.readonly ? undefined : readOnlyReason(path);
  const readonly = options.readonly === true || unwritable !== undefined;
  let db: Db;
  try {
    db = new (sqliteDriver())(path, { readonly, fileMustExist: true });
    if (unwritable) db = readableOrCopy(db, path);
  } catch (error) {
    throw databaseError(error, path) ?? new FailedError(`Cannot open the database ${path}: ${(error as Error).message}; check the path and its permissions`, 'database');
  }
  try {
    prepare(db, path, readonly, unwritable, options);
  } catch (error) {
    db.close();
    if (readonly || !isDiskFull(error)) throw databaseError(error, path) ?? error;
    // SQLite could not even make its -shm file: reading still works from a copy, and writers are told the disk is full.
    fullDisks.add(path);
    try {
      db = readableOrCopy(new (sqliteDriver())(path, { readonly: true, fileMustExist: true }), path);
      prepare(db, path, true, 'the disk is full', options);
    } catch (again) {
      throw databaseError(again, path) ?? again;
    }
  }
  return db;
}

/** Databases opened read-only because the disk was full: their writers hear that, not "read-only". */
const fullDisks = new Set<string>();

function prepare(db: Db, path: string, readonly: boolean, unwritable: string | undefined, options: OpenOptions): void {
  db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
  if (!readonly) {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
  }
  db.pragma('foreign_keys = ON');
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > LATEST_VERSION) {
    throw new FailedError(`The database ${path} was written by a newer txplan (schema ${version}, this one knows ${LATEST_VERSION}); upgrade txplan`, 'database_too_new');
  }
  if (!readonly) migrate(db, options.targetVersion ?? LATEST_VERSION);
  else if (version < LATEST_VERSION) {
    if (unwritable) throw new FailedError(`The database ${path} needs an upgrade but is read-only (${unwritable}); make it writable and run "txplan db check"`, 'database_read_only');
    throw new FailedError(`The database ${path} needs an upgrade; run any txplan command that writes, such as "txplan db check"`, 'database_old');
  }
}

function isDiskFull(error: unknown): boolean {
  return isSqliteError(error) && (error.code === 'SQLITE_FULL' || error.code === 'SQLITE_IOERR_SHMSIZE');
}

/**
 * A WAL database in a folder that cannot be written cannot be opened even to
 * read once its -shm file is gone (SQLite needs to create it). Its committed
 * content is then all in the main file (a clean close checkpoints the WAL),
 * so it is read from a read-only copy in memory.
 */
function readableOrCopy(db: Db, path: string): Db {
  try {
    db.pragma('user_version', { simple: true });
    return db;
  } catch (error) {
    if (!(isSqliteError(error)) || !(error.code.startsWith('SQLITE_CANTOPEN') || isDiskFull(error))) throw error;
    db.close();
    if (existsSync(`${path}-wal`) && statSync(`${path}-wal`).size > 0) throw error; // changes not yet in the main file: a copy would miss them
    const bytes = readFileSync(path);
    // Bytes 18 and 19 say "WAL"; an in-memory copy reads as a rollback-journal database.
    if (bytes.length >= 20 && bytes[18] === 2 && bytes[19] === 2) bytes[18] = bytes[19] = 1;
    return new (sqliteDriver())(bytes, { readonly: true });
  }
}

/** Why the database at `path` cannot be written, or undefined when it can. */
export function readOnlyReason(path: string): string | undefined {
  for (const [target, what] of [[path, 'its file'], [dirname(path), 'its folder']] as const) {
    try {
      accessSync(target, constants.W_OK);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EROFS') return 'it is on a read-only disk';
      if (code === 'EACCES' || code === 'EPERM') return `${what} cannot be written`;
    }
  }
  return undefined;
}

/**
 * The one sentence for a failure SQLite reports (SQLITE_CORRUPT, NOTADB,
 * READONLY, FULL, BUSY, CANTOPEN, IOERR), or undefined for any other error.
 * `path` names the database when the caller knows it.
 */
export function databaseError(error: unknown, path?: string): TxplanError | undefined {
  if (!(isSqliteError(error))) return undefined;
  const name = path ? `The database ${path}` : 'The database';
  const code = error.code;
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') {
    return new FailedError(`${name} is damaged (${error.message}): restore the latest backup with "txplan db restore <backup>", and check the disk; nothing was changed`, 'database_damaged');
  }
  if (code.startsWith('SQLITE_READONLY') && !(path && fullDisks.has(path))) {
    const why = path ? readOnlyReason(path) : undefined;
    return new FailedError(`${name} is read-only${why ? ` (${why})` : ''}: reading commands still work, but to change anything make it writable again; nothing was changed`, 'database_read_only');
  }
  if (isDiskFull(error) || code.startsWith('SQLITE_READONLY')) {
    return new FailedError(`The disk is full: ${path ? `the database ${path}` : 'the database'} cannot grow; free some space and run the command again; nothing was changed`, 'disk_full');
  }
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new FailedError(`${name} is still busy: another process has been writing to it all the time txplan waited; try again once it has finished (TXPLAN_DB_WAIT sets the wait in seconds); nothing was changed`, 'database_busy');
  }
  if (code.startsWith('SQLITE_CANTOPEN')) {
    return new FailedError(`${name} cannot be opened: check that the file and its folder exist and can be read`, 'database');
  }
  if (code.startsWith('SQLITE_IOERR')) {
    return new FailedError(`${name} could not be read or written (${code}): check the disk it is on; nothing was changed`, 'database_io');
  }
  return undefined;
}

function fileProblem(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'ENOSPC':
      return 'the disk is full; free some space and try again';
    case 'EROFS':
      return 'the disk is read-only; choose a writable place with --db';
    case 'EACCES':
    case 'EPERM':
      return 'no permission to write there; check the folder\'s permissions or choose another place with --db';
    default:
      return `${error.message}; check the path and its permissions`;
  }
}

/** Applies each pending migration in its own transaction, recording its number. */
export function migrate(db: Db, target = LATEST_VERSION, list: readonly Migration[] = migrations): number[] {
  const applied: number[] = [];
  let version = db.pragma('user_version', { simple: true }) as number;
  for (const migration of list) {
    if (migration.version <= version || migration.version > target) continue;
    db.transaction(() => {
      migration.up(db);
      db.pragma(`user_version = ${migration.version}`);
    }).immediate();
    version = migration.version;
    applied.push(version);
  }
  return applied;
}
