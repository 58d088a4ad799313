import type { Store } from './store.js';
import type { ListedRefund, NewRefund, RefundFilter, RefundRow, RefundSettlement, RefundTotals } from '../domain/records.js';

/**
 * Inserts the refund pending, in the caller's transaction, only if the charge
 * still has room for it: the condition re-reads the charge's refunds in the
 * same statement, so two refunds decided at once can never both fit where only
 * one does (and (charge_id, seq) is unique besides). Returns undefined when
 * the room is gone.
 */
export function insertPendingRefund(store: Store, refund: NewRefund): RefundRow | undefined {
  const inserted = store
    .statement<[NewRefund], { id: number }>(
      `INSERT INTO refunds (charge_id, seq, idempotency_key, amount_minor, currency, reason, actor, status, gateway, created_at, updated_at)
       SELECT CAST(@charge_id AS INTEGER), CAST(@seq AS INTEGER), CAST(@idempotency_key AS TEXT), CAST(@amount_minor AS BIGINT), CAST(@currency AS TEXT), CAST(@reason AS TEXT), CAST(@actor AS TEXT), 'pending', CAST(@gateway AS TEXT), CAST(@created_at AS TEXT), CAST(@created_at AS TEXT)
       FROM charges c
       WHERE c.id = @charge_id AND c.status = 'succeeded'
         AND c.amount_minor - (SELECT coalesce(sum(amount_minor), 0) FROM refunds WHERE charge_id = c.id AND status != 'failed')
             - (SELECT coalesce(sum(amount_minor), 0) FROM acknowledged_processor_charges a
                WHERE substr(a.idempotency_key, 1, length(c.idempotency_key) + 8) = c.idempotency_key || '-refund-' AND a.status = 'succeeded') >= @amount_minor
       RETURNING id`,
    )
    .get(refund);
  if (!inserted) return undefined;
  return { ...refund, id: inserted.id, status: 'pending', failure_code: null, failure_message: null, gateway_refund_id: null, updated_at: refund.created_at };
}

/** Records the processor's answer; only a pending refund is settled, once. */
export function settleRefund(store: Store, refund: RefundRow, settlement: RefundSettlement, at: string): boolean {
  return (
    store
      .statement(
        `UPDATE refunds SET status = @status, gateway_refund_id = @gatewayRefundId, failure_code = @failureCode, failure_message = @failureMessage, updated_at = @at
         WHERE id = @id AND status = 'pending'`,
      )
      .run({ ...settlement, at, id: refund.id }).changes > 0
  );
}

export function getRefund(store: Store, id: number): RefundRow | undefined {
  return store.statement<[number], RefundRow>('SELECT * FROM refunds WHERE id = ?').get(id);
}

export function refundsOfCharge(store: Store, chargeId: number): RefundRow[] {
  return store.statement<[number], RefundRow>('SELECT * FROM refunds WHERE charge_id = ? ORDER BY seq').all(chargeId);
}

/** Refunds left pending (a process stopped between asking the processor and recording its answer). */
export function pendingRefunds(store: Store, chargeId?: number): RefundRow[] {
  return store.statement<[{ charge: number | null }], RefundRow>("SELECT * FROM refunds WHERE status = 'pending' AND (@charge IS NULL OR charge_id = @charge) ORDER BY id").all({ charge: chargeId ?? null });
}

/** Refunds of the plan's charges. */
export function refundsOfPlan(store: Store, planId: number): RefundRow[] {
  return store.statement<[number], RefundRow>('SELECT r.* FROM refunds r JOIN charges c ON c.id = r.charge_id WHERE c.plan_id = ? ORDER BY r.id').all(planId);
}

/** Refunded and pending amounts per charge, for the charges listed. */
export function refundTotals(store: Store, chargeIds: readonly number[]): Map<number, RefundTotals> {
  const totals = new Map<number, RefundTotals>();
  if (chargeIds.length === 0) return totals;
  const rows = store
    .statement<[string], { charge_id: number; succeeded_minor: number; pending_minor: number }>(
      `SELECT charge_id, sum(CASE WHEN status = 'succeeded' THEN amount_minor ELSE 0 END) AS succeeded_minor, sum(CASE WHEN status = 'pending' THEN amount_minor ELSE 0 END) AS pending_minor
       FROM refunds WHERE charge_id IN (${store.dialect.integersIn('?')}) GROUP BY charge_id`,
    )
    .all(JSON.stringify(chargeIds));
  for (const row of rows) totals.set(row.charge_id, { succeeded_minor: row.succeeded_minor, pending_minor: row.pending_minor });
  return totals;
}

export function listRefunds(store: Store, filter: RefundFilter): ListedRefund[] {
  return store
    .statement<[Record<string, unknown>], ListedRefund>(
      `SELECT r.*, c.plan_id FROM refunds r JOIN charges c ON c.id = r.charge_id
       WHERE (@plan IS NULL OR c.plan_id = @plan) AND (@charge IS NULL OR r.charge_id = @charge) AND (@status IS NULL OR r.status = @status)
       ORDER BY r.id`,
    )
    .all({ plan: filter.planId ?? null, charge: filter.chargeId ?? null, status: filter.status ?? null });
}

/** Refunds made (succeeded or pending) from `since` on (an ISO instant), for the forecast's months. */
export function refundsSince(store: Store, since: string): Array<Pick<RefundRow, 'amount_minor' | 'currency' | 'status' | 'created_at'>> {
  return store.statement<[string], Pick<RefundRow, 'amount_minor' | 'currency' | 'status' | 'created_at'>>("SELECT amount_minor, currency, status, created_at FROM refunds WHERE status != 'failed' AND created_at >= ? ORDER BY created_at").all(since);
}

/** Every refund with its charge's plan, in idempotency-key order (as the processor's refund ledger is read). */
export function* refundsInKeyOrder(store: Store): Generator<ListedRefund> {
  yield* store.statement<[], ListedRefund>('SELECT r.*, c.plan_id FROM refunds r JOIN charges c ON c.id = r.charge_id ORDER BY r.idempotency_key').iterate();
}

/**
 * Refunds of a charge that the processor holds and this database did not
 * know (seen after a restore and accepted with `billing reconcile --accept`):
 * their numbers are taken and their money already given back.
 */
export function acknowledgedRefunds(store: Store, chargeKey: string): Array<{ seq: number; amount_minor: number; status: 'succeeded' | 'failed' }> {
  const prefix = `${chargeKey}-refund-`;
  return store
    .statement<[{ prefix: string }], { idempotency_key: string; amount_minor: number; status: string }>('SELECT idempotency_key, amount_minor, status FROM acknowledged_processor_charges WHERE substr(idempotency_key, 1, length(@prefix)) = @prefix')
    .all({ prefix })
    .flatMap((row) => {
      const seq = Number(row.idempotency_key.slice(prefix.length));
      return Number.isSafeInteger(seq) && seq > 0 ? [{ seq, amount_minor: row.amount_minor, status: row.status === 'succeeded' ? ('succeeded' as const) : ('failed' as const) }] : [];
    });
}
