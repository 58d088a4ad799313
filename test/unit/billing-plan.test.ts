import { describe, expect, it } from 'vitest';
import { billable } from '../helpers.js';
import { addDays, formatDate, parseDate, type PlainDate } from '../../src/domain/dates.js';
import { dueInstallments, nextAttempt, planBilling, type BillableCharge, type BillablePlan, type BillingAction } from '../../src/billing/plan.js';
import { resumeOffset } from '../../src/domain/plan.js';
import { earlyFeeMinor, insideMinimumTerm } from '../../src/billing/points.js';
import type { PlanRow } from '../../src/domain/records.js';

/**
 * The pure planning step of the billing run, walked across a fixed clock:
 * every 'charge' the planner asks for is fed back as a charge the processor
 * answered (succeeded unless the test's card says otherwise), every 'retry'
 * as a new attempt, every 'complete' as the plan's new status.
 */

const RETRY_DAYS = [3, 5, 7] as const;

function d(text: string): PlainDate {
  const date = parseDate(text);
  if (!date) throw new Error(`bad date ${text}`);
  return date;
}

function monthly(overrides: Partial<BillablePlan> & { start_date: string; months: number; fee?: number }): BillablePlan {
  return billable(overrides);
}

type Card = 'ok' | 'decline' | 'hard';

interface Walk {
  plan: BillablePlan;
  charges: BillableCharge[];
  /** Every action the planner returned, with the day it was asked. */
  log: Array<{ day: string; action: BillingAction }>;
}

/** Applies the planner's actions as the applying step would, with the processor answering as `card` says. */
function apply(walk: Walk, actions: BillingAction[], day: PlainDate, card: Card): void {
  const today = formatDate(day);
  for (const action of actions) {
    walk.log.push({ day: today, action });
    if (action.kind === 'charge') {
      const charge: BillableCharge = { id: walk.charges.length + 1, plan_id: action.planId, kind: 'installment', installment: action.installment, status: 'pending', attempts: 1, retries_allowed: RETRY_DAYS.length, next_attempt_on: null, hard_decline: 0 };
      walk.charges.push(charge);
      answer(walk, charge, day, card);
    } else if (action.kind === 'retry') {
      const charge = walk.charges.find((c) => c.id === action.chargeId)!;
      charge.attempts += 1;
      charge.status = 'pending';
      charge.next_attempt_on = null;
      answer(walk, charge, day, card);
    } else if (action.kind === 'settle') {
      answer(walk, walk.charges.find((c) => c.id === action.chargeId)!, day, card);
    } else if (action.kind === 'complete') {
      walk.plan = { ...walk.plan, status: 'completed' };
    }
  }
}

function answer(walk: Walk, charge: BillableCharge, day: PlainDate, card: Card): void {
  if (card === 'ok') {
    charge.status = 'succeeded';
    return;
  }
  charge.status = 'failed';
  charge.hard_decline = card === 'hard' ? 1 : 0;
  charge.next_attempt_on = nextAttempt(charge, card === 'hard', day, RETRY_DAYS);
  // Exhausted retries or a hard decline: the applying step makes the plan past due.
  if (charge.next_attempt_on === null && walk.plan.status === 'active') walk.plan = { ...walk.plan, status: 'past_due' };
}

/** Runs the planner once a day from `from` to `to` inclusive. */
function walkDays(walk: Walk, from: string, to: string, card: Card | ((day: string) => Card) = 'ok'): Walk {
  for (let day = d(from); formatDate(day) <= to; day = addDays(day, 1)) {
    const which = typeof card === 'function' ? card(formatDate(day)) : card;
    apply(walk, planBilling(walk.plan, walk.charges, day), day, which);
  }
  return walk;
}

function newWalk(plan: BillablePlan, charges: BillableCharge[] = []): Walk {
  return { plan, charges, log: [] };
}

