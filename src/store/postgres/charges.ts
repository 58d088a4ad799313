import type { Store } from '../store.js';
import type { Settlement } from '../../domain/records.js';

/**
 * A billing run's answers as one statement per chunk on PostgreSQL: every
 * statement is a round trip to the server, and a run settles a charge per
 * plan. The rows travel as one JSON parameter (no limit on how many). Its new
 * charges go in through insertReturningIds (./rows.ts).
 */

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
