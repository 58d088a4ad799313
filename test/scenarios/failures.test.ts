import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { binary, databaseEnv, databaseFile, engine, query, repoRoot, setUp, tempDir, testDatabase, txplan, withoutClockWarning, workspace } from '../helpers.js';
import { LOCK_CLASS, LOCKS } from '../../src/store/postgres/engine.js';

/**
 * Every failure the machine can cause (a damaged or read-only database, one
 * busy for longer than the wait, a full disk, an output that cannot be
 * written) is one sentence on stderr and a documented exit code; never
 * "Unexpected error", never a stack trace.
 *
 * On PostgreSQL the database is the server's, so each failure has its
 * counterpart there: a schema damaged by hand (a table dropped, a migration's
 * record removed), a database that accepts only reads
 * (default_transaction_read_only), a user without write rights on the tables,
 * another session holding txplan's write lock, and the server going away in
 * the middle of a command or not answering at all.
 */

const ACNE = 'comprehensive-acne-resolution';

function clinic(ws = workspace()): string {
  setUp(ws, [
    ['clinic', 'add', 'main', '--name', 'Main Street', '--timezone', 'UTC'],
    ['patient', 'add', '--first', 'Ada', '--last', 'Lovelace', '--mrn', 'P-1'],
  ]);
  // Entered on its start date, under the simulated clock; the commands below run on the real clock.
  setUp(ws, [['plan', 'apply', 'P-1', ACNE, '--mode', 'start', '--yes', '--clinic', 'main', '--start', '2031-01-15', '--payment-method', 'pm_card_visa', '--yes']], '2031-01-15');
  return ws;
}

