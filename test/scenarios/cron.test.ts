import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { at, binary, databaseEnv, repoRoot, setUp, STRIPE_TEST_KEY, tempDir, workspace } from '../helpers.js';
import { startStandInProcess } from '../stripe/standin-process.js';
import { useStripe } from '../stripe/workspace.js';

const wrapper = join(repoRoot, 'examples', 'cron', 'txplan-billing.sh');

/**
 * Runs the cron wrapper as cron does: under `env -i`, with only PATH=/usr/bin:/bin and HOME (plus the
 * test database on PostgreSQL and the day `now` in TXPLAN_NOW), from `wrapperPath`.
 */
function cron(ws: string, now: string, env: Record<string, string> = {}, wrapperPath = wrapper): { status: number; stdout: string; stderr: string; log: string } {
  const vars = { PATH: '/usr/bin:/bin', HOME: ws, TXPLAN_ENV_FILE: join(ws, 'no-such.env'), ...databaseEnv(ws, [], env), ...at(now), ...env };
  const result = spawnSync('env', ['-i', ...Object.entries(vars).map(([k, v]) => `${k}=${v}`), wrapperPath, ws], { encoding: 'utf8' });
  const logs = join(ws, '.txplan', 'logs');
  const log = (existsSync(logs) ? readdirSync(logs) : []).map((f) => readFileSync(join(logs, f), 'utf8')).join('');
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr, log };
}

/** An npm-style install prefix: bin/txplan (a link to the built txplan) beside bin/node, neither on cron's PATH. */
function installPrefix(): string {
  const bin = join(tempDir(), 'bin');
  mkdirSync(bin);
  symlinkSync(binary, join(bin, 'txplan'));
  symlinkSync(process.execPath, join(bin, 'node'));
  return join(bin, 'txplan');
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
    // txplan named by TXPLAN_BIN, as for an nvm install: its node is found beside it.
    const second = cron(ws, '2026-07-01', { TXPLAN_BIN: installPrefix() });
    expect(second.status).toBe(3);
    expect(second.stderr).toContain('txplan billing: some charges were declined');
    expect(second.log.trim().split('\n')).toHaveLength(2);
    expect(second.log.trim().split('\n')[1]).toMatch(/ exit=3 billing run .*failed [1-9]/);
    expect(second.log).not.toMatch(/Grace|Hopper|P-2/);
  });

  it('says which variable to set, logs it and exits 127 when it cannot find txplan', () => {
    const ws = workspace();
    // A copy of the wrapper away from its package finds no txplan two folders up, and none on cron's PATH.
    const copy = join(tempDir(), 'txplan-billing.sh');
    copyFileSync(wrapper, copy);
    const lost = cron(ws, '2026-06-10', {}, copy);
    expect(lost.status).toBe(127);
    expect(lost.stderr).toMatch(/^txplan-billing: txplan not found on PATH \/usr\/local\/bin:\/usr\/bin:\/bin; set TXPLAN_BIN to the output of `command -v txplan` in the crontab\n$/);
    expect(lost.log).toMatch(/^\S+ exit=127 txplan not found on PATH .*; set TXPLAN_BIN/);
    const named = cron(ws, '2026-06-10', { TXPLAN_BIN: join(ws, 'no-such-txplan') }, copy);
    expect(named.status).toBe(127);
    expect(named.stderr).toContain(`txplan not found at TXPLAN_BIN=${join(ws, 'no-such-txplan')}; set TXPLAN_BIN`);
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