/** "date:installment" of every charge action, in order. */
function charged(walk: Walk): string[] {
  return walk.log.filter((e) => e.action.kind === 'charge').map((e) => {
    const a = e.action as Extract<BillingAction, { kind: 'charge' }>;
    return `${e.day}:${a.installment}@${a.dueDate}`;
  });
}

function days(walk: Walk, kind: BillingAction['kind']): string[] {
  return walk.log.filter((e) => e.action.kind === kind).map((e) => e.day);
}

describe('planBilling across a year, one run a day', () => {
  it('a 12-month plan started on the 1st: one installment on each 1st, completed after its last step', () => {
    const walk = walkDays(newWalk(monthly({ start_date: '2027-01-01', months: 12, last_step_date: '2027-12-01', end_date: '2028-01-01' })), '2026-12-01', '2028-02-15');
    expect(charged(walk)).toEqual([
      '2027-01-01:1@2027-01-01',
      '2027-02-01:2@2027-02-01',
      '2027-03-01:3@2027-03-01',
      '2027-04-01:4@2027-04-01',
      '2027-05-01:5@2027-05-01',
      '2027-06-01:6@2027-06-01',
      '2027-07-01:7@2027-07-01',
      '2027-08-01:8@2027-08-01',
      '2027-09-01:9@2027-09-01',
      '2027-10-01:10@2027-10-01',
      '2027-11-01:11@2027-11-01',
      '2027-12-01:12@2027-12-01',
    ]);
    // Completed the day after the last scheduled date, once.
    expect(days(walk, 'complete')).toEqual(['2027-12-02']);
    expect(walk.plan.status).toBe('completed');
    expect(walk.charges).toHaveLength(12);
    expect(walk.charges.every((c) => c.status === 'succeeded')).toBe(true);
  });

  it('a 3-month plan started on the 15th: 1 at the start, 2 and 3 on the next two 1sts', () => {
    const walk = walkDays(newWalk(monthly({ start_date: '2027-01-15', months: 3, last_step_date: '2027-03-15' })), '2027-01-01', '2027-12-31');
    expect(charged(walk)).toEqual(['2027-01-15:1@2027-01-15', '2027-02-01:2@2027-02-01', '2027-03-01:3@2027-03-01']);
    expect(days(walk, 'complete')).toEqual(['2027-03-16']);
  });

  it('a plan started on the 31st: installment 2 falls due the very next day (Feb 1), then each 1st', () => {
    const walk = walkDays(newWalk(monthly({ start_date: '2027-01-31', months: 3, last_step_date: '2027-03-31' })), '2027-01-30', '2027-06-30');
    expect(charged(walk)).toEqual(['2027-01-31:1@2027-01-31', '2027-02-01:2@2027-02-01', '2027-03-01:3@2027-03-01']);
    expect(days(walk, 'complete')).toEqual(['2027-04-01']);
  });

  it('a 12-month plan started on the 31st of a month whose next month is short, across a year end', () => {
    const walk = walkDays(newWalk(monthly({ start_date: '2027-08-31', months: 12, last_step_date: '2028-07-31' })), '2027-08-01', '2028-09-30');
    expect(charged(walk).map((c) => c.split('@')[1])).toEqual([
      '2027-08-31', '2027-09-01', '2027-10-01', '2027-11-01', '2027-12-01', '2028-01-01',
      '2028-02-01', '2028-03-01', '2028-04-01', '2028-05-01', '2028-06-01', '2028-07-01',
    ]);
    expect(days(walk, 'complete')).toEqual(['2028-08-01']);
  });

  it('each installment is charged at its own fee', () => {
    const plan = { ...monthly({ start_date: '2027-01-15', months: 4 }), fees: [10000, 10000, 12500, 0] };
    const walk = walkDays(newWalk(plan), '2027-01-15', '2027-05-31');
    const amounts = walk.log.filter((e) => e.action.kind === 'charge').map((e) => (e.action as Extract<BillingAction, { kind: 'charge' }>).amountMinor);
    // A free installment is never sent to the processor.
    expect(amounts).toEqual([10000, 10000, 12500]);
  });

  it('never asks twice for an installment it was already told about', () => {
    const walk = newWalk(monthly({ start_date: '2027-01-15', months: 6 }));
    walkDays(walk, '2027-03-01', '2027-03-01');
    expect(charged(walk)).toEqual(['2027-03-01:1@2027-01-15', '2027-03-01:2@2027-02-01', '2027-03-01:3@2027-03-01']);
    // The same day again, and every day to the next 1st: nothing more.
    walkDays(walk, '2027-03-01', '2027-03-31');
    expect(charged(walk)).toHaveLength(3);
  });
});

