import type { Migration } from './index.js';

/**
 * Refunds: one row per refund of a charge, written pending before the
 * processor is called and settled after, as charges are. `seq` numbers the
 * refunds of one charge (1, 2, …) and, with the charge's key, makes the
 * refund's own idempotency key; a failed refund keeps its number.
 */
export const migration: Migration = {
  version: 9,
  name: 'refunds',
  up: (db) => {
    db.exec(`
      CREATE TABLE refunds (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        charge_id INTEGER NOT NULL REFERENCES charges (id),
        seq INTEGER NOT NULL CHECK (seq >= 1),
        idempotency_key TEXT NOT NULL UNIQUE,
        amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),
        currency TEXT NOT NULL,
        reason TEXT NOT NULL,
        actor TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
        failure_code TEXT,
        failure_message TEXT,
        gateway TEXT NOT NULL,
        gateway_refund_id TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE (charge_id, seq)
      ) STRICT;
      CREATE INDEX refunds_pending ON refunds (status) WHERE status = 'pending';
    `);
  },
};
