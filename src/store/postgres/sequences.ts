import type { Store } from '../store.js';
import type { PostgresEngine } from './engine.js';

/**
 * The database's id and the id counters of `tables` where PostgreSQL keeps
 * them (each identity column's sequence, 0 before its first id), in one round
 * trip: this runs when every command opens the database and when it ends
 * (with `asOpened`, answered without one while the opening query's marks hold).
 */
export function postgresMarks(store: Store, tables: readonly string[], options: { asOpened?: boolean } = {}): { id: string; sequences: Record<string, number> } {
  // asOpened: the marks read as the store opened will do while it has only read since (it issued no id).
  const opened = options.asOpened ? (store.engine as PostgresEngine).unchangedMarks?.() : undefined;
  if (opened && tables.every((table) => table in opened.sequences)) return { id: opened.id, sequences: Object.fromEntries(tables.map((table) => [table, opened.sequences[table]!])) };
  const rows = store
    .statement<[string], { id: string; name: string; seq: number }>(
      `SELECT (SELECT id FROM database_info WHERE singleton = 1) AS id, t.name, coalesce(pg_sequence_last_value(CAST(pg_get_serial_sequence(t.name, 'id') AS regclass)), 0) AS seq
       FROM (${store.dialect.textsIn('?')}) AS t(name)`,
    )
    .all(JSON.stringify(tables));
  return { id: rows[0]!.id, sequences: Object.fromEntries(rows.map((r) => [r.name, r.seq])) };
}

/** Moves a table's id counter up to `to`, never down, so the next id is above anything issued before. */
export function raisePostgresSequence(store: Store, table: string, to: number): void {
  store
    .statement<[string, number, string, number], { v: number }>(
      "SELECT setval(pg_get_serial_sequence(?, 'id'), ?) AS v WHERE coalesce(pg_sequence_last_value(CAST(pg_get_serial_sequence(?, 'id') AS regclass)), 0) < ?",
    )
    .get(table, to, table, to);
}
