import type { Store } from '../../../store/store.js';
import { getPatient, insertPatient, updatePatient } from '../../../store/patients.js';
import { FailedError } from '../../../errors.js';
import { recordAudit } from '../../../store/audit.js';
import type { PatientFields } from '../../../domain/patient.js';
import type { Patient } from '../../../domain/records.js';

/**
 * Writes one patient and its audit entry. Call it inside the transaction
 * that checked the MRN is free, so the check and the write are one step.
 */
export function savePatient(store: Store, fields: PatientFields, audit: { at: string; actor: string; action: 'patient.add' | 'patient.import' }): Patient {
  const id = insertPatient(store, { ...fields, created_at: audit.at, updated_at: audit.at });
  const patient = getPatient(store, id)!;
  recordAudit(store, { at: audit.at, actor: audit.actor, action: audit.action, entity: 'patient', entityId: id, after: patient });
  return patient;
}

/**
 * Writes changed fields of a patient as read (`read`) and one audit entry
 * holding the fields before and after; call it inside the transaction that
 * checked the new MRN is free. Refused (FailedError, exit 1) when the patient
 * changed since it was read: the caller reads again and decides.
 * Returns the patient as written (unchanged fields leave no entry).
 */
export function changePatient(store: Store, read: Patient, fields: Partial<PatientFields>, audit: { at: string; actor: string; action: string }): { patient: Patient; changed: (keyof PatientFields)[] } {
  const changed = (Object.keys(fields) as (keyof PatientFields)[]).filter((k) => fields[k] !== undefined && fields[k] !== read[k]);
  if (changed.length === 0) return { patient: read, changed };
  const next = { mrn: read.mrn, first_name: read.first_name, last_name: read.last_name, dob: read.dob, email: read.email, phone: read.phone, ...Object.fromEntries(changed.map((k) => [k, fields[k]])), updated_at: audit.at };
  if (!updatePatient(store, read, next)) throw new FailedError(`patient ${read.id} changed since you opened it; nothing was saved — run the command again to see the current record`, 'patient_changed');
  const patient = getPatient(store, read.id)!;
  const before = Object.fromEntries(changed.map((k) => [k, read[k]]));
  const after = Object.fromEntries(changed.map((k) => [k, patient[k]]));
  recordAudit(store, { at: audit.at, actor: audit.actor, action: audit.action, entity: 'patient', entityId: read.id, before, after });
  return { patient, changed };
}

/** The sentence for an MRN that is taken; names the owner, never their name. */
export function mrnTakenMessage(mrn: string, ownerId: number): string {
  return `MRN ${mrn} already belongs to patient ${ownerId}; use another MRN, or "txplan patient show ${ownerId}" to see that patient`;
}
