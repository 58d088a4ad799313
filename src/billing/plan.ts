import { addDays, formatDate, parseDate, type PlainDate } from '../domain/dates.js';
import { installmentDueDate } from '../domain/plan.js';
import type { PlanStatus } from '../store/plans.js';
import type { ChargeKind, ChargeStatus } from '../store/charges.js';

/**
 * The billing rules of SPEC §5 as one pure function: from a plan, its charges
 * and the clinic's date, what a billing run must do. No database, no clock,
 * no processor — `apply.ts` carries the actions out.
 */

export interface BillablePlan {
  id: number;
  status: PlanStatus;
  type: 'monthly' | 'pay-as-you-go';
  start_date: string | null;
  end_date: string | null;
  billing_offset_months: number;
  /** Fee of each installment in minor units, in order; empty for pay-as-you-go. */
  fees: readonly number[];
  /** The latest recommended date of the plan's steps. */
  last_step_date: string | null;
  has_payment_method: boolean;
}

export interface BillableCharge {
  id: number;
  plan_id: number;
  kind: ChargeKind;
  installment: number | null;
  status: ChargeStatus;
  attempts: number;
  retries_allowed: number;
  next_attempt_on: string | null;
  hard_decline: number;
}

export type BillingAction =
  | { kind: 'settle'; planId: number; chargeId: number }
  | { kind: 'charge'; planId: number; installment: number; dueDate: string; amountMinor: number }
  | { kind: 'retry'; planId: number; chargeId: number }
  | { kind: 'complete'; planId: number }
  | { kind: 'skip'; planId: number; reason: 'paused' | 'past_due' | 'cancelled' | 'no_payment_method' };

export function planBilling(plan: BillablePlan, charges: readonly BillableCharge[], today: PlainDate): BillingAction[] {
  const actions: BillingAction[] = [];
  const day = formatDate(today);
  // In flight when a run stopped: asked again under the same key, whatever the plan's state now.
  for (const charge of charges) if (charge.status === 'pending') actions.push({ kind: 'settle', planId: plan.id, chargeId: charge.id });

  const retryable = (charge: BillableCharge) =>
    charge.status === 'failed' && charge.hard_decline === 0 && charge.attempts - 1 < charge.retries_allowed && charge.next_attempt_on !== null && charge.next_attempt_on <= day;

  if (plan.status === 'cancelled') {
    // Billing stops, but an early-cancellation fee already owed is still collected.
    for (const charge of charges) if (charge.kind === 'cancel_fee' && retryable(charge)) actions.push({ kind: 'retry', planId: plan.id, chargeId: charge.id });
    return actions;
  }
  if (plan.status !== 'active' && plan.status !== 'paused' && plan.status !== 'past_due') return actions;

  const due = plan.type === 'monthly' ? dueInstallments(plan, charges, today) : [];
  if (plan.status === 'paused' || plan.status === 'past_due') {
    if (due.length > 0 || charges.some(retryable)) actions.push({ kind: 'skip', planId: plan.id, reason: plan.status });
    return actions;
  }
  if (!plan.has_payment_method && (due.some((d) => d.amountMinor > 0) || charges.some(retryable))) {
    actions.push({ kind: 'skip', planId: plan.id, reason: 'no_payment_method' });
    return actions;
  }
  actions.push(...due.filter((d) => d.amountMinor > 0));
  for (const charge of charges) if (retryable(charge)) actions.push({ kind: 'retry', planId: plan.id, chargeId: charge.id });

  if (isFinished(plan, charges, today)) actions.push({ kind: 'complete', planId: plan.id });
  return actions;
}

/** Installments due on or before today with no charge yet — every missed month included (catch-up). */
export function dueInstallments(plan: BillablePlan, charges: readonly BillableCharge[], today: PlainDate): Array<Extract<BillingAction, { kind: 'charge' }>> {
  if (!plan.start_date) return [];
  const start = parseDate(plan.start_date)!;
  const charged = new Set(charges.filter((c) => c.kind === 'installment').map((c) => c.installment));
  const day = formatDate(today);
  const due: Array<Extract<BillingAction, { kind: 'charge' }>> = [];
  for (let k = 1; k <= plan.fees.length; k++) {
    if (charged.has(k)) continue;
    const dueDate = formatDate(installmentDueDate(start, k, plan.billing_offset_months));
    if (dueDate > day) break;
    due.push({ kind: 'charge', planId: plan.id, installment: k, dueDate, amountMinor: plan.fees[k - 1]! });
  }
  return due;
}

/**
 * A plan is completed once everything it owes is paid and its schedule is
 * over: monthly, every installment paid and the last scheduled date passed;
 * pay-as-you-go, the end date reached with no charge outstanding.
 */
function isFinished(plan: BillablePlan, charges: readonly BillableCharge[], today: PlainDate): boolean {
  if (charges.some((c) => c.status !== 'succeeded')) return false;
  const day = formatDate(today);
  if (plan.type === 'monthly') {
    const paid = new Set(charges.filter((c) => c.kind === 'installment' && c.status === 'succeeded').map((c) => c.installment));
    for (let k = 1; k <= plan.fees.length; k++) if (plan.fees[k - 1]! > 0 && !paid.has(k)) return false;
    const last = plan.last_step_date ?? plan.end_date;
    return last !== null && last < day;
  }
  return plan.end_date !== null && plan.end_date <= day;
}

/** After a decline: when to try again (retry_days after this attempt), or never. */
export function nextAttempt(charge: Pick<BillableCharge, 'attempts' | 'retries_allowed'>, hard: boolean, today: PlainDate, retryDays: readonly number[]): string | null {
  if (hard || retryDays.length === 0 || charge.attempts - 1 >= charge.retries_allowed) return null;
  const gap = retryDays[Math.min(charge.attempts - 1, retryDays.length - 1)]!;
  return formatDate(addDays(today, gap));
}

/**
 * On resume, installments not yet charged continue from the next 1st (SPEC
 * §5): the months to add to the plan's offset so the first of them falls due
 * on the first 1st on or after the resume date, never earlier than before.
 */
export function resumeOffset(plan: Pick<BillablePlan, 'start_date' | 'billing_offset_months' | 'fees'>, charges: readonly Pick<BillableCharge, 'kind' | 'installment'>[], resumedOn: PlainDate): number {
  if (!plan.start_date) return 0;
  const start = parseDate(plan.start_date)!;
  const charged = new Set(charges.filter((c) => c.kind === 'installment').map((c) => c.installment));
  let first = 0;
  for (let k = 2; k <= plan.fees.length; k++) {
    if (!charged.has(k)) {
      first = k;
      break;
    }
  }
  if (first === 0) return 0;
  const nextFirst = resumedOn.day === 1 ? resumedOn : { year: resumedOn.year + (resumedOn.month === 12 ? 1 : 0), month: (resumedOn.month % 12) + 1, day: 1 };
  const current = installmentDueDate(start, first, plan.billing_offset_months);
  const months = (nextFirst.year - current.year) * 12 + (nextFirst.month - current.month);
  return Math.max(0, months);
}
