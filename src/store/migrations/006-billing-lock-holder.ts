import type { Migration } from './index.js';

/**
 * The billing lock names its holder beyond a pid: the host, the boot and the
 * process's start time, so a pid reused after a killed run (or after a
 * reboot) is told apart from the run that took the lock. Rows written before
 * this migration have none of them and are judged by their pid alone.
 */
export const migration: Migration = {
  version: 6,
  name: 'billing lock holder identity',
  up: (db) => {
    db.exec(`
      ALTER TABLE billing_lock ADD COLUMN host TEXT;
      ALTER TABLE billing_lock ADD COLUMN boot_id TEXT;
      -- Field 22 of /proc/<pid>/stat: clock ticks after boot at which the holder started.
      ALTER TABLE billing_lock ADD COLUMN start_ticks INTEGER;
    `);
  },
};
