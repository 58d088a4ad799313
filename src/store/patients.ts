import type { Store } from './store.js';
import type { NewPatient, Patient, PatientWithPlanCounts } from '../domain/records.js';

export function insertPatient(store: Store, patient: NewPatient): number {
  return store
    .statement<[NewPatient], { id: number }>('INSERT INTO patients (mrn, first_name, last_name, dob, email, phone, created_at, updated_at) VALUES (@mrn, @first_name, @last_name, @dob, @email, @phone, @created_at, @updated_at) RETURNING id')
    .get(patient)!.id;
}

export function getPatient(store: Store, id: number): Patient | undefined {
  return store.statement<[number], Patient>('SELECT * FROM patients WHERE id = ?').get(id);
}

export function getPatientByMrn(store: Store, mrn: string): Patient | undefined {
  return store.statement<[string], Patient>('SELECT * FROM patients WHERE mrn = ?').get(mrn);
}

/** The patients with these ids (those that exist), in one read. */
export function getPatientsByIds(store: Store, ids: readonly number[]): Patient[] {
  if (ids.length === 0) return [];
  return store.statement<[string], Patient>(`SELECT * FROM patients WHERE id IN (${store.dialect.integersIn('?')})`).all(JSON.stringify(ids));
}

/** The patients with these MRNs (those that exist), in one read. */
export function getPatientsByMrns(store: Store, mrns: readonly string[]): Patient[] {
  if (mrns.length === 0) return [];
  return store.statement<[string], Patient>(`SELECT * FROM patients WHERE mrn IN (${store.dialect.textsIn('?')})`).all(JSON.stringify(mrns));
}

// LIKE with ESCAPE: the user's % and _ are literal characters, not wildcards.
// Named parameters: better-sqlite3 rejects numbered ones (?1) with "Too many parameter values".
function searchWhere(store: Store): string {
  const like = store.dialect.like;
  return `first_name ${like} @like ESCAPE '\\' OR last_name ${like} @like ESCAPE '\\' OR (first_name || ' ' || last_name) ${like} @like ESCAPE '\\'
   OR mrn ${like} @like ESCAPE '\\' OR email ${like} @like ESCAPE '\\'`;
}

function byName(store: Store): string {
  return `ORDER BY ${store.dialect.caseless('last_name')}, ${store.dialect.caseless('first_name')}, id`;
}

function likePattern(text: string): string {
  return `%${text.trim().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

export function searchPatients(store: Store, text: string | undefined, limit: number | null = store.dialect.noLimit): Patient[] {
  if (text === undefined || text.trim() === '') {
    return store.statement<[number | null], Patient>(`SELECT * FROM patients ${byName(store)} LIMIT ?`).all(limit);
  }
  return store.statement<[{ like: string; limit: number | null }], Patient>(`SELECT * FROM patients WHERE ${searchWhere(store)} ${byName(store)} LIMIT @limit`).all({ like: likePattern(text), limit });
}

/**
 * Patients for `patient list`, each with how many plans it has, in one
 * statement: the counts are correlated subqueries served by the plans_patient
 * index, so a search that matches few patients touches few plans.
 */
export function listPatientsWithPlanCounts(store: Store, text: string | undefined): PatientWithPlanCounts[] {
  const counts = `(SELECT count(*) FROM plans WHERE plans.patient_id = patients.id) AS plans,
    (SELECT count(*) FROM plans WHERE plans.patient_id = patients.id AND plans.status = 'active') AS active_plans`;
  if (text === undefined || text.trim() === '') {
    return store.statement<[], PatientWithPlanCounts>(`SELECT patients.*, ${counts} FROM patients ${byName(store)}`).all();
  }
  return store.statement<[{ like: string }], PatientWithPlanCounts>(`SELECT patients.*, ${counts} FROM patients WHERE ${searchWhere(store)} ${byName(store)}`).all({ like: likePattern(text) });
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
export function updatePatient(store: Store, read: Patient, next: Omit<Patient, 'id' | 'created_at'>): boolean {
  const result = store
    .statement<[Record<string, unknown>]>(
      `UPDATE patients SET mrn = @mrn, first_name = @first_name, last_name = @last_name, dob = @dob, email = @email, phone = @phone, updated_at = @updated_at
       WHERE id = @id AND updated_at = @read_updated_at AND first_name = @read_first_name AND last_name = @read_last_name
         AND COALESCE(mrn, '') = @read_mrn AND COALESCE(dob, '') = @read_dob AND COALESCE(email, '') = @read_email AND COALESCE(phone, '') = @read_phone`,
    )
    .run({
      ...next,
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
