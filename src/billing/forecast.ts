import { addMonths, formatDate, parseDate, type PlainDate } from '../domain/dates.js';
import { installmentDueDate } from '../domain/plan.js';
import { chargedInstallmentsOfPlans, openCharges } from '../store/charges.js';
import { refundsSince } from '../store/refunds.js';
import { billingFacts, cancelledPlansOwing, getPlan, getSteps, plansInStatus } from '../store/plans.js';
import { cancelledDues } from './plan.js';
import { billableOf } from './billable.js';
import type { Store } from '../store/store.js';
import { feeForInstallment } from '../plans/view.js';
import type { BillingFacts, BillingPlanRow, ChargeRow } from '../domain/records.js';

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

/** One amount the forecast expects from a plan in a month (what the report groups by template and clinic). */
export interface ForecastItem {
  plan: BillingPlanRow;
  /** YYYY-MM */
  month: string;
  kind: 'installment' | 'visit' | 'retry';
  amount_minor: number;
}

/**
 * Expected revenue month by month from active plans: monthly installments
 * not yet charged (at each installment's own fee), pay-as-you-go visits still
 * pending at their frozen prices, and declined charges awaiting a retry;
 * from cancelled plans, what was due by the cancellation and is still owed
 * (the next run charges it). A plan starting later brings installment 1 in
 * its start month. Less the refunds made in each
 * month. Paused and past-due plans bring nothing until they resume.
 *
 * Money in different currencies is never added up: one pass over the plans
 * gives a forecast per currency plans were sold (and refunds made) in, keyed
 * by its code. `each`, when given, is told every amount expected (not the
 * refunds) with its plan, as it is counted.
 */
export function forecast(store: Store, today: PlainDate, months: number, each?: (item: ForecastItem) => void): Map<string, Forecast> {
  const keys = forecastMonths(today, months);
  const byCurrency = new Map<string, { result: Forecast; byMonth: Map<string, ForecastMonth> }>();
  const of = (currency: string) => {
    let found = byCurrency.get(currency);
    if (!found) {
      const result = emptyForecast(keys);
      found = { result, byMonth: new Map(result.months.map((m) => [m.month, m])) };
      byCurrency.set(currency, found);
    }
    return found;
  };
  const day = formatDate(today);
  const bucket = (currency: string, date: string) => of(currency).byMonth.get(date.slice(0, 7));
  // Anything due before today (overdue, or awaiting its run) is expected this month.
  const from = (currency: string, date: string) => bucket(currency, date < day ? day : date);
  const installment = (plan: BillingPlanRow, due: string, fee: number) => {
    const { result } = of(plan.currency);
    result.installments_remaining++;
    result.installments_remaining_minor += fee;
    const month = from(plan.currency, due);
    if (month) {
      month.installments++;
      month.installments_minor += fee;
      each?.({ plan, month: month.month, kind: 'installment', amount_minor: fee });
    }
  };
  const retries = (plan: BillingPlanRow, charges: readonly ForecastCharge[]) => {
    for (const charge of charges) {
      if (charge.status !== 'failed' || !charge.next_attempt_on) continue;
      const month = from(plan.currency, charge.next_attempt_on);
      if (month) {
        month.retries_minor += charge.amount_minor;
        each?.({ plan, month: month.month, kind: 'retry', amount_minor: charge.amount_minor });
      }
    }
  };

  inChunks(store, (after) => plansInStatus(store, 'active', after, CHUNK, null), (plan, planCharges, fact) => {
    retries(plan, planCharges);
    if (plan.type === 'monthly' && plan.start_date) {
      const start = parseDate(plan.start_date)!;
      const charged = new Set(planCharges.filter((c) => c.kind === 'installment').map((c) => c.installment));
      for (let k = 1; k <= (plan.months ?? 0); k++) {
        if (!charged.has(k)) installment(plan, formatDate(installmentDueDate(start, k, plan.billing_offset_months)), feeForInstallment(fact.prices, k) ?? 0);
      }
    } else if (plan.type === 'pay-as-you-go') {
      const prices = JSON.parse(getPlan(store, plan.id)!.service_prices) as Record<string, number>;
      for (const step of getSteps(store, plan.id)) {
        if (step.status !== 'pending' || !step.recommended_date) continue;
        const amount = (JSON.parse(step.services) as string[]).reduce((sum, id) => sum + (prices[id] ?? 0), 0);
        const month = from(plan.currency, step.recommended_date);
        if (month && amount > 0) {
          month.visits++;
          month.visits_minor += amount;
          each?.({ plan, month: month.month, kind: 'visit', amount_minor: amount });
        }
      }
    }
  });
  // What cancelled plans still owe: never-charged installments this month (the next run charges them), declined ones on their retry day.
  inChunks(store, (after) => cancelledPlansOwing(store, after, CHUNK, null), (plan, planCharges, fact) => {
    const { owed, declined } = cancelledDues(billableOf(plan, fact), planCharges, today);
    for (const due of owed) installment(plan, day, due.amountMinor);
    retries(plan, declined);
  });
  // A refunded charge is not expected again (its installment stays charged); the money going back is taken off its month.
  for (const refund of refundsSince(store, `${keys[0]!}-01`)) {
    const month = bucket(refund.currency, refund.created_at);
    if (month) month.refunds_minor += refund.amount_minor;
  }
  const results = new Map<string, Forecast>();
  for (const [currency, { result }] of byCurrency) {
    for (const month of result.months) {
      month.total_minor = month.installments_minor + month.visits_minor + month.retries_minor - month.refunds_minor;
      result.refunds_minor += month.refunds_minor;
      result.total_minor += month.total_minor;
    }
    results.set(currency, result);
  }
  return results;
}