describe('catch-up of missed months', () => {
  it('a run that missed three months charges every missed installment once, with its own due date', () => {
    const walk = newWalk(monthly({ start_date: '2027-01-15', months: 12 }));
    walkDays(walk, '2027-01-15', '2027-01-15'); // installment 1 only
    // No run from January to May 10 (the cron host was down).
    walkDays(walk, '2027-05-10', '2027-05-10');
    expect(charged(walk)).toEqual(['2027-01-15:1@2027-01-15', '2027-05-10:2@2027-02-01', '2027-05-10:3@2027-03-01', '2027-05-10:4@2027-04-01', '2027-05-10:5@2027-05-01']);
    walkDays(walk, '2027-05-10', '2027-06-01');
    expect(charged(walk).slice(5)).toEqual(['2027-06-01:6@2027-06-01']);
  });

  it('dueInstallments lists every unpaid installment up to today and stops at the first future one', () => {
    const plan = monthly({ start_date: '2027-01-15', months: 6 });
    const paid: BillableCharge[] = [{ id: 1, plan_id: 42, kind: 'installment', installment: 1, status: 'succeeded', attempts: 1, retries_allowed: 3, next_attempt_on: null, hard_decline: 0 }];
    expect(dueInstallments(plan, paid, d('2027-04-30')).map((a) => [a.installment, a.dueDate])).toEqual([
      [2, '2027-02-01'],
      [3, '2027-03-01'],
      [4, '2027-04-01'],
    ]);
    expect(dueInstallments(plan, [], d('2027-01-14'))).toEqual([]);
    expect(dueInstallments(plan, [], d('2099-01-01')).map((a) => a.installment)).toEqual([1, 2, 3, 4, 5, 6]);
    // A failed installment is not due again as a new charge: its retries carry it.
    const failed = { ...paid[0]!, id: 2, installment: 2, status: 'failed' as const };
    expect(dueInstallments(plan, [...paid, failed], d('2027-03-01')).map((a) => a.installment)).toEqual([3]);
    // A prescribed plan has no start and nothing due.
    expect(dueInstallments({ ...plan, start_date: null }, [], d('2099-01-01'))).toEqual([]);
  });
});

