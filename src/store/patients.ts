import type { Store } from './store.js';
import type { NewPatient, Patient, PatientWithPlanCounts } from '../domain/records.js';
import { phoneDigits, searchColumnsOf, searchTerms } from '../domain/patient-search.js';

/** A patient's own columns; the search columns beside them are the store's business. */
const COLUMNS = 'id, mrn, first_name, last_name, dob, email, phone, created_at, updated_at, archived_at, merged_into';
const PATIENT_COLUMNS = COLUMNS.split(', ').map((c) => `patients.${c}`).join(', ');

export function insertPatient(store: Store, patient: NewPatient): number {
  return store
    .statement<[Record<string, unknown>], { id: number }>(
      'INSERT INTO patients (mrn, first_name, last_name, dob, email, phone, created_at, updated_at, search_text, search_phone) VALUES (@mrn, @first_name, @last_name, @dob, @email, @phone, @created_at, @updated_at, @search_text, @search_phone) RETURNING id',
    )
    .get({ ...patient, ...searchColumnsOf(patient) })!.id;
}

export function getPatient(store: Store, id: number): Patient | undefined {
  return store.statement<[number], Patient>(`SELECT ${COLUMNS} FROM patients WHERE id = ?`).get(id);
}

export function getPatientByMrn(store: Store, mrn: string): Patient | undefined {
  return store.statement<[string], Patient>(`SELECT ${COLUMNS} FROM patients WHERE mrn = ?`).get(mrn);
}

/** The patients with these ids (those that exist), in one read. */
export function getPatientsByIds(store: Store, ids: readonly number[]): Patient[] {
  if (ids.length === 0) return [];
  return store.statement<[string], Patient>(`SELECT ${COLUMNS} FROM patients WHERE id IN (${store.dialect.integersIn('?')})`).all(JSON.stringify(ids));
}

/** The patients with these MRNs (those that exist), in one read. */
export function getPatientsByMrns(store: Store, mrns: readonly string[]): Patient[] {
  if (mrns.length === 0) return [];
  return store.statement<[string], Patient>(`SELECT ${COLUMNS} FROM patients WHERE mrn IN (${store.dialect.textsIn('?')})`).all(JSON.stringify(mrns));
}

// LIKE with ESCAPE: the user's % and _ are literal characters, not wildcards. The search
// columns are folded by the store (domain/patient-search), so both engines compare the same text.
// Named parameters: better-sqlite3 rejects numbered ones (?1) with "Too many parameter values".
const SEARCH_WHERE = `(search_text LIKE @like ESCAPE '\\' OR (@digits IS NOT NULL AND search_phone LIKE @digits))`;

function byName(store: Store): string {
  return `ORDER BY ${store.dialect.caseless('last_name')}, ${store.dialect.caseless('first_name')}, id`;
}

function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** Which patients a list shows: the current ones (the default), or also the archived, or only them. Merged records never. */
export type PatientScope = 'current' | 'all' | 'archived';

function scopeWhere(scope: PatientScope): string {
  if (scope === 'all') return 'merged_into IS NULL';
  if (scope === 'archived') return 'merged_into IS NULL AND archived_at IS NOT NULL';
  return 'merged_into IS NULL AND archived_at IS NULL';
}

function searchParameters(text: string | undefined): { like: string | null; digits: string | null } {
  if (text === undefined || text.trim() === '') return { like: null, digits: null };
  const terms = searchTerms(text);
  return { like: likePattern(terms.text), digits: terms.digits === null ? null : `%${terms.digits}%` };
}

/** Current patients (never archived or merged ones) matching `text` in name, MRN, email or phone, ignoring case and accents: the pickers' search. */
export function searchPatients(store: Store, text: string | undefined, limit: number | null = store.dialect.noLimit): Patient[] {
  return store
    .statement<[Record<string, unknown>], Patient>(`SELECT ${COLUMNS} FROM patients WHERE ${scopeWhere('current')} AND (@like IS NULL OR ${SEARCH_WHERE}) ${byName(store)} LIMIT @limit`)
    .all({ ...searchParameters(text), limit });
}

/**
 * Patients for `patient list`, each with how many plans it has, in one
 * statement: the counts are correlated subqueries served by the plans_patient
 * index, so a search that matches few patients touches few plans.
 */
export function listPatientsWithPlanCounts(store: Store, text: string | undefined, scope: PatientScope = 'current'): PatientWithPlanCounts[] {
  const counts = `(SELECT count(*) FROM plans WHERE plans.patient_id = patients.id) AS plans,
    (SELECT count(*) FROM plans WHERE plans.patient_id = patients.id AND plans.status = 'active') AS active_plans`;
  return store
    .statement<[Record<string, unknown>], PatientWithPlanCounts>(`SELECT ${PATIENT_COLUMNS}, ${counts} FROM patients WHERE ${scopeWhere(scope)} AND (@like IS NULL OR ${SEARCH_WHERE}) ${byName(store)}`)
    .all(searchParameters(text));
}

