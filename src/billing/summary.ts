import type { Template } from '../generated/schema-types.js';
import { formatDate, parseDate } from '../domain/dates.js';
import { installmentDueDate } from '../domain/plan.js';
import { chargesOfPlan } from '../store/charges.js';
import { listAudit } from '../store/audit.js';
import { getPrices, getSteps } from '../store/plans.js';
import { performedOf } from '../domain/performed.js';
import { refundsOfPlan } from '../store/refunds.js';
import type { Store } from '../store/store.js';
import { feeForInstallment } from '../plans/view.js';
import { earlyFeeMinor, insideMinimumTerm } from './points.js';
import { cancelledDues } from './plan.js';
import { billablePlan } from './billable.js';
import type { ChargeRow, PlanRow } from '../domain/records.js';

/** What a plan costs and what has been paid: for handouts, `plan show` and forecasts. */
export interface PaymentSummary {
  currency: string;
  type: 'monthly' | 'pay-as-you-go';
  paid_minor: number;
  /** Given back by refunds (always set by paymentSummary; optional for summaries built by hand) that succeeded (refunds still pending are not counted until they do). */
  refunded_minor?: number;
  /** Paid less refunded. */
  net_minor?: number;
  /** Each refund that succeeded, oldest first. */
  refunds?: Array<{ charge_id: number; amount_minor: number; on: string; reason: string }>;
  /** Declined charges still owed. */
  outstanding_minor: number;
  monthly: {
    installments: number;
    paid_installments: number;
    /** The fee of each installment, in order (a rollout or edit may change it from one on). */
    fees_minor: number[];
    next_charge: { installment: number; date: string; amount_minor: number } | null;
  } | null;
  visits: Array<{ n: number; amount_minor: number }> | null;
  /** Every payment asked of the patient, one line each (see itemisePayments). */
  items: PaymentItem[];
}

export function paymentSummary(store: Store, plan: PlanRow): PaymentSummary {
  const snapshot = JSON.parse(plan.snapshot) as Template;
  const charges = chargesOfPlan(store, plan.id);
  const paid = charges.filter((c) => c.status === 'succeeded');
  const refunds = refundsOfPlan(store, plan.id).filter((r) => r.status === 'succeeded');
  const summary: PaymentSummary = {
    currency: plan.currency,
    type: plan.type,
    paid_minor: paid.reduce((sum, c) => sum + c.amount_minor, 0),
    refunded_minor: refunds.reduce((sum, r) => sum + r.amount_minor, 0),
    net_minor: paid.reduce((sum, c) => sum + c.amount_minor, 0) - refunds.reduce((sum, r) => sum + r.amount_minor, 0),
    refunds: refunds.map((r) => ({ charge_id: r.charge_id, amount_minor: r.amount_minor, on: r.created_at.slice(0, 10), reason: r.reason })),
    outstanding_minor: charges.filter((c) => c.status === 'failed').reduce((sum, c) => sum + c.amount_minor, 0),
    monthly: null,
    visits: null,
    items: itemisePayments(paymentRecord(store, plan, charges, refunds.map((r) => ({ charge_id: r.charge_id, amount_minor: r.amount_minor, date: r.created_at.slice(0, 10) })))),
  };
  if (plan.type === 'monthly') {
    const installments = snapshot.duration.months ?? 0;
    const prices = getPrices(store, plan.id);
    const fees = Array.from({ length: installments }, (_, i) => feeForInstallment(prices, i + 1) ?? 0);
    const settled = new Set(charges.filter((c) => c.kind === 'installment' && c.status !== 'failed').map((c) => c.installment));
    const paidInstallments = paid.filter((c) => c.kind === 'installment').length;
    let next: { installment: number; date: string; amount_minor: number } | null = null;
    const start = plan.start_date ? parseDate(plan.start_date) : undefined;
    const billable = plan.status === 'active' || plan.status === 'past_due';
    if (start && billable) {
      for (let k = 1; k <= installments; k++) {
        if (settled.has(k)) continue;
        next = { installment: k, date: formatDate(installmentDueDate(start, k, plan.billing_offset_months)), amount_minor: fees[k - 1]! };
        break;
      }
    }
    summary.monthly = { installments, paid_installments: paidInstallments, fees_minor: fees, next_charge: next };
  } else {
    const prices = JSON.parse(plan.service_prices) as Record<string, number>;
    const steps = getSteps(store, plan.id);
    const price = (ids: readonly string[]) => ids.reduce((sum, id) => sum + (prices[id] ?? 0), 0);
    // A visit done is priced at what it was charged for the services performed; one ahead at its planned services.
    summary.visits = snapshot.schedule.map((entry, i) => {
      const step = steps.find((s) => s.n === i + 1);
      const charged = charges.find((c) => c.kind === 'step' && c.step_n === i + 1);
      if (step?.status === 'done') return { n: i + 1, amount_minor: charged ? charged.amount_minor : price(performedOf(step)) };
      return { n: i + 1, amount_minor: price(entry.services) };
    });
  }
  return summary;
}

/**
 * What the itemised payments are built from. `refunds` is where money given
 * back enters: one entry per refund, tied to the charge it refunds; each becomes
 * a line after that charge.
 */
