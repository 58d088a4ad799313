import type { Statement } from 'better-sqlite3';
import type { BusyWait, Dialect, Engine, TransactionOptions } from '../engine.js';
import { FailedError } from '../../errors.js';
import { PostgresError, type PostgresConnection } from './connection.js';

export const POSTGRES_DIALECT: Dialect = {
  integersIn: (parameter) => `SELECT CAST(jsonb_array_elements_text(CAST(${parameter} AS jsonb)) AS bigint)`,
  textsIn: (parameter) => `SELECT jsonb_array_elements_text(CAST(${parameter} AS jsonb))`,
  caseless: (column) => `lower(${column})`,
  jsonNumber: (column, path) => `CAST(CAST(${column} AS json) #>> '{${path.join(',')}}' AS numeric)`,
  like: 'ILIKE',
  noLimit: null,
};

/**
 * Advisory lock keys (pg_advisory_lock(class, key)): txplan's class, then one
 * key per purpose: ordinary write transactions, the billing run, bulk jobs.
 * Migrations take a lock of their own, with a single bigint key. Advisory
 * locks belong to one database, so two txplan databases on one server never
 * wait for each other.
 */
export const LOCK_CLASS = 0x74787031; // "txp1"
export const LOCKS = { write: 1, billing: 2, bulk: 4 } as const;

const FIRST_TRY_MS = 1000;
/** Rows per multi-row INSERT sent by flush(); audit rows have 7 parameters, well under PostgreSQL's 65,535. */
const APPEND_BATCH = 1000;
/** Rows per INSERT of held rows sent as one JSON parameter. */
const JSON_BATCH = 2000;

/** A database on a PostgreSQL server, reached through one synchronous connection. */
/** The database's id and its id counters by table. */
export interface OpeningMarks {
  id: string;
  sequences: Record<string, number>;
}

export class PostgresEngine implements Engine {
  readonly kind = 'postgres';
  /** Whether the server lets this session only read (a standby, default_transaction_read_only), whatever txplan asked for; set when opened. */
  serverReadOnly = false;
  readonly dialect = POSTGRES_DIALECT;
  private depth = 0;
  private named = 0;
  /** Rows appended in this transaction and not yet sent (flush() sends one multi-row INSERT per statement). */
  private appended: Array<{ sql: string; params: readonly unknown[]; table: string }> = [];
  private readonly appendedTables = new Set<string>();
  /** append()'s statements in PostgreSQL's form, translated once each (a bulk apply appends tens of thousands of rows). */
  private readonly translations = new Map<string, ReturnType<typeof translateParameters>>();

  constructor(
    readonly connection: PostgresConnection,
    readonly name: string,
    readonly readonly: boolean,
    /** The database's id and id counters as the store opened (see opening.ts). */
    private readonly openingMarks?: OpeningMarks,
  ) {}

  /** The marks read at opening, while nothing since could have moved them (a plain read leaves them); else undefined. */
  unchangedMarks(): OpeningMarks | undefined {
    return this.openingMarks && this.connection.untouched ? this.openingMarks : undefined;
  }

  get inTransaction(): boolean {
    return this.depth > 0;
  }

  prepare<P extends unknown[] | {} = unknown[], R = unknown>(sql: string): Statement<P, R> {
    this.named += 1;
    return new PostgresStatement(this, sql, `txplan_${this.named}`) as unknown as Statement<P, R>;
  }

  /**
   * A single-row INSERT whose result nobody reads (an audit entry, a step):
   * inside a transaction it is held and sent with the other rows of the same
   * statement as one multi-row INSERT, before the first statement that needs
   * them or the commit — a billing run writes two audit entries a charge, and
   * each round trip to the server costs more than the row.
   */
  append(sql: string, params: readonly unknown[]): void {
    let translated = this.translations.get(sql);
    if (!translated) this.translations.set(sql, (translated = translateParameters(sql)));
    const { text, names } = translated;
    // Named parameters (one object) become positional, in the order of the statement.
    const values = names ? names.map((name) => (params[0] as Record<string, unknown>)[name]) : params;
    if (this.depth === 0) {
      this.query(text, values.map(value));
      return;
    }
    const table = /^\s*INSERT\s+INTO\s+([A-Za-z_][A-Za-z0-9_]*)/i.exec(sql)?.[1];
    if (!table) throw new Error(`append() takes a single-row INSERT INTO table … VALUES (…): ${sql}`);
    this.appended.push({ sql: text, params: values, table });
    this.appendedTables.add(table.toLowerCase());
  }