/** Up to ten MRNs around `text` in sort order (five either side), read through the MRN index: the candidates for "did you mean". */
export function mrnsNear(store: Store, text: string): string[] {
  return store
    .statement<[string, string], { mrn: string }>(
      `SELECT mrn FROM (SELECT mrn FROM patients WHERE mrn >= ? ORDER BY mrn LIMIT 5) AS above
       UNION SELECT mrn FROM (SELECT mrn FROM patients WHERE mrn < ? ORDER BY mrn DESC LIMIT 5) AS below`,
    )
    .all(text, text)
    .map((r) => r.mrn);
}

export function countPatients(store: Store): number {
  return store.statement<[], { n: number }>('SELECT count(*) AS n FROM patients').get()!.n;
}


/**
 * Writes new values over a patient's fields, only if the row still holds
 * exactly what the caller read (`read`): false when someone changed it since,
 * and nothing is written.
 */
export function updatePatient(store: Store, read: Patient, next: Omit<NewPatient, 'created_at'>): boolean {
  const result = store
    .statement<[Record<string, unknown>]>(
      `UPDATE patients SET mrn = @mrn, first_name = @first_name, last_name = @last_name, dob = @dob, email = @email, phone = @phone, updated_at = @updated_at,
         search_text = @search_text, search_phone = @search_phone
       WHERE id = @id AND updated_at = @read_updated_at AND first_name = @read_first_name AND last_name = @read_last_name
         AND COALESCE(mrn, '') = @read_mrn AND COALESCE(dob, '') = @read_dob AND COALESCE(email, '') = @read_email AND COALESCE(phone, '') = @read_phone`,
    )
    .run({
      ...next,
      ...searchColumnsOf(next),
      id: read.id,
      read_updated_at: read.updated_at,
      read_first_name: read.first_name,
      read_last_name: read.last_name,
      read_mrn: read.mrn ?? '',
      read_dob: read.dob ?? '',
      read_email: read.email ?? '',
      read_phone: read.phone ?? '',
    });
  return result.changes === 1;
}

/**
 * Archives (`at`) or brings back (null) a patient as read: only if the row
 * still holds what was read and is no tombstone. False when it changed since.
 */
export function setPatientArchived(store: Store, read: Patient, at: string | null, now: string): boolean {
  return (
    store
      .statement<[Record<string, unknown>]>('UPDATE patients SET archived_at = @at, updated_at = @now WHERE id = @id AND updated_at = @read_updated_at AND merged_into IS NULL')
      .run({ at, now, id: read.id, read_updated_at: read.updated_at }).changes === 1
  );
}

/** Patients who may be the same person as a new one: same date of birth, email or phone digits. The caller decides (domain/patient-search's likelyDuplicates). */
export function duplicateCandidates(store: Store, fields: { dob: string | null; email: string | null; phone: string | null }): Patient[] {
  const email = fields.email?.trim().toLowerCase() || null;
  const phone = phoneDigits(fields.phone);
  return store
    .statement<[Record<string, unknown>], Patient>(
      `SELECT ${COLUMNS} FROM patients WHERE merged_into IS NULL
         AND ((@dob IS NOT NULL AND dob = @dob) OR (@phone IS NOT NULL AND search_phone = @phone) OR (@email IS NOT NULL AND search_text LIKE @email ESCAPE '\\'))
       ORDER BY id LIMIT 20`,
    )
    .all({ dob: fields.dob, phone, email: email === null ? null : likePattern(email) });
}

/** What a patient holds: plans, the charges of those plans, payment methods (with their processor customers) and declined starts. */
export interface PatientHoldings {
  plans: number;
  charges: number;
  payment_methods: number;
  declined_starts: number;
}

export function patientHoldings(store: Store, id: number): PatientHoldings {
  return store
    .statement<[Record<string, unknown>], PatientHoldings>(
      `SELECT (SELECT count(*) FROM plans WHERE patient_id = @id) AS plans,
              (SELECT count(*) FROM charges WHERE plan_id IN (SELECT id FROM plans WHERE patient_id = @id)) AS charges,
              (SELECT count(*) FROM payment_methods WHERE patient_id = @id) AS payment_methods,
              (SELECT count(*) FROM declined_starts WHERE patient_id = @id) AS declined_starts`,
    )
    .get({ id })!;
}

