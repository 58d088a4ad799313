import type { Store } from '../store.js';

/** Tables whose values are not text a person typed: photo bytes. */
const SKIPPED = new Set(['attachment_blobs']);
const PAGE = 5000;

/**
 * Every text value of txplan's tables on PostgreSQL, table by table, with the
 * row's id (or its position, for tables without one); tables with ids are
 * read a page at a time, so a large database is never held in memory.
 */
export function* postgresTextRows(store: Store): Generator<{ table: string; columns: string[]; row: number; values: unknown[] }> {
  const columns = store
    .statement<[], { table_name: string; column_name: string; data_type: string }>(
      `SELECT c.table_name, c.column_name, c.data_type FROM information_schema.columns c
       JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name AND t.table_type = 'BASE TABLE'
       WHERE c.table_schema = current_schema() ORDER BY c.table_name, c.ordinal_position`,
    )
    .all();
  const tables = new Map<string, { text: string[]; hasId: boolean }>();
  for (const c of columns) {
    if (SKIPPED.has(c.table_name)) continue;
    const entry = tables.get(c.table_name) ?? { text: [], hasId: false };
    if (c.column_name === 'id' && (c.data_type === 'bigint' || c.data_type === 'integer')) entry.hasId = true;
    if (c.data_type === 'text' || c.data_type === 'character varying') entry.text.push(c.column_name);
    tables.set(c.table_name, entry);
  }
  for (const [table, { text, hasId }] of tables) {
    if (text.length === 0) continue;
    const quoted = text.map((c) => `"${c.replace(/"/g, '""')}"`).join(', ');
    const name = `"${table.replace(/"/g, '""')}"`;
    if (hasId) {
      for (let after = -1; ; ) {
        const rows = store.statement<[number, number], Record<string, unknown>>(`SELECT id, ${quoted} FROM ${name} WHERE id > ? ORDER BY id LIMIT ?`).all(after, PAGE);
        for (const r of rows) yield { table, columns: text, row: Number(r.id), values: text.map((c) => r[c]) };
        if (rows.length < PAGE) break;
        after = Number(rows[rows.length - 1]!.id);
      }
    } else {
      let position = 0;
      for (const r of store.statement<[], Record<string, unknown>>(`SELECT ${quoted} FROM ${name}`).all()) {
        position += 1;
        yield { table, columns: text, row: position, values: text.map((c) => r[c]) };
      }
    }
  }
}

/**
 * Gathers the planner's statistics of every table now, as autovacuum would
 * later: a database just filled by a copy has none, and the planner then
 * guesses row counts (a billing run's chunk query read thousands of rows it
 * threw away). Only an optimisation: a role not allowed to is passed over.
 */
export function refreshStatistics(store: Store): void {
  try {
    store.statement('ANALYZE').run();
  } catch {
    // statistics come with autovacuum
  }
}
