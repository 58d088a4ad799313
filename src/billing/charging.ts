import type { PlainDate } from '../domain/dates.js';
import { recordAudit } from '../store/audit.js';
import { attemptKey } from '../domain/keys.js';
import { chargeParties, getCharge, settleCharges } from '../store/charges.js';
import { getPlan, setPlanStatusIf } from '../store/plans.js';
import type { Store } from '../store/store.js';
import { needsPatient, NEEDS_PATIENT_ADVICE, type ChargeResult, type Gateway } from './gateway.js';
import { nextAttempt } from './plan.js';
import { Settler } from './settler.js';
import type { ChargeRow, Settlement } from '../domain/records.js';

/** What the charging code needs from outside: passed in, never reached for. */
export interface ChargingContext {
  store: Store;
  gateway: Gateway;
  retryDays: readonly number[];
  actor: string;
  now: () => Date;
  /** This database's random id, carried by every idempotency key it issues. */
  databaseId: string;
  /** Records the ids issued so far outside the database (the high-water mark), before the processor sees them. */
  issued: () => void;
}

export interface Outcome {
  charge: ChargeRow;
  result: ChargeResult | { status: 'error'; message: string };
  /** The plan went past due because of this charge. */
  pastDue: boolean;
}

/**
 * Sends pending charges to the processor — outside any transaction, as many
 * at once as the processor takes — and records each answer as soon as it
 * arrives: answers that arrive together are settled in one short
 * transaction. A charge whose answer never arrives stays pending, and the
 * next run asks again under the same idempotency key: the processor then
 * replays what it did. `afterSettling` runs inside each settling transaction
 * with the outcomes it records.
 */
export async function sendPending(ctx: ChargingContext, pending: readonly ChargeRow[], today: (charge: ChargeRow) => PlainDate, afterSettling?: (outcomes: readonly Outcome[]) => void): Promise<Outcome[]> {
  if (pending.length === 0) return [];
  ctx.issued();
  const parties = chargeParties(ctx.store, pending);
  // In the order the charges were given, whatever order the answers come in.
  const outcomes: Outcome[] = new Array(pending.length);
  const settling = new Settler<{ i: number; answer: Answer }>((batch) => {
    const settled = settleAll(ctx, batch.map((a) => pending[a.i]!), batch.map((a) => a.answer), today, afterSettling);
    batch.forEach((a, j) => (outcomes[a.i] = settled[j]!));
  });
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < pending.length; i = next++) {
      const charge = pending[i]!;
      const party = parties.get(charge.id);
      let answer: Answer;
      try {
        answer = await ctx.gateway.charge({
          idempotencyKey: attemptKey(charge.idempotency_key, charge.attempts),
          amountMinor: charge.amount_minor,
          currency: charge.currency,
          token: charge.payment_token,
          customer: party?.customer ?? null,
          description: describe(charge),
          planId: charge.plan_id,
          patientId: party?.patient_id ?? 0,
          paysFor: paysFor(charge),
          attemptStartedAt: charge.updated_at,
        });
      } catch (error) {
        answer = { status: 'error', message: (error as Error).message };
      }
      settling.add({ i, answer });
    }
  };
  await Promise.all(Array.from({ length: Math.min(ctx.gateway.concurrency, pending.length) }, worker));
  settling.flush();
  return outcomes;
}

type Answer = ChargeResult | { status: 'error'; message: string };


