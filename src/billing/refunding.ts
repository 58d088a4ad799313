import { FailedError } from '../errors.js';
import { formatMoney } from '../domain/money.js';
import { refundKey } from '../domain/keys.js';
import { recordAudit } from '../store/audit.js';
import { getCharge } from '../store/charges.js';
import { acknowledgedRefunds, insertPendingRefund, pendingRefunds, refundsOfCharge, settleRefund } from '../store/refunds.js';
import type { ChargingContext } from './charging.js';
import type { RefundResult } from './gateway.js';
import { planRefund, refundableMinor, type RefundDecision, type RefundSoFar } from './refund-rule.js';
import type { ChargeRow, RefundRow, RefundSettlement } from '../domain/records.js';

/**
 * Refunds follow the charges' never-twice protocol: the refund is inserted
 * pending (with the room left on its charge checked in the same transaction)
 * and made durable before the processor hears of it; it is sent under a key
 * made of the charge's key and its own number, outside any transaction; the
 * answer is recorded in another. A refund left pending by a stopped process is
 * sent again under the same key, and the processor replays what it did.
 */

export interface RefundOutcome {
  refund: RefundRow;
  result: RefundResult | { status: 'error'; message: string };
}

/** Everything a refund of the charge must count: its own refunds, and any the processor held that were accepted after a restore. */
function refundsSoFar(ctx: Pick<ChargingContext, 'store'>, charge: ChargeRow): RefundSoFar[] {
  return [...refundsOfCharge(ctx.store, charge.id), ...acknowledgedRefunds(ctx.store, charge.idempotency_key)];
}

/** What is left to refund of the charge, counting every refund made or pending. */
export function remainingToRefund(ctx: Pick<ChargingContext, 'store'>, chargeId: number): number {
  const charge = getCharge(ctx.store, chargeId)!;
  return refundableMinor(charge, refundsSoFar(ctx, charge));
}

/** What a refund of `requestedMinor` (undefined: all that remains) would be, read now; nothing is written. */
export function decideRefund(ctx: Pick<ChargingContext, 'store'>, charge: ChargeRow, requestedMinor: number | undefined): Extract<RefundDecision, { kind: 'refund' }> & { remainingMinor: number } {
  const refunds = refundsSoFar(ctx, charge);
  const decision = planRefund(charge, refunds, requestedMinor);
  if (decision.kind === 'refused') throw refusal(charge, decision, requestedMinor);
  return { ...decision, remainingMinor: refundableMinor(charge, refunds) };
}

function refusal(charge: ChargeRow, decision: Extract<RefundDecision, { kind: 'refused' }>, requestedMinor: number | undefined): FailedError {
  const money = (minor: number) => formatMoney(minor, charge.currency);
  switch (decision.problem) {
    case 'not_paid':
      return new FailedError(`Charge ${charge.id} is ${charge.status}, not paid, so there is nothing to refund; only a succeeded charge can be refunded ("txplan billing charges --status succeeded" lists them)`, 'not_refundable');
    case 'nothing_left':
      return new FailedError(`Charge ${charge.id} (${money(charge.amount_minor)}) has already been refunded in full, counting refunds still pending; nothing was refunded`, 'nothing_to_refund');
    case 'over':
      return new FailedError(`Charge ${charge.id} has ${money(decision.remainingMinor)} left to refund of ${money(charge.amount_minor)}, less than the ${money(requestedMinor ?? 0)} asked; nothing was refunded. Refund at most ${money(decision.remainingMinor)}`, 'over_refund');
    case 'not_positive':
      return new FailedError(`A refund must be more than ${money(0)}; nothing was refunded`, 'bad_amount');
  }
}

/**
 * Writes the refund pending, deciding again inside the transaction from what
 * it reads there: a refund made meanwhile by another process is counted, and
 * the insert itself holds only while the charge still has room.
 */
