import Database from 'better-sqlite3';
import { migrate, type Db } from '../database.js';
import { LATEST_VERSION } from '../migrations/index.js';

interface SchemaObject {
  type: string;
  name: string;
  table: string;
  sql: string;
}

interface ColumnInfo {
  name: string;
  type: string;
  notnull: number;
  dflt_value: string | null;
  pk: number;
}

/**
 * How the schema of a SQLite database differs from what txplan's migrations
 * make at its `user_version`, one readable line per difference (empty when
 * none): the live sqlite_master is compared with an in-memory database
 * migrated to the same version.
 */
export function sqliteDrift(db: Db): string[] {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version === 0) return ['the database has no txplan schema (schema version 0)'];
  if (version > LATEST_VERSION) return [`the schema is version ${version}, newer than this txplan knows (${LATEST_VERSION}); upgrade txplan`];
  const reference = new Database(':memory:');
  try {
    migrate(reference, version);
    return compare(db, reference);
  } finally {
    reference.close();
  }
}

function objects(db: Db): Map<string, SchemaObject> {
  const rows = db
    .prepare<[], { type: string; name: string; tbl_name: string; sql: string | null }>("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'")
    .all();
  return new Map(rows.map((r) => [`${r.type} ${r.name}`, { type: r.type, name: r.name, table: r.tbl_name, sql: (r.sql ?? '').replace(/\s+/g, ' ').trim() }]));
}

function compare(live: Db, reference: Db): string[] {
  const have = objects(live);
  const want = objects(reference);
  const lines: string[] = [];
  const tableOf = (db: Db, table: string) => new Map((db.pragma(`table_xinfo(${JSON.stringify(table)})`) as ColumnInfo[]).map((c) => [c.name, c]));

  for (const [key, expected] of [...want].sort(([a], [b]) => a.localeCompare(b))) {
    const actual = have.get(key);
    if (!actual) {
      // An index or trigger of a missing table is not listed on its own.
      if (expected.type === 'table' || have.has(`table ${expected.table}`)) lines.push(`${expected.type} ${expected.name} is missing`);
      continue;
    }
    if (actual.sql === expected.sql) continue;
    if (expected.type !== 'table') {
      lines.push(`${expected.type} ${expected.name} is "${actual.sql}", expected "${expected.sql}"`);
      continue;
    }
    const columns = tableOf(live, expected.name);
    const wanted = tableOf(reference, expected.name);
    const before = lines.length;
    for (const [name, c] of wanted) {
      const a = columns.get(name);
      if (!a) lines.push(`column ${expected.name}.${name} is missing`);
      else {
        if (a.type !== c.type) lines.push(`column ${expected.name}.${name} is ${a.type || 'untyped'}, expected ${c.type || 'untyped'}`);
        if (a.notnull !== c.notnull) lines.push(c.notnull ? `column ${expected.name}.${name} allows NULL, expected NOT NULL` : `column ${expected.name}.${name} is NOT NULL, expected to allow NULL`);
        if (a.dflt_value !== c.dflt_value) lines.push(`column ${expected.name}.${name} defaults to ${a.dflt_value ?? 'nothing'}, expected ${c.dflt_value ?? 'no default'}`);
        if (a.pk !== c.pk) lines.push(`column ${expected.name}.${name} is ${a.pk ? '' : 'not '}part of the primary key, expected ${c.pk ? '' : 'not '}to be`);
      }
    }
    for (const name of columns.keys()) if (!wanted.has(name)) lines.push(`column ${expected.name}.${name} is not part of txplan`);
    if (lines.length === before) lines.push(`table ${expected.name} has other constraints than txplan made: "${actual.sql}", expected "${expected.sql}"`);
  }
  for (const [key, actual] of [...have].sort(([a], [b]) => a.localeCompare(b))) {
    if (want.has(key)) continue;
    if (actual.type === 'table' || want.has(`table ${actual.table}`)) lines.push(`${actual.type} ${actual.name} is not part of txplan`);
  }
  return lines;
}