/** A patient's plans that are not over (prescribed, active, paused, past due): what a merge compares and an archive warns about. */
export function openPlansOf(store: Store, patientId: number): Array<{ id: number; template_id: string; status: string; version: number }> {
  return store
    .statement<[number], { id: number; template_id: string; status: string; version: number }>(
      "SELECT id, template_id, status, version FROM plans WHERE patient_id = ? AND status IN ('prescribed', 'active', 'paused', 'past_due') ORDER BY id",
    )
    .all(patientId);
}

/** Ids and versions of every plan of a patient, as read before a merge moves them. */
export function planVersionsOf(store: Store, patientId: number): Array<{ id: number; version: number }> {
  return store.statement<[number], { id: number; version: number }>('SELECT id, version FROM plans WHERE patient_id = ? ORDER BY id').all(patientId);
}

export interface MergeMoved {
  plans: number;
  charges: number;
  payment_methods: number;
  /** Payment methods the kept patient already had (the same processor token): the duplicate's copy is dropped and its plans pay with the kept one. */
  payment_methods_joined: number;
  declined_starts: number;
  /** Earlier tombstones that pointed at the duplicate and now point at the kept patient. */
  tombstones: number;
}

/**
 * Moves everything of `duplicate` to `keep` and leaves `duplicate` a
 * tombstone pointing at it. Call inside one transaction, with both patients
 * and the duplicate's plans (`plans`) as read: returns undefined, having
 * written nothing the caller's transaction keeps, when any of them changed
 * since (the caller throws to roll back).
 */
export function mergePatientRows(store: Store, keep: Patient, duplicate: Patient, plans: ReadonlyArray<{ id: number; version: number }>, at: string): MergeMoved | undefined {
  const touch = (p: Patient, extra: string) =>
    store.statement<[Record<string, unknown>]>(`UPDATE patients SET updated_at = @at${extra} WHERE id = @id AND updated_at = @read_updated_at AND merged_into IS NULL`).run({ at, id: p.id, read_updated_at: p.updated_at, keep: keep.id }).changes === 1;
  if (!touch(keep, '') || !touch(duplicate, ', merged_into = @keep')) return undefined;
  const ids = JSON.stringify(plans.map((p) => p.id));
  const current = planVersionsOf(store, duplicate.id);
  if (current.length !== plans.length || current.some((p, i) => p.id !== plans[i]!.id || p.version !== plans[i]!.version)) return undefined;
  const charges = store.statement<[string], { n: number }>(`SELECT count(*) AS n FROM charges WHERE plan_id IN (${store.dialect.integersIn('?')})`).get(ids)!.n;
  const params = { keep: keep.id, dup: duplicate.id, at };
  // A card saved for both (the same processor token): the duplicate's plans pay with the kept patient's copy.
  store
    .statement<[Record<string, unknown>]>(
      `UPDATE plans SET payment_method_id = (SELECT k.id FROM payment_methods k JOIN payment_methods d ON d.token = k.token WHERE d.id = plans.payment_method_id AND k.patient_id = @keep),
         version = version + 1, updated_at = @at
       WHERE patient_id = @dup AND payment_method_id IN (SELECT d.id FROM payment_methods d WHERE d.patient_id = @dup AND d.token IN (SELECT token FROM payment_methods WHERE patient_id = @keep))`,
    )
    .run(params);
  const dropped = store.statement<[Record<string, unknown>]>('DELETE FROM payment_methods WHERE patient_id = @dup AND token IN (SELECT token FROM payment_methods WHERE patient_id = @keep)').run(params).changes;
  const methods = store.statement<[Record<string, unknown>]>('UPDATE payment_methods SET patient_id = @keep WHERE patient_id = @dup').run(params).changes;
  const moved = store.statement<[Record<string, unknown>]>('UPDATE plans SET patient_id = @keep, version = version + 1, updated_at = @at WHERE patient_id = @dup').run(params).changes;
  const declined = store.statement<[Record<string, unknown>]>('UPDATE declined_starts SET patient_id = @keep WHERE patient_id = @dup').run(params).changes;
  const tombstones = store.statement<[Record<string, unknown>]>('UPDATE patients SET merged_into = @keep, updated_at = @at WHERE merged_into = @dup').run(params).changes;
  return { plans: moved, charges, payment_methods: methods, payment_methods_joined: dropped, declined_starts: declined, tombstones };
}

/** Ids of the patients merged into `id` (their tombstones), whose history is part of its own. */
export function mergedInto(store: Store, id: number): number[] {
  return store.statement<[number], { id: number }>('SELECT id FROM patients WHERE merged_into = ? ORDER BY id').all(id).map((r) => r.id);
}
