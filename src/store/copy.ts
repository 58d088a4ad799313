import { createHash } from 'node:crypto';
import { FailedError } from '../errors.js';
import type { Store } from './store.js';
import { raiseSequences, sequences } from './database-info.js';
import { raisePostgresSequence } from './postgres/sequences.js';
import { refreshStatistics } from './postgres/maintenance.js';

/**
 * The tables a copy carries, parents before children, each with the columns
 * that order its rows. The billing lock is not copied: it belongs to a run on
 * the source, not to the data.
 */
export const COPIED_TABLES: ReadonlyArray<{ table: string; key: readonly string[] }> = [
  { table: 'database_info', key: ['singleton'] },
  { table: 'clinics', key: ['id'] },
  { table: 'patients', key: ['id'] },
  { table: 'payment_methods', key: ['id'] },
  { table: 'plans', key: ['id'] },
  { table: 'plan_prices', key: ['plan_id', 'from_installment'] },
  { table: 'steps', key: ['id'] },
  { table: 'attachments', key: ['id'] },
  { table: 'charges', key: ['id'] },
  { table: 'refunds', key: ['id'] },
  { table: 'declined_starts', key: ['id'] },
  { table: 'acknowledged_processor_charges', key: ['idempotency_key'] },
  { table: 'audit', key: ['id'] },
];

export interface TableCopy {
  table: string;
  /** Rows read from the source, and found in the target after the copy. */
  rows: number;
  /** SHA-256 of the rows in key order, the same on both sides. */
  digest: string;
}

/** Extra content that lives outside the tables on one engine (photos, the sandbox ledger): read from the source, written to the target. */
export interface CopiedExtra {
  name: string;
  /** What the target holds of this already (e.g. "3 sandbox charges"), checked before anything is written; none when empty. */
  held?(): string | undefined;
  /** Reads the source, writes the target, reads the target back: throws when the two differ. Runs inside the target's transaction. */
  copy(): { rows: number; digest: string };
  /** Removes what `copy` wrote outside the target's transaction (files), when the copy fails after it ran. */
  undo?(): void;
}

export interface CopyOptions {
  /** A row as the target keeps it, where the engines differ (a photo's path says where its bytes are). */
  rewrite?: Readonly<Record<string, (row: Record<string, unknown>) => Record<string, unknown>>>;
  /** Runs in the target's transaction once everything is verified (the audit entry of the copy). */
  finish?: (tables: readonly TableCopy[]) => void;
}

const PAGE = 2000;
/** Parameters per INSERT, below both engines' limits. */
const MAX_PARAMETERS = 30000;

/**
 * Copies every table of `source` into the empty database `target`, ids and
 * all, from one consistent snapshot of the source and in one transaction on
 * the target; then reads both sides again and compares each table's row
 * count and digest before committing. Refuses a target that holds any data.
 */
export function copyDatabase(source: Store, target: Store, extras: readonly CopiedExtra[] = [], options: CopyOptions = {}): TableCopy[] {
  const ran: CopiedExtra[] = [];
  try {
    const tables = source.engine.readSnapshot(() =>
      target.transaction(() => {
        refuseNonEmpty(target, extras);
        const read = new Map<string, { rows: number; digest: string }>();
        for (const { table, key } of COPIED_TABLES) {
          const columns = source.engine.columns(table);
          const theirs = target.engine.columns(table);
          if (columns.join(',') !== theirs.join(',')) {
            throw new FailedError(`The table ${table} has other columns in ${target.name} than in ${source.name}; both must be at the same schema version (run "txplan db check" on each); nothing was copied`, 'copy_schema');
          }
          const rewrite = options.rewrite?.[table];
          const digest = new TableDigest(columns);
          if (table === 'database_info') {
            const row = source.statement<[], Record<string, unknown>>('SELECT * FROM database_info WHERE singleton = 1').get();
            if (row) {
              copyDatabaseInfo(target, columns, row);
              digest.add(row);
            }
          } else {
            for (const page of pages(source, table, columns, key)) {
              const rows = rewrite ? page.map(rewrite) : page;
              insertRows(target, table, columns, rows);
              for (const row of rows) digest.add(row);
            }
          }
          read.set(table, digest.result());
        }
        continueSequences(source, target);
        // Each extra compares what it wrote with what it read, and throws when they differ.
        const more = extras.map((extra) => {
          ran.push(extra);
          return { table: extra.name, ...extra.copy() };
        });
        // The target read again, table by table: what it will commit is what was read from the source.
        const tables = COPIED_TABLES.map(({ table, key }) => {
          const mine = read.get(table)!;
          const theirs = tableDigest(target, table, target.engine.columns(table), key);
          if (mine.rows !== theirs.rows || mine.digest !== theirs.digest) {
            throw new FailedError(`The copy of ${table} in ${target.name} differs from the source (${mine.rows} rows read, ${theirs.rows} found); nothing was copied`, 'copy_mismatch');
          }
          return { table, ...mine };
        }).concat(more);
        options.finish?.(tables);
        return tables;
      }),
    );
    if (target.kind === 'postgres') refreshStatistics(target);
    return tables;
  } catch (error) {
    for (const extra of ran.reverse()) {
      try {
        extra.undo?.();
      } catch {
        // the copy's own failure is the one to report
      }
    }
    throw error;
  }
}

