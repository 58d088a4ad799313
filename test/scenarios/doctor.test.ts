import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { at, beforeAllWithFolders, binary, clinicWorkspace, setUp, engine, holdAdvisoryBillingLock, STRIPE_TEST_KEY, tempDir, testDatabase, txplan, type RunResult } from '../helpers.js';
import { LATEST_VERSION } from '../../src/store/migrations/index.js';

/**
 * `txplan doctor`: a healthy workspace exits 0 (warnings alone do not fail),
 * and each problem it checks for exits 1 naming it. One workspace is broken
 * one way at a time and mended after each test.
 */

interface Check {
  name: string;
  status: 'ok' | 'warn' | 'fail';
  message: string;
  fix: string;
}

let ws: string;
beforeAllWithFolders(() => {
  ws = clinicWorkspace(0);
});

function doctor(env: Record<string, string> = {}, options: { cwd?: string; testDatabase?: boolean; args?: string[]; bin?: string } = {}): { result: RunResult; checks: Check[]; check: (name: string) => Check } {
  const result = txplan(['doctor', '--json', ...(options.args ?? [])], { cwd: options.cwd ?? ws, env, ...(options.bin ? { bin: options.bin } : {}), ...(options.testDatabase === false ? { testDatabase: false } : {}) });
  expect(result.stderr).not.toMatch(/\n\s+at /);
  const { checks } = JSON.parse(result.stdout) as { checks: Check[] };
  return { result, checks, check: (name) => checks.find((c) => c.name === name)! };
}

/** The only failing check of a run is `name`, and the run exits 1. */
function failsOnly(run: ReturnType<typeof doctor>, name: string): Check {
  expect(run.result.code).toBe(1);
  expect(run.checks.filter((c) => c.status === 'fail').map((c) => c.name)).toEqual([name]);
  const check = run.check(name);
  expect(check.message).not.toBe('');
  expect(check.fix).not.toBe('');
  return check;
}

/** Runs `sql` on the workspace's database (both engines). */
function exec(sql: string, ...params: unknown[]): void {
  const db = testDatabase(ws);
  try {
    db.prepare(sql).run(...params);
  } finally {
    db.close();
  }
}

/**
 * A copy of txplan as an installation elsewhere would hold it: its start-up,
 * build and package.json (changed by `editPackage`), and node_modules linked
 * package by package, leaving out the packages in `without`. Returns its bin/txplan.
 */
function installedCopy(editPackage: (pkg: Record<string, unknown>) => void, without: readonly string[] = []): string {
  const root = dirname(dirname(binary));
  const copy = tempDir('txplan-installed-');
  for (const part of ['bin', 'dist', 'schemas', 'templates', 'catalog.yaml', 'txplan.yaml']) cpSync(join(root, part), join(copy, part), { recursive: true });
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Record<string, unknown>;
  editPackage(pkg);
  writeFileSync(join(copy, 'package.json'), JSON.stringify(pkg, null, 2));
  const link = (from: string, to: string) => {
    mkdirSync(to, { recursive: true });
    for (const name of readdirSync(from)) {
      const relative = join(to, name).slice(join(copy, 'node_modules').length + 1);
      if (without.includes(relative)) continue;
      if (name.startsWith('@')) link(join(from, name), join(to, name));
      else symlinkSync(join(from, name), join(to, name));
    }
  };
  link(join(root, 'node_modules'), join(copy, 'node_modules'));
  return join(copy, 'bin', 'txplan');
}

