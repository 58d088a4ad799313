import { chargesWithoutPlan } from './charges.js';
import type { Store } from './store.js';
import { postgresTextRows } from './postgres/maintenance.js';
import { postgresDrift } from './postgres/drift.js';
import type { PostgresEngine } from './postgres/engine.js';
import { sqliteDrift } from './sqlite/drift.js';
import { containsCardNumber } from '../domain/cards.js';
import { GENERATED_FIELDS, holdsCardNumber } from './audit.js';

/** Columns holding values txplan or the processor made (digests, commits, charge ids; a photo's path is its digest). */
const GENERATED_COLUMNS: ReadonlySet<string> = new Set([...GENERATED_FIELDS, 'attachments.path']);

/** The audit's before/after are JSON: read them as values, so generated fields inside are recognised. */
function textHoldsCardNumber(table: string, column: string, text: string): boolean {
  if (GENERATED_COLUMNS.has(column) || GENERATED_COLUMNS.has(`${table}.${column}`)) return false;
  if (table === 'audit' && (column === 'before' || column === 'after')) {
    try {
      return holdsCardNumber(JSON.parse(text));
    } catch {
      // not JSON after all: read it as text
    }
  }
  return containsCardNumber(text);
}

/** Where a card number sits: never the number itself. */
export interface CardNumberLocation {
  table: string;
  column: string;
  row: number;
}

export interface DatabaseHealth {
  schemaVersion: number;
  integrity: string[];
  /** How the schema differs from the one txplan's migrations build (changed by hand). */
  drift: string[];
  foreignKeys: string[];
  counts: Record<string, number>;
  cardNumbers: CardNumberLocation[];
}

/** The schema's version and how it differs from the one txplan's migrations build: the cheap part of the check, for `txplan doctor`. */
export function schemaHealth(store: Store): Pick<DatabaseHealth, 'schemaVersion' | 'drift'> {
  if (store.kind === 'postgres') return { schemaVersion: store.engine.schemaVersion(), drift: postgresDrift((store.engine as PostgresEngine).connection) };
  return { schemaVersion: store.db.pragma('user_version', { simple: true }) as number, drift: sqliteDrift(store.db) };
}

export function databaseHealth(store: Store): DatabaseHealth {
  if (store.kind === 'postgres') {
    return {
      schemaVersion: store.engine.schemaVersion(),
      // The server keeps its own pages sound.
      integrity: [],
      drift: postgresDrift((store.engine as PostgresEngine).connection),
      foreignKeys: chargesWithoutPlan(store).map((c) => `charges row ${c.id} points at a missing plans (plan ${c.plan_id})`),
      // A table dropped by hand is drift (reported above), not a failure of the check.
      counts: tableCounts(store, (table) => store.statement<[string], { found: boolean }>('SELECT to_regclass(?) IS NOT NULL AS found').get(table)!.found),
      cardNumbers: findCardNumbers(store),
    };
  }
  const integrity = store.db.pragma('integrity_check') as Array<{ integrity_check: string }>;
  const foreignKeys = store.db.pragma('foreign_key_check') as Array<{ table: string; rowid: number; parent: string }>;
  const counts = tableCounts(store);
  return {
    schemaVersion: store.db.pragma('user_version', { simple: true }) as number,
    integrity: integrity.map((r) => r.integrity_check).filter((r) => r !== 'ok'),
    drift: sqliteDrift(store.db),
    // charges.plan_id has no declared foreign key (see migration 3), so it is checked here.
    foreignKeys: [...foreignKeys.map((r) => `${r.table} row ${r.rowid} points at a missing ${r.parent}`), ...chargesWithoutPlan(store).map((c) => `charges row ${c.id} points at a missing plans (plan ${c.plan_id})`)],
    counts,
    cardNumbers: findCardNumbers(store),
  };
}

function tableCounts(store: Store, exists: (table: string) => boolean = () => true): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const table of ['clinics', 'patients', 'plans', 'steps', 'audit']) {
    if (!exists(table)) continue;
    counts[table] = store.statement<[], { n: number }>(`SELECT count(*) AS n FROM ${table}`).get()!.n;
  }
  return counts;
}

/** Every text value of every table (the audit included) through the card detector. */
export function findCardNumbers(store: Store): CardNumberLocation[] {
  const found: CardNumberLocation[] = [];
  if (store.kind === 'postgres') {
    for (const { table, columns, row, values } of postgresTextRows(store)) {
      values.forEach((value, index) => {
        if (typeof value === 'string' && textHoldsCardNumber(table, columns[index]!, value)) found.push({ table, column: columns[index]!, row });
      });
    }
    return found;
  }
  const tables = store.statement<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name").all();
  for (const { name: table } of tables) {
    const columns = (store.db.pragma(`table_info("${table.replace(/"/g, '""')}")`) as Array<{ name: string }>).map((c) => c.name);
    const quoted = columns.map((c) => `"${c.replace(/"/g, '""')}"`);
    let rows: Iterable<unknown[]>;
    try {
      rows = store.db.prepare(`SELECT rowid, ${quoted.join(', ')} FROM "${table.replace(/"/g, '""')}"`).raw().iterate() as Iterable<unknown[]>;
    } catch {
      // A WITHOUT ROWID table: its rows are named by position.
      rows = (store.db.prepare(`SELECT NULL, ${quoted.join(', ')} FROM "${table.replace(/"/g, '""')}"`).raw().all() as unknown[][]).map((r, i) => [i + 1, ...r.slice(1)]);
    }
    for (const row of rows) {
      row.slice(1).forEach((value, index) => {
        const text = typeof value === 'string' ? value : Buffer.isBuffer(value) ? value.toString('utf8') : undefined;
        if (text !== undefined && textHoldsCardNumber(table, columns[index]!, text)) found.push({ table, column: columns[index]!, row: Number(row[0]) });
      });
    }
  }
  return found;
}
