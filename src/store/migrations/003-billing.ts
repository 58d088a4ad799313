import type { Migration } from './index.js';

/**
 * Charges: one row per thing paid for (an installment, a pay-as-you-go visit,
 * an early cancellation fee), written pending before the processor is called
 * and settled after. Attempts need no table of their own: a retry only follows
 * a recorded decline, so attempts 1…n−1 of a charge were declined and attempt
 * n has the charge's status.
 */
export const migration: Migration = {
  version: 3,
  name: 'charges and billing runs',
  up: (db) => {
    db.exec(`
      -- Months a pause pushed the remaining installments back (SPEC §5: they continue from the next 1st).
      ALTER TABLE plans ADD COLUMN billing_offset_months INTEGER NOT NULL DEFAULT 0;

      CREATE TABLE charges (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        -- No foreign key: a program whose first installment is declined is removed,
        -- and the record of that decline must outlive it (the processor keeps one too).
        plan_id INTEGER NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('installment', 'step', 'cancel_fee')),
        installment INTEGER,
        step_n INTEGER,
        idempotency_key TEXT NOT NULL UNIQUE,
        due_date TEXT NOT NULL,
        amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),
        currency TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 1 CHECK (attempts >= 1),
        retries_allowed INTEGER NOT NULL DEFAULT 0,
        next_attempt_on TEXT,
        hard_decline INTEGER NOT NULL DEFAULT 0,
        decline_code TEXT,
        decline_message TEXT,
        gateway TEXT NOT NULL,
        gateway_charge_id TEXT,
        payment_token TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        CHECK ((kind = 'installment') = (installment IS NOT NULL)),
        CHECK ((kind = 'step') = (step_n IS NOT NULL))
      ) STRICT;
      -- The database itself enforces one charge per installment, visit and fee.
      CREATE UNIQUE INDEX charges_installment ON charges (plan_id, installment) WHERE kind = 'installment';
      CREATE UNIQUE INDEX charges_step ON charges (plan_id, step_n) WHERE kind = 'step';
      CREATE UNIQUE INDEX charges_cancel_fee ON charges (plan_id) WHERE kind = 'cancel_fee';
      CREATE INDEX charges_plan ON charges (plan_id, kind);
      CREATE INDEX charges_open ON charges (status, next_attempt_on) WHERE status != 'succeeded';
      CREATE INDEX charges_due ON charges (due_date);

      -- One billing run at a time: the holder's pid, checked for liveness by the next run.
      CREATE TABLE billing_lock (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        pid INTEGER NOT NULL,
        started_at TEXT NOT NULL
      ) STRICT;
    `);
  },
};
