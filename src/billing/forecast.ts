import { addMonths, formatDate, parseDate, type PlainDate } from '../domain/dates.js';
import { installmentDueDate } from '../domain/plan.js';
import { chargesOfPlans } from '../store/charges.js';
import { refundsSince } from '../store/refunds.js';
import { billingFacts, cancelledPlansOwing, getPlan, getSteps, plansInStatus, type BillingPlanRow } from '../store/plans.js';
import { cancelledDues } from './plan.js';
import { billableOf } from './billable.js';
import type { Store } from '../store/store.js';
import { feeForInstallment } from '../plans/view.js';

export interface ForecastMonth {
  month: string;
  installments: number;
  installments_minor: number;
  visits: number;
  visits_minor: number;
  /** Declined charges whose retry falls in the month. */
  retries_minor: number;
  /** Refunds made in the month (succeeded or pending): money going back, taken off the month's total. */
  refunds_minor: number;
  total_minor: number;
}

export interface Forecast {
  from: string;
  months: ForecastMonth[];
  installments_remaining: number;
  installments_remaining_minor: number;
  refunds_minor: number;
  total_minor: number;
}

/**
 * Expected revenue month by month from active plans: monthly installments
 * not yet charged (at each installment's own fee), pay-as-you-go visits still
 * pending at their frozen prices, and declined charges awaiting a retry;
 * from cancelled plans, what was due by the cancellation and is still owed
 * (the next run charges it). A plan starting later brings installment 1 in
 * its start month. Less the refunds made in each
 * month. Paused and past-due plans bring nothing until they resume.
 */
export function forecast(store: Store, today: PlainDate, months: number): Forecast {
  const first = { year: today.year, month: today.month, day: 1 };
  const keys = Array.from({ length: months }, (_, i) => formatDate(addMonths(first, i)).slice(0, 7));
  const byMonth = new Map<string, ForecastMonth>(keys.map((month) => [month, { month, installments: 0, installments_minor: 0, visits: 0, visits_minor: 0, retries_minor: 0, refunds_minor: 0, total_minor: 0 }]));
  const result: Forecast = { from: keys[0]!, months: [...byMonth.values()], installments_remaining: 0, installments_remaining_minor: 0, refunds_minor: 0, total_minor: 0 };
  const bucket = (date: string) => byMonth.get(date.slice(0, 7));

  for (let after = 0; ; ) {
    const plans: BillingPlanRow[] = plansInStatus(store, 'active', after, 1000, null);
    if (plans.length === 0) break;
    after = plans[plans.length - 1]!.id;
    const ids = plans.map((p) => p.id);
    const charges = chargesOfPlans(store, ids);
    const facts = billingFacts(store, ids);
    for (const plan of plans) {
      const planCharges = charges.get(plan.id) ?? [];
      for (const charge of planCharges) {
        if (charge.status !== 'failed' || !charge.next_attempt_on) continue;
        const month = bucket(charge.next_attempt_on < formatDate(today) ? formatDate(today) : charge.next_attempt_on);
        if (month) month.retries_minor += charge.amount_minor;
      }
      if (plan.type === 'monthly' && plan.start_date) {
        const start = parseDate(plan.start_date)!;
        const installments = plan.months ?? 0;
        const charged = new Set(planCharges.filter((c) => c.kind === 'installment').map((c) => c.installment));
        for (let k = 1; k <= installments; k++) {
          if (charged.has(k)) continue;
          const fee = feeForInstallment(facts.get(plan.id)!.prices, k) ?? 0;
          result.installments_remaining++;
          result.installments_remaining_minor += fee;
          const due = formatDate(installmentDueDate(start, k, plan.billing_offset_months));
          const month = bucket(due < formatDate(today) ? formatDate(today) : due);
          if (month) {
            month.installments++;
            month.installments_minor += fee;
          }
        }
      } else if (plan.type === 'pay-as-you-go') {
        const prices = JSON.parse(getPlan(store, plan.id)!.service_prices) as Record<string, number>;
        for (const step of getSteps(store, plan.id)) {
          if (step.status !== 'pending' || !step.recommended_date) continue;
          const amount = (JSON.parse(step.services) as string[]).reduce((sum, id) => sum + (prices[id] ?? 0), 0);
          const month = bucket(step.recommended_date < formatDate(today) ? formatDate(today) : step.recommended_date);
          if (month && amount > 0) {
            month.visits++;
            month.visits_minor += amount;
          }
        }
      }
    }
  }
  for (let after = 0; ; ) {
    const plans = cancelledPlansOwing(store, after, 1000, null);
    if (plans.length === 0) break;
    after = plans[plans.length - 1]!.id;
    const ids = plans.map((p) => p.id);
    const charges = chargesOfPlans(store, ids);
    const facts = billingFacts(store, ids);
    for (const plan of plans) {
      const { owed, declined } = cancelledDues(billableOf(plan, facts.get(plan.id)!), charges.get(plan.id) ?? [], today);
      for (const due of owed) {
        result.installments_remaining++;
        result.installments_remaining_minor += due.amountMinor;
        const month = bucket(formatDate(today));
        if (month) {
          month.installments++;
          month.installments_minor += due.amountMinor;
        }
      }
      for (const charge of declined) {
        if (!charge.next_attempt_on) continue;
        const month = bucket(charge.next_attempt_on < formatDate(today) ? formatDate(today) : charge.next_attempt_on);
        if (month) month.retries_minor += charge.amount_minor;
      }
    }
  }
  // A refunded charge is not expected again (its installment stays charged); the money going back is taken off its month.
  for (const refund of refundsSince(store, `${keys[0]!}-01`)) {
    const month = bucket(refund.created_at);
    if (month) month.refunds_minor += refund.amount_minor;
  }
  for (const month of result.months) {
    month.total_minor = month.installments_minor + month.visits_minor + month.retries_minor - month.refunds_minor;
    result.refunds_minor += month.refunds_minor;
    result.total_minor += month.total_minor;
  }
  return result;
}
