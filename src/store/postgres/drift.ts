import { randomBytes } from 'node:crypto';
import { newDatabaseId } from '../../domain/keys.js';
import type { Queryable } from './migrate.js';
import { postgresSchemaVersion } from './migrate.js';
import { postgresMigrations, SCHEMA_MIGRATIONS_TABLE, type PostgresMigration } from './migrations/index.js';

/** One schema as the catalog describes it, names relative to the schema. */
interface Catalog {
  tables: Set<string>;
  columns: Map<string, Column>;
  /** Indexes that no constraint owns, by name: their definition. */
  indexes: Map<string, { table: string; def: string }>;
  /** Constraints by "table.name": their definition. */
  constraints: Map<string, { table: string; name: string; def: string }>;
  /** Triggers by "table.name". */
  triggers: Map<string, { table: string; name: string; def: string; enabled: boolean }>;
  /** Functions by name: their body. */
  functions: Map<string, string>;
}

interface Column {
  table: string;
  name: string;
  type: string;
  notNull: boolean;
  default: string | null;
  identity: string;
  collation: string | null;
}

/**
 * How the txplan schema in the connection's current schema differs from what
 * the migrations recorded in schema_migrations make, one readable line per
 * difference (empty when none). The expected schema is built by running those
 * migrations in a scratch schema inside a transaction that is rolled back, so
 * both sides are described by the same server in the same words. Tables that
 * are not txplan's are reported too. Not to be called inside a transaction.
 */
export function postgresDrift(conn: Queryable, list: readonly PostgresMigration[] = postgresMigrations): string[] {
  const version = postgresSchemaVersion(conn);
  if (version === 0) return ['the database has no txplan schema (no schema_migrations table)'];
  const known = list.length === 0 ? 0 : list[list.length - 1]!.version;
  if (version > known) return [`the schema is version ${version}, newer than this txplan knows (${known}); upgrade txplan`];

  const live = describe(conn, currentSchema(conn));
  const scratch = `txplan_expected_${randomBytes(8).toString('hex')}`;
  let expected: Catalog;
  // Always rolled back, so it may run where reads are the default (default_transaction_read_only): db check reads.
  conn.query('BEGIN READ WRITE');
  try {
    conn.query(`CREATE SCHEMA ${scratch}`);
    conn.query(`SET LOCAL search_path TO ${scratch}`);
    conn.query(SCHEMA_MIGRATIONS_TABLE);
    for (const migration of list) {
      if (migration.version > version) break;
      conn.query("SELECT set_config('txplan.now', $1, true), set_config('txplan.database_id', $2, true)", [new Date(0).toISOString(), newDatabaseId(randomBytes)]);
      conn.query(migration.sql);
    }
    expected = describe(conn, scratch);
  } finally {
    conn.query('ROLLBACK');
  }
  return compare(live, expected);
}

function currentSchema(conn: Queryable): string {
  const schema = conn.query<{ schema: string | null }>('SELECT current_schema() AS schema').rows[0]?.schema;
  if (!schema) throw new Error('postgresDrift: the connection has no current schema');
  return schema;
}

function describe(conn: Queryable, schema: string): Catalog {
  const prefix = conn.query<{ q: string }>('SELECT quote_ident($1) AS q', [schema]).rows[0]!.q + '.';
  // Definitions name objects of the described schema with it: drop it, so two schemas compare.
  const local = (def: string) => def.split(prefix).join('');

  const tables = new Set(
    conn.query<{ name: string }>("SELECT c.relname AS name FROM pg_class c WHERE c.relnamespace = $1::regnamespace AND c.relkind IN ('r', 'p')", [schema]).rows.map((r) => r.name),
  );

  const columns = new Map<string, Column>();
  for (const r of conn.query<{ table: string; name: string; type: string; not_null: boolean; default: string | null; identity: string; collation: string | null }>(
    `SELECT c.relname AS table, a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null,
            pg_get_expr(d.adbin, d.adrelid) AS default, a.attidentity AS identity,
            CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation THEN co.collname END AS collation
     FROM pg_attribute a
     JOIN pg_class c ON c.oid = a.attrelid
     JOIN pg_type t ON t.oid = a.atttypid
     LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
     LEFT JOIN pg_collation co ON co.oid = a.attcollation
     WHERE c.relnamespace = $1::regnamespace AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped`,
    [schema],
  ).rows) {
    columns.set(`${r.table}.${r.name}`, { table: r.table, name: r.name, type: r.type, notNull: r.not_null, default: r.default === null ? null : local(r.default), identity: r.identity, collation: r.collation });
  }

  const indexes = new Map<string, { table: string; def: string }>();
  for (const r of conn.query<{ table: string; name: string; def: string }>(
    `SELECT t.relname AS table, i.relname AS name, pg_get_indexdef(x.indexrelid) AS def
     FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
     WHERE t.relnamespace = $1::regnamespace AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid AND k.contype IN ('p', 'u', 'x'))`,
    [schema],
  ).rows) {
    indexes.set(r.name, { table: r.table, def: local(r.def) });
  }

  const constraints = new Map<string, { table: string; name: string; def: string }>();
  for (const r of conn.query<{ table: string; name: string; def: string }>(
    `SELECT t.relname AS table, k.conname AS name, pg_get_constraintdef(k.oid) AS def
     FROM pg_constraint k JOIN pg_class t ON t.oid = k.conrelid
     WHERE t.relnamespace = $1::regnamespace AND k.contype <> 'n'`,
    [schema],
  ).rows) {
    constraints.set(`${r.table}.${r.name}`, { table: r.table, name: r.name, def: local(r.def) });
  }

  const triggers = new Map<string, { table: string; name: string; def: string; enabled: boolean }>();
  for (const r of conn.query<{ table: string; name: string; def: string; enabled: string }>(
    `SELECT t.relname AS table, g.tgname AS name, pg_get_triggerdef(g.oid) AS def, g.tgenabled AS enabled
     FROM pg_trigger g JOIN pg_class t ON t.oid = g.tgrelid
     WHERE t.relnamespace = $1::regnamespace AND NOT g.tgisinternal`,
    [schema],
  ).rows) {
    triggers.set(`${r.table}.${r.name}`, { table: r.table, name: r.name, def: local(r.def), enabled: r.enabled !== 'D' });
  }

  const functions = new Map<string, string>();
  for (const r of conn.query<{ name: string; body: string }>('SELECT p.proname AS name, p.prosrc AS body FROM pg_proc p WHERE p.pronamespace = $1::regnamespace', [schema]).rows) {
    functions.set(r.name, local(r.body));
  }
  return { tables, columns, indexes, constraints, triggers, functions };
}

