import type { Store } from '../store.js';

/**
 * The id counters of the tables whose ids reach the processor, as PostgreSQL
 * keeps them: each identity column's sequence (0 before its first id).
 */
export function postgresSequences(store: Store, tables: readonly string[]): Record<string, number> {
  const result: Record<string, number> = {};
  for (const table of tables) {
    result[table] = store.statement<[string], { seq: number }>("SELECT coalesce(pg_sequence_last_value(CAST(pg_get_serial_sequence(?, 'id') AS regclass)), 0) AS seq").get(table)!.seq;
  }
  return result;
}

/** Moves a table's id counter up to `to`, never down, so the next id is above anything issued before. */
export function raisePostgresSequence(store: Store, table: string, to: number): void {
  store
    .statement<[string, number, string, number], { v: number }>(
      "SELECT setval(pg_get_serial_sequence(?, 'id'), ?) AS v WHERE coalesce(pg_sequence_last_value(CAST(pg_get_serial_sequence(?, 'id') AS regclass)), 0) < ?",
    )
    .get(table, to, table, to);
}
