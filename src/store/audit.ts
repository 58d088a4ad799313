import type { Store } from './store.js';
import { containsCardNumber } from '../domain/cards.js';
import { FailedError } from '../errors.js';
import type { AuditEntry, AuditFilter, NewAuditEntry } from '../domain/records.js';
import { mergedInto } from './patients.js';

/**
 * Appends one entry; call it inside the transaction that makes the change.
 * The audit is append-only, so it is the last line of defence: an entry that
 * holds a card number anywhere is refused, and the change with it.
 */
export function recordAudit(store: Store, entry: NewAuditEntry): void {
  // `at` comes from the clock, never from anyone's typing (and its 17 digits would only cost time).
  // Every other field is checked, one by one (a billing run writes two entries per charge).
  if (holdsCardNumber(entry.actor) || holdsCardNumber(entry.action) || holdsCardNumber(entry.entity) || holdsCardNumber(entry.entityId) || holdsCardNumber(entry.before) || holdsCardNumber(entry.after)) {
    throw new FailedError(`A value of this ${entry.entity} change looks like a card number, which txplan never stores; nothing was saved. Remove the number and try again`, 'card_number');
  }
  store.append('INSERT INTO audit (at, actor, action, entity, entity_id, before, after) VALUES (?, ?, ?, ?, ?, ?, ?)', entry.at, entry.actor, entry.action, entry.entity, String(entry.entityId), json(entry.before), json(entry.after));
}

/**
 * Values txplan or the processor makes, never typed by anyone: content hashes,
 * git commits, photo digests and processor charge ids. Hex digests hold long
 * digit runs by chance (about one SHA-256 in 200 holds a run that passes the
 * card check), so they are not read as text a person wrote.
 */
export const GENERATED_FIELDS: ReadonlySet<string> = new Set(['template_hash', 'template_commit', 'sha256', 'photos', 'gateway_charge_id', 'gateway_refund_id']);

/** Whether a value (an audit entry, or one of its parts) holds a card number outside the generated fields. */
export function holdsCardNumber(value: unknown): boolean {
  if (typeof value === 'string') return containsCardNumber(value);
  if (value === null || typeof value !== 'object') return false;
  if (Array.isArray(value)) {
    for (const item of value) if (holdsCardNumber(item)) return true;
    return false;
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (containsCardNumber(key) || (!GENERATED_FIELDS.has(key) && holdsCardNumber(record[key]))) return true;
  }
  return false;
}

function json(value: unknown): string | null {
  return value === undefined ? null : JSON.stringify(value);
}

/** An audit entry as stored: before and after as JSON text. */
type AuditRow = Omit<AuditEntry, 'before' | 'after'> & { before: string | null; after: string | null };

/**
 * The entries that match, oldest first (in the order they were written: by
 * id, which no two entries share); with a limit, the newest `limit` of them
 * (still oldest first). A patient's entries include those of the
 * patients merged into it: a merge never rewrites the append-only log, so
 * the tombstones' ids are looked up here instead.
 */
export function listAudit(store: Store, filter: AuditFilter): AuditEntry[] {
  const ids = filter.id === undefined ? null : filter.entity === 'patient' && /^\d+$/.test(filter.id) ? [filter.id, ...mergedInto(store, Number(filter.id)).map(String)] : [filter.id];
  const newest = store
    .statement<[Record<string, unknown>], AuditRow>(
      `SELECT id, at, actor, action, entity, entity_id, before, after FROM audit
       WHERE (@entity IS NULL OR entity = @entity) AND (@ids IS NULL OR entity_id IN (${store.dialect.textsIn('@ids')})) AND (@since IS NULL OR at >= @since) AND (@before IS NULL OR at < @before)
       ORDER BY id DESC LIMIT @limit`,
    )
    .all({ entity: filter.entity ?? null, ids: ids === null ? null : JSON.stringify(ids), since: filter.since ?? null, before: filter.before ?? null, limit: filter.limit ?? store.dialect.noLimit });
  return newest.reverse().map((row) => ({ ...row, before: row.before === null ? null : JSON.parse(row.before), after: row.after === null ? null : JSON.parse(row.after) }));
}

/** The latest entry about one entity: who last changed it, how and when. */
export function latestAudit(store: Store, entity: string, id: string | number): AuditEntry | undefined {
  const row = store
    .statement<[string, string], AuditRow>('SELECT id, at, actor, action, entity, entity_id, before, after FROM audit WHERE entity = ? AND entity_id = ? ORDER BY id DESC LIMIT 1')
    .get(entity, String(id));
  return row && { ...row, before: row.before === null ? null : JSON.parse(row.before), after: row.after === null ? null : JSON.parse(row.after) };
}
