import type { PostgresMigration } from './index.js';

/** SQLite's migration 012: a booked visit's revision (SEQUENCE) and the time of its last change (LAST-MODIFIED), for calendars. */
export const migration: PostgresMigration = {
  version: 12,
  name: 'booking revisions of steps',
  sql: `
    ALTER TABLE steps ADD COLUMN booking_sequence integer NOT NULL DEFAULT 0;
    ALTER TABLE steps ADD COLUMN booking_changed_at text COLLATE "C";
    UPDATE steps SET booking_sequence = 1 WHERE booked_at IS NOT NULL;
  `,
};
