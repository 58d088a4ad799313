import type { PostgresMigration } from './index.js';
import { FOLDED_LETTERS } from '../../../domain/patient-search.js';

// The blocks of combining marks (PostgreSQL's regular expressions have no \p{M}).
const MARKS = '[\\u0300-\\u036f\\u1ab0-\\u1aff\\u1dc0-\\u1dff\\u20d0-\\u20ff\\ufe20-\\ufe2f]';

/** SQL that folds `expression` as domain/patient-search's foldText does: accents off, the letters Unicode leaves whole spelled out, lower case, one space between words. */
function folded(expression: string): string {
  const spelled = FOLDED_LETTERS.reduce((inner, [from, to]) => `replace(${inner}, '${from}', '${to}')`, `regexp_replace(normalize(${expression}, NFD), '${MARKS}', '', 'g')`);
  return `btrim(regexp_replace(lower(${spelled}), '\\s+', ' ', 'g'))`;
}

/**
 * SQLite's migration 013: archived patients, merged patients (a tombstone
 * pointing at the record kept), and the folded search text and phone digits
 * the store writes with every patient; the rows already there are folded here.
 */
export const migration: PostgresMigration = {
  version: 13,
  name: 'patient archive, merge and search columns',
  sql: `
    ALTER TABLE patients ADD COLUMN archived_at text COLLATE "C";
    ALTER TABLE patients ADD COLUMN merged_into bigint REFERENCES patients (id);
    ALTER TABLE patients ADD COLUMN search_text text COLLATE "C" NOT NULL DEFAULT '';
    ALTER TABLE patients ADD COLUMN search_phone text COLLATE "C";
    CREATE INDEX patients_merged_into ON patients (merged_into) WHERE merged_into IS NOT NULL;
    CREATE INDEX patients_search_phone ON patients (search_phone) WHERE search_phone IS NOT NULL;
    UPDATE patients SET
      search_text = ${folded(`first_name || ' ' || last_name || ' ' || COALESCE(mrn, '') || ' ' || COALESCE(email, '')`)},
      search_phone = NULLIF(regexp_replace(COALESCE(phone, ''), '\\D', '', 'g'), '');
  `,
};