/** A forecast of nothing over the months `keys` (YYYY-MM): what a currency nothing is expected in shows. */
export function emptyForecast(keys: readonly string[]): Forecast {
  const months = keys.map((month) => ({ month, installments: 0, installments_minor: 0, visits: 0, visits_minor: 0, retries_minor: 0, refunds_minor: 0, total_minor: 0 }));
  return { from: keys[0]!, months, installments_remaining: 0, installments_remaining_minor: 0, refunds_minor: 0, total_minor: 0 };
}

/** The months (YYYY-MM) a forecast of `months` months from `today` covers. */
export function forecastMonths(today: PlainDate, months: number): string[] {
  const first = { year: today.year, month: today.month, day: 1 };
  return Array.from({ length: months }, (_, i) => formatDate(addMonths(first, i)).slice(0, 7));
}

const CHUNK = 1000;

/**
 * Reads plans a chunk at a time (memory does not grow with their number),
 * with each chunk's billing facts and what the forecast needs of their
 * charges: every charge not yet paid (pending or declined, read once for all
 * plans: few), and, for the paid ones, which installment each paid — read
 * from an index, as a paid installment's row holds nothing more the forecast
 * uses. A paid installment is handed on as a charge with only those fields.
 */
function inChunks(store: Store, read: (after: number) => BillingPlanRow[], each: (plan: BillingPlanRow, charges: ForecastCharge[], fact: BillingFacts) => void): void {
  const open = new Map<number, ChargeRow[]>();
  for (let after = 0; ; ) {
    const page = openCharges(store, after, CHUNK);
    if (page.length === 0) break;
    after = page[page.length - 1]!.id;
    for (const charge of page) {
      const list = open.get(charge.plan_id);
      if (list) list.push(charge);
      else open.set(charge.plan_id, [charge]);
    }
  }
  for (let after = 0; ; ) {
    const plans = read(after);
    if (plans.length === 0) return;
    after = plans[plans.length - 1]!.id;
    const ids = plans.map((p) => p.id);
    const installments = chargedInstallmentsOfPlans(store, ids);
    const facts = billingFacts(store, ids);
    for (const plan of plans) {
      const unpaid = open.get(plan.id) ?? [];
      const unpaidInstallments = new Set(unpaid.filter((c) => c.kind === 'installment').map((c) => c.installment));
      const paid = (installments.get(plan.id) ?? []).filter((k) => !unpaidInstallments.has(k)).map((k) => paidInstallment(plan, k));
      each(plan, [...paid, ...unpaid], facts.get(plan.id)!);
    }
  }
}

/** What the forecast reads of a charge. */
type ForecastCharge = Pick<ChargeRow, 'id' | 'plan_id' | 'kind' | 'installment' | 'step_n' | 'status' | 'attempts' | 'retries_allowed' | 'next_attempt_on' | 'hard_decline' | 'amount_minor'>;

/** A paid installment as the forecast sees it: what it paid for and that it is paid (its row, amount and retries are never read). */
function paidInstallment(plan: BillingPlanRow, installment: number): ForecastCharge {
  return { id: 0, plan_id: plan.id, kind: 'installment', installment, step_n: null, status: 'succeeded', attempts: 1, retries_allowed: 0, next_attempt_on: null, hard_decline: 0, amount_minor: 0 };
}
