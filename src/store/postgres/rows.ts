import type { Store } from '../store.js';

/**
 * Inserts `rows` into `table` (one with an identity `id`) in one statement
 * and returns their new ids, in the order of `rows`: a round trip to the
 * server costs more than a row, and a bulk apply writes thousands of plans.
 *
 * The rows travel as one JSON parameter (no limit on the number of
 * parameters), read with the table's own row type, so every value gets its
 * column's type. A value every row shares (a bulk apply's snapshot) is sent
 * once. Each row takes its id from the table's sequence in the order of
 * `rows`, and the ids come back by each row's position, not by the order the
 * server happens to return them in.
 */
export function insertReturningIds(store: Store, table: string, columns: readonly string[], rows: readonly Record<string, unknown>[]): number[] {
  if (rows.length === 0) return [];
  const first = rows[0]!;
  const shared = columns.filter((c) => rows.every((row) => row[c] === first[c]));
  const varying = columns.filter((c) => !shared.includes(c));
  const common = Object.fromEntries(shared.map((c) => [c, first[c] ?? null]));
  const each = rows.map((row) => Object.fromEntries(varying.map((c) => [c, row[c] ?? null])));
  const list = columns.join(', ');
  const sql = `WITH shared AS (SELECT jsonb_populate_record(CAST(NULL AS ${table}), CAST(? AS jsonb)) AS base),
      source AS (
        SELECT e.ord, nextval(pg_get_serial_sequence('${table}', 'id')) AS id, ${columns.map((c) => `r.${c}`).join(', ')}
        FROM shared CROSS JOIN jsonb_array_elements(CAST(? AS jsonb)) WITH ORDINALITY AS e(item, ord)
          CROSS JOIN LATERAL jsonb_populate_record(shared.base, e.item) AS r
        ORDER BY e.ord
      ),
      inserted AS (INSERT INTO ${table} (id, ${list}) SELECT s.id, ${columns.map((c) => `s.${c}`).join(', ')} FROM source s RETURNING id)
    SELECT s.id FROM source s WHERE s.id IN (SELECT id FROM inserted) ORDER BY s.ord`;
  const ids = store.statement<[string, string], { id: number }>(sql).all(JSON.stringify(common, bigints), JSON.stringify(each, bigints)).map((r) => r.id);
  if (ids.length !== rows.length) throw new Error(`${table}: ${rows.length} rows sent, ${ids.length} inserted`);
  return ids;
}

function bigints(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}
