import type { Store } from './store.js';

export interface DatabaseHealth {
  schemaVersion: number;
  integrity: string[];
  foreignKeys: string[];
  counts: Record<string, number>;
}

export function databaseHealth(store: Store): DatabaseHealth {
  const integrity = store.db.pragma('integrity_check') as Array<{ integrity_check: string }>;
  const foreignKeys = store.db.pragma('foreign_key_check') as Array<{ table: string; rowid: number; parent: string }>;
  const counts: Record<string, number> = {};
  for (const table of ['clinics', 'patients', 'plans', 'steps', 'audit']) {
    counts[table] = store.statement<[], { n: number }>(`SELECT count(*) AS n FROM ${table}`).get()!.n;
  }
  return {
    schemaVersion: store.db.pragma('user_version', { simple: true }) as number,
    integrity: integrity.map((r) => r.integrity_check).filter((r) => r !== 'ok'),
    foreignKeys: foreignKeys.map((r) => `${r.table} row ${r.rowid} points at a missing ${r.parent}`),
    counts,
  };
}
