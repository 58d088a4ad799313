import type { Statement } from 'better-sqlite3';
import type { Db } from './database.js';
import type { BusyWait, Dialect, Engine, TransactionOptions } from './engine.js';
import { SqliteEngine } from './sqlite/engine.js';
import { FailedError } from '../errors.js';

export type { BusyWait } from './engine.js';

/**
 * The database with its prepared statements, on either engine. Every
 * statement is prepared once per process and reused; the modules beside this
 * one hold the SQL.
 */
export class Store {
  private readonly statements = new Map<string, Statement>();
  readonly engine: Engine;

  /** `database` is an engine, or a SQLite database opened by ./database.ts. */
  constructor(
    database: Engine | Db,
    private readonly wait?: BusyWait,
  ) {
    this.engine = 'kind' in database ? database : new SqliteEngine(database);
  }

  get kind(): Engine['kind'] {
    return this.engine.kind;
  }

  /** How messages name the database: its file, or its URL without the password. */
  get name(): string {
    return this.engine.name;
  }

  get readonly(): boolean {
    return this.engine.readonly;
  }

  get dialect(): Dialect {
    return this.engine.dialect;
  }

  /** The SQLite handle, for what only SQLite does (file backups, integrity checks). */
  get db(): Db {
    if (this.engine instanceof SqliteEngine) return this.engine.db;
    throw new FailedError(`This works only on a SQLite database file; ${this.engine.name} is a PostgreSQL database`, 'not_sqlite');
  }

  statement<P extends unknown[] | {} = unknown[], R = unknown>(sql: string): Statement<P, R> {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.engine.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement as unknown as Statement<P, R>;
  }

  /** A single-row INSERT whose result is not needed: the engine may send several at once (see Engine.append). */
  append(sql: string, ...params: unknown[]): void {
    if (this.engine.append) this.engine.append(sql, params);
    else this.statement(sql).run(...params);
  }

  /** A short synchronous write transaction; writers are serialized, readers are not blocked. */
  transaction<T>(work: () => T, options?: TransactionOptions): T {
    this.aboutToWrite();
    return this.engine.transaction(work, this.wait, options);
  }

  /** Says, once, what a command says before its first write (the simulated clock's warning). */
  aboutToWrite(): void {
    if (this.wait?.beforeFirstWrite) {
      const first = this.wait.beforeFirstWrite;
      this.wait.beforeFirstWrite = undefined;
      first();
    }
  }

  close(): void {
    this.engine.close();
  }
}

/**
 * A condition selecting the rows of a chunk of plans (ids ascending). A dense
 * chunk is read as one index range; a sparse one (a few plans scattered over
 * the table) id by id, so a chunk never walks the rows of plans outside it.
 * Callers still ignore rows of ids not in the chunk.
 */
export function planIdsCondition(store: Store, column: string, ids: readonly number[]): { where: string; params: Record<string, unknown> } {
  const first = ids[0]!;
  const last = ids[ids.length - 1]!;
  if (last - first < ids.length * 4) return { where: `${column} BETWEEN @first AND @last`, params: { first, last } };
  return { where: `${column} IN (${store.dialect.integersIn('@ids')})`, params: { ids: JSON.stringify(ids) } };
}
