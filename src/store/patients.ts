import type { Store } from './store.js';
import type { NewPatient, Patient, PatientWithPlanCounts } from '../domain/records.js';

export function insertPatient(store: Store, patient: NewPatient): number {
  const result = store
    .statement('INSERT INTO patients (mrn, first_name, last_name, dob, email, phone, created_at, updated_at) VALUES (@mrn, @first_name, @last_name, @dob, @email, @phone, @created_at, @updated_at)')
    .run(patient);
  return Number(result.lastInsertRowid);
}

export function getPatient(store: Store, id: number): Patient | undefined {
  return store.statement<[number], Patient>('SELECT * FROM patients WHERE id = ?').get(id);
}

export function getPatientByMrn(store: Store, mrn: string): Patient | undefined {
  return store.statement<[string], Patient>('SELECT * FROM patients WHERE mrn = ?').get(mrn);
}

// LIKE with ESCAPE: the user's % and _ are literal characters, not wildcards.
// Named parameters: better-sqlite3 rejects numbered ones (?1) with "Too many parameter values".
const SEARCH_WHERE = `first_name LIKE @like ESCAPE '\\' OR last_name LIKE @like ESCAPE '\\' OR (first_name || ' ' || last_name) LIKE @like ESCAPE '\\'
   OR mrn LIKE @like ESCAPE '\\' OR email LIKE @like ESCAPE '\\'`;
const BY_NAME = 'ORDER BY last_name COLLATE NOCASE, first_name COLLATE NOCASE, id';

function likePattern(text: string): string {
  return `%${text.trim().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

export function searchPatients(store: Store, text: string | undefined, limit = -1): Patient[] {
  if (text === undefined || text.trim() === '') {
    return store.statement<[number], Patient>(`SELECT * FROM patients ${BY_NAME} LIMIT ?`).all(limit);
  }
  return store.statement<[{ like: string; limit: number }], Patient>(`SELECT * FROM patients WHERE ${SEARCH_WHERE} ${BY_NAME} LIMIT @limit`).all({ like: likePattern(text), limit });
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
    return store.statement<[], PatientWithPlanCounts>(`SELECT patients.*, ${counts} FROM patients ${BY_NAME}`).all();
  }
  return store.statement<[{ like: string }], PatientWithPlanCounts>(`SELECT patients.*, ${counts} FROM patients WHERE ${SEARCH_WHERE} ${BY_NAME}`).all({ like: likePattern(text) });
}

export function countPatients(store: Store): number {
  return store.statement<[], { n: number }>('SELECT count(*) AS n FROM patients').get()!.n;
}

