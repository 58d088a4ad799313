import { chmodSync, closeSync, existsSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { FailedError } from '../errors.js';
import { makeFolder } from '../files.js';
import { LATEST_VERSION, migrations, type Migration } from './migrations/index.js';

export type Db = Database.Database;

export interface OpenOptions {
  /** Stop at this schema version (tests build every earlier version). */
  targetVersion?: number;
  readonly?: boolean;
}

/**
 * Opens (creating when missing) the patient database: the folder 0700, the
 * file 0600 before SQLite first writes to it, WAL, foreign keys, full sync,
 * and migrated to the latest schema.
 */
export function openDatabase(path: string, options: OpenOptions = {}): Db {
  const folder = dirname(path);
  makeFolder(folder, 0o700);
  if (!existsSync(path)) {
    if (options.readonly) throw new FailedError(`There is no database at ${path} yet; add a clinic or a patient first`, 'no_database');
    // Create the file private before SQLite opens it; its -wal and -shm files take the same mode.
    closeSync(openSync(path, 'wx', 0o600));
    if ((statSync(folder).mode & 0o077) !== 0 && folder.endsWith('.txplan')) chmodSync(folder, 0o700);
  }
  let db: Db;
  try {
    db = new Database(path, { readonly: options.readonly ?? false, fileMustExist: true });
  } catch (error) {
    throw new FailedError(`Cannot open the database ${path}: ${(error as Error).message}; check the path and its permissions`, 'database');
  }
  try {
    db.pragma('busy_timeout = 5000');
    if (!options.readonly) {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
    }
    db.pragma('foreign_keys = ON');
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > LATEST_VERSION) {
      throw new FailedError(`The database ${path} was written by a newer txplan (schema ${version}, this one knows ${LATEST_VERSION}); upgrade txplan`, 'database_too_new');
    }
    if (!options.readonly) migrate(db, options.targetVersion ?? LATEST_VERSION);
    else if (version < LATEST_VERSION) throw new FailedError(`The database ${path} needs an upgrade; run any txplan command that writes, such as "txplan db check"`, 'database_old');
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
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
