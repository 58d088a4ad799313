import type { Template } from '../generated/schema-types.js';
import { formatDate, parseDate } from '../domain/dates.js';
import { installmentDueDate } from '../domain/plan.js';
import { chargesOfPlan } from '../store/charges.js';
import { refundsOfPlan } from '../store/refunds.js';
import { getPrices, type PlanRow } from '../store/plans.js';
import type { Store } from '../store/store.js';
import { feeForInstallment } from '../plans/view.js';

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
    summary.visits = snapshot.schedule.map((entry, i) => ({ n: i + 1, amount_minor: entry.services.reduce((sum, id) => sum + (prices[id] ?? 0), 0) }));
  }
  return summary;
}
