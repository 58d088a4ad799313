import { addDays, formatDate, parseDate, type PlainDate } from '../domain/dates.js';
import { installmentDueDate } from '../domain/plan.js';
import type { ChargeKind, ChargeStatus, PlanStatus } from '../domain/records.js';

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
  /** Steps neither done nor skipped. */
  pending_steps: number;
  has_payment_method: boolean;
  cancelled_on: string | null;
  /** Set while paused; kept when a paused plan is cancelled. */
  paused_on: string | null;
  /** Cancelled with --waive-due: what was owed at the cancellation is forgiven. */
  dues_waived: boolean;
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
  /** For what a cancellation leaves owed; a charge row carries them. */
  amount_minor?: number;
  step_n?: number | null;
}

export type BillingAction =
  | { kind: 'settle'; planId: number; chargeId: number }
  | { kind: 'charge'; planId: number; installment: number; dueDate: string; amountMinor: number }
  | { kind: 'retry'; planId: number; chargeId: number }
  | { kind: 'complete'; planId: number }
  /** Not an act: the plan's schedule has ended with visits still pending (counted in the run's summary). */
  | { kind: 'overdue'; planId: number }
  | { kind: 'skip'; planId: number; reason: 'paused' | 'past_due' | 'cancelled' | 'no_payment_method' };

export function planBilling(plan: BillablePlan, charges: readonly BillableCharge[], today: PlainDate): BillingAction[] {
  const actions: BillingAction[] = [];
  const day = formatDate(today);
  // In flight when a run stopped: asked again under the same key, whatever the plan's state now.
  for (const charge of charges) if (charge.status === 'pending') actions.push({ kind: 'settle', planId: plan.id, chargeId: charge.id });

  const retryable = (charge: BillableCharge) =>
    charge.status === 'failed' && charge.hard_decline === 0 && charge.attempts - 1 < charge.retries_allowed && charge.next_attempt_on !== null && charge.next_attempt_on <= day;

  if (plan.status === 'cancelled') {
    // Billing stops, but an early-cancellation fee, and whatever fell due before the cancellation, are still collected.
    for (const charge of charges) if (charge.kind === 'cancel_fee' && retryable(charge)) actions.push({ kind: 'retry', planId: plan.id, chargeId: charge.id });
    const { owed, declined } = cancelledDues(plan, charges, today);
    const retries = declined.filter(retryable);
    if (owed.length > 0 && !plan.has_payment_method) actions.push({ kind: 'skip', planId: plan.id, reason: 'no_payment_method' });
    else actions.push(...owed);
    for (const charge of retries) actions.push({ kind: 'retry', planId: plan.id, chargeId: charge.id });
    return actions;
  }
  if (plan.status !== 'active' && plan.status !== 'paused' && plan.status !== 'past_due') return actions;

  const overdue: BillingAction[] = isOverdue(plan, today) ? [{ kind: 'overdue', planId: plan.id }] : [];
  const due = plan.type === 'monthly' ? dueInstallments(plan, charges, today) : [];
  if (plan.status === 'paused' || plan.status === 'past_due') {
    if (due.length > 0 || charges.some(retryable)) actions.push({ kind: 'skip', planId: plan.id, reason: plan.status });
    return [...actions, ...overdue];
  }
  if (!plan.has_payment_method && (due.some((d) => d.amountMinor > 0) || charges.some(retryable))) {
    actions.push({ kind: 'skip', planId: plan.id, reason: 'no_payment_method' });
    return [...actions, ...overdue];
  }
  actions.push(...due.filter((d) => d.amountMinor > 0));
  for (const charge of charges) if (retryable(charge)) actions.push({ kind: 'retry', planId: plan.id, chargeId: charge.id });

  if (isComplete(plan, charges, today)) actions.push({ kind: 'complete', planId: plan.id });
  return [...actions, ...overdue];
}

/**
 * A plan whose last recommended date has passed with visits still pending:
 * it stays active (never closed behind the clinic's back) and is listed, so
 * the clinic books, records or skips those visits.
 */
export function isOverdue(plan: Pick<BillablePlan, 'status' | 'last_step_date' | 'pending_steps'>, today: PlainDate): boolean {
  if (plan.status !== 'active' && plan.status !== 'past_due') return false;
  return plan.pending_steps > 0 && plan.last_step_date !== null && plan.last_step_date < formatDate(today);
}

/**
 * What a cancelled plan still owes on `today`: installments due by its
 * cancellation and never charged, and its declined charges that were due by
 * then (a visit always was) — none of it when the dues were waived.
 */
