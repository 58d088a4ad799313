import { describe, expect, it } from 'vitest';
import { clinicWorkspace, ledgerRows, txplan, type RunResult } from '../helpers.js';

/**
 * Issue 9, items 3 and 4, through the built binary: a year at one clinic
 * walked with TXPLAN_NOW. A late pay-as-you-go visit keeps its plan active
 * (overdue) until it happens; a future start is charged on its start date; a
 * backdated start charges what is already due; a cancellation leaves what was
 * due owed unless waived; a monthly plan completes in the run that pays its
 * last installment.
 */

const ACNE = 'comprehensive-acne-resolution'; // monthly, 6 × $249.00
const MODERATE = 'moderate-acne-program'; // monthly, 4 × $199.00, no cancellation terms
const MILD = 'mild-acne-clearing'; // pay-as-you-go, visits on weeks 1, 5, 9 ($170.00) and 12 (complimentary)

interface Charge {
  plan_id: number;
  kind: string;
  installment: number | null;
  step_n: number | null;
  due_date: string;
  amount_minor: number;
  status: string;
}

interface Report {
  date: string;
  charged: number;
  completed_plans: number;
  overdue_plans: number;
  charges: Array<{ plan_id: number; installment: number | null; due_date: string; status: string }>;
}

interface ForecastMonth {
  month: string;
  installments: number;
  installments_minor: number;
}

let ws: string;
/** txplan as of `date` (TXPLAN_NOW), with the global --yes. */
const on = (date: string) => {
  const run = (...args: string[]): RunResult => txplan(['--yes', ...args], { cwd: ws, env: { TXPLAN_NOW: date } });
  const json = <T,>(...args: string[]): T => {
    const result = run(...args, '--json');
    if (result.code !== 0) throw new Error(`txplan ${args.join(' ')} on ${date} exited ${result.code}: ${result.stderr}`);
    return JSON.parse(result.stdout) as T;
  };
  return { run, json };
};
const charges = (plan: number) => on('2027-12-31').json<Charge[]>('billing', 'charges', '--plan', String(plan));
const installments = (plan: number) => charges(plan).filter((c) => c.kind === 'installment').map((c) => [c.installment, c.due_date, c.status]);
const february = (date: string) => on(date).json<{ months: ForecastMonth[] }>('billing', 'forecast', '--months', '3').months;

const start = (date: string, patient: string, template: string, clinic: string, ...more: string[]) =>
  on(date).json<{ id: number }>('plan', 'apply', patient, template, '--mode', 'start', '--clinic', clinic, '--payment-method', 'pm_card_visa', ...more).id;

