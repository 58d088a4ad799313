import { describe, expect, it } from 'vitest';
import { billable } from '../helpers.js';
import { parseDate, type PlainDate } from '../../src/domain/dates.js';
import { chargesAtStart, duesAtCancellation, isComplete, isOverdue, planBilling, type BillableCharge, type BillablePlan } from '../../src/billing/plan.js';

/**
 * The rules of completion, overdue plans, future and backdated starts and
 * cancellations, on the pure billing plan.
 */

function d(text: string): PlainDate {
  return parseDate(text)!;
}

const plan = billable;

function payg(overrides: Partial<BillablePlan> = {}): BillablePlan {
  return plan({ type: 'pay-as-you-go', months: 0, end_date: '2027-06-15', last_step_date: '2027-05-15', ...overrides });
}

let nextId = 1;
function installment(k: number, status: BillableCharge['status'] = 'succeeded', extra: Partial<BillableCharge> = {}): BillableCharge {
  return { id: nextId++, plan_id: 42, kind: 'installment', installment: k, status, attempts: 1, retries_allowed: 3, next_attempt_on: null, hard_decline: 0, ...extra };
}

function visit(status: BillableCharge['status'] = 'succeeded', extra: Partial<BillableCharge> = {}): BillableCharge {
  return { id: nextId++, plan_id: 42, kind: 'step', installment: null, status, attempts: 1, retries_allowed: 3, next_attempt_on: null, hard_decline: 0, ...extra };
}

const paid = (n: number) => Array.from({ length: n }, (_, i) => installment(i + 1));

describe('completion that matches reality', () => {
  it('a pay-as-you-go plan past its end date with steps pending is not completed', () => {
    expect(planBilling(payg({ pending_steps: 2 }), [visit()], d('2027-07-01'))).not.toContainEqual({ kind: 'complete', planId: 42 });
  });

  it('a pay-as-you-go plan completes once every step is done or skipped, even before its end date', () => {
    expect(planBilling(payg({ pending_steps: 0 }), [visit(), visit()], d('2027-05-20'))).toContainEqual({ kind: 'complete', planId: 42 });
    expect(isComplete(payg({ pending_steps: 0 }), [], d('2027-02-01'))).toBe(true);
  });

  it('a pay-as-you-go plan with every step recorded but a visit unpaid is not completed', () => {
    expect(isComplete(payg(), [visit('failed', { next_attempt_on: '2027-05-25' })], d('2027-05-20'))).toBe(false);
  });

  it('a monthly plan with every installment paid but visits pending stays active (and overdue)', () => {
    const monthly = plan({ last_step_date: '2027-06-15', pending_steps: 1 });
    const actions = planBilling(monthly, paid(6), d('2027-07-01'));
    expect(actions).not.toContainEqual({ kind: 'complete', planId: 42 });
    expect(actions).toContainEqual({ kind: 'overdue', planId: 42 });
    // Once that visit is done or skipped, the next run completes it.
    expect(planBilling({ ...monthly, pending_steps: 0 }, paid(6), d('2027-07-02'))).toEqual([{ kind: 'complete', planId: 42 }]);
  });

  it('a monthly plan whose schedule has ended completes on the charges as settled: the day its last installment is paid', () => {
    const monthly = plan({ last_step_date: '2027-05-20' });
    // Before the run: installment 6 (due 2027-06-01) is only about to be charged.
    expect(planBilling(monthly, paid(5), d('2027-06-01'))).toEqual([{ kind: 'charge', planId: 42, installment: 6, dueDate: '2027-06-01', amountMinor: 24900 }]);
    // After it is settled, the same day: complete.
    expect(isComplete(monthly, paid(6), d('2027-06-01'))).toBe(true);
    expect(isComplete(monthly, [...paid(5), installment(6, 'failed', { next_attempt_on: '2027-06-04' })], d('2027-06-01'))).toBe(false);
    // Not before the schedule has ended.
    expect(isComplete(plan({ last_step_date: '2027-06-10' }), paid(6), d('2027-06-01'))).toBe(false);
  });
});

describe('overdue plans', () => {
  it('a plan whose last recommended date has passed with steps pending is overdue, of either type', () => {
    expect(isOverdue(payg({ pending_steps: 1 }), d('2027-05-16'))).toBe(true);
    expect(isOverdue(payg({ pending_steps: 1 }), d('2027-05-15'))).toBe(false); // the last visit's own day
    expect(isOverdue(payg({ pending_steps: 0 }), d('2027-05-16'))).toBe(false);
    expect(isOverdue(plan({ last_step_date: '2027-06-15', pending_steps: 2 }), d('2027-07-01'))).toBe(true);
    expect(isOverdue(plan({ last_step_date: null, pending_steps: 2 }), d('2027-07-01'))).toBe(false);
  });

  it('past-due plans can be overdue; paused, cancelled and completed ones are not', () => {
    expect(isOverdue(payg({ pending_steps: 1, status: 'past_due' }), d('2027-06-01'))).toBe(true);
    for (const status of ['paused', 'cancelled', 'completed', 'prescribed'] as const) expect(isOverdue(payg({ pending_steps: 1, status }), d('2027-06-01')), status).toBe(false);
  });

  it('the billing plan says so, once per plan, and an overdue plan is still charged what is due', () => {
    const monthly = plan({ months: 12, start_date: '2027-01-01', last_step_date: '2027-03-01', pending_steps: 1 });
    expect(planBilling(monthly, paid(3), d('2027-04-01'))).toEqual([
      { kind: 'charge', planId: 42, installment: 4, dueDate: '2027-04-01', amountMinor: 24900 },
      { kind: 'overdue', planId: 42 },
    ]);
  });
});

