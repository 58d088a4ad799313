import type { Migration } from './index.js';

/** Applied plans with their snapshots, steps, payment methods, prices and attachments. */
export const migration: Migration = {
  version: 2,
  name: 'plans, steps and payment methods',
  up: (db) => {
    db.exec(`
      CREATE TABLE payment_methods (
        id INTEGER PRIMARY KEY,
        patient_id INTEGER NOT NULL REFERENCES patients (id),
        token TEXT NOT NULL,
        brand TEXT NOT NULL,
        last4 TEXT NOT NULL CHECK (length(last4) = 4),
        exp_month INTEGER NOT NULL,
        exp_year INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        UNIQUE (patient_id, token)
      ) STRICT;

      -- AUTOINCREMENT: a plan id is never reused, so idempotency keys derived from it stay unique.
      CREATE TABLE plans (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        patient_id INTEGER NOT NULL REFERENCES patients (id),
        clinic_id TEXT REFERENCES clinics (id),
        template_id TEXT NOT NULL,
        template_version INTEGER NOT NULL,
        template_hash TEXT NOT NULL,
        template_commit TEXT,
        template_dirty INTEGER,
        name TEXT NOT NULL,
        type TEXT NOT NULL CHECK (type IN ('monthly', 'pay-as-you-go')),
        status TEXT NOT NULL CHECK (status IN ('prescribed', 'active', 'paused', 'past_due', 'completed', 'cancelled')),
        snapshot TEXT NOT NULL,
        currency TEXT NOT NULL,
        start_date TEXT,
        end_date TEXT,
        paused_on TEXT,
        pause_until TEXT,
        cancelled_on TEXT,
        cancel_reason TEXT,
        payment_method_id INTEGER REFERENCES payment_methods (id),
        -- Service prices frozen when the plan was applied: pay-as-you-go visits are charged at these.
        service_prices TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      ) STRICT;
      CREATE INDEX plans_patient ON plans (patient_id, status);
      CREATE INDEX plans_status ON plans (status);
      CREATE INDEX plans_template ON plans (template_id, status);
      CREATE INDEX plans_clinic ON plans (clinic_id, status);

      -- The monthly fee from an installment on: a rollout changes the price only from the next one.
      CREATE TABLE plan_prices (
        plan_id INTEGER NOT NULL REFERENCES plans (id),
        from_installment INTEGER NOT NULL CHECK (from_installment >= 1),
        monthly_fee_minor INTEGER NOT NULL CHECK (monthly_fee_minor >= 0),
        PRIMARY KEY (plan_id, from_installment)
      ) STRICT, WITHOUT ROWID;

      CREATE TABLE steps (
        id INTEGER PRIMARY KEY,
        plan_id INTEGER NOT NULL REFERENCES plans (id),
        n INTEGER NOT NULL CHECK (n >= 1),
        when_unit TEXT NOT NULL CHECK (when_unit IN ('week', 'month')),
        when_value INTEGER NOT NULL,
        services TEXT NOT NULL,
        alternatives TEXT,
        note TEXT,
        recommended_date TEXT,
        booked_at TEXT,
        status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'skipped')),
        completed_on TEXT,
        completion_note TEXT,
        outcome TEXT,
        UNIQUE (plan_id, n)
      ) STRICT;

      CREATE TABLE attachments (
        id INTEGER PRIMARY KEY,
        step_id INTEGER NOT NULL REFERENCES steps (id),
        sha256 TEXT NOT NULL,
        path TEXT NOT NULL,
        original_name TEXT NOT NULL,
        bytes INTEGER NOT NULL,
        created_at TEXT NOT NULL
      ) STRICT;
      CREATE INDEX attachments_step ON attachments (step_id);
    `);
  },
};
