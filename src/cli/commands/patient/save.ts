import type { Store } from '../../../store/store.js';
import { getPatient, insertPatient } from '../../../store/patients.js';
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

/** The sentence for an MRN that is taken; names the owner, never their name. */
export function mrnTakenMessage(mrn: string, ownerId: number): string {
  return `MRN ${mrn} already belongs to patient ${ownerId}; use another MRN, or "txplan patient show ${ownerId}" to see that patient`;
}