function settleAll(ctx: ChargingContext, pending: readonly ChargeRow[], answers: readonly Answer[], today: (charge: ChargeRow) => PlainDate, afterSettling?: (outcomes: readonly Outcome[]) => void): Outcome[] {
  const at = ctx.now().toISOString();
  const outcomes: Outcome[] = [];
  ctx.store.transaction(() => {
    // Every answer's settlement first, written together (one statement on a server); then what follows from each, in order.
    const settlements = pending.map((charge, i): Settlement | null => {
      const result = answers[i]!;
      if (result.status === 'error') return null; // unknown outcome: stays pending for the next run
      const hard = result.status === 'declined' && result.hard;
      return {
        status: result.status === 'succeeded' ? 'succeeded' : 'failed',
        gatewayChargeId: result.id,
        declineCode: result.status === 'declined' ? result.code : null,
        declineMessage: result.status === 'declined' ? result.message : null,
        hardDecline: hard,
        nextAttemptOn: result.status === 'declined' ? nextAttempt(charge, hard, today(charge), ctx.retryDays) : null,
      };
    });
    const changed = settleCharges(
      ctx.store,
      settlements.flatMap((settlement, i) => (settlement ? [{ id: pending[i]!.id, settlement }] : [])),
      at,
    );
    pending.forEach((charge, i) => {
      const result = answers[i]!;
      const settlement = settlements[i];
      if (result.status === 'error' || !settlement) {
        outcomes.push({ charge, result, pastDue: false });
        return;
      }
      if (!changed.has(charge.id)) {
        outcomes.push({ charge: getCharge(ctx.store, charge.id)!, result, pastDue: false }); // settled meanwhile
        return;
      }
      const next = settlement.nextAttemptOn;
      const settled: ChargeRow = {
        ...charge,
        status: settlement.status,
        gateway_charge_id: settlement.gatewayChargeId,
        decline_code: settlement.declineCode,
        decline_message: settlement.declineMessage,
        hard_decline: settlement.hardDecline ? 1 : 0,
        next_attempt_on: next,
        updated_at: at,
      };
      auditCharge(ctx, settled.status === 'succeeded' ? 'charge.succeeded' : 'charge.declined', settled, at);
      let pastDue = false;
      if (result.status === 'declined' && next === null) pastDue = markPastDue(ctx, charge, result.code, at);
      outcomes.push({ charge: settled, result, pastDue });
    });
    // What follows from the answers (a plan completing) commits with them, or not at all.
    afterSettling?.(outcomes);
  });
  return outcomes;
}

export type ChargeEvent = 'charge.created' | 'charge.retried' | 'charge.succeeded' | 'charge.declined';

/**
 * One event in a charge's life, written in the transaction that changes the
 * charge. What was asked for and what the processor said — never the payment
 * token or anything else about the card.
 */
export function auditCharge(ctx: Pick<ChargingContext, 'store' | 'actor'>, action: ChargeEvent, charge: ChargeRow, at: string): void {
  recordAudit(ctx.store, {
    at,
    actor: ctx.actor,
    action,
    entity: 'charge',
    entityId: charge.id,
    after: {
      plan_id: charge.plan_id,
      kind: charge.kind,
      installment: charge.installment,
      step_n: charge.step_n,
      key: attemptKey(charge.idempotency_key, charge.attempts),
      attempt: charge.attempts,
      amount_minor: charge.amount_minor,
      currency: charge.currency,
      status: charge.status,
      decline_code: charge.status === 'failed' ? charge.decline_code : null,
      next_attempt_on: charge.next_attempt_on,
      gateway: charge.gateway,
      gateway_charge_id: charge.gateway_charge_id,
    },
  });
}

/** A hard decline or the last retry failing stops billing until a new payment method arrives. */
function markPastDue(ctx: ChargingContext, charge: ChargeRow, code: string, at: string): boolean {
  const plan = getPlan(ctx.store, charge.plan_id);
  // Read inside the settling transaction: a plan cancelled or paused while the processor answered stays so.
  if (!plan || plan.status !== 'active') return false;
  if (!setPlanStatusIf(ctx.store, plan, 'past_due', at)) return false;
  recordAudit(ctx.store, { at, actor: ctx.actor, action: 'plan.past_due', entity: 'plan', entityId: plan.id, before: { status: plan.status }, after: { status: 'past_due', charge: charge.idempotency_key, decline_code: code } });
  return true;
}

/** What a charge pays for, as the processor's metadata says it: "installment 3", "visit 5", "cancellation fee". */
function paysFor(charge: ChargeRow): string {
  if (charge.kind === 'installment') return `installment ${charge.installment}`;
  if (charge.kind === 'step') return `visit ${charge.step_n}`;
  return 'cancellation fee';
}

function describe(charge: ChargeRow): string {
  if (charge.kind === 'installment') return `Plan ${charge.plan_id}, installment ${charge.installment}`;
  if (charge.kind === 'step') return `Plan ${charge.plan_id}, visit ${charge.step_n}`;
  return `Plan ${charge.plan_id}, early cancellation fee`;
}

/** "declined (insufficient_funds): Your card has insufficient funds." */
export function describeOutcome(outcome: Outcome): string {
  const { result } = outcome;
  if (result.status === 'succeeded') return 'paid';
  if (result.status === 'error') return `not answered (${result.message}); the next billing run asks again`;
  if (needsPatient(result.code)) return `declined (${result.code}): this charge ${NEEDS_PATIENT_ADVICE}${outcome.pastDue ? '; the plan is past due until then' : ''}`;
  const retry = outcome.charge.next_attempt_on ? `; retried on ${outcome.charge.next_attempt_on}` : outcome.pastDue ? '; the plan is now past due until its payment method is updated' : '';
  return `declined (${result.code}): ${result.message}${retry}`;
}

