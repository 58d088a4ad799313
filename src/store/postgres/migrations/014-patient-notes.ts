import type { PostgresMigration } from './index.js';

/** SQLite's migration 014: a visit's note for the patient, apart from the internal note kept for the chart. */
export const migration: PostgresMigration = {
  version: 14,
  name: 'patient notes of steps',
  sql: `ALTER TABLE steps ADD COLUMN patient_note text COLLATE "C";`,
};
