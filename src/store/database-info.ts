import type { Store } from './store.js';
import { postgresMarks, raisePostgresSequence } from './postgres/sequences.js';
import { type Acknowledgement, type BillingHold, SEQUENCED, type Sequenced, type Sequences } from '../domain/records.js';

export function databaseId(store: Store): string {
  return store.statement<[], { id: string }>('SELECT id FROM database_info WHERE singleton = 1').get()!.id;
}

/** The highest id ever handed out for each table (SQLite's AUTOINCREMENT counter). */
export function sequences(store: Store): Sequences {
  if (store.kind === 'postgres') return postgresMarks(store, SEQUENCED).sequences as Sequences;
  const rows = store.statement<[], { name: string; seq: number }>("SELECT name, seq FROM sqlite_sequence WHERE name IN ('plans', 'charges', 'refunds')").all();
  const result: Sequences = { plans: 0, charges: 0, refunds: 0 };
  for (const row of rows) result[row.name as Sequenced] = row.seq;
  return result;
}

/**
 * The database's id and its id counters together: what the high-water mark
 * compares, read as every command opens and ends. `asOpened`: on PostgreSQL,
 * the marks read as the store opened, while it has only read since — they may
 * be older than ids other processes issued meanwhile, never lower than this
 * store's own.
 */
export function databaseMarks(store: Store, options: { asOpened?: boolean } = {}): { id: string; sequences: Sequences } {
  if (store.kind === 'postgres') return postgresMarks(store, SEQUENCED, options) as { id: string; sequences: Sequences };
  return { id: databaseId(store), sequences: sequences(store) };
}

/** Moves the AUTOINCREMENT counters up to `to`, so the next plan or charge gets an id above anything issued before. */
export function raiseSequences(store: Store, to: Sequences): void {
  if (store.kind === 'postgres') {
    for (const name of SEQUENCED) if (to[name] > 0) raisePostgresSequence(store, name, to[name]);
    return;
  }
  for (const name of SEQUENCED) {
    const changed = store.statement('UPDATE sqlite_sequence SET seq = ? WHERE name = ? AND seq < ?').run(to[name], name, to[name]).changes;
    const present = store.statement<[string], { n: number }>('SELECT count(*) AS n FROM sqlite_sequence WHERE name = ?').get(name)!.n > 0;
    if (changed === 0 && !present && to[name] > 0) store.statement('INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)').run(name, to[name]);
  }
}

export function billingHold(store: Store): BillingHold | undefined {
  const row = store.statement<[], { billing_hold: string | null }>('SELECT billing_hold FROM database_info WHERE singleton = 1').get();
  return row?.billing_hold ? (JSON.parse(row.billing_hold) as BillingHold) : undefined;
}

export function setBillingHold(store: Store, hold: BillingHold | undefined): void {
  store.statement('UPDATE database_info SET billing_hold = ? WHERE singleton = 1').run(hold === undefined ? null : JSON.stringify(hold));
}

export function acknowledgedKeys(store: Store): Set<string> {
  return new Set(store.statement<[], { idempotency_key: string }>('SELECT idempotency_key FROM acknowledged_processor_charges').all().map((r) => r.idempotency_key));
}

export function acknowledge(store: Store, entry: Acknowledgement): void {
  store
    .statement(
      `INSERT INTO acknowledged_processor_charges (idempotency_key, processor_id, status, amount_minor, currency, acknowledged_at, actor)
       VALUES (@idempotency_key, @processor_id, @status, @amount_minor, @currency, @acknowledged_at, @actor) ON CONFLICT (idempotency_key) DO NOTHING`,
    )
    .run(entry);
}

/** The latest change the database records: its audit is append-only and every change writes it. */
export function lastAuditId(store: Store): number {
  return store.statement<[], { n: number | null }>('SELECT max(id) AS n FROM audit').get()!.n ?? 0;
}
