import type { Store } from './store.js';

export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  action: string;
  entity: string;
  entity_id: string;
  before: unknown;
  after: unknown;
}

export interface NewAuditEntry {
  at: string;
  actor: string;
  action: string;
  entity: string;
  entityId: string | number;
  before?: unknown;
  after?: unknown;
}

/** Appends one entry; call it inside the transaction that makes the change. */
export function recordAudit(store: Store, entry: NewAuditEntry): void {
  store
    .statement('INSERT INTO audit (at, actor, action, entity, entity_id, before, after) VALUES (?, ?, ?, ?, ?, ?, ?)')
    .run(entry.at, entry.actor, entry.action, entry.entity, String(entry.entityId), json(entry.before), json(entry.after));
}

function json(value: unknown): string | null {
  return value === undefined ? null : JSON.stringify(value);
}

export interface AuditFilter {
  entity?: string | undefined;
  id?: string | undefined;
  since?: string | undefined;
  limit?: number | undefined;
}

interface AuditRow {
  id: number;
  at: string;
  actor: string;
  action: string;
  entity: string;
  entity_id: string;
  before: string | null;
  after: string | null;
}

export function listAudit(store: Store, filter: AuditFilter): AuditEntry[] {
  const rows = store
    .statement<[string | null, string | null, string | null, number], AuditRow>(
      `SELECT id, at, actor, action, entity, entity_id, before, after FROM audit
       WHERE (?1 IS NULL OR entity = ?1) AND (?2 IS NULL OR entity_id = ?2) AND (?3 IS NULL OR at >= ?3)
       ORDER BY id LIMIT ?4`,
    )
    .all(filter.entity ?? null, filter.id ?? null, filter.since ?? null, filter.limit ?? -1);
  return rows.map((row) => ({ ...row, before: row.before === null ? null : JSON.parse(row.before), after: row.after === null ? null : JSON.parse(row.after) }));
}
