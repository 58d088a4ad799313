import type { Migration } from './index.js';

/**
 * What a visit actually delivered, beside what was planned: `steps.performed`
 * is the JSON list of catalog service ids recorded when the step was marked
 * done (NULL while pending or skipped). Steps done before this migration
 * delivered their planned services, so they get those. `charges.note` says
 * why a charge differs from the plan's prices (a service charged at the
 * catalog's price because the plan did not include it).
 */
export const migration: Migration = {
  version: 8,
  name: 'services performed at a visit',
  up: (db) => {
    db.exec(`
      ALTER TABLE steps ADD COLUMN performed TEXT;
      UPDATE steps SET performed = services WHERE status = 'done';
      ALTER TABLE charges ADD COLUMN note TEXT;
    `);
  },
};