export interface PaymentRecord {
  /** A monthly plan's number of installments; null for pay-as-you-go. */
  installments: number | null;
  charges: ReadonlyArray<Pick<ChargeRow, 'id' | 'kind' | 'installment' | 'step_n' | 'due_date' | 'amount_minor' | 'status'>>;
  /** An early cancellation fee the plan's cancellation made due; null when none was. */
  earlyFee: { minor: number; waived: boolean } | null;
  refunds: ReadonlyArray<{ charge_id: number; amount_minor: number; date: string }>;
  /** Installments a cancelled plan still owes and that no charge has asked for yet (the next billing run does). */
  owed?: ReadonlyArray<{ installment: number; due_date: string; amount_minor: number }>;
}

export type PaymentItemState = 'paid' | 'pending' | 'declined' | 'waived' | 'owed' | 'refunded';

export interface PaymentItem {
  kind: 'installment' | 'visit' | 'early_fee' | 'refund';
  /** "Installment 2 of 6", "Visit 3", "Early cancellation fee", "Refund of visit 3". */
  label: string;
  /** The charge's due date, or the refund's date; null for a fee never charged. */
  date: string | null;
  /** Always positive; a refund is money back. */
  amount_minor: number;
  state: PaymentItemState;
  /** The charge the line is (or refunds); null for a fee never charged. */
  charge_id: number | null;
}

/** Each charge of a plan as a line, in date order, each refund after its charge, installments still owed, and an early fee waived or still to charge. */
export function itemisePayments(record: PaymentRecord): PaymentItem[] {
  const label = (c: PaymentRecord['charges'][number]) =>
    c.kind === 'installment' ? `Installment ${c.installment}${record.installments ? ` of ${record.installments}` : ''}` : c.kind === 'step' ? `Visit ${c.step_n}` : 'Early cancellation fee';
  const state = { succeeded: 'paid', failed: 'declined', pending: 'pending' } as const;
  const items: PaymentItem[] = [];
  const charges = [...record.charges].sort((a, b) => a.due_date.localeCompare(b.due_date) || a.id - b.id);
  for (const c of charges) {
    items.push({ kind: c.kind === 'step' ? 'visit' : c.kind === 'cancel_fee' ? 'early_fee' : 'installment', label: label(c), date: c.due_date, amount_minor: c.amount_minor, state: state[c.status], charge_id: c.id });
    const refunds = record.refunds.filter((r) => r.charge_id === c.id).sort((a, b) => a.date.localeCompare(b.date));
    for (const r of refunds) {
      const what = label(c);
      items.push({ kind: 'refund', label: `Refund of ${what.charAt(0).toLowerCase()}${what.slice(1)}`, date: r.date, amount_minor: r.amount_minor, state: 'refunded', charge_id: c.id });
    }
  }
  for (const o of record.owed ?? []) {
    items.push({ kind: 'installment', label: `Installment ${o.installment}${record.installments ? ` of ${record.installments}` : ''}`, date: o.due_date, amount_minor: o.amount_minor, state: 'owed', charge_id: null });
  }
  if (record.earlyFee && !charges.some((c) => c.kind === 'cancel_fee')) {
    items.push({ kind: 'early_fee', label: 'Early cancellation fee', date: null, amount_minor: record.earlyFee.minor, state: record.earlyFee.waived ? 'waived' : 'owed', charge_id: null });
  }
  return items;
}

/** One line in words: "Installment 1 of 6, due 2027-01-01: $249.00 paid", "Refund of visit 2, 2027-02-20: −$40.00". */
export function describePaymentItem(item: PaymentItem, money: (minor: number) => string, date: (iso: string) => string = (iso) => iso): string {
  if (item.kind === 'refund') return `${item.label}${item.date ? `, ${date(item.date)}` : ''}: −${money(item.amount_minor)}`;
  const what = {
    paid: 'paid',
    pending: 'pending (the processor has not answered yet)',
    declined: 'declined, still owed',
    waived: 'waived',
    owed: 'owed, not yet charged',
    refunded: 'refunded',
  }[item.state];
  return `${item.label}${item.date ? `, due ${date(item.date)}` : ''}: ${money(item.amount_minor)} ${what}`;
}

/** The facts of one plan the itemised payments need, read from the store. */
function paymentRecord(store: Store, plan: PlanRow, charges: ChargeRow[], refunds: PaymentRecord['refunds']): PaymentRecord {
  const snapshot = JSON.parse(plan.snapshot) as Template;
  let earlyFee: PaymentRecord['earlyFee'] = null;
  const cancelledOn = plan.status === 'cancelled' && plan.cancelled_on ? parseDate(plan.cancelled_on) : undefined;
  if (cancelledOn && insideMinimumTerm(plan, cancelledOn) && earlyFeeMinor(plan) > 0) {
    const cancel = listAudit(store, { entity: 'plan', id: String(plan.id) }).filter((e) => e.action === 'plan.cancel').at(-1);
    earlyFee = { minor: earlyFeeMinor(plan), waived: Boolean((cancel?.after as { waive_fee?: boolean } | null)?.waive_fee) };
  }
  // Due by the cancellation and never charged: owed until the next billing run charges it (unless waived).
  const owed = cancelledOn ? cancelledDues(billablePlan(store, plan.id), charges, cancelledOn).owed.map((d) => ({ installment: d.installment, due_date: d.dueDate, amount_minor: d.amountMinor })) : [];
  return { installments: plan.type === 'monthly' ? (snapshot.duration.months ?? 0) : null, charges, earlyFee, refunds, owed };
}
