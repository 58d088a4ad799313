import { SEQUENCED } from '../../domain/records.js';

/**
 * What every command reads as it opens the database, in one round trip, run by
 * the connection's worker as soon as the session starts (while txplan is still
 * loading): whether the session may only read, the schema version, and the
 * database's id with its id counters (the high-water check's marks, see
 * ../high-water.ts). A database txplan has not set up yet has none of these
 * tables: the query fails with 42P01 and the caller asks again without them.
 */
export const OPENING = {
  text: `SELECT current_setting('transaction_read_only') AS read_only,
       (SELECT max(version) FROM schema_migrations) AS version,
       (SELECT id FROM database_info WHERE singleton = 1) AS id,
       (SELECT json_object_agg(t.name, coalesce(pg_sequence_last_value(CAST(pg_get_serial_sequence(t.name, 'id') AS regclass)), 0))
          FROM jsonb_array_elements_text(CAST($1 AS jsonb)) AS t(name)) AS sequences`,
  params: [JSON.stringify(SEQUENCED)],
} as const;

export interface OpeningRow {
  read_only: string;
  version: number | null;
  id: string | null;
  sequences: Record<string, number> | null;
}
