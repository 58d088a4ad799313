import type { Service, Template } from '../generated/schema-types.js';
import { FailedError } from '../errors.js';
import { addMonths, formatDate, parseDate, type PlainDate } from '../domain/dates.js';
import { minorOf, visitCharge, type VisitCharge } from '../domain/pricing.js';
import { performedOf } from '../domain/performed.js';
import { beginRetry, chargesOfPlan, closeCharge, insertPendingCharge } from '../store/charges.js';
import { recordAudit } from '../store/audit.js';
import { formatMoney } from '../domain/money.js';
import { getPaymentMethod } from '../store/payment-methods.js';
import { getSteps } from '../store/plans.js';
import { chargeKey } from '../domain/keys.js';
import { assertBillingOpen } from './hold.js';
import { billablePlan } from './billable.js';
import { auditCharge, sendPending, type ChargingContext, type Outcome } from './charging.js';
import { chargesAtStart } from './plan.js';
import type { ChargeKind, ChargeRow, PlanRow } from '../domain/records.js';

/**
 * The moments outside the monthly run when SPEC §5 takes money: a monthly
 * program's start (installment 1), a pay-as-you-go visit, an early
 * cancellation. Each writes its charge pending, then asks the processor.
 */

/**
 * What a pay-as-you-go visit is charged for the services performed (pure): at
 * the plan's frozen prices, at the catalog's current price for a service the
 * plan does not include (in the plan's currency; the catalog's single amounts
 * are in `workspace`). Shown before charging, and charged by chargeVisit.
 */
export function visitChargeOf(plan: Pick<PlanRow, 'service_prices' | 'currency'>, performed: readonly string[], catalog: ReadonlyMap<string, Service>, workspace: string): VisitCharge {
  return visitCharge(performed, JSON.parse(plan.service_prices) as Record<string, number>, catalog, { currency: plan.currency, workspace });
}

export async function chargeVisit(ctx: ChargingContext, plan: PlanRow, n: number, today: PlainDate, catalog: ReadonlyMap<string, Service>, workspace: string): Promise<Outcome | undefined> {
  if (plan.type !== 'pay-as-you-go') return undefined;
  const step = getSteps(ctx.store, plan.id).find((s) => s.n === n);
  if (!step) return undefined;
  const visit = visitChargeOf(plan, performedOf(step), catalog, workspace);
  if (visit.amount_minor === 0) return undefined; // complimentary visit
  return charge(ctx, plan, { kind: 'step', installment: null, step_n: n, key: chargeKey(ctx.databaseId, { kind: 'step', planId: plan.id, step: n }), due: step.completed_on ?? formatDate(today), amount: visit.amount_minor, note: visit.note }, today);
}

/** Whether cancelling on `on` falls inside the plan's minimum term. */
export function insideMinimumTerm(plan: PlanRow, on: PlainDate): boolean {
  const terms = (JSON.parse(plan.snapshot) as Template).cancellation;
  if (!terms?.min_term_months || !plan.start_date) return false;
  return formatDate(on) < formatDate(addMonths(parseDate(plan.start_date)!, terms.min_term_months));
}

export function earlyFeeMinor(plan: PlanRow): number {
  const fee = (JSON.parse(plan.snapshot) as Template).cancellation?.early_fee;
  return fee === undefined ? 0 : minorOf(fee, plan.currency);
}

export async function chargeEarlyFee(ctx: ChargingContext, plan: PlanRow, today: PlainDate): Promise<Outcome | undefined> {
  const amount = earlyFeeMinor(plan);
  if (amount === 0) return undefined;
  return charge(ctx, plan, { kind: 'cancel_fee', installment: null, step_n: null, key: chargeKey(ctx.databaseId, { kind: 'cancel_fee', planId: plan.id }), due: formatDate(today), amount }, today);
}

interface What {
  kind: ChargeKind;
  installment: number | null;
  step_n: number | null;
  key: string;
  due: string;
  amount: number;
  /** Shown with the charge: why its amount is not the plan's own prices. */
  note?: string | null;
}

