import type { Migration } from './index.js';

/**
 * A program whose first installment is declined is not kept, and neither is
 * a charge pointing at it: the attempt moves, whole, to declined_starts, tied
 * to the patient. `billing charges --patient` shows it and `billing
 * reconcile` still matches it with the processor's record. A charge may
 * leave the charges table only that way, once its copy is there. Charges
 * already left behind by such a start (found through the start's audit
 * entry) move too.
 */
export const migration: Migration = {
  version: 10,
  name: 'declined starts kept apart from charges',
  up: (db) => {
    db.exec(`
      CREATE TABLE declined_starts (
        id INTEGER PRIMARY KEY,
        patient_id INTEGER NOT NULL REFERENCES patients (id),
        -- The id the plan had while it existed; no plan has it now, and none will (plan ids are never reused).
        removed_plan_id INTEGER NOT NULL,
        template TEXT NOT NULL,
        charge_id INTEGER NOT NULL UNIQUE,
        kind TEXT NOT NULL CHECK (kind = 'installment'),
        installment INTEGER NOT NULL,
        idempotency_key TEXT NOT NULL UNIQUE,
        due_date TEXT NOT NULL,
        amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),
        currency TEXT NOT NULL,
        attempts INTEGER NOT NULL CHECK (attempts >= 1),
        decline_code TEXT,
        decline_message TEXT,
        gateway TEXT NOT NULL,
        gateway_charge_id TEXT,
        created_at TEXT NOT NULL,
        declined_at TEXT NOT NULL
      ) STRICT;
      CREATE INDEX declined_starts_patient ON declined_starts (patient_id);

      DROP TRIGGER charges_no_delete;
      CREATE TRIGGER charges_no_delete BEFORE DELETE ON charges
      WHEN NOT EXISTS (SELECT 1 FROM declined_starts d WHERE d.charge_id = OLD.id AND d.idempotency_key = OLD.idempotency_key AND OLD.status = 'failed')
      BEGIN SELECT RAISE(ABORT, 'charges are never deleted: each is the record of money asked for'); END;

      INSERT INTO declined_starts (patient_id, removed_plan_id, template, charge_id, kind, installment, idempotency_key, due_date, amount_minor, currency, attempts, decline_code, decline_message, gateway, gateway_charge_id, created_at, declined_at)
      SELECT s.patient_id, c.plan_id, s.template, c.id, c.kind, c.installment, c.idempotency_key, c.due_date, c.amount_minor, c.currency, c.attempts, c.decline_code, c.decline_message, c.gateway, c.gateway_charge_id, c.created_at, c.updated_at
      FROM charges c
      JOIN (
        SELECT CAST(a.entity_id AS INTEGER) AS plan_id, json_extract(a.after, '$.patient_id') AS patient_id, json_extract(a.after, '$.template') AS template
        FROM audit a WHERE a.entity = 'plan' AND a.action = 'plan.start' AND a.before IS NULL
      ) s ON s.plan_id = c.plan_id
      WHERE c.status = 'failed' AND c.kind = 'installment'
        AND NOT EXISTS (SELECT 1 FROM plans p WHERE p.id = c.plan_id)
        AND EXISTS (SELECT 1 FROM patients pa WHERE pa.id = s.patient_id);
      DELETE FROM charges WHERE id IN (SELECT charge_id FROM declined_starts);
    `);
  },
};
