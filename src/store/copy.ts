import { createHash } from 'node:crypto';
import { FailedError } from '../errors.js';
import type { Store } from './store.js';
import { raiseSequences, sequences } from './database-info.js';
import { raisePostgresSequence } from './postgres/sequences.js';

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
  copy(): { rows: number; digest: string };
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
export function copyDatabase(source: Store, target: Store, extras: readonly CopiedExtra[] = []): TableCopy[] {
  return source.engine.readSnapshot(() =>
    target.transaction(() => {
      refuseNonEmpty(target);
      for (const { table, key } of COPIED_TABLES) {
        const columns = source.engine.columns(table);
        const theirs = target.engine.columns(table);
        if (columns.join(',') !== theirs.join(',')) {
          throw new FailedError(`The table ${table} has other columns in ${target.name} than in ${source.name}; both must be at the same schema version (run "txplan db check" on each); nothing was copied`, 'copy_schema');
        }
        if (table === 'database_info') copyDatabaseInfo(source, target, columns);
        else for (const rows of pages(source, table, columns, key)) insertRows(target, table, columns, rows);
      }
      continueSequences(source, target);
      // Each extra compares what it wrote with what it read, and throws when they differ.
      const more = extras.map((extra) => ({ table: extra.name, ...extra.copy() }));
      // Both sides read again, table by table: what the target will commit is what the source holds.
      return COPIED_TABLES.map(({ table, key }) => {
        const columns = source.engine.columns(table);
        const mine = tableDigest(source, table, columns, key);
        const theirs = tableDigest(target, table, columns, key);
        if (mine.rows !== theirs.rows || mine.digest !== theirs.digest) {
          throw new FailedError(`The copy of ${table} differs from the source (${mine.rows} rows read, ${theirs.rows} found); nothing was copied`, 'copy_mismatch');
        }
        return { table, ...mine };
      }).concat(more);
    }),
  );
}

function refuseNonEmpty(target: Store): void {
  const held: string[] = [];
  for (const { table } of COPIED_TABLES) {
    if (table === 'database_info') continue;
    const n = target.statement<[], { n: number }>(`SELECT count(*) AS n FROM ${table}`).get()!.n;
    if (n > 0) held.push(`${n} ${table}`);
  }
  if (held.length > 0) {
    throw new FailedError(`The database ${target.name} already holds txplan data (${held.join(', ')}); db copy fills only an empty database: create a new one, or choose another file; nothing was changed`, 'copy_target_not_empty');
  }
}

/** The singleton row: the source's database id travels with its data (the processor knows its charges by it). */
function copyDatabaseInfo(source: Store, target: Store, columns: readonly string[]): void {
  const row = source.statement<[], Record<string, unknown>>('SELECT * FROM database_info WHERE singleton = 1').get();
  if (!row) return;
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

function insertRows(target: Store, table: string, columns: readonly string[], rows: readonly Record<string, unknown>[]): void {
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

/** Row count and SHA-256 of a table's rows in key order, each row as the JSON array of its values. */
export function tableDigest(store: Store, table: string, columns: readonly string[], key: readonly string[]): { rows: number; digest: string } {
  const hash = createHash('sha256');
  let rows = 0;
  for (const page of pages(store, table, columns, key)) {
    for (const row of page) {
      rows += 1;
      hash.update(JSON.stringify(columns.map((c) => canonical(row[c]))));
      hash.update('\n');
    }
  }
  return { rows, digest: hash.digest('hex') };
}

function canonical(value: unknown): unknown {
  if (value === undefined) return null;
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  return value;
}
