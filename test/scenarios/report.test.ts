import { describe, expect, it } from 'vitest';
import { at, beforeAllWithFolders, clinicWorkspace, query, setUp, txplan } from '../helpers.js';
import type { Report } from '../../src/domain/report.js';

/**
 * Issue 15, item 1: `txplan report` through the built binary, on either
 * engine, over a small history made on the rehearsal clock (all at clinic
 * "main", UTC, in USD):
 * - plan 1, glow-membership (12 × $169.00) from 2031-01-15: installments 1–3
 *   paid, $50.00 of the first refunded on 02-20; visit 1 done 5 days after its
 *   date with an outcome (on time), visit 2 done 10 days after (late).
 * - plan 2, glow-membership from 2031-01-15: installment 2 declined on 02-01,
 *   paid by the retry on 02-04 after a new card (recovered); visit 1 skipped.
 * - plan 3, moderate-acne-program (4 × $199.00) from 2031-01-15: installment 1
 *   paid, cancelled on 01-25 "Moved away".
 * The report runs on 2031-03-10 for 2031-01-01 to 2031-04-30.
 */
const GLOW = 'glow-membership';
const MODERATE = 'moderate-acne-program';
const TODAY = '2031-03-10T09:00:00Z';
const PERIOD = ['--from', '2031-01-01', '--to', '2031-04-30'];

let ws: string;
const report = (...args: string[]) => txplan(['report', ...args], { cwd: ws, env: at(TODAY) });

beforeAllWithFolders(() => {
  ws = clinicWorkspace(3);
  const on = (now: string, ...commands: string[][]) => setUp(ws, commands, now);
  const apply = (patient: string, template: string) => ['plan', 'apply', patient, template, '--mode', 'start', '--clinic', 'main', '--start', '2031-01-15', '--payment-method', 'pm_card_visa', '--yes'];
  on('2031-01-15T09:00:00Z', apply('P-1', GLOW), apply('P-2', GLOW), apply('P-3', MODERATE));
  on('2031-01-20T09:00:00Z', ['plan', 'step', '1', '1', '--done', '--outcome', 'Brighter, even tone']);
  on('2031-01-25T09:00:00Z', ['plan', 'cancel', '3', '--reason', 'Moved away', '--yes'], ['plan', 'payment', '2', '--payment-method', 'pm_card_chargeDeclined', '--yes']);
  const run = ['billing', 'run', '--yes'];
  // Exit 3: plan 2's installment is declined.
  expect(txplan(run, { cwd: ws, env: at('2031-02-01T09:00:00Z') }).code).toBe(3);
  on('2031-02-02T09:00:00Z', ['plan', 'payment', '2', '--payment-method', 'pm_card_visa', '--yes']);
  on('2031-02-04T09:00:00Z', run);
  const [first] = query<{ id: number }>(ws, 'SELECT id FROM charges WHERE plan_id = 1 AND installment = 1');
  on('2031-02-20T09:00:00Z', ['billing', 'refund', String(first!.id), '--amount', '50.00', '--reason', 'Goodwill', '--yes']);
  on('2031-02-25T09:00:00Z', ['plan', 'step', '1', '2', '--done'], ['plan', 'step', '2', '1', '--skip']);
  on('2031-03-01T09:00:00Z', run);
}, 120_000);

