import { spawnSync } from 'node:child_process';
import { chmodSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { at, binary, repoRoot, setUp, tempDir, workspace } from '../helpers.js';

const wrapper = join(repoRoot, 'examples', 'cron', 'txplan-billing.sh');

/** Runs the cron wrapper with `txplan` on its PATH, as an installed txplan would be, on the day `now` (TXPLAN_NOW). */
function cron(ws: string, now: string): { status: number; stderr: string; log: string } {
  const bin = tempDir();
  writeFileSync(join(bin, 'txplan'), `#!/bin/sh\nexec "${process.execPath}" "${binary}" "$@"\n`);
  chmodSync(join(bin, 'txplan'), 0o755);
  const result = spawnSync('bash', [wrapper, ws], { encoding: 'utf8', env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, TXPLAN_ALERT_EMAIL: '', ...at(now) } });
  const logs = join(ws, '.txplan', 'logs');
  const log = readdirSync(logs).map((f) => readFileSync(join(logs, f), 'utf8')).join('');
  return { status: result.status ?? -1, stderr: result.stderr, log };
}

describe('examples/cron/txplan-billing.sh', () => {
  it('logs one line per run without patient data, and alerts on exit 3', () => {
    const ws = workspace();
    setUp(ws, [
      ['clinic', 'add', 'main', '--name', 'Main', '--timezone', 'UTC'],
      ['patient', 'add', '--first', 'Ada', '--last', 'Lovelace', '--mrn', 'P-1'],
      ['patient', 'add', '--first', 'Grace', '--last', 'Hopper', '--mrn', 'P-2'],
    ]);
    // Started on 2026-01-05; the cron run on 2026-06-10 finds installments 2–6 due.
    setUp(ws, [['plan', 'apply', 'P-1', 'comprehensive-acne-resolution', '--mode', 'start', '--yes', '--clinic', 'main', '--start', '2026-01-05', '--payment-method', 'pm_card_visa', '--yes']], '2026-01-05');
    const first = cron(ws, '2026-06-10');
    expect(first.status).toBe(0);
    expect(first.log).toMatch(/^\S+ exit=0 billing run 2026-06-10: charged 5 \(\$1,245\.00\), failed 0/m);
    expect(first.log).not.toMatch(/Ada|Lovelace|P-1/);
    expect(first.log).not.toContain('TXPLAN_NOW'); // the simulated clock's warning stays out of the log

    // A second plan whose card then fails: the run on its next 1st declines.
    setUp(
      ws,
      [
        ['plan', 'apply', 'P-2', 'comprehensive-acne-resolution', '--mode', 'start', '--yes', '--clinic', 'main', '--start', '2026-06-10', '--payment-method', 'pm_card_visa', '--yes'],
        ['plan', 'payment', '--yes', '2', '--payment-method', 'pm_card_chargeDeclinedInsufficientFunds'],
      ],
      '2026-06-10',
    );
    const second = cron(ws, '2026-07-01');
    expect(second.status).toBe(3);
    expect(second.stderr).toContain('txplan billing: some charges were declined');
    expect(second.log.trim().split('\n')).toHaveLength(2);
    expect(second.log.trim().split('\n')[1]).toMatch(/ exit=3 billing run .*failed [1-9]/);
  });
});