describe('billing rules across a year', () => {
  // One walk through the year: each part builds on the clinic the previous ones left (the workspace lives for one test).
  it('starts, cancellations, overdue and completed plans, in the order a clinic meets them', () => {
    const id: Record<string, number> = {};
    ws = clinicWorkspace(4, [
      ['clinic', 'add', 'west', '--name', 'Westside', '--timezone', 'UTC'],
      ['patient', 'add', '--first', 'Barbara', '--last', 'Liskov', '--mrn', 'P-5'],
      ['patient', 'add', '--first', 'Donald', '--last', 'Knuth', '--mrn', 'P-6'],
      ['patient', 'add', '--first', 'Frances', '--last', 'Allen', '--mrn', 'P-7'],
    ]);
    // 2027-01-04: five programs entered.
    id.payg = start('2027-01-04', 'P-1', MILD, 'main');
    id.future = start('2027-01-04', 'P-2', ACNE, 'main', '--start', '2027-02-10');
    id.owing = start('2027-01-04', 'P-5', MODERATE, 'main');
    id.waived = start('2027-01-04', 'P-6', MODERATE, 'main');
    id.west = start('2027-01-04', 'P-7', MODERATE, 'west');

    // A start in the future charges nothing when entered; --charge-now charges installment 1 at once; the forecast agrees.
    {
      expect(installments(id.future!)).toEqual([]);
      const { id: prescribed } = on('2027-01-04').json<{ id: number }>('plan', 'apply', 'P-3', MODERATE, '--mode', 'prescribe');
      id.chargedNow = prescribed;
      const started = on('2027-01-04').run('plan', 'start', String(prescribed), '--clinic', 'main', '--start', '2027-02-10', '--payment-method', 'pm_card_visa', '--charge-now');
      expect(started.code).toBe(0);
      expect(installments(prescribed)).toEqual([[1, '2027-02-10', 'succeeded']]);
      // February: installment 1 of the future start, and installment 2 of the three plans started today.
      expect(february('2027-01-04')[1]).toMatchObject({ month: '2027-02', installments: 4, installments_minor: 24900 + 3 * 19900 });
    }

    // The billing run charges a future start on its start date, not before.
    {
      on('2027-01-04').json('plan', 'step', String(id.payg), '1', '--done');
      const feb1 = on('2027-02-01').json<Report>('billing', 'run', '--clinic', 'main');
      expect(feb1.charges.map((c) => c.plan_id).sort()).toEqual([id.owing, id.waived].sort());
      on('2027-02-01').json('plan', 'step', String(id.payg), '2', '--done');
      const feb10 = on('2027-02-10').json<Report>('billing', 'run', '--clinic', 'main');
      expect(feb10.charges.map((c) => [c.plan_id, c.installment, c.due_date, c.status])).toEqual([[id.future, 1, '2027-02-10', 'succeeded']]);
    }

    // Cancelling leaves what was due by then owed (the next run charges it), unless --waive-due, audited.
    {
      const owing = on('2027-03-01').run('plan', 'cancel', String(id.owing), '--reason', 'Moved away');
      expect(owing.code).toBe(0);
      expect(owing.stdout).toContain('Installment 3 ($199.00), due by today and unpaid, stay owed: the next billing run charges them.');
      const waived = on('2027-03-01').run('plan', 'cancel', String(id.waived), '--reason', 'Goodwill', '--waive-due');
      expect(waived.code).toBe(0);
      expect(waived.stdout).toContain('Installment 3 ($199.00), due by today and unpaid, were waived.');
      const audit = on('2027-03-01').json<Array<{ action: string; actor: string; after: Record<string, unknown> }>>('audit', '--entity', 'plan', '--id', String(id.waived), '--reverse');
      expect(audit.at(-1)).toMatchObject({ action: 'plan.cancel', actor: 'test', after: { status: 'cancelled', waive_due: true, dues_waived: { installments: [3], steps: [], amount_minor: 19900 } } });

      // The forecast counts the owed installment this month, never the waived one, nor anything due later.
      const months = february('2027-03-01');
      expect(months[0]).toMatchObject({ month: '2027-03', installments: 5, installments_minor: 24900 + 19900 + 19900 + 2 * 19900 });
      expect(months[1]).toMatchObject({ month: '2027-04', installments: 3, installments_minor: 24900 + 19900 + 19900 });

      // Until the run charges it, the cancelled plan's payments show it owed; the waived one shows nothing of it.
      expect(on('2027-03-01').run('plan', 'show', String(id.owing)).stdout).toContain('Installment 3 of 4, due 2027-03-01: $199.00 owed, not yet charged');
      expect(on('2027-03-01').run('plan', 'show', String(id.waived)).stdout).not.toContain('Installment 3 of 4');

      const mar1 = on('2027-03-01').json<Report>('billing', 'run', '--clinic', 'main');
      expect(mar1.charges.map((c) => [c.plan_id, c.installment])).toContainEqual([id.owing, 3]);
      expect(mar1.charges.map((c) => c.plan_id)).not.toContain(id.waived);
      expect(installments(id.owing!)).toEqual([[1, '2027-01-04', 'succeeded'], [2, '2027-02-01', 'succeeded'], [3, '2027-03-01', 'succeeded']]);
      expect(installments(id.waived!)).toEqual([[1, '2027-01-04', 'succeeded'], [2, '2027-02-01', 'succeeded']]);
      expect(on('2027-03-01').run('plan', 'show', String(id.owing)).stdout).toContain('Installment 3 of 4, due 2027-03-01: $199.00 paid');
    }

    // A backdated start charges every installment already due at once, with the first.
    {
      id.backdated = start('2027-03-05', 'P-4', MODERATE, 'main', '--start', '2027-01-15');
      expect(installments(id.backdated)).toEqual([[1, '2027-01-15', 'succeeded'], [2, '2027-02-01', 'succeeded'], [3, '2027-03-01', 'succeeded']]);
      expect(ledgerRows<{ idempotency_key: string }>(ws, 'SELECT idempotency_key FROM charges').filter((r) => r.idempotency_key.includes(`_plan-${id.backdated}-`))).toHaveLength(3);
    }

    // A pay-as-you-go plan with its last visit late stays active, is listed by --overdue and counted in the summary.
    {
      on('2027-03-22').json('plan', 'step', String(id.payg), '4', '--done'); // the last visit, on time; visit 3 is late
      const apr1 = on('2027-04-01').run('billing', 'run', '--clinic', 'main');
      expect(apr1.code).toBe(0);
      // Installment 3 of the future start and of --charge-now, 4 of the backdated one; nothing of the cancelled plans.
      expect(apr1.stdout).toBe('billing run 2027-04-01: charged 3 ($647.00), failed 0, skipped 0, completed 0, past due 0, overdue 1\n');
      expect(installments(id.owing!)).toHaveLength(3);
      expect(on('2027-04-01').json<{ status: string }>('plan', 'show', String(id.payg)).status).toBe('active');

      const listed = on('2027-04-01').json<Array<{ id: number; last_step_date: string }>>('plan', 'list', '--overdue');
      expect(listed.map((p) => [p.id, p.last_step_date])).toEqual([[id.payg, '2027-03-22']]);
      expect(on('2027-04-01').json<unknown[]>('plan', 'list', '--overdue', '--patient', 'P-2')).toEqual([]);
      const table = on('2027-04-01').run('plan', 'list', '--overdue', '--clinic', 'main');
      expect(table.stdout.trim().split('\n').map((line) => line.split('\t')[0]).filter((cell) => /^\d+$/.test(cell ?? ''))).toEqual([String(id.payg)]);
    }

    // A monthly plan whose schedule has ended completes in the run that pays its last installment.
    {
      // The west clinic's runs were missed; its visits were all recorded (skipped) by 2027-04-05.
      for (const n of ['1', '2', '3', '4']) on('2027-04-05').json('plan', 'step', String(id.west), n, '--skip', '--note', 'Not needed');
      const run = on('2027-04-10').json<Report>('billing', 'run', '--clinic', 'west');
      expect(run.charges.map((c) => [c.installment, c.status])).toEqual([[2, 'succeeded'], [3, 'succeeded'], [4, 'succeeded']]);
      expect(run.completed_plans).toBe(1);
      expect(on('2027-04-10').json<{ status: string }>('plan', 'show', String(id.west)).status).toBe('completed');
    }

    // The late visit is charged when it happens, and the plan completes once every step is recorded.
    {
      const visit = on('2027-04-20').run('plan', 'step', String(id.payg), '3', '--done');
      expect(visit.code).toBe(0);
      expect(charges(id.payg!).filter((c) => c.step_n === 3).map((c) => [c.due_date, c.amount_minor, c.status])).toEqual([['2027-04-20', 12500 + 4500, 'succeeded']]);
      const apr21 = on('2027-04-21').json<Report>('billing', 'run', '--clinic', 'main');
      expect(apr21).toMatchObject({ completed_plans: 1, overdue_plans: 1 });
      expect(on('2027-04-21').json<{ status: string }>('plan', 'show', String(id.payg)).status).toBe('completed');
      // Now overdue: the backdated monthly plan, every installment paid and its visits (last one 2027-04-15) never recorded.
      expect(installments(id.backdated!)).toHaveLength(4);
      expect(on('2027-04-21').json<Array<{ id: number; status: string }>>('plan', 'list', '--overdue').map((p) => [p.id, p.status])).toEqual([[id.backdated, 'active']]);
    }
  }, 120_000);
});
