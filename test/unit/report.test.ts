import { describe, expect, it } from 'vitest';
import { computeReport, monthsOf, type ReportChargeRow, type ReportForecastRow, type ReportPlanRow, type ReportRefundRow, type ReportRows, type ReportVisitRow } from '../../src/domain/report.js';

/**
 * computeReport on a small history whose every figure is worked out by hand
 * below. Period: Q1 2026 (2026-01-01 to 2026-03-31), seen on 2026-03-15.
 * glow = monthly template sold in USD; acne = pay-as-you-go sold in NOK (oslo).
 */
const PERIOD = { from: '2026-01-01', to: '2026-03-31' };
const TODAY = '2026-03-15';

const plan = (template_id: string, clinic_id: string | null, start_date: string, status: ReportPlanRow['status'], plans: number, cancel_reason: string | null = null): ReportPlanRow => ({ template_id, clinic_id, start_date, status, cancel_reason, plans });
const visit = (template_id: string, clinic_id: string | null, recommended_date: string, status: ReportVisitRow['status'], completed_on: string | null, with_outcome: 0 | 1, visits: number, plan_cancelled: 0 | 1 = 0): ReportVisitRow => ({ template_id, clinic_id, plan_cancelled, recommended_date, status, completed_on, with_outcome, visits });
const charge = (template_id: string, clinic_id: string | null, currency: string, due_date: string, status: ReportChargeRow['status'], retried: 0 | 1, charges: number, amount_minor: number): ReportChargeRow => ({ template_id, clinic_id, currency, due_date, status, retried, charges, amount_minor });

const ROWS: ReportRows = {
  plans: [
    plan('glow', 'downtown', '2026-01-10', 'active', 2),
    plan('glow', 'downtown', '2026-02-01', 'completed', 1),
    plan('glow', 'downtown', '2026-03-31', 'cancelled', 1, 'Moved away'), // last day of the period: in
    plan('glow', 'downtown', '2026-01-01', 'cancelled', 1, '  moved   AWAY '), // first day: in, same reason as above
    plan('glow', 'downtown', '2025-12-31', 'cancelled', 1, 'Price'), // the day before: out
    plan('glow', 'downtown', '2026-04-01', 'active', 1), // the day after: out
    plan('glow', null, '2026-03-01', 'paused', 1), // no clinic; paused counts as active
    plan('acne', 'oslo', '2026-02-10', 'completed', 1),
    plan('acne', 'oslo', '2026-02-10', 'cancelled', 1, null),
  ],
  visits: [
    visit('glow', 'downtown', '2026-01-10', 'done', '2026-01-17', 1, 1), // 7 days after: still on time, with an outcome
    visit('glow', 'downtown', '2026-01-10', 'done', '2026-01-18', 0, 1), // 8 days after: late
    visit('glow', 'downtown', '2026-02-10', 'skipped', '2026-02-10', 0, 1),
    visit('glow', 'downtown', '2026-03-20', 'pending', null, 0, 1),
    visit('glow', 'downtown', '2026-02-01', 'pending', null, 0, 1, 1), // pending on a cancelled plan: left out
    visit('acne', 'oslo', '2026-03-31', 'done', '2026-03-01', 1, 2), // done early: on time; both with outcomes
    visit('acne', 'oslo', '2026-04-01', 'done', '2026-04-01', 1, 1), // recommended after the period: out
  ],
  charges: [
    charge('glow', 'downtown', 'USD', '2026-01-10', 'succeeded', 0, 2, 33800),
    charge('glow', 'downtown', 'USD', '2026-02-10', 'succeeded', 1, 1, 16900), // declined, then paid by a retry: recovered
    charge('glow', 'downtown', 'USD', '2026-03-10', 'failed', 0, 1, 16900), // declined, still owed
    charge('glow', 'downtown', 'USD', '2026-03-10', 'pending', 0, 1, 16900), // asked, no answer yet
    charge('glow', 'downtown', 'USD', '2025-12-31', 'succeeded', 0, 1, 16900), // due before the period: out
    charge('acne', 'oslo', 'NOK', '2026-02-10', 'succeeded', 0, 1, 150000),
    charge('acne', 'oslo', 'NOK', '2026-03-31', 'failed', 1, 1, 150000), // retried and declined again
  ],
  refunds: [
    { template_id: 'glow', clinic_id: 'downtown', currency: 'USD', date: '2026-02-20', amount_minor: 5000 } satisfies ReportRefundRow,
    { template_id: 'acne', clinic_id: 'oslo', currency: 'NOK', date: '2026-04-01', amount_minor: 20000 }, // after the period: out
  ],
  forecast: [
    { template_id: 'glow', clinic_id: 'downtown', currency: 'USD', month: '2026-03', amount_minor: 16900 } satisfies ReportForecastRow,
    { template_id: 'glow', clinic_id: null, currency: 'USD', month: '2026-03', amount_minor: 16900 },
    { template_id: 'glow', clinic_id: 'downtown', currency: 'USD', month: '2026-02', amount_minor: 16900 }, // before today's month: not a forecast
    { template_id: 'acne', clinic_id: 'oslo', currency: 'NOK', month: '2026-04', amount_minor: 150000 }, // after the period
  ],
};