describe('txplan report', () => {
  it('gives every figure with --json', () => {
    const result = report(...PERIOD, '--json');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const r = JSON.parse(result.stdout) as Report & { clinic: string | null; template: string | null };
    expect([r.from, r.to, r.today, r.currencies]).toEqual(['2031-01-01', '2031-04-30', '2031-03-10', ['USD']]);
    const glow = r.templates.find((t) => t.template_id === GLOW)!;
    const moderate = r.templates.find((t) => t.template_id === MODERATE)!;
    // Two glow plans running; none ended, so no completion rate.
    expect(glow.plans).toEqual({ started: 2, active: 2, completed: 0, cancelled: 0, completion_rate: null, cancellation_reasons: [] });
    // Glow visits recommended Jan 15, Feb 15, Mar 15, Apr 15 on each plan: plan 1's first on time with an outcome, its second late;
    // plan 2's first skipped; the other five pending.
    expect(glow.visits).toEqual({ due: 8, on_time: 1, late: 1, skipped: 1, pending: 5, outcomes: 1 });
    // Six installments due (three per plan), one declined and recovered by the retry.
    expect(glow.payments).toEqual({ charges: 6, declined: 1, recovered: 1, failed_rate: 0.1667, recovery_rate: 1 });
    // 6 × $169.00 collected, $50.00 refunded; installment 4 of both plans (due 04-01) forecast.
    expect(glow.money).toEqual({ USD: { collected_minor: 101400, refunded_minor: 5000, net_minor: 96400, outstanding_minor: 0, forecast_minor: 33800 } });
    // The cancelled plan: 0 of 1 ended complete; its pending visits will never happen and are left out; nothing forecast.
    expect(moderate.plans).toEqual({ started: 1, active: 0, completed: 0, cancelled: 1, completion_rate: 0, cancellation_reasons: [{ reason: 'Moved away', plans: 1 }] });
    expect(moderate.visits.due).toBe(0);
    expect(moderate.money).toEqual({ USD: { collected_minor: 19900, refunded_minor: 0, net_minor: 19900, outstanding_minor: 0, forecast_minor: 0 } });
    // One clinic holds it all.
    expect(r.clinics.map((c) => c.clinic_id)).toEqual(['main']);
    expect(r.clinics[0]!.plans.started).toBe(3);
    expect(r.totals.payments).toEqual({ charges: 7, declined: 1, recovered: 1, failed_rate: 0.1429, recovery_rate: 1 });
    // January: 2 × $169.00 + $199.00; February: 2 × $169.00 (the recovered one in its due month), the refund; March: 2 × $169.00; April forecast.
    expect(r.months.map((m) => [m.month, m.money.USD])).toEqual([
      ['2031-01', { collected_minor: 53700, refunded_minor: 0, forecast_minor: 0 }],
      ['2031-02', { collected_minor: 33800, refunded_minor: 5000, forecast_minor: 0 }],
      ['2031-03', { collected_minor: 33800, refunded_minor: 0, forecast_minor: 0 }],
      ['2031-04', { collected_minor: 0, refunded_minor: 0, forecast_minor: 33800 }],
    ]);
  });

  it('narrows to a template, and prints plain tab-separated lines when piped', () => {
    const result = report(...PERIOD, '--template', GLOW);
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines).toContain(['template', GLOW, '2', '2', '0', '0', '', '1', '1', '1', '5', '1', '6', '1', '1'].join('\t'));
    expect(lines).toContain(['money-template', GLOW, 'USD', '$1,014.00', '$50.00', '$964.00', '$0.00', '$338.00'].join('\t'));
    expect(lines).toContain(['month', '2031-02', 'USD', '$338.00', '$50.00', '$0.00'].join('\t'));
    expect(lines.some((line) => line.includes(MODERATE))).toBe(false);
    expect(result.stdout).not.toMatch(/[\u2580-\u259f\u2581-\u2588]/);
  });

  it('refuses a bad period (exit 2) and an unknown clinic or template (exit 1) in one sentence', () => {
    const bad = report('--from', '2031-02-30');
    expect([bad.code, bad.stderr.trim()]).toEqual([2, 'txplan: --from "2031-02-30" is not a date; write it as YYYY-MM-DD, like 2026-01-31']);
    const backwards = report('--from', '2031-03-01', '--to', '2031-02-01');
    expect([backwards.code, backwards.stderr.trim()]).toEqual([2, 'txplan: --from 2031-03-01 is after --to 2031-02-01; give the earlier date to --from']);
    const clinic = report('--clinic', 'nowhere');
    expect([clinic.code, clinic.stderr.trim()]).toEqual([1, 'txplan: No clinic "nowhere"; "txplan clinic list --all" shows them']);
    const template = report('--template', 'no-such-program');
    expect(template.code).toBe(1);
    expect(template.stderr).toMatch(/^txplan: No template "no-such-program"/);
    expect(template.stdout).toBe('');
  });
});
