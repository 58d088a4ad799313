import { randomBytes } from 'node:crypto';
import { newDatabaseId } from '../../domain/keys.js';
import type { Migration } from './index.js';

/**
 * The database's own random id (idempotency keys carry it, so two databases
 * — or a database and a restored copy of another — never share a key), the
 * hold that stops billing after a restore until `billing reconcile` has been
 * seen, the processor charges an operator acknowledged, and a charges table
 * that keeps its history: rows are never deleted, and only the legitimate
 * transitions (settling a pending attempt, starting the next attempt of a
 * declined charge, rescheduling or closing its retries) may change a row.
 */
export const migration: Migration = {
  version: 5,
  name: 'database id, restore hold and charge history',
  up: (db) => {
    db.exec(`
      CREATE TABLE database_info (
        singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
        id TEXT NOT NULL CHECK (length(id) = 24),
        created_at TEXT NOT NULL,
        -- Set when the database is found behind what the processor has seen (a restore): JSON of what was seen.
        billing_hold TEXT
      ) STRICT;

      -- Charges the processor holds that this database has no record of, seen and accepted by an operator.
      CREATE TABLE acknowledged_processor_charges (
        idempotency_key TEXT PRIMARY KEY,
        processor_id TEXT NOT NULL,
        status TEXT NOT NULL,
        amount_minor INTEGER NOT NULL,
        currency TEXT NOT NULL,
        acknowledged_at TEXT NOT NULL,
        actor TEXT NOT NULL
      ) STRICT;

      CREATE TRIGGER charges_no_delete BEFORE DELETE ON charges
      BEGIN SELECT RAISE(ABORT, 'charges are never deleted: each is the record of money asked for'); END;

      CREATE TRIGGER charges_fixed_columns BEFORE UPDATE ON charges
      WHEN NEW.id IS NOT OLD.id OR NEW.plan_id IS NOT OLD.plan_id OR NEW.kind IS NOT OLD.kind OR NEW.installment IS NOT OLD.installment
        OR NEW.step_n IS NOT OLD.step_n OR NEW.idempotency_key IS NOT OLD.idempotency_key OR NEW.due_date IS NOT OLD.due_date
        OR NEW.amount_minor IS NOT OLD.amount_minor OR NEW.currency IS NOT OLD.currency OR NEW.gateway IS NOT OLD.gateway
        OR NEW.created_at IS NOT OLD.created_at
      BEGIN SELECT RAISE(ABORT, 'a charge''s plan, key, amount and what it pays for never change'); END;

      CREATE TRIGGER charges_transitions BEFORE UPDATE ON charges
      WHEN NOT (
        -- the processor's answer for the current attempt
        (OLD.status = 'pending' AND NEW.status IN ('succeeded', 'failed') AND NEW.attempts = OLD.attempts AND NEW.payment_token IS OLD.payment_token)
        -- the next attempt of a declined charge, possibly with the plan's new payment method
        OR (OLD.status = 'failed' AND NEW.status = 'pending' AND NEW.attempts = OLD.attempts + 1)
        -- a declined charge's retries rescheduled or closed; what the processor said stays
        OR (OLD.status = 'failed' AND NEW.status = 'failed' AND NEW.attempts = OLD.attempts AND NEW.payment_token IS OLD.payment_token
            AND NEW.gateway_charge_id IS OLD.gateway_charge_id AND NEW.decline_code IS OLD.decline_code AND NEW.decline_message IS OLD.decline_message)
      )
      BEGIN SELECT RAISE(ABORT, 'a charge only changes from pending to settled, or from declined to its next attempt'); END;
    `);
    db.prepare('INSERT INTO database_info (singleton, id, created_at) VALUES (1, ?, ?)').run(newDatabaseId(randomBytes), new Date().toISOString());
  },
};