describe('computeReport', () => {
  const report = computeReport(ROWS, PERIOD, TODAY);
  const glow = report.templates.find((t) => t.template_id === 'glow')!;
  const acne = report.templates.find((t) => t.template_id === 'acne')!;

  it('lists templates by id, clinics by id with the plans of no clinic last, and every currency in code order', () => {
    expect(report.templates.map((t) => t.template_id)).toEqual(['acne', 'glow']);
    expect(report.clinics.map((c) => c.clinic_id)).toEqual(['downtown', 'oslo', null]);
    expect(report.currencies).toEqual(['NOK', 'USD']);
    expect([report.from, report.to, report.today]).toEqual(['2026-01-01', '2026-03-31', '2026-03-15']);
  });

  it('counts the plans started in the period by their status today', () => {
    // glow: 2 active + 1 paused (active), 1 completed, 2 cancelled (the first and last days); 2025-12-31 and 2026-04-01 are outside.
    // Completion rate 1 completed of 3 ended = 0.3333; both cancellations say "moved away", spelled as first seen.
    expect(glow.plans).toEqual({ started: 6, active: 3, completed: 1, cancelled: 2, completion_rate: 0.3333, cancellation_reasons: [{ reason: 'Moved away', plans: 2 }] });
    // acne: 1 completed, 1 cancelled without a reason: 1 of 2 ended complete.
    expect(acne.plans).toEqual({ started: 2, active: 0, completed: 1, cancelled: 1, completion_rate: 0.5, cancellation_reasons: [{ reason: '(no reason given)', plans: 1 }] });
    // All: 8 started, 3 active, 2 completed, 3 cancelled: 2 of 5 ended complete. Reasons most frequent first.
    expect(report.totals.plans).toEqual({
      started: 8, active: 3, completed: 2, cancelled: 3, completion_rate: 0.4,
      cancellation_reasons: [{ reason: 'Moved away', plans: 2 }, { reason: '(no reason given)', plans: 1 }],
    });
    // The plan of no clinic: 1 started, paused; none ended, so no completion rate.
    expect(report.clinics[2]!.plans).toEqual({ started: 1, active: 1, completed: 0, cancelled: 0, completion_rate: null, cancellation_reasons: [] });
  });

  it('sorts visits recommended in the period into on time, late, skipped and pending', () => {
    // glow: done 7 days after (on time, outcome), done 8 days after (late), 1 skipped, 1 pending; the cancelled plan's pending visit is left out.
    expect(glow.visits).toEqual({ due: 4, on_time: 1, late: 1, skipped: 1, pending: 1, outcomes: 1 });
    // acne: 2 done a month early, both on time with outcomes; the visit recommended on 2026-04-01 is outside.
    expect(acne.visits).toEqual({ due: 2, on_time: 2, late: 0, skipped: 0, pending: 0, outcomes: 2 });
    expect(report.totals.visits).toEqual({ due: 6, on_time: 3, late: 1, skipped: 1, pending: 1, outcomes: 3 });
  });

  it('counts declined and recovered charges due in the period', () => {
    // glow: 5 charges due in the period (2 paid, 1 recovered, 1 declined, 1 pending); declined 2 (the recovered one and the failed one).
    expect(glow.payments).toEqual({ charges: 5, declined: 2, recovered: 1, failed_rate: 0.4, recovery_rate: 0.5 });
    // acne: 2 charges, 1 declined (retried, declined again), none recovered.
    expect(acne.payments).toEqual({ charges: 2, declined: 1, recovered: 0, failed_rate: 0.5, recovery_rate: 0 });
    // All: 3 of 7 declined = 0.4286; 1 of 3 recovered = 0.3333.
    expect(report.totals.payments).toEqual({ charges: 7, declined: 3, recovered: 1, failed_rate: 0.4286, recovery_rate: 0.3333 });
  });

  it('keeps money apart by currency', () => {
    // glow USD: collected 33,800 + 16,900 (the recovered one) = 50,700; refunded 5,000; net 45,700;
    // outstanding the declined 16,900; forecast March at downtown and of no clinic, 2 × 16,900 (February is past).
    expect(glow.money).toEqual({ USD: { collected_minor: 50700, refunded_minor: 5000, net_minor: 45700, outstanding_minor: 16900, forecast_minor: 33800 } });
    // acne NOK: 150,000 paid, 150,000 still declined; its refund and forecast fall after the period.
    expect(acne.money).toEqual({ NOK: { collected_minor: 150000, refunded_minor: 0, net_minor: 150000, outstanding_minor: 150000, forecast_minor: 0 } });
    // The totals never add NOK to USD.
    expect(report.totals.money).toEqual({ NOK: acne.money.NOK, USD: glow.money.USD });
    // downtown has glow's USD but only its own half of the forecast; the plan of no clinic has the other half.
    expect(report.clinics[0]!.money).toEqual({ USD: { collected_minor: 50700, refunded_minor: 5000, net_minor: 45700, outstanding_minor: 16900, forecast_minor: 16900 } });
    expect(report.clinics[2]!.money).toEqual({ USD: { collected_minor: 0, refunded_minor: 0, net_minor: 0, outstanding_minor: 0, forecast_minor: 16900 } });
  });

  it('gives each month of the period its money in every currency', () => {
    const zero = { collected_minor: 0, refunded_minor: 0, forecast_minor: 0 };
    expect(report.months).toEqual([
      // January: the two USD installments paid on the 10th.
      { month: '2026-01', money: { NOK: zero, USD: { collected_minor: 33800, refunded_minor: 0, forecast_minor: 0 } } },
      // February: the recovered installment (in the month it was due), the refund of the 20th; the NOK visit.
      { month: '2026-02', money: { NOK: { ...zero, collected_minor: 150000 }, USD: { collected_minor: 16900, refunded_minor: 5000, forecast_minor: 0 } } },
      // March: nothing collected (one declined, one pending), two installments forecast.
      { month: '2026-03', money: { NOK: zero, USD: { collected_minor: 0, refunded_minor: 0, forecast_minor: 33800 } } },
    ]);
  });

  it('reports an empty period as zeros and no rates', () => {
    const empty = computeReport(ROWS, { from: '2020-01-01', to: '2020-01-31' }, TODAY);
    expect(empty.templates).toEqual([]);
    expect(empty.currencies).toEqual([]);
    expect(empty.months).toEqual([{ month: '2020-01', money: {} }]);
    expect(empty.totals.plans.completion_rate).toBeNull();
    expect(empty.totals.payments).toEqual({ charges: 0, declined: 0, recovered: 0, failed_rate: null, recovery_rate: null });
  });
});

describe('monthsOf', () => {
  it('lists every calendar month the period touches, across a year end', () => {
    expect(monthsOf({ from: '2025-11-30', to: '2026-02-01' })).toEqual(['2025-11', '2025-12', '2026-01', '2026-02']);
    expect(monthsOf({ from: '2026-03-01', to: '2026-02-28' })).toEqual([]);
  });
});
