import type { Statement } from 'better-sqlite3';

/**
 * What the store needs of a database engine. SQLite (the default, one file)
 * and PostgreSQL (a server shared by several terminals) both provide it; the
 * query modules beside this file are written once against it, and where the
 * two SQL dialects differ they ask the engine's `dialect`.
 */
export interface Engine {
  readonly kind: 'sqlite' | 'postgres';
  /** How messages name the database: the file's path, or the URL without its password. */
  readonly name: string;
  /** True when the database can only be read (a read-only file, a full disk). */
  readonly readonly: boolean;
  readonly dialect: Dialect;
  /** A statement with `?` or `@name` parameters, in the engine's own form underneath. */
  prepare<P extends unknown[] | {} = unknown[], R = unknown>(sql: string): Statement<P, R>;
  /**
   * Runs `work` in one write transaction: writers are serialized (SQLite's
   * BEGIN IMMEDIATE; an advisory lock on PostgreSQL), so what `work` reads it
   * may write without another writer slipping in between. Nested calls join
   * the outer transaction. A `bulk` transaction (many new rows: a patients
   * file, a bulk apply) only adds rows nobody else writes, so where the engine
   * allows it, it does not make the other writers wait while it works.
   */
  transaction<T>(work: () => T, wait?: BusyWait, options?: TransactionOptions): T;
  /**
   * Runs a single-row INSERT whose result is not needed (an audit entry). An
   * engine may hold it and send it with the next ones as one statement,
   * always before anything else the transaction does.
   */
  append?(sql: string, params: readonly unknown[]): void;
  /** Runs `work` reading one consistent snapshot of the database, writing nothing. */
  readSnapshot<T>(work: () => T): T;
  /** The columns of a table, in their order. */
  columns(table: string): string[];
  /** The schema version the database is at. */
  schemaVersion(): number;
  close(): void;
}

export interface TransactionOptions {
  /** Many new rows, none read-then-written: on PostgreSQL other writers go on meanwhile (bulk jobs still take turns among themselves). */
  bulk?: boolean;
}

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

/** The few places where SQLite's and PostgreSQL's SQL differ. */
export interface Dialect {
  /** A subquery of the integers in a JSON array parameter (`@ids`). */
  integersIn(parameter: string): string;
  /** A subquery of the strings in a JSON array parameter. */
  textsIn(parameter: string): string;
  /** An ORDER BY term sorting a text column without regard to case. */
  caseless(column: string): string;
  /** The number at `path` inside a JSON text column (null when absent). */
  jsonNumber(column: string, path: readonly string[]): string;
  /** The case-insensitive LIKE. */
  like: 'LIKE' | 'ILIKE';
  /** The LIMIT parameter value meaning "no limit". */
  noLimit: number | null;
}
