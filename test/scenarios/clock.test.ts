import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { at, clinicWorkspace, clockWarning, query, runner, setUp, txplan, type TestClock } from '../helpers.js';

/**
 * Issue 9, item 1: TXPLAN_NOW is txplan's clock for rehearsals; writing
 * commands say so once on stderr, reading commands stay quiet; a billing run
 * refuses to charge a date after the clinic's today, unless it only rehearses.
 */

const ACNE = 'comprehensive-acne-resolution'; // monthly, 6 × $249.00

interface Report {
  date: string;
  charged: number;
  charges: Array<{ plan_id: number; installment: number | null; due_date: string }>;
}

describe('TXPLAN_NOW', () => {
  it('refuses a value that is not an ISO date-time with one sentence, before doing anything', () => {
    const ws = clinicWorkspace(0);
    for (const value of ['tomorrow', '2027-01-01T09:00:00', '2027-02-30']) {
      const result = txplan(['patient', 'add', '--first', 'Ada', '--last', 'Lovelace', '--mrn', 'P-1'], { cwd: ws, env: at(value) });
      expect(result.code).toBe(2);
      expect(result.stderr).toBe(`txplan: TXPLAN_NOW "${value}" is not an ISO date-time; write it like 2027-01-01T09:00:00Z (with Z or an offset such as +01:00), or a date alone, or unset it to use the real clock\n`);
    }
    expect(query(ws, 'SELECT count(*) AS n FROM patients')).toEqual([{ n: 0 }]);
  });
});

describe('a billing run under a simulated clock', () => {
  // Clinic "main" keeps UTC, clinic "tokyo" is nine hours ahead: at 20:00Z on
  // 31 January it is already 1 February in Tokyo, when installment 2 falls due.
  const clock: TestClock = { now: '2027-01-15T09:00:00Z' };
  let ws: string;
  let c: ReturnType<typeof runner>;
  const charges = () => query<{ plan_id: number; installment: number }>(ws, 'SELECT plan_id, installment FROM charges ORDER BY id');
  const lock = () => query(ws, 'SELECT * FROM billing_lock');

  const dir = mkdtempSync(join(tmpdir(), 'txplan-clock-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  beforeAll(() => {
    ws = join(dir, 'clinic');
    c = runner(ws, clock);
    setUp(dir, [['init', ws]]);
    setUp(
      ws,
      [
        ['clinic', 'add', 'main', '--name', 'Main Street', '--timezone', 'UTC'],
        ['patient', 'add', '--first', 'Ada', '--last', 'Lovelace', '--mrn', 'P-1'],
        ['patient', 'add', '--first', 'Alan', '--last', 'Turing', '--mrn', 'P-2'],
        ['clinic', 'add', 'tokyo', '--name', 'Tokyo', '--timezone', 'Asia/Tokyo'],
        ['plan', 'apply', 'P-1', ACNE, '--mode', 'start', '--clinic', 'main', '--start', '2027-01-15', '--payment-method', 'pm_card_visa', '--yes'],
        ['plan', 'apply', 'P-2', ACNE, '--mode', 'start', '--clinic', 'tokyo', '--start', '2027-01-15', '--payment-method', 'pm_card_visa', '--yes'],
      ],
      clock.now,
    );
  });

  it('prints the warning line exactly once on a command that writes', () => {
    const added = c.run('patient', 'add', '--first', 'Grace', '--last', 'Hopper', '--mrn', 'P-9');
    expect(added.code).toBe(0);
    expect(added.stderr).toBe(clockWarning(clock.now!));
    expect(query(ws, "SELECT created_at FROM patients WHERE mrn = 'P-9'")).toEqual([{ created_at: '2027-01-15T09:00:00.000Z' }]);
  });

  it('keeps commands that only read quiet', () => {
    for (const args of [['patient', 'list'], ['plan', 'list'], ['plan', 'show', '1'], ['billing', 'charges'], ['billing', 'forecast'], ['billing', 'run', '--dry-run'], ['audit']]) {
      const result = c.run(...args);
      expect(result.code, args.join(' ')).toBe(0);
      expect(result.stderr, args.join(' ')).toBe('');
    }
  });

  it('refuses a --date after the earliest today of the clinics it bills, and writes nothing', () => {
    clock.now = '2027-01-31T20:00:00Z';
    const before = charges();
    expect(before).toEqual([{ plan_id: 1, installment: 1 }, { plan_id: 2, installment: 1 }]);
    const refused = c.run('billing', 'run', '--date', '2027-02-01');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe('txplan: --date 2027-02-01 is after today (2027-01-31 at clinic "main", UTC), and a billing run never charges the future; leave out --date to bill what is due today, or rehearse that date with --dry-run or TXPLAN_NOW=2027-02-01\n');
    expect(refused.stdout).toBe('');
    expect(charges()).toEqual(before);
    expect(lock()).toEqual([]);
  });

  it('rehearses that date with --dry-run, and catches up on a past date', () => {
    const rehearsal = c.json<Report>('billing', 'run', '--date', '2027-02-01', '--dry-run');
    expect(rehearsal.charges.map((x) => [x.plan_id, x.installment])).toEqual([
      [1, 2],
      [2, 2],
    ]);
    expect(c.json<Report>('billing', 'run', '--date', '2027-01-20')).toMatchObject({ date: '2027-01-20', charged: 0 });
    expect(charges()).toHaveLength(2);
  });

  it('goes by the clinic\'s own today with --clinic', () => {
    const tokyo = c.run('billing', 'run', '--date', '2027-02-01', '--clinic', 'tokyo');
    expect(tokyo.code).toBe(0);
    expect(tokyo.stdout).toContain('charged 1 ($249.00)');
    expect(c.run('billing', 'run', '--date', '2027-02-01', '--clinic', 'main').code).toBe(2);
  });

  it('charges the same run once the clock has reached the date, with the warning once', () => {
    clock.now = '2027-02-01';
    const run = c.run('billing', 'run', '--date', '2027-02-01');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('billing run 2027-02-01: charged 1 ($249.00)');
    expect(run.stderr).toBe(clockWarning('2027-02-01'));
    expect(charges()).toEqual([
      { plan_id: 1, installment: 1 },
      { plan_id: 2, installment: 1 },
      { plan_id: 2, installment: 2 },
      { plan_id: 1, installment: 2 },
    ]);
  });

  it('refuses a future --date on the real clock too', () => {
    const refused = txplan(['billing', 'run', '--date', '2999-01-01'], { cwd: ws });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^txplan: --date 2999-01-01 is after today \(\d{4}-\d{2}-\d{2} at clinic "main", UTC\), and a billing run never charges the future; .*\n$/);
    expect(lock()).toEqual([]);
    expect(charges()).toHaveLength(4);
  });
});
