import type { Migration } from './index.js';

/**
 * A clinic's own currency (ISO 4217) and locale (BCP 47) for the plans sold
 * and the money shown there, and when it was archived. NULL currency or
 * locale means the workspace's default; NULL archived_at means in use.
 */
export const migration: Migration = {
  version: 15,
  name: 'clinic currency, locale and archive',
  up: (db) => {
    db.exec(`
      ALTER TABLE clinics ADD COLUMN currency TEXT;
      ALTER TABLE clinics ADD COLUMN locale TEXT;
      ALTER TABLE clinics ADD COLUMN archived_at TEXT;
    `);
  },
};