async function charge(ctx: ChargingContext, plan: PlanRow, what: What, today: PlainDate): Promise<Outcome | undefined> {
  assertBillingOpen(ctx.store);
  const method = plan.payment_method_id ? getPaymentMethod(ctx.store, plan.payment_method_id) : undefined;
  if (!method) throw new FailedError(`Plan ${plan.id} has no payment method to charge; add one with "txplan plan payment ${plan.id} --payment-method pm_…"`, 'payment_required');
  const at = ctx.now().toISOString();
  const pending = ctx.store.transaction((): ChargeRow | undefined => {
    // Matched on what it pays for: a charge made before keys carried the database id keeps its stored key.
    const existing = chargesOfPlan(ctx.store, plan.id).find((c) => c.kind === what.kind && c.installment === what.installment && c.step_n === what.step_n);
    if (existing?.status === 'succeeded') return undefined; // already paid: never twice
    if (existing?.status === 'pending') return existing; // in flight: ask again under its key
    if (existing) {
      const retry = beginRetry(ctx.store, { ...existing, payment_token: method.token }, at);
      auditCharge(ctx, 'charge.retried', retry, at);
      return retry;
    }
    const created = insertPendingCharge(
      ctx.store,
      {
        plan_id: plan.id,
        kind: what.kind,
        installment: what.installment,
        step_n: what.step_n,
        idempotency_key: what.key,
        due_date: what.due,
        amount_minor: what.amount,
        currency: plan.currency,
        retries_allowed: ctx.retryDays.length,
        gateway: ctx.gateway.name,
        payment_token: method.token,
        created_at: at,
        updated_at: at,
        note: what.note ?? null,
      },
    );
    auditCharge(ctx, 'charge.created', created, at);
    return created;
  });
  if (!pending) return undefined;
  const [outcome] = await sendPending(ctx, [pending], () => today);
  return outcome;
}

/**
 * What a monthly program's start charges (SPEC §5, and the billing rules'
 * `chargesAtStart`): installment 1 when it starts today or earlier — or later
 * with `chargeNow` — and, for a backdated start, every installment already
 * due, each written pending and settled in turn (stopping at one not paid). A decline of installment 1
 * undoes the start — `undo` runs in the transaction that records it — and
 * becomes one clear error, before anything else is charged; a decline of a
 * later one follows the retry rules. An unanswered call leaves the charge for
 * the next run to settle. Returns what each charge came to.
 */
export async function startProgram(ctx: ChargingContext, plan: PlanRow, today: PlainDate, undo: () => void, chargeNow = false): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  for (const due of chargesAtStart(billablePlan(ctx.store, plan.id), today, chargeNow)) {
    const what: What = { kind: 'installment', installment: due.installment, step_n: null, key: chargeKey(ctx.databaseId, { kind: 'installment', planId: plan.id, installment: due.installment }), due: due.dueDate, amount: due.amountMinor };
    const outcome = await charge(ctx, plan, what, today);
    if (!outcome) continue;
    outcomes.push(outcome);
    if (outcome.result.status === 'succeeded') continue;
    if (due.installment !== 1) break; // the rest waits for the billing run, after this one's retry
    if (outcome.result.status === 'error') {
      throw new FailedError(`Plan ${plan.id} started, but the processor did not answer for its first installment (${outcome.result.message}); "txplan billing run" settles it`, 'charge_unconfirmed');
    }
    const { code, message } = outcome.result;
    ctx.store.transaction(() => {
      closeCharge(ctx.store, outcome.charge.id, ctx.now().toISOString());
      undo();
      recordAudit(ctx.store, { at: ctx.now().toISOString(), actor: ctx.actor, action: 'plan.start_declined', entity: 'plan', entityId: plan.id, before: { status: 'active' }, after: { charge: outcome.charge.idempotency_key, decline_code: code } });
    });
    throw new FailedError(`The first installment of ${formatMoney(outcome.charge.amount_minor, outcome.charge.currency)} was declined (${code}: ${message}); the program was not started. Try another payment method`, 'declined');
  }
  return outcomes;
}