export function createRefund(ctx: ChargingContext, chargeId: number, requestedMinor: number | undefined, reason: string): RefundRow {
  const at = ctx.now().toISOString();
  return ctx.store.transaction(() => {
    const charge = getCharge(ctx.store, chargeId)!;
    const decision = decideRefund(ctx, charge, requestedMinor);
    const created = insertPendingRefund(ctx.store, {
      charge_id: charge.id,
      seq: decision.seq,
      idempotency_key: refundKey(charge.idempotency_key, decision.seq),
      amount_minor: decision.amountMinor,
      currency: charge.currency,
      reason,
      actor: ctx.actor,
      gateway: ctx.gateway.name,
      created_at: at,
    });
    if (!created) throw refusal(charge, { kind: 'refused', problem: 'over', remainingMinor: refundableMinor(charge, refundsSoFar(ctx, charge)) }, decision.amountMinor);
    auditRefund(ctx, 'refund.created', created, charge, at);
    return created;
  });
}

/** Sends refunds to the processor (outside any transaction) and records every answer in one short transaction. */
export async function sendRefunds(ctx: ChargingContext, refunds: readonly RefundRow[]): Promise<RefundOutcome[]> {
  if (refunds.length === 0) return [];
  const charges = new Map(refunds.map((r) => [r.charge_id, getCharge(ctx.store, r.charge_id)!]));
  const answers: RefundOutcome['result'][] = new Array(refunds.length);
  // The refund keys carry the charges' keys: the high-water mark is raised before the processor sees one.
  ctx.issued();
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < refunds.length; i = next++) {
      const refund = refunds[i]!;
      const charge = charges.get(refund.charge_id)!;
      try {
        answers[i] = await ctx.gateway.refund({ idempotencyKey: refund.idempotency_key, chargeId: charge.gateway_charge_id ?? '', amountMinor: refund.amount_minor, currency: refund.currency, reason: refund.reason, planId: charge.plan_id, attemptStartedAt: refund.created_at });
      } catch (error) {
        answers[i] = { status: 'error', message: (error as Error).message };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(ctx.gateway.concurrency, refunds.length) }, worker));

  const at = ctx.now().toISOString();
  return ctx.store.transaction(() =>
    refunds.map((refund, i) => {
      const result = answers[i]!;
      if (result.status === 'error') return { refund, result }; // unknown outcome: stays pending, asked again under the same key
      const settlement: RefundSettlement = {
        status: result.status,
        gatewayRefundId: result.id,
        failureCode: result.status === 'failed' ? result.code : null,
        failureMessage: result.status === 'failed' ? result.message : null,
      };
      if (!settleRefund(ctx.store, refund, settlement, at)) return { refund: refundsOfCharge(ctx.store, refund.charge_id).find((r) => r.id === refund.id)!, result }; // settled meanwhile
      const settled: RefundRow = { ...refund, status: settlement.status, gateway_refund_id: settlement.gatewayRefundId, failure_code: settlement.failureCode, failure_message: settlement.failureMessage, updated_at: at };
      auditRefund(ctx, settled.status === 'succeeded' ? 'refund.succeeded' : 'refund.failed', settled, charges.get(refund.charge_id)!, at);
      return { refund: settled, result };
    }),
  );
}

/** Refunds left pending by a stopped process (of one charge, or all), asked about again under their own keys. */
export async function settlePendingRefunds(ctx: ChargingContext, chargeId?: number): Promise<RefundOutcome[]> {
  return sendRefunds(ctx, pendingRefunds(ctx.store, chargeId));
}

export type RefundEvent = 'refund.created' | 'refund.succeeded' | 'refund.failed';

/** One event in a refund's life, in the transaction that changes it: who, why, how much, what the processor said; never a token. */
function auditRefund(ctx: Pick<ChargingContext, 'store' | 'actor'>, action: RefundEvent, refund: RefundRow, charge: ChargeRow, at: string): void {
  recordAudit(ctx.store, {
    at,
    actor: ctx.actor,
    action,
    entity: 'refund',
    entityId: refund.id,
    after: {
      charge_id: refund.charge_id,
      plan_id: charge.plan_id,
      seq: refund.seq,
      key: refund.idempotency_key,
      amount_minor: refund.amount_minor,
      currency: refund.currency,
      reason: refund.reason,
      requested_by: refund.actor,
      status: refund.status,
      failure_code: refund.failure_code,
      gateway: refund.gateway,
      gateway_refund_id: refund.gateway_refund_id,
    },
  });
}
