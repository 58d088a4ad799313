import type { Migration } from './index.js';

/**
 * Row versions for plans and steps. Every write names the version it read and
 * bumps it (`… WHERE id = @id AND version = @version`), so a change made by
 * someone else in between — a cancellation while an edit sat in an editor —
 * makes the write change no row and the command refuse, instead of writing
 * over it.
 */
export const migration: Migration = {
  version: 4,
  name: 'row versions for plans and steps',
  up: (db) => {
    db.exec(`
      ALTER TABLE plans ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
      ALTER TABLE steps ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
    `);
  },
};