describe('starting at the right time', () => {
  it('a future start charges nothing when entered; the run charges installment 1 on the start date', () => {
    const future = plan({ start_date: '2027-03-10' });
    expect(chargesAtStart(future, d('2027-03-01'), false)).toEqual([]);
    expect(planBilling(future, [], d('2027-03-09'))).toEqual([]);
    expect(planBilling(future, [], d('2027-03-10'))).toEqual([{ kind: 'charge', planId: 42, installment: 1, dueDate: '2027-03-10', amountMinor: 24900 }]);
  });

  it('--charge-now charges installment 1 of a future start at once', () => {
    expect(chargesAtStart(plan({ start_date: '2027-03-10' }), d('2027-03-01'), true)).toEqual([{ kind: 'charge', planId: 42, installment: 1, dueDate: '2027-03-10', amountMinor: 24900 }]);
  });

  it('a start today charges installment 1 only', () => {
    expect(chargesAtStart(plan({ start_date: '2027-03-10' }), d('2027-03-10'), false).map((c) => c.installment)).toEqual([1]);
  });

  it('a backdated start charges at once every installment already due, with the first', () => {
    expect(chargesAtStart(plan({ start_date: '2027-01-15' }), d('2027-03-05'), false)).toEqual([
      { kind: 'charge', planId: 42, installment: 1, dueDate: '2027-01-15', amountMinor: 24900 },
      { kind: 'charge', planId: 42, installment: 2, dueDate: '2027-02-01', amountMinor: 24900 },
      { kind: 'charge', planId: 42, installment: 3, dueDate: '2027-03-01', amountMinor: 24900 },
    ]);
  });

  it('free installments and pay-as-you-go plans charge nothing at the start', () => {
    expect(chargesAtStart(plan({ fee: 0 }), d('2027-03-05'), true)).toEqual([]);
    expect(chargesAtStart(payg(), d('2027-03-05'), true)).toEqual([]);
  });
});

describe('cancelling at the right time', () => {
  const cancelled = (extra: Partial<BillablePlan> = {}) => plan({ status: 'cancelled', cancelled_on: '2027-03-01', ...extra });

  it('installments due on or before the cancellation date and never charged stay owed; later ones are never charged', () => {
    const charges = paid(2);
    expect(planBilling(cancelled(), charges, d('2027-03-02'))).toEqual([{ kind: 'charge', planId: 42, installment: 3, dueDate: '2027-03-01', amountMinor: 24900 }]);
    expect(planBilling(cancelled(), paid(3), d('2027-05-01'))).toEqual([]);
  });

  it('a declined installment due before the cancellation is retried on the normal schedule', () => {
    const charges = [installment(1), installment(2, 'failed', { next_attempt_on: '2027-03-04' }), installment(3)];
    expect(planBilling(cancelled(), charges, d('2027-03-03'))).toEqual([]);
    expect(planBilling(cancelled(), charges, d('2027-03-04'))).toEqual([{ kind: 'retry', planId: 42, chargeId: charges[1]!.id }]);
    // Retries exhausted: nothing more.
    const exhausted = [installment(1), installment(2, 'failed', { attempts: 4, next_attempt_on: null }), installment(3)];
    expect(planBilling(cancelled(), exhausted, d('2027-04-01'))).toEqual([]);
  });

  it('--waive-due: nothing owed is charged, but a declined early fee is still retried', () => {
    const fee: BillableCharge = { id: nextId++, plan_id: 42, kind: 'cancel_fee', installment: null, status: 'failed', attempts: 1, retries_allowed: 3, next_attempt_on: '2027-03-04', hard_decline: 0 };
    const charges = [installment(1), installment(2, 'failed', { next_attempt_on: '2027-03-04' }), fee];
    expect(planBilling(cancelled({ dues_waived: true }), charges, d('2027-03-04'))).toEqual([{ kind: 'retry', planId: 42, chargeId: fee.id }]);
  });

  it('a plan cancelled while paused owes only what fell due before the pause', () => {
    expect(planBilling(cancelled({ paused_on: '2027-02-20', cancelled_on: '2027-03-05' }), paid(1), d('2027-03-06'))).toEqual([
      { kind: 'charge', planId: 42, installment: 2, dueDate: '2027-02-01', amountMinor: 24900 },
    ]);
  });

  it('a declined visit of a cancelled pay-as-you-go plan is still retried, unless waived', () => {
    const declined = visit('failed', { next_attempt_on: '2027-03-04' });
    expect(planBilling(payg({ status: 'cancelled', cancelled_on: '2027-03-01' }), [declined], d('2027-03-04'))).toEqual([{ kind: 'retry', planId: 42, chargeId: declined.id }]);
    expect(planBilling(payg({ status: 'cancelled', cancelled_on: '2027-03-01', dues_waived: true }), [declined], d('2027-03-04'))).toEqual([]);
  });

  it('owed installments of a cancelled plan without a payment method are skipped, not lost', () => {
    expect(planBilling(cancelled({ has_payment_method: false }), paid(2), d('2027-03-02'))).toEqual([{ kind: 'skip', planId: 42, reason: 'no_payment_method' }]);
  });

  it('duesAtCancellation lists what stays owed (or is waived): unpaid installments due by then, and declined charges', () => {
    const charges = [installment(1), installment(2, 'failed', { next_attempt_on: '2027-03-04' })];
    expect(duesAtCancellation(plan(), charges, d('2027-03-01'))).toEqual({ installments: [2, 3], steps: [], amount_minor: 2 * 24900 });
    expect(duesAtCancellation(plan(), paid(3), d('2027-03-01'))).toEqual({ installments: [], steps: [], amount_minor: 0 });
  });
});