/** One line on stderr, no stack trace, no "Unexpected error". */
function oneSentence(stderr: string): void {
  expect(stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(stderr).toMatch(/^txplan: /);
  expect(stderr).not.toMatch(/Unexpected error|\n\s+at /);
}

/** This process's environment without txplan's variables. */
const cleanEnv = () => Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TXPLAN_')));

function sh(command: string): number {
  return spawnSync('/bin/sh', ['-c', command], { stdio: 'ignore' }).status ?? -1;
}

/** Runs SQL on the workspace's PostgreSQL database as the test role (its owner). */
function onServer(ws: string, sql: string): void {
  const db = testDatabase(ws);
  try {
    db.exec(sql);
  } finally {
    db.close();
  }
}

const auditCount = (ws: string) => Number(query<{ n: number }>(ws, 'SELECT count(*) AS n FROM audit')[0]!.n);

/** Mounting needs privileges; the tests that need it say so when they are skipped. */
const canMount = (() => {
  const dir = join(tmpdir(), `txplan-mount-probe-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const ok = sh(`mount -t tmpfs -o size=64k tmpfs '${dir}' && umount '${dir}'`) === 0;
  sh(`rmdir '${dir}'`);
  return ok;
})();

/** A clinic on a small tmpfs of its own, filled to the last byte; `mount/filler` is what to remove to free it. */
function clinicOnFullDisk(): { mount: string; ws: string } {
  const mount = tempDir();
  expect(sh(`mount -t tmpfs -o size=3m tmpfs '${mount}'`)).toBe(0);
  onTestFinished(() => void sh(`umount '${mount}'`));
  const ws = join(mount, 'clinic');
  expect(txplan(['init', ws]).code).toBe(0);
  clinic(ws);
  const filler = openSync(join(mount, 'filler'), 'w');
  try {
    for (;;) writeSync(filler, Buffer.alloc(4096));
  } catch (error) {
    expect((error as NodeJS.ErrnoException).code).toBe('ENOSPC');
  } finally {
    closeSync(filler);
  }
  return { mount, ws };
}

describe('a damaged database', () => {
  // On PostgreSQL the server keeps its own pages sound: the damage a clinic's database can suffer is a schema changed by hand.
  if (engine === 'postgres') {
    it('PostgreSQL, a table dropped: db check lists the drift in one sentence; commands that need the table say so in one sentence naming db check, changing nothing', () => {
      const ws = clinic();
      onServer(ws, 'DROP TABLE clinics CASCADE');
      const check = txplan(['db', 'check'], { cwd: ws });
      expect(check.code).toBe(1);
      expect(check.stdout).toContain('drift: table clinics is missing');
      oneSentence(check.stderr);
      expect(check.stderr).toMatch(/differs from the one txplan's migrations build .*changed it by hand/);
      const audited = auditCount(ws);
      for (const args of [['plan', 'show', '1'], ['clinic', 'list'], ['clinic', 'add', 'north', '--name', 'North', '--timezone', 'UTC']]) {
        const result = txplan(args, { cwd: ws });
        expect(result.code, args.join(' ')).toBe(1);
        oneSentence(result.stderr);
        expect(result.stderr).toMatch(/^txplan: The database .+ is missing part of txplan's schema \(relation "clinics" does not exist\): .*"txplan db check".*pg_dump.*nothing was changed\n$/);
      }
      expect(auditCount(ws)).toBe(audited);
    });

    it("PostgreSQL, its migrations' record removed: db check, plan list and patient add say so in one sentence, and nothing is migrated again", () => {
      const ws = clinic();
      onServer(ws, 'DELETE FROM schema_migrations');
      for (const args of [['db', 'check'], ['plan', 'list'], ['patient', 'add', '--first', 'Bo', '--last', 'Bell', '--mrn', 'P-2']]) {
        const result = txplan(args, { cwd: ws });
        expect(result.code, args.join(' ')).toBe(1);
        oneSentence(result.stderr);
        expect(result.stderr).toMatch(/^txplan: The database already holds what txplan's migration \d+ makes \(relation "\w+" already exists\), but schema_migrations has no record of it: .*pg_dump.*nothing was changed\n$/);
      }
      expect(query(ws, 'SELECT count(*) AS n FROM schema_migrations')).toEqual([{ n: 0 }]);
      expect(query(ws, 'SELECT mrn FROM patients')).toEqual([{ mrn: 'P-1' }]);
    });
    return;
  }
  it.each([
    ['its header overwritten', 0, 100],
    ['every page after the first overwritten', 4096, Infinity],
  ] as const)('with %s: db check and plan list say so in one sentence and name db restore', (_what, offset, length) => {
    const ws = clinic();
    const file = databaseFile(ws);
    const size = Math.min(length, statSync(file).size - offset);
    const fd = openSync(file, 'r+');
    writeSync(fd, Buffer.alloc(size, 0x5a), 0, size, offset);
    closeSync(fd);
    for (const args of [['db', 'check'], ['plan', 'list'], ['patient', 'add', '--first', 'Bo', '--last', 'Bell', '--mrn', 'P-2']]) {
      const result = txplan(args, { cwd: ws });
      expect(result.code, args.join(' ')).toBe(1);
      oneSentence(result.stderr);
      expect(result.stderr).toContain(`The database ${file} is damaged`);
      expect(result.stderr).toContain('"txplan db restore <backup>"');
    }
  });
});

describe.skipIf(engine === 'sqlite' && !canMount)('a read-only database (a read-only bind mount of .txplan; PostgreSQL: default_transaction_read_only)', () => {
  it('reading commands work; writing commands say the database is read-only and change nothing', () => {
    const ws = clinic();
    if (engine === 'postgres') {
      // What a read-only replica or a database set to read-only looks like to txplan.
      onServer(ws, "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET default_transaction_read_only = on', current_database()); END $$");
      for (const args of [['plan', 'list'], ['plan', 'show', '1'], ['patient', 'list'], ['patient', 'show', 'P-1'], ['audit'], ['db', 'check']]) {
        const result = txplan(args, { cwd: ws });
        expect(result.stderr, args.join(' ')).toBe('');
        expect(result.code, args.join(' ')).toBe(0);
      }
      const audited = auditCount(ws);
      for (const args of [['patient', 'add', '--first', 'Bo', '--last', 'Bell', '--mrn', 'P-2'], ['plan', 'pause', '1'], ['billing', 'run']]) {
        const result = txplan(args, { cwd: ws });
        expect(result.code, args.join(' ')).toBe(1);
        oneSentence(result.stderr);
        expect(result.stderr).toMatch(/^txplan: The PostgreSQL server for .+ accepts only reads .*default_transaction_read_only.*nothing was changed\n$/);
      }
      expect(query(ws, 'SELECT count(*) AS n FROM patients')).toEqual([{ n: 1 }]);
      expect(query(ws, 'SELECT status FROM plans')).toEqual([{ status: 'active' }]);
      expect(auditCount(ws)).toBe(audited);
      return;
    }
    const data = join(ws, '.txplan');
    expect(sh(`mount --bind '${data}' '${data}' && mount -o remount,bind,ro '${data}'`)).toBe(0);
    onTestFinished(() => void sh(`umount '${data}'`));
    for (const args of [['plan', 'list'], ['plan', 'show', '1'], ['patient', 'list'], ['patient', 'show', 'P-1'], ['audit'], ['db', 'check']]) {
      const result = txplan(args, { cwd: ws });
      expect(result.stderr, args.join(' ')).toBe('');
      expect(result.code, args.join(' ')).toBe(0);
    }
    for (const args of [['patient', 'add', '--first', 'Bo', '--last', 'Bell', '--mrn', 'P-2'], ['plan', 'pause', '1'], ['billing', 'run']]) {
      const result = txplan(args, { cwd: ws });
      expect(result.code, args.join(' ')).toBe(1);
      oneSentence(result.stderr);
      expect(result.stderr).toContain(`The database ${databaseFile(ws)} is read-only (it is on a read-only disk)`);
    }
    expect(sh(`umount '${data}'`)).toBe(0);
    expect(query(ws, 'SELECT count(*) AS n FROM patients')).toEqual([{ n: 1 }]);
    expect(query(ws, 'SELECT status FROM plans')).toEqual([{ status: 'active' }]);
  });
});

describe('an immutable database file (chattr +i; PostgreSQL: a user without write rights on the tables)', () => {
  it('reading commands work; writing commands say the database is read-only', () => {
    const ws = clinic();
    if (engine === 'postgres') {
      // The owner gives up its own write rights, as a reporting login with SELECT alone would have none.
      onServer(ws, 'REVOKE INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public FROM CURRENT_USER');
      expect(txplan(['plan', 'list'], { cwd: ws }).code).toBe(0);
      const result = txplan(['patient', 'add', '--first', 'Bo', '--last', 'Bell', '--mrn', 'P-2'], { cwd: ws });
      expect(result.code).toBe(1);
      oneSentence(result.stderr);
      expect(result.stderr).toMatch(/^txplan: The database user may not do this on .+ \(permission denied for table \w+\): grant it the privileges on txplan's tables, or use the owner; nothing was changed\n$/);
      expect(query(ws, "SELECT mrn FROM patients WHERE mrn = 'P-2'")).toHaveLength(0);
      return;
    }
    const file = databaseFile(ws);
    if (sh(`chattr +i '${file}'`) !== 0) throw new Error('chattr +i is not available on this file system');
    onTestFinished(() => void sh(`chattr -i '${file}'`));
    expect(txplan(['plan', 'list'], { cwd: ws }).code).toBe(0);
    const result = txplan(['patient', 'add', '--first', 'Bo', '--last', 'Bell', '--mrn', 'P-2'], { cwd: ws });
    expect(result.code).toBe(1);
    oneSentence(result.stderr);
    expect(result.stderr).toContain(`The database ${file} is read-only`);
  });
});

/** A process holding a write transaction on the database for `ms`, after marking the billing lock as its own. */
function holdWrite(ws: string, ms: number): Promise<{ pid: number; done: Promise<void> }> {
  // PostgreSQL: the billing lock (a session advisory lock, and its row naming the holder), then txplan's write lock in an open transaction.
  const script = engine === 'postgres' ? `
    import pg from 'pg';
    const db = new pg.Client({ connectionString: ${JSON.stringify(databaseEnv(ws).TXPLAN_DB)}, application_name: 'txplan-tests-holder' });
    await db.connect();
    await db.query("INSERT INTO billing_lock (id, pid, started_at) VALUES (1, $1, '2031-02-01T00:00:00.000Z') ON CONFLICT (id) DO UPDATE SET pid = excluded.pid", [process.pid]);
    await db.query('SELECT pg_advisory_lock($1, $2)', [${LOCK_CLASS}, ${LOCKS.billing}]);
    await db.query('BEGIN');
    await db.query('SELECT pg_advisory_xact_lock($1, $2)', [${LOCK_CLASS}, ${LOCKS.write}]);
    process.stdout.write('held\\n');
    setTimeout(async () => { await db.query('ROLLBACK'); await db.query('DELETE FROM billing_lock'); await db.end(); }, ${ms});
  ` : `
    import Database from 'better-sqlite3';
    const db = new Database(${JSON.stringify(databaseFile(ws))});
    db.prepare("INSERT OR REPLACE INTO billing_lock (id, pid, started_at) VALUES (1, ?, '2031-02-01T00:00:00.000Z')").run(process.pid);
    db.exec('BEGIN IMMEDIATE');
    process.stdout.write('held\\n');
    setTimeout(() => { db.exec('ROLLBACK'); db.prepare('DELETE FROM billing_lock').run(); db.close(); }, ${ms});
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
  const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  onTestFinished(() => void child.kill('SIGKILL'));
  return new Promise((resolve, reject) => {
    child.stdout!.once('data', () => resolve({ pid: child.pid!, done }));
    child.once('error', reject);
  });
}

describe('a busy database', () => {
  function runAsync(ws: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string; ms: number }> {
    const started = Date.now();
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TXPLAN_')));
    const child = spawn(process.execPath, [binary, ...args], { cwd: ws, env: { ...clean, TXPLAN_ACTOR: 'test', ...databaseEnv(ws, args, env), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    onTestFinished(() => void child.kill('SIGKILL'));
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    return new Promise((resolve) => child.once('close', (code) => resolve({ code: code ?? -1, stdout, stderr, ms: Date.now() - started })));
  }

  it('a writer waits past 5 s with a visible line naming the holder, then succeeds', async () => {
    const ws = clinic();
    const holder = await holdWrite(ws, 7000);
    const result = await runAsync(ws, ['patient', 'add', '--first', 'Bo', '--last', 'Bell', '--mrn', 'P-2']);
    await holder.done;
    expect(result.code).toBe(0);
    expect(result.ms).toBeGreaterThanOrEqual(6000);
    expect(result.stderr).toMatch(/^txplan: the database .* is busy: another process is writing to it \(a billing run, process \d+, holds the billing lock\); waiting up to 60 s…\n$/);
    expect(result.stderr).toContain(`process ${holder.pid}`);
    expect(query(ws, "SELECT mrn FROM patients WHERE mrn = 'P-2'")).toHaveLength(1);
  }, 30_000);

  it('gives up after TXPLAN_DB_WAIT seconds in one sentence, changing nothing', async () => {
    const ws = clinic();
    const holder = await holdWrite(ws, 8000);
    const result = await runAsync(ws, ['patient', 'add', '--first', 'Bo', '--last', 'Bell', '--mrn', 'P-2'], { TXPLAN_DB_WAIT: '2' });
    expect(result.code).toBe(1);
    expect(result.ms).toBeLessThan(6000);
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines[0]).toMatch(/waiting up to 2 s/);
    expect(lines).toHaveLength(2);
    oneSentence(`${lines[1]}\n`);
    expect(lines[1]).toMatch(/^txplan: The database .* is still busy after 2 s/);
    await holder.done;
    expect(query(ws, "SELECT mrn FROM patients WHERE mrn = 'P-2'")).toHaveLength(0);
  }, 30_000);
});

describe.skipIf(engine === 'sqlite' && !canMount)('a full disk (a small tmpfs; PostgreSQL: the server going away, or not answering)', () => {
  if (engine === 'postgres') {
    // The server's disk is the server's: what a terminal sees of a server in trouble is the connection ending or never opening.
    it('PostgreSQL: a writer whose connection is ended by the server mid-command says so in one sentence and changes nothing', async () => {
      const ws = clinic();
      const holder = await holdWrite(ws, 8000);
      const child = spawn(process.execPath, [binary, 'patient', 'add', '--first', 'Bo', '--last', 'Bell', '--mrn', 'P-2'], { cwd: ws, env: { ...cleanEnv(), TXPLAN_ACTOR: 'test', ...databaseEnv(ws) }, stdio: ['ignore', 'pipe', 'pipe'] });
      onTestFinished(() => void child.kill('SIGKILL'));
      let stderr = '';
      const waiting = new Promise<void>((resolve) => child.stderr.on('data', (d: Buffer) => ((stderr += d.toString()), stderr.includes('waiting up to') && resolve())));
      const closed = new Promise<number>((resolve) => child.once('close', (code) => resolve(code ?? -1)));
      await waiting;
      // The server ends the writer's session (an administrator's pg_terminate_backend, a restart, a crash).
      expect(query(ws, "SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'txplan'")).toEqual([{ ended: true }]);
      expect(await closed).toBe(1);
      const lines = stderr.trimEnd().split('\n');
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(/is busy: another process is writing to it .*waiting up to 60 s/);
      oneSentence(`${lines[1]}\n`);
      expect(lines[1]).toMatch(/^txplan: The connection to the PostgreSQL server for .+ was lost \(.+\): the transaction under way was rolled back; check the server and run the command again$/);
      child.kill('SIGKILL');
      await holder.done;
      expect(query(ws, "SELECT mrn FROM patients WHERE mrn = 'P-2'")).toHaveLength(0);
      expect(query(ws, 'SELECT * FROM billing_lock')).toEqual([]);
    }, 60_000);

    it('PostgreSQL: a server that does not answer: readers and writers say so in one sentence', () => {
      const ws = clinic();
      const away = 'postgres://txplan@127.0.0.1:9/txplan';
      for (const args of [['plan', 'list'], ['patient', 'add', '--first', 'Bo', '--last', 'Bell', '--mrn', 'P-2'], ['billing', 'run']]) {
        const result = txplan(args, { cwd: ws, env: { TXPLAN_DB: away } });
        expect(result.code, args.join(' ')).toBe(1);
        oneSentence(result.stderr);
        expect(result.stderr).toMatch(/^txplan: Cannot reach the PostgreSQL server for postgres:\/\/txplan@127\.0\.0\.1:9\/txplan \(connection refused\): .*nothing was changed\n$/);
      }
      expect(query(ws, 'SELECT count(*) AS n FROM patients')).toEqual([{ n: 1 }]);
    });

    it.skipIf(!canMount)("PostgreSQL, the workspace's own disk full: the database goes on; handouts say the disk is full; billing charges nothing until the high-water mark can be raised, then charges once", () => {
      const { mount, ws } = clinicOnFullDisk();
      expect(txplan(['plan', 'list'], { cwd: ws }).stdout).toContain('Lovelace');
      expect(txplan(['patient', 'add', '--first', 'Bo', '--last', 'Bell', '--mrn', 'P-2'], { cwd: ws }).code).toBe(0);
      const handout = txplan(['handout', '1', '-o', 'plan-1.pdf'], { cwd: ws });
      expect(handout.code).toBe(1);
      oneSentence(handout.stderr);
      expect(handout.stderr).toMatch(/the disk is full/i);
      // The mark of what the processor saw is raised before the processor is called: it cannot be, so nothing is charged.
      const ledger = () => query<{ n: number }>(ws, 'SELECT count(*) AS n FROM sandbox_charges')[0]!.n;
      expect(ledger()).toBe(1);
      const run = txplan(['billing', 'run', '--date', '2031-02-15'], { cwd: ws, env: { TXPLAN_NOW: '2031-02-15' } });
      expect(run.code).toBe(1);
      oneSentence(withoutClockWarning(run.stderr));
      expect(run.stderr).toMatch(/the disk is full/i);
      expect(ledger()).toBe(1);
      expect(query(ws, 'SELECT * FROM billing_lock')).toEqual([]);
      // Space freed, the next run charges the installment once (the charge left pending is settled by its key).
      sh(`rm '${join(mount, 'filler')}'`);
      expect(txplan(['billing', 'run', '--date', '2031-02-15'], { cwd: ws, env: { TXPLAN_NOW: '2031-02-15' } }).code).toBe(0);
      expect(ledger()).toBe(2);
      expect(query(ws, "SELECT installment, status FROM charges WHERE plan_id = 1 ORDER BY installment")).toEqual([{ installment: 1, status: 'succeeded' }, { installment: 2, status: 'succeeded' }]);
    });
    return;
  }
  it('reading still works; writers say the disk is full, change nothing, and leave no billing lock; handouts say so too', () => {
    const { mount, ws } = clinicOnFullDisk();
    const before = readFileSync(databaseFile(ws));
    // Reading still works: the database is read from a copy when SQLite cannot make its -shm file.
    const list = txplan(['plan', 'list'], { cwd: ws });
    expect(list.stderr).toBe('');
    expect(list.code).toBe(0);
    expect(list.stdout).toContain('Lovelace');
    for (const args of [['patient', 'add', '--first', 'Bo', '--last', 'Bell', '--mrn', 'P-2'], ['billing', 'run'], ['handout', '1', '-o', 'plan-1.pdf']]) {
      const result = txplan(args, { cwd: ws });
      expect(result.code, args.join(' ')).toBe(1);
      oneSentence(result.stderr);
      expect(result.stderr).toMatch(/the disk is full/i);
    }
    expect(readFileSync(databaseFile(ws)).equals(before)).toBe(true);
    sh(`rm '${join(mount, 'filler')}'`);
    expect(query(ws, 'SELECT * FROM billing_lock')).toEqual([]);
    expect(query(ws, "SELECT mrn FROM patients WHERE mrn = 'P-2'")).toHaveLength(0);
  });
});

describe('an output that cannot be written', () => {
  it.each([
    ['full (>/dev/full)', '>/dev/full', 1],
    ['full, --json', '>/dev/full', 1],
    ['not open for writing (EBADF)', '1</dev/null', 1],
  ] as const)('stdout %s: exit 1 with one sentence, no stack trace', (what, redirect, code) => {
    const ws = clinic();
    const json = what.includes('json') ? ' --json' : '';
    const result = spawnSync('/bin/sh', ['-c', `exec '${process.execPath}' '${binary}' plan list${json} ${redirect}`], { cwd: ws, env: { ...process.env, ...databaseEnv(ws) }, encoding: 'utf8' });
    expect(result.status).toBe(code);
    if (what.includes('json')) {
      expect(JSON.parse(result.stderr)).toEqual({ error: { code: 'output_failed', message: expect.stringMatching(/could not write the output/i) } });
    } else {
      oneSentence(result.stderr);
      expect(result.stderr).toMatch(/could not write the output/i);
    }
  });

  it('stdout closed (>&-): no stack trace, nothing on stderr', () => {
    // Node reopens a closed stdout on /dev/null before any of txplan runs, so this is a quiet success.
    const ws = clinic();
    const result = spawnSync('/bin/sh', ['-c', `exec '${process.execPath}' '${binary}' plan list >&-`], { cwd: ws, env: { ...process.env, ...databaseEnv(ws) }, encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });
});