describe('pause and resume', () => {
  it('a paused plan is skipped while an installment is due, and charges nothing', () => {
    const walk = newWalk(monthly({ start_date: '2027-01-15', months: 12 }));
    walkDays(walk, '2027-01-15', '2027-02-10');
    walk.plan = { ...walk.plan, status: 'paused' };
    walkDays(walk, '2027-02-20', '2027-04-10');
    expect(charged(walk)).toEqual(['2027-01-15:1@2027-01-15', '2027-02-01:2@2027-02-01']);
    // Nothing due from Feb 20 to Feb 28: no skip either. From Mar 1 on: one skip a day.
    const skips = walk.log.filter((e) => e.action.kind === 'skip');
    expect(skips[0]!.day).toBe('2027-03-01');
    expect(skips.every((e) => (e.action as Extract<BillingAction, { kind: 'skip' }>).reason === 'paused')).toBe(true);
    expect(skips).toHaveLength(41); // Mar 1 .. Apr 10
  });

  it('on resume across a 1st, the unpaid installments continue from the next 1st', () => {
    const walk = newWalk(monthly({ start_date: '2027-01-15', months: 12 }));
    walkDays(walk, '2027-01-15', '2027-02-19');
    walk.plan = { ...walk.plan, status: 'paused' };
    walkDays(walk, '2027-02-20', '2027-04-10');
    // Resumed on April 10: installment 3 was due March 1, so everything moves by two months to May 1.
    const offset = resumeOffset(walk.plan, walk.charges, d('2027-04-10'));
    expect(offset).toBe(2);
    walk.plan = { ...walk.plan, status: 'active', billing_offset_months: walk.plan.billing_offset_months + offset };
    walkDays(walk, '2027-04-10', '2028-03-31');
    expect(charged(walk).map((c) => c.split('@')[1])).toEqual([
      '2027-01-15', '2027-02-01',
      '2027-05-01', '2027-06-01', '2027-07-01', '2027-08-01', '2027-09-01', '2027-10-01', '2027-11-01', '2027-12-01', '2028-01-01', '2028-02-01',
    ]);
    // No charge on the resume day itself: the missed months are not caught up after a pause.
    expect(charged(walk).filter((c) => c.startsWith('2027-04-10'))).toEqual([]);
  });

  it('resuming on a 1st continues that same day; resuming before the next due date moves nothing', () => {
    const plan = monthly({ start_date: '2027-01-15', months: 12 });
    const paid = (n: number): BillableCharge[] => Array.from({ length: n }, (_, i) => ({ id: i + 1, plan_id: 42, kind: 'installment', installment: i + 1, status: 'succeeded', attempts: 1, retries_allowed: 3, next_attempt_on: null, hard_decline: 0 }));
    expect(resumeOffset(plan, paid(2), d('2027-04-01'))).toBe(1); // installment 3 (Mar 1) → Apr 1
    expect(resumeOffset(plan, paid(2), d('2027-02-25'))).toBe(0); // installment 3 still ahead (Mar 1)
    expect(resumeOffset(plan, paid(2), d('2027-03-01'))).toBe(0); // due today: nothing moves
    expect(resumeOffset(plan, paid(2), d('2027-12-31'))).toBe(10); // → Jan 1, 2028
    expect(resumeOffset(plan, paid(12), d('2027-12-31'))).toBe(0); // nothing left to move
    expect(resumeOffset({ ...plan, start_date: null }, [], d('2027-12-31'))).toBe(0);
    // A second pause adds to the first: the offset is counted from the already-moved due date.
    const moved = { ...plan, billing_offset_months: 2 }; // installment 3 now May 1
    expect(resumeOffset(moved, paid(2), d('2027-06-15'))).toBe(2); // → Jul 1
  });

  it('a failed installment 2 still counts as charged: the resume moves from installment 3', () => {
    const plan = monthly({ start_date: '2027-01-15', months: 6 });
    const charges: BillableCharge[] = [
      { id: 1, plan_id: 42, kind: 'installment', installment: 1, status: 'succeeded', attempts: 1, retries_allowed: 3, next_attempt_on: null, hard_decline: 0 },
      { id: 2, plan_id: 42, kind: 'installment', installment: 2, status: 'failed', attempts: 2, retries_allowed: 3, next_attempt_on: '2027-02-09', hard_decline: 0 },
    ];
    expect(resumeOffset(plan, charges, d('2027-03-10'))).toBe(1); // installment 3: Mar 1 → Apr 1
  });
});

