import { simulatedClockWarning, type Context } from './context.js';
import { resolveWorkspace } from './workspace.js';
import { billingLock } from '../billing/lock.js';
import { Store } from '../store/store.js';
import { postgresProblem } from '../store/postgres/errors.js';
import { checkHighWater, highWaterFile, recordIssued } from '../store/high-water.js';
import { join } from 'node:path';
import { makeFolder } from '../files.js';
import { DATA_DIR, type Workspace } from '../registry/workspace.js';
import { settingsDatabase } from '../registry/settings.js';
import { databaseLocation, type DatabaseLocation } from '../store/location.js';
import { getPatient, getPatientByMrn, getPatientsByIds, getPatientsByMrns, mrnsNear } from '../store/patients.js';
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

/** The SQLite database file of this command; a command that works only on a file says so for a PostgreSQL database. */
export function databasePath(ctx: Context, workspace: () => Workspace, what = 'This command'): string {
  const location = databaseLocationOf(ctx, workspace);
  if (location.engine === 'postgres') throw new FailedError(`${what} works on a SQLite database file, and ${location.display} is a PostgreSQL database; use PostgreSQL's own tools (pg_dump, pg_restore) there`, 'not_sqlite');
  return location.path;
}

/**
 * The high-water mark's file: beside a SQLite database, and in the
 * workspace's .txplan folder for a PostgreSQL one (the machine that bills
 * keeps the mark of what it sent); none outside a workspace.
 */
function highWaterPlace(ctx: Context, location: DatabaseLocation): string | undefined {
  if (location.engine === 'sqlite') return highWaterFile(location.path);
  let folder: string;
  try {
    folder = join(resolveWorkspace(ctx).root, DATA_DIR);
  } catch {
    return undefined;
  }
  makeFolder(folder, 0o700);
  return join(folder, 'high-water.json');
}

/**
 * Opens the patient database for a command; the caller closes it. A write
 * that finds the database busy says so on stderr and waits (TXPLAN_DB_WAIT).
 * A database behind its high-water mark (an older copy put back) has its ids
 * moved past the mark and billing held until reconciled. `readonly` opens it
 * only to read: nothing is migrated or written (a database behind the
 * migrations is then refused with the one sentence that says so).
 */