  /** Sends the rows held by append(), in order. */
  flush(): void {
    // One INSERT per statement and batch of rows, rows in the order they were appended (rows of different tables never depend on each other's order).
    const byStatement = new Map<string, Array<readonly unknown[]>>();
    for (const { sql, params } of this.appended) {
      const rows = byStatement.get(sql) ?? [];
      rows.push(params);
      byStatement.set(sql, rows);
    }
    this.appended = [];
    for (const [sql, rows] of byStatement) {
      const columns = plainColumns(sql);
      if (columns && rows.every((params) => params.every(jsonSafe))) {
        // The rows as one JSON parameter, read with the table's own row type: no limit on parameters, and the server
        // parses one short statement instead of a VALUES list of thousands of them.
        const insert = `${sql.slice(0, sql.search(/\bVALUES\s*\(/i))}SELECT ${columns.columns.map((c) => `r.${c}`).join(', ')}
          FROM ROWS FROM (jsonb_populate_recordset(CAST(NULL AS ${columns.table}), CAST($1 AS jsonb))) WITH ORDINALITY AS r ORDER BY r.ordinality`;
        for (let start = 0; start < rows.length; start += JSON_BATCH) {
          const batch = rows.slice(start, start + JSON_BATCH).map((params) => Object.fromEntries(columns.columns.map((c, i) => [c, value(params[i])])));
          this.connection.query(insert, [JSON.stringify(batch)]);
        }
        continue;
      }
      const values = sql.search(/\bVALUES\s*\(/i);
      if (values === -1) throw new Error(`append() takes a single-row INSERT … VALUES (…): ${sql}`);
      const width = rows[0]!.length;
      const perInsert = Math.max(1, Math.min(APPEND_BATCH, Math.floor(60000 / Math.max(width, 1))));
      for (let start = 0; start < rows.length; start += perInsert) {
        const batch = rows.slice(start, start + perInsert);
        const tuples = batch.map((_, row) => `(${Array.from({ length: width }, (_, c) => `$${row * width + c + 1}`).join(', ')})`);
        this.connection.query(`${sql.slice(0, values)}VALUES ${tuples.join(', ')}`, batch.flatMap((params) => params.map(value)));
      }
    }
    this.appendedTables.clear();
  }

  /**
   * Whether a statement must see the rows held by append() first: it names
   * one of their tables, deletes (a foreign key may point at them), or ends
   * the transaction or a savepoint. Other statements — an UPDATE of a charge,
   * an INSERT of the next plan — go ahead of them, so a loop that appends a
   * row after each of its own statements still sends those rows together.
   */
  private needsAppended(text: string): boolean {
    if (/^\s*(DELETE|COMMIT|SAVEPOINT|RELEASE|TRUNCATE)\b/i.test(text)) return true;
    for (const table of this.appendedTables) if (new RegExp(`\\b${table}\\b`, 'i').test(text)) return true;
    return false;
  }

  /** Runs SQL with $n parameters, after the rows held by append(). */
  query<R>(text: string, params: readonly unknown[], name?: string): { rows: R[]; rowCount: number } {
    if (this.appended.length > 0 && this.needsAppended(text)) this.flush();
    return this.connection.query<R>(text, params, name);
  }

  readSnapshot<T>(work: () => T): T {
    if (this.depth > 0) return work();
    this.connection.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    this.depth = 1;
    try {
      return work();
    } finally {
      this.depth = 0;
      this.rollback();
    }
  }

  columns(table: string): string[] {
    return this.connection
      .query<{ column_name: string }>('SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position', [table], 'txplan_columns')
      .rows.map((r) => r.column_name);
  }

  schemaVersion(): number {
    const row = this.connection.query<{ version: number | null }>(
      "SELECT CASE WHEN to_regclass('schema_migrations') IS NULL THEN 0 ELSE (SELECT coalesce(max(version), 0) FROM schema_migrations) END AS version",
    ).rows[0];
    return row?.version ?? 0;
  }

  /**
   * BEGIN, then the write lock (a transaction-level advisory lock, released
   * at COMMIT or ROLLBACK, or by the server if the process dies): writers go
   * one at a time as on SQLite, readers never wait. Nested calls are
   * savepoints, so an inner failure undoes only the inner work.
   */
  transaction<T>(work: () => T, wait?: BusyWait, options: TransactionOptions = {}): T {
    if (this.depth > 0) {
      const savepoint = `txplan_sp${this.depth}`;
      this.query(`SAVEPOINT ${savepoint}`, []);
      this.depth += 1;
      try {
        const result = work();
        this.query(`RELEASE SAVEPOINT ${savepoint}`, []);
        return result;
      } catch (error) {
        // Rows held since the savepoint belong to the work undone.
        this.appended = [];
        this.appendedTables.clear();
        this.connection.query(`ROLLBACK TO SAVEPOINT ${savepoint}`);
        throw error;
      } finally {
        this.depth -= 1;
      }
    }
    this.begin(wait, options.bulk ? LOCKS.bulk : LOCKS.write);
    this.depth = 1;
    try {
      const result = work();
      this.query('COMMIT', []);
      return result;
    } catch (error) {
      this.rollback();
      throw error;
    } finally {
      this.depth = 0;
    }
  }

  private begin(wait: BusyWait | undefined, lock: number): void {
    this.connection.query('BEGIN');
    const got = this.connection.query<{ ok: boolean }>('SELECT pg_try_advisory_xact_lock($1, $2) AS ok', [LOCK_CLASS, lock], 'txplan_try_lock').rows[0]!.ok;
    if (got) return;
    if (!wait) {
      this.connection.query('SELECT pg_advisory_xact_lock($1, $2)', [LOCK_CLASS, lock], 'txplan_lock');
      return;
    }
    const full = wait.seconds * 1000;
    let holder = '';
    for (const [timeout, last] of [[Math.min(FIRST_TRY_MS, full), full <= FIRST_TRY_MS], [full - FIRST_TRY_MS, true]] as const) {
      if (timeout <= 0) continue;
      try {
        this.connection.query(`SET LOCAL lock_timeout = ${Math.round(timeout)}`);
        this.connection.query('SELECT pg_advisory_xact_lock($1, $2)', [LOCK_CLASS, lock], 'txplan_lock');
        this.connection.query('SET LOCAL lock_timeout = 0');
        return;
      } catch (error) {
        this.rollback();
        if (!(error instanceof PostgresError) || error.code !== '55P03') throw error;
        if (last) {
          throw new FailedError(`The database ${this.name} is still busy after ${wait.seconds} s: another process is writing to it${holder ? ` ${holder}` : ''}; try again once it has finished, or set TXPLAN_DB_WAIT to wait longer; nothing was changed`, 'database_busy');
        }
        holder = wait.holder();
        wait.notify(`the database ${this.name} is busy: another process is writing to it${holder ? ` ${holder}` : ''}; waiting up to ${wait.seconds} s…`);
        this.connection.query('BEGIN');
      }
    }
  }

  private rollback(): void {
    this.appended = [];
    this.appendedTables.clear();
    try {
      this.connection.query('ROLLBACK');
    } catch {
      // a lost connection has rolled back already
    }
  }

  close(): void {
    this.connection.close();
  }
}

/**
 * A statement written with SQLite's parameters (`?` by position, `@name` by
 * name), run with PostgreSQL's `$1…`, as a prepared statement of the session.
 * It offers what the store uses of better-sqlite3's statements.
 */
class PostgresStatement {
  private readonly text: string;
  /** The parameter names in `$n` order, or undefined when the statement uses `?`. */
  private readonly names: string[] | undefined;

