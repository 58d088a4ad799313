import type { Migration } from './index.js';

/**
 * A booked visit's revision, for calendars: how many times its booking was
 * set or moved (the iCalendar SEQUENCE of its event) and when it last was
 * (LAST-MODIFIED), so a calendar that imported the event updates it instead
 * of keeping the old time. A visit booked before this counts as set once.
 */
export const migration: Migration = {
  version: 12,
  name: 'booking revisions of steps',
  up: (db) => {
    db.exec(`
      ALTER TABLE steps ADD COLUMN booking_sequence INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE steps ADD COLUMN booking_changed_at TEXT;
      UPDATE steps SET booking_sequence = 1 WHERE booked_at IS NOT NULL;
    `);
  },
};
