import { readFileSync, renameSync } from 'node:fs';
import { writeBeside } from '../files.js';
import { dirname, join } from 'node:path';
import { recordAudit } from './audit.js';
import { billingHold, databaseMarks, raiseSequences, setBillingHold } from './database-info.js';
import type { Store } from './store.js';
import { SEQUENCED, type Sequences } from '../domain/records.js';

/**
 * The high-water mark: for each database id, the highest plan, charge and refund ids
 * ever issued. It lives in a small file beside the database, outside the
 * database file, so restoring an older copy of the database cannot lower it.
 */
interface HighWaterFile {
  version: 1;
  databases: Record<string, Sequences & { updated_at: string }>;
}

export function highWaterFile(databasePath: string): string {
  return join(dirname(databasePath), 'high-water.json');
}

function read(file: string): HighWaterFile {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as HighWaterFile;
    if (parsed && typeof parsed === 'object' && parsed.databases && typeof parsed.databases === 'object') return parsed;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT' && !(error instanceof SyntaxError)) throw error;
  }
  return { version: 1, databases: {} };
}

export function readHighWater(file: string, id: string): Sequences {
  const entry = read(file).databases[id];
  return { plans: entry?.plans ?? 0, charges: entry?.charges ?? 0, refunds: entry?.refunds ?? 0 };
}

/** Raises the mark for `id` to at least `marks`; written beside, synced, then renamed, and only when it grows. */
export function raiseHighWater(file: string, id: string, marks: Sequences, at: string): void {
  const current = read(file);
  const entry = current.databases[id];
  if (entry && SEQUENCED.every((name) => (entry[name] ?? 0) >= marks[name])) return;
  const next: HighWaterFile = {
    version: 1,
    databases: { ...current.databases, [id]: { plans: Math.max(entry?.plans ?? 0, marks.plans), charges: Math.max(entry?.charges ?? 0, marks.charges), refunds: Math.max(entry?.refunds ?? 0, marks.refunds), updated_at: at } },
  };
  const temporary = writeBeside(file, `${JSON.stringify(next, null, 2)}\n`, { sync: true });
  renameSync(temporary, file);
}

/** Records the store's current ids as issued: before a charge goes to the processor, and when a command ends. */
export function recordIssued(store: Store, file: string, at: string): void {
  const { id, sequences } = databaseMarks(store, { asOpened: true });
  raiseHighWater(file, id, sequences, at);
}

/**
 * Run when a database is opened: a database behind its high-water mark is an
 * older copy (a restore). Its counters are moved past the mark, so no new plan
 * or charge reuses an id the processor may have seen, and billing is held
 * until `billing reconcile` has shown the operator what the processor holds.
 */
export function checkHighWater(store: Store, file: string, at: string, actor: string): boolean {
  const { id, sequences: opened } = databaseMarks(store, { asOpened: true });
  const seen = readHighWater(file, id);
  if (SEQUENCED.every((name) => opened[name] >= seen[name])) return false;
  // Marks read before the file may predate ids another process issued and recorded since: only counters
  // read after the file, and still behind it, mean an older copy of the database.
  const found = databaseMarks(store).sequences;
  if (SEQUENCED.every((name) => found[name] >= seen[name])) return false;
  store.transaction(() => {
    raiseSequences(store, seen);
    if (!billingHold(store)) setBillingHold(store, { at, seen, found });
    recordAudit(store, { at, actor, action: 'database.behind', entity: 'database', entityId: id, before: found, after: seen });
  });
  return true;
}