export function cancelledDues<C extends BillableCharge>(plan: BillablePlan, charges: readonly C[], today: PlainDate): { owed: Array<Extract<BillingAction, { kind: 'charge' }>>; declined: C[] } {
  const through = duesThrough(plan);
  if (plan.status !== 'cancelled' || through === null) return { owed: [], declined: [] };
  return {
    owed: dueInstallments(plan, charges, today).filter((d) => d.amountMinor > 0 && owedBy(plan, d.installment, through)),
    declined: charges.filter((c) => c.status === 'failed' && (c.kind === 'step' || (c.kind === 'installment' && owedBy(plan, c.installment!, through)))),
  };
}

/**
 * The last date whose installments a cancelled plan still owes, or null when
 * nothing is owed (dues waived). A plan cancelled while paused owes only what
 * fell due before the pause: paused months are never billed.
 */
function duesThrough(plan: BillablePlan): { date: string; inclusive: boolean } | null {
  if (plan.dues_waived || !plan.cancelled_on) return null;
  if (plan.paused_on && plan.paused_on <= plan.cancelled_on) return { date: plan.paused_on, inclusive: false };
  return { date: plan.cancelled_on, inclusive: true };
}

function owedBy(plan: BillablePlan, installment: number, through: { date: string; inclusive: boolean }): boolean {
  if (!plan.start_date) return false;
  const due = formatDate(installmentDueDate(parseDate(plan.start_date)!, installment, plan.billing_offset_months));
  return through.inclusive ? due <= through.date : due < through.date;
}

/**
 * What a cancellation on `on` leaves owed (or waives, with --waive-due):
 * installments due by then and not paid — never charged, or declined — and
 * declined visits.
 */
export function duesAtCancellation(plan: BillablePlan, charges: readonly BillableCharge[], on: PlainDate): { installments: number[]; steps: number[]; amount_minor: number } {
  const through = duesThrough({ ...plan, status: 'cancelled', cancelled_on: formatDate(on), dues_waived: false })!;
  const unpaid = charges.filter((c) => c.status !== 'succeeded' && c.kind !== 'cancel_fee');
  const installments = new Map<number, number>();
  for (const d of dueInstallments(plan, charges, on)) if (d.amountMinor > 0 && owedBy(plan, d.installment, through)) installments.set(d.installment, d.amountMinor);
  for (const c of unpaid) if (c.kind === 'installment' && owedBy(plan, c.installment!, through)) installments.set(c.installment!, c.amount_minor ?? plan.fees[c.installment! - 1] ?? 0);
  const steps = unpaid.filter((c) => c.kind === 'step');
  const amount = [...installments.values()].reduce((sum, a) => sum + a, 0) + steps.reduce((sum, c) => sum + (c.amount_minor ?? 0), 0);
  return { installments: [...installments.keys()].sort((a, b) => a - b), steps: steps.map((c) => c.step_n ?? 0), amount_minor: amount };
}

/**
 * What a monthly program's start charges at once: installment 1 when the
 * start is today, and every installment already due when it is backdated. A
 * future start charges nothing until its start date (the billing run does),
 * unless `chargeNow` asks for installment 1 at once.
 */
export function chargesAtStart(plan: BillablePlan, today: PlainDate, chargeNow: boolean): Array<Extract<BillingAction, { kind: 'charge' }>> {
  if (plan.type !== 'monthly' || !plan.start_date || plan.fees.length === 0) return [];
  const due = plan.start_date > formatDate(today) ? (chargeNow ? dueInstallments(plan, [], parseDate(plan.start_date)!).slice(0, 1) : []) : dueInstallments(plan, [], today);
  return due.filter((d) => d.amountMinor > 0);
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
 * A plan is completed once everything it owes is paid and every step is done
 * or skipped: monthly, also every installment paid and the last scheduled
 * date passed. A billing run asks again after settling its charges, so a
 * plan completes in the run that pays its last installment.
 */
export function isComplete(plan: BillablePlan, charges: readonly BillableCharge[], today: PlainDate): boolean {
  if (plan.status !== 'active') return false;
  if (plan.pending_steps > 0 || charges.some((c) => c.status !== 'succeeded')) return false;
  const day = formatDate(today);
  if (plan.type === 'monthly') {
    const paid = new Set(charges.filter((c) => c.kind === 'installment' && c.status === 'succeeded').map((c) => c.installment));
    for (let k = 1; k <= plan.fees.length; k++) if (plan.fees[k - 1]! > 0 && !paid.has(k)) return false;
    const last = plan.last_step_date ?? plan.end_date;
    return last !== null && last < day;
  }
  return true;
}

/** After a decline: when to try again (retry_days after this attempt), or never. */
export function nextAttempt(charge: Pick<BillableCharge, 'attempts' | 'retries_allowed'>, hard: boolean, today: PlainDate, retryDays: readonly number[]): string | null {
  if (hard || retryDays.length === 0 || charge.attempts - 1 >= charge.retries_allowed) return null;
  const gap = retryDays[Math.min(charge.attempts - 1, retryDays.length - 1)]!;
  return formatDate(addDays(today, gap));
}
