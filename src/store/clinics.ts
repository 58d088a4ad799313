import type { Store } from './store.js';
import type { Clinic } from '../domain/records.js';

export function insertClinic(store: Store, clinic: Clinic): void {
  store
    .statement('INSERT INTO clinics (id, name, timezone, address, phone, created_at) VALUES (@id, @name, @timezone, @address, @phone, @created_at)')
    .run(clinic);
}

export function getClinic(store: Store, id: string): Clinic | undefined {
  return store.statement<[string], Clinic>('SELECT * FROM clinics WHERE id = ?').get(id);
}

export function listClinics(store: Store): Clinic[] {
  return store.statement<[], Clinic>('SELECT * FROM clinics ORDER BY id').all();
}

/** The time zone of a plan's clinic, or `fallback` when it has none (a prescribed plan). */
export function clinicZone(store: Store, clinicId: string | null, fallback: string): string {
  return (clinicId ? getClinic(store, clinicId)?.timezone : undefined) ?? fallback;
}
