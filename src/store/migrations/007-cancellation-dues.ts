import type { Migration } from './index.js';

/**
 * Cancelling no longer forgives what was already due: installments due by the
 * cancellation date stay owed unless the clinic waives them (`plan cancel
 * --waive-due`), and the billing plan reads which from here. Plans cancelled
 * before this migration were cancelled under the old rule — nothing more
 * charged — so they are marked waived: upgrading never charges them.
 */
export const migration: Migration = {
  version: 7,
  name: 'dues owed at cancellation',
  up: (db) => {
    db.exec(`
      ALTER TABLE plans ADD COLUMN dues_waived INTEGER NOT NULL DEFAULT 0 CHECK (dues_waived IN (0, 1));
      UPDATE plans SET dues_waived = 1 WHERE status = 'cancelled';
    `);
  },
};
