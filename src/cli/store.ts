import { simulatedClockWarning, type Context } from './context.js';
import { resolveWorkspace } from './workspace.js';
import { databaseError, openDatabase } from '../store/database.js';
import { billingLock } from '../billing/lock.js';
import { Store } from '../store/store.js';
import { checkHighWater, highWaterFile, recordIssued } from '../store/high-water.js';
import type { Workspace } from '../registry/workspace.js';
import { settingsDatabase } from '../registry/settings.js';
import { databaseLocation, type DatabaseLocation } from '../store/location.js';
import { getPatient, getPatientByMrn, mrnsNear } from '../store/patients.js';
import { getPlan } from '../store/plans.js';
import { FailedError, NotFoundError, UsageError } from '../errors.js';
import { closest } from '../domain/text.js';
import type { Patient, PlanRow } from '../domain/records.js';

/** SPEC §2: --db, else TXPLAN_DB, else database: in txplan.yaml, else .txplan/txplan.db in the workspace. */
export function databaseLocationOf(ctx: Context, workspace: () => Workspace): DatabaseLocation {
  return databaseLocation({
    flag: ctx.options.db,
    env: { ...ctx.env.variables?.(), db: ctx.env.db },
    cwd: ctx.cwd,
    workspace: () => {
      const found = workspace();
      return { root: found.root, settingsDatabase: settingsDatabase(found) };
    },
  });
}

/** The SQLite database file of this command. */
export function databasePath(ctx: Context, workspace: () => Workspace): string {
  const location = databaseLocationOf(ctx, workspace);
  if (location.engine === 'postgres') throw new FailedError('PostgreSQL support is not wired yet');
  return location.path;
}

/**
/**
 * Opens the patient database for a command; the caller closes it. A write
 * that finds the database busy says so on stderr and waits (TXPLAN_DB_WAIT).
 * A database behind its high-water mark (an older copy put back) has its ids
 * moved past the mark and billing held until reconciled.
 */
export function openStore(ctx: Context): Store {
  const path = databasePath(ctx, () => resolveWorkspace(ctx));
  const seconds = ctx.env.dbWaitSeconds ?? 60;
  const db = openDatabase(path, { busyTimeoutMs: seconds * 1000 });
  const store: Store = new Store(db, {
    seconds,
    holder: () => {
      try {
        const lock = billingLock(store);
        return lock && lock.state !== 'stale' ? `(a billing run, process ${lock.pid}, holds the billing lock)` : '';
      } catch {
        return '';
      }
    },
    notify: (line) => ctx.err(`txplan: ${line}`),
    beforeFirstWrite: ctx.simulatedNow ? () => ctx.err(`txplan: ${simulatedClockWarning(ctx.simulatedNow!)}`) : undefined,
  });
  try {
    if (!db.readonly) checkHighWater(store, highWaterFile(path), ctx.now().toISOString(), ctx.actor);
  } catch (error) {
    store.close();
    throw databaseError(error, path) ?? error;
  }
  return store;
}

/**
 * Runs `work` with an open store and always closes it, recording the ids it
 * issued in the high-water mark; a database failure becomes its one sentence.
 */
export async function withStore<T>(ctx: Context, work: (store: Store) => Promise<T> | T): Promise<T> {
  const store = openStore(ctx);
  try {
    const result = await work(store);
    markIssued(ctx, store);
    return result;
  } catch (error) {
    try {
      markIssued(ctx, store);
    } catch {
      // the command's own error is the one to report
    }
    throw databaseError(error, databasePath(ctx, () => resolveWorkspace(ctx))) ?? error;
  } finally {
    store.close();
  }
}

/**
 * Plans made without a charge still raise the mark. Charging raised it already
 * before the processor was called; here a folder that cannot be written (a
 * read-only workspace, a full disk) does not fail a command that issued
 * nothing new — the next command that can write raises it.
 */
function markIssued(ctx: Context, store: Store): void {
  // A read-only database (or its in-memory copy) issued nothing.
  if (store.db.readonly) return;
  try {
    recordIssued(store, highWaterFile(store.db.name), ctx.now().toISOString());
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EACCES' && code !== 'EROFS' && code !== 'EPERM' && code !== 'ENOSPC') throw error;
  }
}

/**
 * `<patient>` is the numeric id or the MRN (SPEC §4); `mrn:X` forces the MRN.
 * A miss names close MRNs, found through the MRN index, not a scan.
 */
export function findPatient(store: Store, ref: string): Patient {
  const text = ref.trim();
  if (text.startsWith('mrn:')) return byMrn(store, text.slice(4));
  if (/^\d+$/.test(text)) {
    const byId = getPatient(store, Number(text));
    const sameMrn = getPatientByMrn(store, text);
    if (byId && sameMrn && sameMrn.id !== byId.id) {
      throw new UsageError(`"${text}" is both patient ${byId.id} and the MRN of patient ${sameMrn.id}; write "mrn:${text}" for the MRN`);
    }
    const found = byId ?? sameMrn;
    if (found) return found;
    throw new NotFoundError(`No patient with id or MRN "${text}"${hint(store, text)}`);
  }
  return byMrn(store, text);
}

function byMrn(store: Store, mrn: string): Patient {
  const found = getPatientByMrn(store, mrn);
  if (found) return found;
  throw new NotFoundError(`No patient with MRN "${mrn}"${hint(store, mrn)}`);
}

function hint(store: Store, text: string): string {
  const near = mrnsNear(store, text);
  const guess = closest(text, near);
  return guess ? `; did you mean MRN "${guess}"? ("txplan patient list --search TEXT" finds patients by name)` : '; "txplan patient list --search TEXT" finds patients by name or MRN';
}

/** `<plan>` is the numeric plan id. */
export function findPlan(store: Store, ref: string): PlanRow {
  if (!/^\d+$/.test(ref.trim())) throw new UsageError(`"${ref}" is not a plan id; plans are numbered (see "txplan plan list")`);
  const plan = getPlan(store, Number(ref));
  if (!plan) throw new NotFoundError(`No plan ${ref}; "txplan plan list --patient P" lists a patient's plans`);
  return plan;
}

