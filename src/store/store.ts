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
