import type { Statement } from 'better-sqlite3';
import { isSqliteError } from './driver.js';
import type { Db } from '../database.js';
import type { BusyWait, Dialect, Engine } from '../engine.js';
import { FailedError } from '../../errors.js';

const FIRST_TRY_MS = 1000;

export const SQLITE_DIALECT: Dialect = {
  integersIn: (parameter) => `SELECT value FROM json_each(${parameter})`,
  textsIn: (parameter) => `SELECT value FROM json_each(${parameter})`,
  caseless: (column) => `${column} COLLATE NOCASE`,
  jsonNumber: (column, path) => `json_extract(${column}, '$.${path.join('.')}')`,
  like: 'LIKE',
  noLimit: -1,
};

/** The embedded engine: one file, opened by better-sqlite3 (see ../database.ts). */
export class SqliteEngine implements Engine {
  readonly kind = 'sqlite';
  readonly dialect = SQLITE_DIALECT;

  constructor(readonly db: Db) {}

  get name(): string {
    return this.db.name;
  }

  get readonly(): boolean {
    return this.db.readonly;
  }

  prepare<P extends unknown[] | {} = unknown[], R = unknown>(sql: string): Statement<P, R> {
    return this.db.prepare(sql) as unknown as Statement<P, R>;
  }

  readSnapshot<T>(work: () => T): T {
    if (this.db.inTransaction) return work();
    // A deferred transaction: its first read fixes the snapshot (WAL), and writers go on meanwhile.
    this.db.exec('BEGIN');
    try {
      return work();
    } finally {
      this.db.exec('ROLLBACK');
    }
  }

  columns(table: string): string[] {
    return (this.db.pragma(`table_info("${table.replace(/"/g, '""')}")`) as Array<{ name: string }>).map((c) => c.name);
  }

  schemaVersion(): number {
    return this.db.pragma('user_version', { simple: true }) as number;
  }

  /** BEGIN IMMEDIATE: no upgrade deadlocks between writers. */
  transaction<T>(work: () => T, wait?: BusyWait): T {
    let started = false;
    const run = this.db.transaction(() => {
      started = true;
      return work();
    });
    if (!wait || this.db.inTransaction) return run.immediate();
    const full = wait.seconds * 1000;
    this.db.pragma(`busy_timeout = ${Math.min(FIRST_TRY_MS, full)}`);
    try {
      return run.immediate();
    } catch (error) {
      // Only BEGIN IMMEDIATE can be refused as busy; once the work ran, the error is the work's.
      if (started || !isBusy(error)) throw error;
      if (full <= FIRST_TRY_MS) throw this.busyError(error, wait);
      const holder = wait.holder();
      wait.notify(`the database ${this.db.name} is busy: another process is writing to it${holder ? ` ${holder}` : ''}; waiting up to ${wait.seconds} s…`);
      this.db.pragma(`busy_timeout = ${full - FIRST_TRY_MS}`);
      try {
        return run.immediate();
      } catch (again) {
        throw this.busyError(again, wait, holder);
      }
    } finally {
      this.db.pragma(`busy_timeout = ${full}`);
    }
  }

  private busyError(error: unknown, wait: BusyWait, holder = ''): unknown {
    if (!isBusy(error)) return error;
    return new FailedError(`The database ${this.db.name} is still busy after ${wait.seconds} s: another process is writing to it${holder ? ` ${holder}` : ''}; try again once it has finished, or set TXPLAN_DB_WAIT to wait longer; nothing was changed`, 'database_busy');
  }

  close(): void {
    this.db.close();
  }
}

function isBusy(error: unknown): boolean {
  return isSqliteError(error) && (error.code.startsWith('SQLITE_BUSY') || error.code.startsWith('SQLITE_LOCKED'));
}
