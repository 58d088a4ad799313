import type { Migration } from './index.js';

/**
 * A visit's note for the patient, apart from the clinical note kept for the
 * chart (completion_note): only this one is printed on the handout. Notes
 * recorded before stay internal.
 */
export const migration: Migration = {
  version: 14,
  name: 'patient notes of steps',
  up: (db) => {
    db.exec('ALTER TABLE steps ADD COLUMN patient_note TEXT;');
  },
};
