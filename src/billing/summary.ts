import type { Template } from '../generated/schema-types.js';
import { formatDate, parseDate } from '../domain/dates.js';
import { installmentDueDate } from '../domain/plan.js';
import { chargesOfPlan } from '../store/charges.js';
import { getPrices, getSteps, type PlanRow } from '../store/plans.js';
import { performedOf } from '../domain/performed.js';
import type { Store } from '../store/store.js';
import { feeForInstallment } from '../plans/view.js';

/** What a plan costs and what has been paid: for handouts, `plan show` and forecasts. */
export interface PaymentSummary {
  currency: string;
  type: 'monthly' | 'pay-as-you-go';
  paid_minor: number;
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
  const summary: PaymentSummary = {
    currency: plan.currency,
    type: plan.type,
    paid_minor: paid.reduce((sum, c) => sum + c.amount_minor, 0),
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
