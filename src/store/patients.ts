import type { Store } from './store.js';

export interface Patient {
  id: number;
  mrn: string | null;
  first_name: string;
  last_name: string;
  dob: string | null;
  email: string | null;
  phone: string | null;
  created_at: string;
  updated_at: string;
}

export type NewPatient = Omit<Patient, 'id'>;

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

export function searchPatients(store: Store, text: string | undefined, limit = -1): Patient[] {
  if (text === undefined || text.trim() === '') {
    return store.statement<[number], Patient>('SELECT * FROM patients ORDER BY last_name COLLATE NOCASE, first_name COLLATE NOCASE, id LIMIT ?').all(limit);
  }
  const like = `%${text.trim().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  return store
    .statement<[string, number], Patient>(
      `SELECT * FROM patients
       WHERE first_name LIKE ?1 ESCAPE '\\' OR last_name LIKE ?1 ESCAPE '\\' OR (first_name || ' ' || last_name) LIKE ?1 ESCAPE '\\'
          OR mrn LIKE ?1 ESCAPE '\\' OR email LIKE ?1 ESCAPE '\\'
       ORDER BY last_name COLLATE NOCASE, first_name COLLATE NOCASE, id LIMIT ?2`,
    )
    .all(like, limit);
}

/** MRNs and full names, for "did you mean" suggestions after a miss. */
export function patientKeys(store: Store): Array<{ id: number; mrn: string | null; name: string }> {
  return store.statement<[], { id: number; mrn: string | null; name: string }>("SELECT id, mrn, first_name || ' ' || last_name AS name FROM patients").all();
}
