import type { Migration } from './index.js';
import { searchColumnsOf } from '../../domain/patient-search.js';

/**
 * Patient records the front desk can correct: a patient may be archived
 * (kept, but hidden from lists and never billed) or merged into another
 * (a tombstone that points at the record kept), and each row carries its
 * search text folded without case or accents, and its phone's digits, which
 * the store keeps up to date on every write. Rows already there are folded here.
 */
export const migration: Migration = {
  version: 13,
  name: 'patient archive, merge and search columns',
  up: (db) => {
    db.exec(`
      ALTER TABLE patients ADD COLUMN archived_at TEXT;
      ALTER TABLE patients ADD COLUMN merged_into INTEGER REFERENCES patients (id);
      ALTER TABLE patients ADD COLUMN search_text TEXT NOT NULL DEFAULT '';
      ALTER TABLE patients ADD COLUMN search_phone TEXT;
      CREATE INDEX patients_merged_into ON patients (merged_into) WHERE merged_into IS NOT NULL;
      CREATE INDEX patients_search_phone ON patients (search_phone) WHERE search_phone IS NOT NULL;
    `);
    const rows = db.prepare('SELECT id, first_name, last_name, mrn, email, phone FROM patients').all() as Array<{ id: number; first_name: string; last_name: string; mrn: string | null; email: string | null; phone: string | null }>;
    const write = db.prepare('UPDATE patients SET search_text = @search_text, search_phone = @search_phone WHERE id = @id');
    for (const row of rows) write.run({ id: row.id, ...searchColumnsOf(row) });
  },
};
