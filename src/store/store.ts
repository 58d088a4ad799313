import type { Statement } from 'better-sqlite3';
import type { Db } from './database.js';

/**
 * The database with its prepared statements. Every statement is prepared
 * once per process and reused; the modules beside this one hold the SQL.
 */
export class Store {
  private readonly statements = new Map<string, Statement>();

  constructor(readonly db: Db) {}

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
    return this.db.transaction(work).immediate();
  }

  close(): void {
    this.db.close();
  }
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