describe('cancellation', () => {
  function row(snapshot: object, start: string | null): PlanRow {
    return {
      id: 7, patient_id: 1, clinic_id: 'main', template_id: 't', template_version: 1, template_hash: 'x', template_commit: null, template_dirty: null,
      name: 'T', type: 'monthly', status: 'active', snapshot: JSON.stringify(snapshot), currency: 'USD', start_date: start, end_date: null, paused_on: null,
      pause_until: null, cancelled_on: null, cancel_reason: null, payment_method_id: 1, service_prices: '{}', billing_offset_months: 0, created_at: '', updated_at: '', version: 1,
    };
  }
  const terms = { duration: { months: 6 }, cancellation: { min_term_months: 3, early_fee: '150.00' } };

  it('the early fee is owed strictly inside the minimum term', () => {
    expect(insideMinimumTerm(row(terms, '2027-01-15'), d('2027-01-15'))).toBe(true);
    expect(insideMinimumTerm(row(terms, '2027-01-15'), d('2027-04-14'))).toBe(true);
    expect(insideMinimumTerm(row(terms, '2027-01-15'), d('2027-04-15'))).toBe(false);
    expect(insideMinimumTerm(row(terms, '2027-01-15'), d('2027-12-01'))).toBe(false);
    // From the 31st, the term ends on the last day of the short month.
    expect(insideMinimumTerm(row(terms, '2026-11-30'), d('2027-02-27'))).toBe(true);
    expect(insideMinimumTerm(row(terms, '2026-11-30'), d('2027-02-28'))).toBe(false);
    expect(insideMinimumTerm(row(terms, '2027-01-31'), d('2027-04-29'))).toBe(true);
    expect(insideMinimumTerm(row(terms, '2027-01-31'), d('2027-04-30'))).toBe(false);
    // No terms, or not started: never a fee.
    expect(insideMinimumTerm(row({ duration: { months: 6 } }, '2027-01-15'), d('2027-01-16'))).toBe(false);
    expect(insideMinimumTerm(row(terms, null), d('2027-01-16'))).toBe(false);
    expect(earlyFeeMinor(row(terms, '2027-01-15'))).toBe(15000);
    expect(earlyFeeMinor(row({ duration: { months: 6 } }, '2027-01-15'))).toBe(0);
  });

  it('a cancelled plan is charged nothing more, whatever is due', () => {
    const walk = newWalk(monthly({ start_date: '2027-01-15', months: 12 }));
    walkDays(walk, '2027-01-15', '2027-02-10');
    walk.plan = { ...walk.plan, status: 'cancelled' };
    walkDays(walk, '2027-02-11', '2028-02-01');
    expect(charged(walk)).toEqual(['2027-01-15:1@2027-01-15', '2027-02-01:2@2027-02-01']);
    expect(walk.log.filter((e) => e.day > '2027-02-10')).toEqual([]);
  });

  it('a cancelled plan still retries a declined early fee, but not a declined installment', () => {
    const plan = { ...monthly({ start_date: '2027-01-15', months: 6 }), status: 'cancelled' as const };
    const charges: BillableCharge[] = [
      { id: 1, plan_id: 42, kind: 'installment', installment: 2, status: 'failed', attempts: 1, retries_allowed: 3, next_attempt_on: '2027-02-04', hard_decline: 0 },
      { id: 2, plan_id: 42, kind: 'cancel_fee', installment: null, status: 'failed', attempts: 1, retries_allowed: 3, next_attempt_on: '2027-02-13', hard_decline: 0 },
    ];
    expect(planBilling(plan, charges, d('2027-02-12'))).toEqual([]);
    expect(planBilling(plan, charges, d('2027-02-13'))).toEqual([{ kind: 'retry', planId: 42, chargeId: 2 }]);
  });
});

