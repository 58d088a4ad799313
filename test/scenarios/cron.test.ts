import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { at, binary, databaseEnv, repoRoot, setUp, STRIPE_TEST_KEY, tempDir, workspace } from '../helpers.js';
import { startStandInProcess } from '../stripe/standin-process.js';
import { useStripe } from '../stripe/workspace.js';

const wrapper = join(repoRoot, 'examples', 'cron', 'txplan-billing.sh');

/** Runs the cron wrapper with `txplan` on its PATH, as an installed txplan would be, on the day `now` (TXPLAN_NOW). */
function cron(ws: string, now: string, env: Record<string, string> = {}): { status: number; stderr: string; log: string } {
  const bin = tempDir();
  writeFileSync(join(bin, 'txplan'), `#!/bin/sh\nexec "${process.execPath}" "${binary}" "$@"\n`);
  chmodSync(join(bin, 'txplan'), 0o755);
  const result = spawnSync('bash', [wrapper, ws], { encoding: 'utf8', env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, TXPLAN_ALERT_EMAIL: '', TXPLAN_ENV_FILE: join(ws, 'no-such.env'), ...databaseEnv(ws, [], env), ...at(now), ...env } });
  const logs = join(ws, '.txplan', 'logs');
  const log = (existsSync(logs) ? readdirSync(logs) : []).map((f) => readFileSync(join(logs, f), 'utf8')).join('');
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

  it('reads the Stripe key from a private environment file, and refuses one others can read', async () => {
    const ws = workspace();
    const standIn = await startStandInProcess();
    try {
      useStripe(ws, standIn.url);
      const env = join(tempDir(), 'billing.env');
      writeFileSync(env, `STRIPE_SECRET_KEY=${STRIPE_TEST_KEY}\n`);
      // Without the file, the run has no key: one sentence, exit 1, alerted.
      const none = cron(ws, '2026-06-10');
      expect(none.status).toBe(1);
      expect(none.stderr).toContain('STRIPE_SECRET_KEY is not set');
      chmodSync(env, 0o644);
      const open = cron(ws, '2026-06-10', { TXPLAN_ENV_FILE: env });
      expect(open.status).toBe(1);
      expect(open.stderr).toBe(`txplan-billing: ${env} can be read by others; run: chmod 600 ${env}\n`);
      chmodSync(env, 0o600);
      const ok = cron(ws, '2026-06-10', { TXPLAN_ENV_FILE: env });
      expect(ok.status, ok.stderr).toBe(0);
      expect(ok.log.trim().split('\n').at(-1)).toMatch(/ exit=0 billing run 2026-06-10: charged 0/);
      expect(ok.log + ok.stderr).not.toContain(STRIPE_TEST_KEY);
    } finally {
      await standIn.close();
    }
  });
});
