import type { Store } from '../store.js';
import type { NewCharge, Settlement } from '../../domain/records.js';

/**
 * The billing run's writes as one statement per chunk on PostgreSQL: every
 * statement is a round trip to the server, and a run writes a charge per plan.
 * The rows travel as one JSON parameter (no limit on how many), and are
 * written in the order given.
 */

/** Inserts the charges pending, in order; returns their ids in the same order. */
export function insertPendingChargesAtOnce(store: Store, charges: readonly NewCharge[]): number[] {
  const rows = store
    .statement<[string], { id: number; idempotency_key: string }>(
      `INSERT INTO charges (plan_id, kind, installment, step_n, idempotency_key, due_date, amount_minor, currency, status, attempts, retries_allowed, gateway, payment_token, created_at, updated_at, note)
       SELECT plan_id, kind, installment, step_n, idempotency_key, due_date, amount_minor, currency, 'pending', 1, retries_allowed, gateway, payment_token, created_at, updated_at, note
       FROM jsonb_to_recordset(CAST(? AS jsonb)) AS v(plan_id bigint, kind text, installment integer, step_n integer, idempotency_key text, due_date text, amount_minor bigint,
            currency text, retries_allowed integer, gateway text, payment_token text, created_at text, updated_at text, note text, n bigint)
       ORDER BY n
       RETURNING id, idempotency_key`,
    )
    .all(JSON.stringify(charges.map((c, n) => ({ ...c, note: c.note ?? null, n }))));
  // RETURNING's order is not promised: each row is found again by its key, which is unique.
  const ids = new Map(rows.map((r) => [r.idempotency_key, r.id]));
  return charges.map((c) => ids.get(c.idempotency_key)!);
}

/** Settles the charges still pending; returns the ids it changed. */
export function settleChargesAtOnce(store: Store, settled: ReadonlyArray<{ id: number; settlement: Settlement }>, at: string): Set<number> {
  const rows = store
    .statement<[string, string], { id: number }>(
      `UPDATE charges AS c SET status = v.status, gateway_charge_id = v.gateway_charge_id, decline_code = v.decline_code, decline_message = v.decline_message,
              hard_decline = v.hard_decline, next_attempt_on = v.next_attempt_on, updated_at = ?
       FROM jsonb_to_recordset(CAST(? AS jsonb)) AS v(id bigint, status text, gateway_charge_id text, decline_code text, decline_message text, hard_decline integer, next_attempt_on text)
       WHERE c.id = v.id AND c.status = 'pending'
       RETURNING c.id`,
    )
    .all(
      at,
      JSON.stringify(
        settled.map(({ id, settlement: s }) => ({
          id,
          status: s.status,
          gateway_charge_id: s.gatewayChargeId,
          decline_code: s.declineCode,
          decline_message: s.declineMessage,
          hard_decline: s.hardDecline ? 1 : 0,
          next_attempt_on: s.nextAttemptOn,
        })),
      ),
    );
  return new Set(rows.map((r) => r.id));
}