describe('every decline path', () => {
  it('retryable: retried 3, then 5, then 7 days later; then past due, skipped, nothing more charged', () => {
    const walk = newWalk(monthly({ start_date: '2027-01-15', months: 12 }));
    walkDays(walk, '2027-01-15', '2027-01-31', 'ok');
    walkDays(walk, '2027-02-01', '2027-03-31', 'decline');
    expect(charged(walk)).toEqual(['2027-01-15:1@2027-01-15', '2027-02-01:2@2027-02-01']);
    expect(days(walk, 'retry')).toEqual(['2027-02-04', '2027-02-09', '2027-02-16']);
    const second = walk.charges.find((c) => c.installment === 2)!;
    expect(second).toMatchObject({ status: 'failed', attempts: 4, next_attempt_on: null });
    expect(walk.plan.status).toBe('past_due');
    // Past due: installment 3 (March 1) is not charged; the plan is skipped while something is due.
    const skips = walk.log.filter((e) => e.action.kind === 'skip');
    expect(skips.map((e) => (e.action as Extract<BillingAction, { kind: 'skip' }>).reason)).toEqual(Array(skips.length).fill('past_due'));
    expect(skips[0]!.day).toBe('2027-03-01');
  });

  it('past due plans are skipped only when something is due; nothing due, nothing said', () => {
    const plan = { ...monthly({ start_date: '2027-01-15', months: 6 }), status: 'past_due' as const };
    const charges: BillableCharge[] = [
      { id: 1, plan_id: 42, kind: 'installment', installment: 1, status: 'succeeded', attempts: 1, retries_allowed: 3, next_attempt_on: null, hard_decline: 0 },
      { id: 2, plan_id: 42, kind: 'installment', installment: 2, status: 'failed', attempts: 4, retries_allowed: 3, next_attempt_on: null, hard_decline: 0 },
    ];
    expect(planBilling(plan, charges, d('2027-02-20'))).toEqual([]);
    expect(planBilling(plan, charges, d('2027-03-01'))).toEqual([{ kind: 'skip', planId: 42, reason: 'past_due' }]);
  });

  it('after a new payment method (retries rescheduled, plan active), the declined installment is retried at once', () => {
    const plan = monthly({ start_date: '2027-01-15', months: 6 });
    const charges: BillableCharge[] = [
      { id: 1, plan_id: 42, kind: 'installment', installment: 1, status: 'succeeded', attempts: 1, retries_allowed: 3, next_attempt_on: null, hard_decline: 0 },
      // What rescheduleFailedCharges leaves: next attempt today, three more retries.
      { id: 2, plan_id: 42, kind: 'installment', installment: 2, status: 'failed', attempts: 4, retries_allowed: 6, next_attempt_on: '2027-03-05', hard_decline: 0 },
    ];
    expect(planBilling(plan, charges, d('2027-03-05'))).toEqual([
      { kind: 'charge', planId: 42, installment: 3, dueDate: '2027-03-01', amountMinor: 24900 },
      { kind: 'retry', planId: 42, chargeId: 2 },
    ]);
  });

  it('hard decline: no retry at all, the plan goes past due at once', () => {
    const walk = newWalk(monthly({ start_date: '2027-01-15', months: 6 }));
    walkDays(walk, '2027-01-15', '2027-01-31', 'ok');
    walkDays(walk, '2027-02-01', '2027-04-30', 'hard');
    expect(days(walk, 'retry')).toEqual([]);
    expect(walk.charges.find((c) => c.installment === 2)).toMatchObject({ status: 'failed', attempts: 1, hard_decline: 1, next_attempt_on: null });
    expect(walk.plan.status).toBe('past_due');
    expect(charged(walk)).toHaveLength(2);
    // Even with a next attempt date written by mistake, a hard decline is never retried.
    const hard: BillableCharge = { id: 9, plan_id: 42, kind: 'installment', installment: 2, status: 'failed', attempts: 1, retries_allowed: 3, next_attempt_on: '2027-02-04', hard_decline: 1 };
    expect(planBilling({ ...walk.plan, status: 'active' }, [walk.charges[0]!, hard], d('2027-02-10'))).toEqual([]);
  });

  it('a retry that succeeds ends the retries; the next installment is charged normally', () => {
    const walk = newWalk(monthly({ start_date: '2027-01-15', months: 6 }));
    walkDays(walk, '2027-01-15', '2027-03-31', (day) => (day >= '2027-02-01' && day < '2027-02-09' ? 'decline' : 'ok'));
    expect(days(walk, 'retry')).toEqual(['2027-02-04', '2027-02-09']);
    expect(walk.charges.find((c) => c.installment === 2)).toMatchObject({ status: 'succeeded', attempts: 3 });
    expect(charged(walk)).toEqual(['2027-01-15:1@2027-01-15', '2027-02-01:2@2027-02-01', '2027-03-01:3@2027-03-01']);
    expect(walk.plan.status).toBe('active');
  });

  it('nextAttempt: 3, 5, 7 days after each decline, then never; never after a hard decline', () => {
    const day = d('2027-02-01');
    expect(nextAttempt({ attempts: 1, retries_allowed: 3 }, false, day, RETRY_DAYS)).toBe('2027-02-04');
    expect(nextAttempt({ attempts: 2, retries_allowed: 3 }, false, day, RETRY_DAYS)).toBe('2027-02-06');
    expect(nextAttempt({ attempts: 3, retries_allowed: 3 }, false, day, RETRY_DAYS)).toBe('2027-02-08');
    expect(nextAttempt({ attempts: 4, retries_allowed: 3 }, false, day, RETRY_DAYS)).toBeNull();
    expect(nextAttempt({ attempts: 1, retries_allowed: 3 }, true, day, RETRY_DAYS)).toBeNull();
    expect(nextAttempt({ attempts: 1, retries_allowed: 0 }, false, day, [])).toBeNull();
    // After a new payment method: three more retries past the first four attempts, the longest gap reused.
    expect(nextAttempt({ attempts: 5, retries_allowed: 6 }, false, day, RETRY_DAYS)).toBe('2027-02-08');
    expect(nextAttempt({ attempts: 7, retries_allowed: 6 }, false, day, RETRY_DAYS)).toBeNull();
    // Across a month end.
    expect(nextAttempt({ attempts: 3, retries_allowed: 3 }, false, d('2027-02-25'), RETRY_DAYS)).toBe('2027-03-04');
  });

  it('no payment method: skipped while something is due, nothing charged', () => {
    const plan = monthly({ start_date: '2027-01-15', months: 6, has_payment_method: false });
    expect(planBilling(plan, [], d('2027-01-10'))).toEqual([]);
    expect(planBilling(plan, [], d('2027-02-01'))).toEqual([{ kind: 'skip', planId: 42, reason: 'no_payment_method' }]);
    // Free installments need no payment method.
    expect(planBilling({ ...plan, fees: [0, 0, 0, 0, 0, 0] }, [], d('2027-02-01'))).toEqual([]);
  });

  it('a charge left pending by a stopped run is settled whatever the plan has become', () => {
    const pending: BillableCharge = { id: 5, plan_id: 42, kind: 'installment', installment: 2, status: 'pending', attempts: 1, retries_allowed: 3, next_attempt_on: null, hard_decline: 0 };
    const paid: BillableCharge = { ...pending, id: 4, installment: 1, status: 'succeeded' };
    for (const status of ['active', 'paused', 'past_due', 'cancelled', 'completed'] as const) {
      const actions = planBilling({ ...monthly({ start_date: '2027-01-15', months: 6 }), status }, [paid, pending], d('2027-02-10'));
      expect(actions[0], status).toEqual({ kind: 'settle', planId: 42, chargeId: 5 });
      // Never charged anew while pending.
      expect(actions.filter((a) => a.kind === 'charge' && a.installment === 2), status).toEqual([]);
    }
  });

  it('a plan with a declined charge outstanding is not completed', () => {
    const plan = monthly({ start_date: '2027-01-15', months: 3, last_step_date: '2027-03-15' });
    const charges: BillableCharge[] = [1, 2, 3].map((k) => ({ id: k, plan_id: 42, kind: 'installment', installment: k, status: 'succeeded', attempts: 1, retries_allowed: 3, next_attempt_on: null, hard_decline: 0 }));
    expect(planBilling(plan, charges, d('2027-03-15'))).toEqual([]); // last step not passed yet
    expect(planBilling(plan, charges, d('2027-03-16'))).toEqual([{ kind: 'complete', planId: 42 }]);
    charges[2] = { ...charges[2]!, status: 'failed', next_attempt_on: '2027-04-01' };
    expect(planBilling(plan, charges, d('2027-03-16'))).toEqual([]);
  });
});