  constructor(
    private readonly engine: PostgresEngine,
    sql: string,
    private readonly name: string,
  ) {
    const translated = translateParameters(sql);
    this.text = translated.text;
    this.names = translated.names;
  }

  run(...params: unknown[]): { changes: number; lastInsertRowid: number } {
    return { changes: this.execute(params).rowCount, lastInsertRowid: 0 };
  }

  get(...params: unknown[]): unknown {
    return this.execute(params).rows[0];
  }

  all(...params: unknown[]): unknown[] {
    return this.execute(params).rows;
  }

  iterate(...params: unknown[]): IterableIterator<unknown> {
    return this.execute(params).rows[Symbol.iterator]();
  }

  private execute(params: unknown[]): { rows: unknown[]; rowCount: number } {
    let values: unknown[];
    if (this.names) {
      const named = (params[0] ?? {}) as Record<string, unknown>;
      values = this.names.map((name) => {
        if (!name.endsWith(TEXT_COPY)) return named[name];
        const v = named[name.slice(0, -TEXT_COPY.length)];
        return v === null || v === undefined ? null : String(v);
      });
    } else values = params;
    return this.engine.query(this.text, values.map(value), this.name);
  }
}

/**
 * The table and columns of `INSERT INTO t (a, b, …) VALUES ($1, $2, …)` whose
 * values are the parameters in column order, nothing else: its rows can be
 * sent as JSON objects. Undefined for any other form.
 */
function plainColumns(text: string): { table: string; columns: string[] } | undefined {
  const match = /^\s*INSERT\s+INTO\s+([A-Za-z_][A-Za-z0-9_]*)\s*\(([^)]*)\)\s*VALUES\s*\(([^)]*)\)\s*$/i.exec(text);
  if (!match) return undefined;
  const columns = match[2]!.split(',').map((c) => c.trim());
  const slots = match[3]!.split(',').map((c) => c.trim());
  if (slots.length !== columns.length || !columns.every((c) => /^[a-z_][a-z0-9_]*$/.test(c)) || !slots.every((slot, i) => slot === `$${i + 1}`)) return undefined;
  return { table: match[1]!, columns };
}