export async function openStore(ctx: Context, options: { readonly?: boolean } = {}): Promise<Store> {
  const location = databaseLocationOf(ctx, () => resolveWorkspace(ctx));
  const seconds = ctx.env.dbWaitSeconds ?? 60;
  // Each engine's modules are loaded only when a database of that engine is opened.
  const engine =
    location.engine === 'sqlite'
      ? (await import('../store/database.js')).openDatabase(location.path, { busyTimeoutMs: seconds * 1000, ...(options.readonly ? { readonly: true } : {}) })
      : (await import('../store/postgres/open.js')).openPostgres({ url: location.url, display: location.display, now: ctx.now().toISOString(), ...(options.readonly ? { readonly: true } : {}) });
  const store: Store = new Store(engine, {
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
  issuedMarks.set(store, highWaterPlace(ctx, location));
  try {
    const mark = issuedMarks.get(store);
    if (!store.readonly && mark) checkHighWater(store, mark, ctx.now().toISOString(), ctx.actor);
  } catch (error) {
    store.close();
    throw (await storeProblem(error, location)) ?? error;
  }
  return store;
}

/** Where each open store records the ids it issued (undefined: nowhere). */
const issuedMarks = new WeakMap<Store, string | undefined>();

/** The high-water file of an open store, for the charging path (undefined: none). */
export function highWaterOf(store: Store): string | undefined {
  return issuedMarks.get(store);
}

/** The one sentence for a database failure on either engine, or undefined. */
async function storeProblem(error: unknown, location: DatabaseLocation) {
  return location.engine === 'sqlite' ? (await import('../store/database.js')).databaseError(error, location.path) : postgresProblem(error, location.display);
}

/**
 * Runs `work` with an open store and always closes it, recording the ids it
 * issued in the high-water mark; a database failure becomes its one sentence.
 */
export async function withStore<T>(ctx: Context, work: (store: Store) => Promise<T> | T): Promise<T> {
  const store = await openStore(ctx);
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
    throw (await storeProblem(error, databaseLocationOf(ctx, () => resolveWorkspace(ctx)))) ?? error;
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
  const mark = issuedMarks.get(store);
  if (store.readonly || !mark) return;
  try {
    recordIssued(store, mark, ctx.now().toISOString());
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EACCES' && code !== 'EROFS' && code !== 'EPERM' && code !== 'ENOSPC' && code !== 'ENOENT') throw error;
  }
}

/**
 * `<patient>` is the numeric id or the MRN (SPEC §4); `mrn:X` forces the MRN.
 * A miss names close MRNs, found through the MRN index, not a scan.
 */
export function findPatient(store: Store, ref: string, known?: KnownPatients): Patient {
  return resolvePatient(store, ref, known).patient;
}

/**
 * The patient `ref` names; a merged record (a tombstone) resolves to the
 * patient it was merged into, and `merged` is then the tombstone as found,
 * for a note ("patient 7 was merged into patient 3").
 */
export function resolvePatient(store: Store, ref: string, known?: KnownPatients): { patient: Patient; merged?: Patient } {
  const found = lookUpPatient(store, ref, known);
  if (found.merged_into === null) return { patient: found };
  const kept = getPatient(store, found.merged_into);
  if (!kept) throw new NotFoundError(`Patient ${found.id} was merged into patient ${found.merged_into}, which is missing; run "txplan db check"`);
  return { patient: kept, merged: found };
}

/** An archived patient is given no plan and never billed: refused (exit 1) with how to bring the patient back. */
export function assertNotArchived(patient: Patient): void {
  if (patient.archived_at !== null) throw new FailedError(`Patient ${patient.id} is archived; unarchive them first ("txplan patient unarchive ${patient.id}")`, 'patient_archived');
}

/**
 * A charge for a plan whose patient is archived is refused before anything is
 * written (archived patients are never billed): `charging` says what would be
 * charged, `instead` another way out besides unarchiving.
 */
export function assertPatientBillable(store: Store, plan: PlanRow, charging: string, instead = ''): void {
  const patient = getPatient(store, plan.patient_id);
  if (patient && patient.archived_at !== null) {
    throw new FailedError(`Patient ${patient.id} is archived and never billed, so ${charging} cannot be charged; unarchive them first ("txplan patient unarchive ${patient.id}")${instead}`, 'patient_archived');
  }
}

/** The record `ref` names as stored, a tombstone included. */
export function lookUpPatient(store: Store, ref: string, known?: KnownPatients): Patient {
  const text = ref.trim();
  const lookUp = known ? { id: (id: number) => known.byId.get(id), mrn: (mrn: string) => known.byMrn.get(mrn) } : { id: (id: number) => getPatient(store, id), mrn: (mrn: string) => getPatientByMrn(store, mrn) };
  if (text.startsWith('mrn:')) return byMrn(store, text.slice(4), lookUp.mrn);
  if (/^\d+$/.test(text)) {
    const byId = lookUp.id(Number(text));
    const sameMrn = lookUp.mrn(text);
    if (byId && sameMrn && sameMrn.id !== byId.id) {
      throw new UsageError(`"${text}" is both patient ${byId.id} and the MRN of patient ${sameMrn.id}; write "mrn:${text}" for the MRN`);
    }
    const found = byId ?? sameMrn;
    if (found) return found;
    throw new NotFoundError(`No patient with id or MRN "${text}"${hint(store, text)}`);
  }
  return byMrn(store, text, lookUp.mrn);
}

/** Patients read ahead for many references at once (a patients file): two queries, not two per line. */
export interface KnownPatients {
  byId: Map<number, Patient>;
  byMrn: Map<string, Patient>;
}

export function knownPatients(store: Store, refs: readonly string[]): KnownPatients {
  const texts = refs.map((ref) => ref.trim());
  const mrns = texts.map((t) => (t.startsWith('mrn:') ? t.slice(4) : t));
  const ids = texts.filter((t) => /^\d+$/.test(t)).map(Number);
  return {
    byId: new Map(getPatientsByIds(store, ids).map((p) => [p.id, p])),
    byMrn: new Map(getPatientsByMrns(store, mrns).map((p) => [p.mrn!, p])),
  };
}

function byMrn(store: Store, mrn: string, lookUp: (mrn: string) => Patient | undefined): Patient {
  const found = lookUp(mrn);
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

