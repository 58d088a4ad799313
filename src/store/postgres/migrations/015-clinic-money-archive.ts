import type { PostgresMigration } from './index.js';

/** SQLite's migration 015: a clinic's own currency and locale (NULL: the workspace's default) and when it was archived. */
export const migration: PostgresMigration = {
  version: 15,
  name: 'clinic currency, locale and archive',
  sql: `
    ALTER TABLE clinics ADD COLUMN currency text COLLATE "C";
    ALTER TABLE clinics ADD COLUMN locale text COLLATE "C";
    ALTER TABLE clinics ADD COLUMN archived_at text COLLATE "C";
  `,
};
