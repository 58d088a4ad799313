import Database, { type Statement } from 'better-sqlite3';
import type { Db } from './database.js';
import { FailedError } from '../errors.js';

/**
 * How a transaction waits for another process's write lock: a first short
 * try, then one line (`notify`) saying what it waits for, then up to
 * `seconds` in all before giving up in one sentence.
 */
export interface BusyWait {
  seconds: number;
  /** Who holds the database, if known: "(a billing run, process 123, holds the billing lock)". */
  holder: () => string;
  notify: (line: string) => void;
  /** Called once, before the first write transaction (the simulated clock's warning). */
  beforeFirstWrite?: () => void;
}

const FIRST_TRY_MS = 1000;

/**
 * The database with its prepared statements. Every statement is prepared
 * once per process and reused; the modules beside this one hold the SQL.
 */
export class Store {
  private readonly statements = new Map<string, Statement>();

  constructor(
    readonly db: Db,
    private readonly wait?: BusyWait,
  ) {}

  statement<P extends unknown[] | {} = unknown[], R = unknown>(sql: string): Statement<P, R> {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement as unknown as Statement<P, R>;
  }

  /** A short synchronous write transaction (BEGIN IMMEDIATE: no upgrade deadlocks between writers). */
  transaction<T>(work: () => T): T {
    if (this.wait?.beforeFirstWrite) {
      const first = this.wait.beforeFirstWrite;
      this.wait.beforeFirstWrite = undefined;
      first();
    }
    let started = false;
    const run = this.db.transaction(() => {
      started = true;
      return work();
    });
    if (!this.wait || this.db.inTransaction) return run.immediate();
    const full = this.wait.seconds * 1000;
    this.db.pragma(`busy_timeout = ${Math.min(FIRST_TRY_MS, full)}`);
    try {
      return run.immediate();
    } catch (error) {
      // Only BEGIN IMMEDIATE can be refused as busy; once the work ran, the error is the work's.
      if (started || !isBusy(error)) throw error;
      if (full <= FIRST_TRY_MS) throw this.busyError(error);
      const holder = this.wait.holder();
      this.wait.notify(`the database ${this.db.name} is busy: another process is writing to it${holder ? ` ${holder}` : ''}; waiting up to ${this.wait.seconds} s…`);
      this.db.pragma(`busy_timeout = ${full - FIRST_TRY_MS}`);
      try {
        return run.immediate();
      } catch (again) {
        throw this.busyError(again, holder);
      }
    } finally {
      this.db.pragma(`busy_timeout = ${full}`);
    }
  }

  private busyError(error: unknown, holder = ''): unknown {
    if (!isBusy(error) || !this.wait) return error;
    return new FailedError(`The database ${this.db.name} is still busy after ${this.wait.seconds} s: another process is writing to it${holder ? ` ${holder}` : ''}; try again once it has finished, or set TXPLAN_DB_WAIT to wait longer; nothing was changed`, 'database_busy');
  }

  close(): void {
    this.db.close();
  }
}

function isBusy(error: unknown): boolean {
  return error instanceof Database.SqliteError && (error.code.startsWith('SQLITE_BUSY') || error.code.startsWith('SQLITE_LOCKED'));
}

/**
 * A condition selecting the rows of a chunk of plans (ids ascending). A dense
 * chunk is read as one index range; a sparse one (a few plans scattered over
 * the table) id by id, so a chunk never walks the rows of plans outside it.
 * Callers still ignore rows of ids not in the chunk.
 */
export function planIdsCondition(column: string, ids: readonly number[]): { where: string; params: Record<string, unknown> } {
  const first = ids[0]!;
  const last = ids[ids.length - 1]!;
  if (last - first < ids.length * 4) return { where: `${column} BETWEEN @first AND @last`, params: { first, last } };
  return { where: `${column} IN (SELECT value FROM json_each(@ids))`, params: { ids: JSON.stringify(ids) } };
}