function refuseNonEmpty(target: Store, extras: readonly CopiedExtra[]): void {
  const held: string[] = [];
  for (const { table } of COPIED_TABLES) {
    if (table === 'database_info') continue;
    const n = target.statement<[], { n: number }>(`SELECT count(*) AS n FROM ${table}`).get()!.n;
    if (n > 0) held.push(`${n} ${table}`);
  }
  for (const extra of extras) {
    const more = extra.held?.();
    if (more) held.push(more);
  }
  if (held.length > 0) {
    throw new FailedError(`The database ${target.name} already holds txplan data (${held.join(', ')}); db copy fills only an empty database: create a new one, or choose another file; nothing was changed`, 'copy_target_not_empty');
  }
}

/** The singleton row: the source's database id travels with its data (the processor knows its charges by it). */
function copyDatabaseInfo(target: Store, columns: readonly string[], row: Record<string, unknown>): void {
  const set = columns.filter((c) => c !== 'singleton');
  target.statement(`UPDATE database_info SET ${set.map((c) => `${c} = @${c}`).join(', ')} WHERE singleton = 1`).run(row);
}

function* pages(store: Store, table: string, columns: readonly string[], key: readonly string[]): Generator<Record<string, unknown>[]> {
  const list = columns.join(', ');
  if (key.length === 1 && key[0] === 'id' && table !== 'clinics') {
    // Integer ids: read a page at a time, in id order.
    for (let after = -1; ; ) {
      const rows = store.statement<[number, number], Record<string, unknown>>(`SELECT ${list} FROM ${table} WHERE id > ? ORDER BY id LIMIT ?`).all(after, PAGE);
      if (rows.length > 0) yield rows;
      if (rows.length < PAGE) return;
      after = Number(rows[rows.length - 1]!.id);
    }
  }
  const rows = store.statement<[], Record<string, unknown>>(`SELECT ${list} FROM ${table} ORDER BY ${key.join(', ')}`).all();
  for (let i = 0; i < rows.length; i += PAGE) yield rows.slice(i, i + PAGE);
}

/** Rows inserted as they are, many to a statement. */
export function insertRows(target: Store, table: string, columns: readonly string[], rows: readonly Record<string, unknown>[]): void {
  const perInsert = Math.max(1, Math.min(500, Math.floor(MAX_PARAMETERS / columns.length)));
  const tuple = `(${columns.map(() => '?').join(', ')})`;
  for (let i = 0; i < rows.length; i += perInsert) {
    const batch = rows.slice(i, i + perInsert);
    const values: unknown[] = [];
    for (const row of batch) for (const c of columns) values.push(row[c]);
    target.statement(`INSERT INTO ${table} (${columns.join(', ')}) VALUES ${batch.map(() => tuple).join(', ')}`).run(...values);
  }
}

/** The target hands out ids after the source's highest, and never one the source ever issued. */
function continueSequences(source: Store, target: Store): void {
  if (target.kind === 'postgres') {
    // Rows inserted with their ids leave PostgreSQL's identity sequences behind (SQLite's follow by themselves).
    for (const { table, key } of COPIED_TABLES) {
      if (key.length !== 1 || key[0] !== 'id' || table === 'clinics') continue;
      const max = target.statement<[], { n: number | null }>(`SELECT max(id) AS n FROM ${table}`).get()!.n ?? 0;
      if (max > 0) raisePostgresSequence(target, table, max);
    }
  }
  // Ids that reached the processor may be above the rows left (a database restored behind its mark).
  raiseSequences(target, sequences(source));
}

/** Row count and SHA-256 of rows in key order, each row as the JSON array of its values. */
class TableDigest {
  private readonly hash = createHash('sha256');
  private rows = 0;

  constructor(private readonly columns: readonly string[]) {}

  add(row: Record<string, unknown>): void {
    this.rows += 1;
    this.hash.update(JSON.stringify(this.columns.map((c) => canonical(row[c]))));
    this.hash.update('\n');
  }

  result(): { rows: number; digest: string } {
    return { rows: this.rows, digest: this.hash.digest('hex') };
  }
}

/** Row count and SHA-256 of a table's rows in key order, each row as the JSON array of its values. */
export function tableDigest(store: Store, table: string, columns: readonly string[], key: readonly string[]): { rows: number; digest: string } {
  const digest = new TableDigest(columns);
  if (table === 'database_info') {
    const row = store.statement<[], Record<string, unknown>>('SELECT * FROM database_info WHERE singleton = 1').get();
    if (row) digest.add(row);
    return digest.result();
  }
  for (const page of pages(store, table, columns, key)) for (const row of page) digest.add(row);
  return digest.result();
}

function canonical(value: unknown): unknown {
  if (value === undefined) return null;
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  // int8 and numeric may arrive as strings or bigints on one engine and numbers on the other.
  if (typeof value === 'bigint') return Number(value);
  return value;
}