/** Whether a parameter keeps its value through JSON: text, a finite number, a bigint (as text), null. */
function jsonSafe(v: unknown): boolean {
  return v === null || v === undefined || typeof v === 'string' || typeof v === 'bigint' || (typeof v === 'number' && Number.isFinite(v));
}

function value(v: unknown): unknown {
  if (v === undefined) return null;
  if (typeof v === 'bigint') return v.toString();
  return v;
}

/** Marks a parameter slot that carries a named value as text, for an IS NULL test. */
const TEXT_COPY = '#text';

/**
 * `?` → `$1, $2…` in order; `@name` → one `$n` per distinct name. Quoted
 * strings, quoted identifiers and comments are left alone.
 */
export function translateParameters(sql: string): { text: string; names: string[] | undefined } {
  let out = '';
  let positional = 0;
  const names: string[] = [];
  for (let i = 0; i < sql.length; ) {
    const c = sql[i]!;
    if (c === "'" || c === '"') {
      let j = i + 1;
      while (j < sql.length) {
        if (sql[j] === c) {
          if (sql[j + 1] === c) j += 2;
          else break;
        } else j += 1;
      }
      out += sql.slice(i, j + 1);
      i = j + 1;
    } else if (c === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      const j = end === -1 ? sql.length : end;
      out += sql.slice(i, j);
      i = j;
    } else if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      const j = end === -1 ? sql.length : end + 2;
      out += sql.slice(i, j);
      i = j;
    } else if (c === '?') {
      positional += 1;
      out += `$${positional}`;
      i += 1;
    } else if (c === '@' && /[A-Za-z_]/.test(sql[i + 1] ?? '')) {
      let j = i + 1;
      while (j < sql.length && /[A-Za-z0-9_]/.test(sql[j]!)) j += 1;
      // "@x IS NULL" says nothing of x's type, which PostgreSQL must know: that test gets its own text parameter.
      const nullTest = /^\s+IS\s+(?:NOT\s+)?NULL\b/i.test(sql.slice(j));
      const name = sql.slice(i + 1, j) + (nullTest ? TEXT_COPY : '');
      let index = names.indexOf(name);
      if (index === -1) index = names.push(name) - 1;
      out += nullTest ? `CAST($${index + 1} AS text)` : `$${index + 1}`;
      i = j;
    } else {
      out += c;
      i += 1;
    }
  }
  if (positional > 0 && names.length > 0) throw new Error(`A statement mixes ? and @name parameters: ${sql}`);
  return { text: out, names: names.length > 0 ? names : undefined };
}
