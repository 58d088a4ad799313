import { spawnSync } from 'node:child_process';
import { chmodSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { binary, repoRoot, setUp, tempDir, txplan, workspace } from '../helpers.js';

const wrapper = join(repoRoot, 'examples', 'cron', 'txplan-billing.sh');

/** Runs the cron wrapper with `txplan` on its PATH, as an installed txplan would be. */
function cron(ws: string): { status: number; stderr: string; log: string } {
  const bin = tempDir();
  writeFileSync(join(bin, 'txplan'), `#!/bin/sh\nexec "${process.execPath}" "${binary}" "$@"\n`);
  chmodSync(join(bin, 'txplan'), 0o755);
  const result = spawnSync('bash', [wrapper, ws], { encoding: 'utf8', env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, TXPLAN_ALERT_EMAIL: '' } });
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
      // Started early in 2026: by today several installments are due.
      ['plan', 'apply', 'P-1', 'comprehensive-acne-resolution', '--mode', 'start', '--clinic', 'main', '--start', '2026-01-05', '--payment-method', 'pm_card_visa'],
    ]);
    const first = cron(ws);
    expect(first.status).toBe(0);
    expect(first.log).toMatch(/^\S+ exit=0 billing run \d{4}-\d\d-\d\d: charged \d+ \(\$[\d,.]+\), failed 0/m);
    expect(first.log).not.toMatch(/Ada|Lovelace|P-1/);

    // Entered on its start date: a backdated start would charge at once what is due since.
    expect(txplan(['plan', 'apply', 'P-2', 'comprehensive-acne-resolution', '--mode', 'start', '--clinic', 'main', '--start', '2026-01-05', '--payment-method', 'pm_card_visa'], { cwd: ws, env: { TXPLAN_NOW: '2026-01-05' } }).code).toBe(0);
    setUp(ws, [['plan', 'payment', '2', '--payment-method', 'pm_card_chargeDeclinedInsufficientFunds']]);
    const second = cron(ws);
    expect(second.status).toBe(3);
    expect(second.stderr).toContain('txplan billing: some charges were declined');
    expect(second.log.trim().split('\n')).toHaveLength(2);
    expect(second.log.trim().split('\n')[1]).toMatch(/ exit=3 billing run .*failed [1-9]/);
  });
});