function compare(live: Catalog, expected: Catalog): string[] {
  const lines: string[] = [];
  // Objects of a table that is missing, or not txplan's, are not listed one by one.
  const both = (table: string) => live.tables.has(table) && expected.tables.has(table);

  for (const table of sorted(expected.tables)) if (!live.tables.has(table)) lines.push(`table ${table} is missing`);
  for (const table of sorted(live.tables)) if (!expected.tables.has(table)) lines.push(`table ${table} is not part of txplan`);

  for (const [key, want] of sortedEntries(expected.columns)) {
    if (!both(want.table)) continue;
    const have = live.columns.get(key);
    if (!have) {
      lines.push(`column ${key} is missing`);
      continue;
    }
    if (have.type !== want.type) lines.push(`column ${key} is ${have.type}, expected ${want.type}`);
    if (have.notNull !== want.notNull) lines.push(want.notNull ? `column ${key} allows NULL, expected NOT NULL` : `column ${key} is NOT NULL, expected to allow NULL`);
    if (have.identity !== want.identity) lines.push(`column ${key} is ${identity(have.identity)}, expected ${identity(want.identity)}`);
    if (have.default !== want.default) lines.push(`column ${key} defaults to ${have.default ?? 'nothing'}, expected ${want.default ?? 'no default'}`);
    if (have.collation !== want.collation) lines.push(`column ${key} collates as ${have.collation ?? 'the database default'}, expected ${want.collation ?? 'the database default'}`);
  }
  for (const [key, have] of sortedEntries(live.columns)) {
    if (both(have.table) && !expected.columns.has(key)) lines.push(`column ${key} is not part of txplan`);
  }

  for (const [name, want] of sortedEntries(expected.indexes)) {
    if (!both(want.table)) continue;
    const have = live.indexes.get(name);
    if (!have) lines.push(`index ${name} is missing`);
    else if (have.def !== want.def) lines.push(`index ${name} is "${have.def}", expected "${want.def}"`);
  }
  for (const [name, have] of sortedEntries(live.indexes)) {
    if (both(have.table) && !expected.indexes.has(name)) lines.push(`index ${name} on ${have.table} is not part of txplan`);
  }

  for (const [key, want] of sortedEntries(expected.constraints)) {
    if (!both(want.table)) continue;
    const have = live.constraints.get(key);
    if (!have) lines.push(`constraint ${want.name} on ${want.table} (${want.def}) is missing`);
    else if (have.def !== want.def) lines.push(`constraint ${want.name} on ${want.table} is "${have.def}", expected "${want.def}"`);
  }
  for (const [key, have] of sortedEntries(live.constraints)) {
    if (both(have.table) && !expected.constraints.has(key)) lines.push(`constraint ${have.name} on ${have.table} (${have.def}) is not part of txplan`);
  }

  for (const [key, want] of sortedEntries(expected.triggers)) {
    if (!both(want.table)) continue;
    const have = live.triggers.get(key);
    if (!have) lines.push(`trigger ${want.name} on ${want.table} is missing`);
    else if (have.def !== want.def) lines.push(`trigger ${want.name} on ${want.table} is "${have.def}", expected "${want.def}"`);
    else if (!have.enabled) lines.push(`trigger ${want.name} on ${want.table} is disabled`);
  }
  for (const [key, have] of sortedEntries(live.triggers)) {
    if (both(have.table) && !expected.triggers.has(key)) lines.push(`trigger ${have.name} on ${have.table} is not part of txplan`);
  }

  for (const [name, body] of sortedEntries(expected.functions)) {
    const have = live.functions.get(name);
    if (have === undefined) lines.push(`function ${name} is missing`);
    else if (have !== body) lines.push(`function ${name} differs from the one txplan made`);
  }
  return lines;
}

function identity(code: string): string {
  return code === 'd' ? 'GENERATED BY DEFAULT AS IDENTITY' : code === 'a' ? 'GENERATED ALWAYS AS IDENTITY' : 'not an identity column';
}

function sorted(values: Set<string>): string[] {
  return [...values].sort();
}

function sortedEntries<V>(map: Map<string, V>): Array<[string, V]> {
  return [...map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