describe('txplan doctor', () => {
  it('passes on a healthy workspace, with warnings for a billing never run and a txplan not on cron’s PATH', () => {
    const run = doctor();
    expect(run.result.code).toBe(0);
    expect(run.checks.map((c) => c.name)).toEqual(['node', 'workspace', 'database', 'migrations', 'gateway', 'git', 'fonts', 'timezones', 'billing-lock', 'last-billing-run', 'cron-path']);
    for (const name of ['node', 'workspace', 'database', 'migrations', 'gateway', 'git', 'fonts', 'timezones', 'billing-lock']) expect(run.check(name).status, name).toBe('ok');
    expect(run.check('last-billing-run')).toMatchObject({ status: 'warn', message: 'billing has never run here' });
    // This machine has no txplan in /usr/bin or /bin: cron would not find it.
    expect(existsSync('/usr/bin/txplan') || existsSync('/bin/txplan')).toBe(false);
    expect(run.check('cron-path').status).toBe('warn');
    expect(run.check('cron-path').fix).toContain('bin/txplan');

    // Piped, without --json: one tab-separated line per check, no colours.
    const plain = txplan(['doctor'], { cwd: ws });
    expect(plain.code).toBe(0);
    expect(plain.stdout).toContain('ok\tmigrations\t');
    expect(plain.stdout).toMatch(/^warn\tcron-path\t.*\t.*bin\/txplan/m);
    expect(plain.stdout).not.toContain('\u001b[');
    expect(plain.stdout.trim().split('\n')).toHaveLength(11);
  });

  it('a missing workspace is one failing check, not a crash', () => {
    const run = doctor({}, { cwd: tempDir(), testDatabase: false });
    expect(failsOnly(run, 'workspace').message).toContain('No txplan workspace here');
    expect(run.check('database').message).toContain('not checked');
  });

  it('an unreachable database fails the database check (and on PostgreSQL, a read-only session)', () => {
    let env: Record<string, string>;
    if (engine === 'sqlite') {
      const file = join(tempDir(), 'not-a-database.db');
      writeFileSync(file, 'this is not a SQLite database, just text long enough to have a header. '.repeat(20));
      env = { TXPLAN_DB: file };
    } else {
      env = { TXPLAN_DB: 'postgres://txplan@127.0.0.1:1/txplan_nowhere?connect_timeout=2' };
    }
    const run = doctor(env);
    failsOnly(run, 'database');
    expect(run.check('migrations').message).toContain('not checked');
    if (engine === 'postgres') {
      // A server that lets the session only read (as a standby does): reachable, not writable.
      const readOnly = failsOnly(doctor({ PGOPTIONS: '-c default_transaction_read_only=on' }), 'database');
      expect(readOnly.message).toContain('can be read but not written');
    }
  });

  it('a database behind the migrations, or from a newer txplan, fails the migrations check and is left as it was', () => {
    if (engine === 'sqlite') exec(`PRAGMA user_version = ${LATEST_VERSION - 1}`);
    else exec('UPDATE schema_migrations SET version = -version WHERE version = (SELECT max(version) FROM schema_migrations)');
    try {
      expect(failsOnly(doctor(), 'migrations').fix).toContain('txplan db check');
      // doctor only reads: the database is still behind.
      expect(failsOnly(doctor(), 'migrations').message).toContain('needs an upgrade');
    } finally {
      if (engine === 'sqlite') exec(`PRAGMA user_version = ${LATEST_VERSION}`);
      else exec('UPDATE schema_migrations SET version = -version WHERE version < 0');
    }
    if (engine === 'sqlite') exec('PRAGMA user_version = 999');
    else exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'from the future', '2031-01-01T00:00:00Z')");
    try {
      expect(failsOnly(doctor(), 'migrations')).toMatchObject({ message: expect.stringContaining('newer txplan'), fix: 'upgrade txplan' });
    } finally {
      if (engine === 'sqlite') exec(`PRAGMA user_version = ${LATEST_VERSION}`);
      else exec('DELETE FROM schema_migrations WHERE version = 999');
    }
  });

  it('the Stripe gateway without its secret key fails the gateway check; with it, the key is never shown', () => {
    const settings = join(ws, 'txplan.yaml');
    const before = readFileSync(settings, 'utf8');
    writeFileSync(settings, before.replace('  gateway: sandbox', '  gateway: stripe'));
    try {
      const missing = failsOnly(doctor({ STRIPE_SECRET_KEY: '' }), 'gateway');
      expect(missing.message).toContain('STRIPE_SECRET_KEY is not set');
      const present = doctor({ STRIPE_SECRET_KEY: STRIPE_TEST_KEY });
      expect(present.check('gateway')).toMatchObject({ status: 'ok', message: expect.stringContaining('test mode') });
      expect(present.result.stdout).not.toContain(STRIPE_TEST_KEY);
    } finally {
      writeFileSync(settings, before);
    }
  });

  it('a Node older than txplan needs fails the node check', () => {
    const bin = installedCopy((pkg) => {
      pkg.engines = { node: '>=99' };
    });
    const check = failsOnly(doctor({}, { bin }), 'node');
    expect(check.message).toContain(`Node ${process.versions.node} does not meet txplan's requirement ">=99"`);
  });

  it('a handout font package missing from the installation fails the fonts check', () => {
    const bin = installedCopy(() => {}, ['@expo-google-fonts/noto-sans-hebrew']);
    const check = failsOnly(doctor({}, { bin }), 'fonts');
    expect(check.message).toContain('handout fonts missing');
    expect(check.message).toContain('noto-sans-hebrew');
  });

  it('git missing from the PATH fails the git check', () => {
    // A PATH holding node and nothing else.
    const path = tempDir();
    symlinkSync(process.execPath, join(path, 'node'));
    expect(failsOnly(doctor({ PATH: path }), 'git').message).toMatch(/git/);
  });

  it('a workspace that is not a git repository fails the git check', () => {
    renameSync(join(ws, '.git'), join(ws, 'git-aside'));
    try {
      expect(failsOnly(doctor(), 'git').message).toContain('not in a git repository');
    } finally {
      renameSync(join(ws, 'git-aside'), join(ws, '.git'));
    }
  });

  it('a clinic with a time zone that does not exist fails the time zone check naming the clinic', () => {
    exec("UPDATE clinics SET timezone = 'Mars/Olympus_Mons' WHERE id = 'main'");
    try {
      const check = failsOnly(doctor(), 'timezones');
      expect(check.message).toContain('clinic main');
      expect(check.fix).toContain('txplan clinic edit main --timezone');
    } finally {
      exec("UPDATE clinics SET timezone = 'UTC' WHERE id = 'main'");
    }
  });

  it('a billing lock held by a live run fails the billing lock check', () => {
    // This test's own process is the live holder, named as a billing run names itself.
    const stat = readFileSync(`/proc/${process.pid}/stat`, 'utf8');
    const startTicks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    exec('INSERT INTO billing_lock (id, pid, started_at, host, boot_id, start_ticks) VALUES (1, ?, ?, ?, ?, ?)', process.pid, '2031-02-01T00:00:00.000Z', hostname(), bootId, startTicks);
    const release = holdAdvisoryBillingLock(() => testDatabase(ws));
    try {
      const check = failsOnly(doctor(), 'billing-lock');
      expect(check.message).toContain(`process ${process.pid}`);
      expect(check.message).toContain('running');
    } finally {
      release();
      exec('DELETE FROM billing_lock WHERE id = 1');
    }
  });

  // Last: it bills the workspace, which no test above expects.
  it('reports the last billing run’s day and result, and a run long ago as a warning', () => {
    setUp(ws, [['patient', 'add', '--first', 'Ada', '--last', 'Lovelace', '--mrn', 'P-1'], ['plan', 'apply', 'P-1', 'comprehensive-acne-resolution', '--mode', 'start', '--clinic', 'main', '--start', '2031-01-15', '--payment-method', 'pm_card_visa', '--yes']], '2031-01-15');
    const same = doctor(at('2031-01-15'));
    expect(same.result.code).toBe(0);
    expect(same.check('last-billing-run')).toMatchObject({ status: 'ok', message: '2031-01-15: 1 paid, 0 declined' });
    expect(same.result.stdout).not.toContain('Lovelace');
    const later = doctor(at('2031-03-01'));
    expect(later.check('last-billing-run')).toMatchObject({ status: 'warn', message: expect.stringContaining('45 days ago'), fix: expect.stringContaining('cron') });
  });
});
