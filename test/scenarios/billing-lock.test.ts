import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { stripVTControlCharacters } from 'node:util';
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { at, binary, clinicWorkspace, databaseEnv, clockWarning, engine, holdAdvisoryBillingLock, query, runner, testDatabase, txplan } from '../helpers.js';

/**
 * On SQLite the billing lock names its holder by pid, process start time, boot
 * id and host, so a pid reused by an unrelated process after a killed run never
 * blocks billing; a real holder still does. On PostgreSQL the lock is a
 * session advisory lock: the billing_lock row only names the holder, a row no
 * live session backs is simply taken over (whatever its pid or host says), and
 * a live session refuses other runs and cannot be unlocked by hand.
 */

const ACNE = 'comprehensive-acne-resolution';

/** A plan entered on its start date; `bill(D)` runs `billing run --date D` with txplan's clock (TXPLAN_NOW) at D. */
function clinic() {
  const ws = clinicWorkspace(1, [['plan', 'apply', 'P-1', ACNE, '--mode', 'start', '--yes', '--clinic', 'main', '--start', '2031-01-15', '--payment-method', 'pm_card_visa', '--yes']], '2031-01-15');
  return { ws, ...runner(ws), bill: (date: string) => txplan(['billing', 'run', '--date', date], { cwd: ws, env: at(date) }) };
}

function sleeper(): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn('sleep', ['60'], { stdio: 'ignore' });
    child.once('spawn', () => resolve(child));
    child.once('error', reject);
  });
}

/** Field 22 of /proc/<pid>/stat: the process's start time in clock ticks since boot. */
function startTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
}

const bootId = () => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();

interface Holder {
  pid: number;
  start_ticks: number;
  boot_id: string;
  host: string;
}

/** Writes the lock row as a run with this identity would (columns the schema lacks are left out). */
function writeLock(ws: string, holder: Holder): void {
  const db = testDatabase(ws);
  try {
    const columns = new Set(
      engine === 'sqlite'
        ? (db.prepare('PRAGMA table_info(billing_lock)').all() as Array<{ name: string }>).map((c) => c.name)
        : (db.prepare("SELECT column_name AS name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'billing_lock'").all() as Array<{ name: string }>).map((c) => c.name),
    );
    const row: Record<string, unknown> = { id: 1, pid: holder.pid, started_at: '2031-02-01T00:00:00.000Z', start_ticks: holder.start_ticks, boot_id: holder.boot_id, host: holder.host };
    const names = Object.keys(row).filter((name) => columns.has(name));
    db.prepare('DELETE FROM billing_lock WHERE id = 1').run();
    db.prepare(`INSERT INTO billing_lock (${names.join(', ')}) VALUES (${names.map((n) => `@${n}`).join(', ')})`).run(Object.fromEntries(names.map((n) => [n, row[n]])));
  } finally {
    db.close();
  }
}

/**
 * A billing run that holds the lock now: on SQLite its row (naming a live
 * process); on PostgreSQL also a live session holding the advisory lock, as a
 * run does. `release()` ends that session (the server then frees the lock and
 * the row is left behind, as by a killed run).
 */
function holdLock(ws: string, holder: Holder): { release: () => void } {
  writeLock(ws, holder);
  return { release: holdAdvisoryBillingLock(() => testDatabase(ws)) };
}

describe('the billing lock', () => {
  it('a live process that reused a dead holder’s pid does not hold the lock', async () => {
    const c = clinic();
    const other = await sleeper();
    try {
      // The pid is alive, but its process started at another time than the run that wrote the lock.
      writeLock(c.ws, { pid: other.pid!, start_ticks: startTicks(other.pid!) + 12345, boot_id: bootId(), host: hostname() });
      const run = c.bill('2031-02-01');
      expect(run.stderr).toBe(clockWarning('2031-02-01'));
      expect(run.code).toBe(0);
      expect(query(c.ws, 'SELECT * FROM billing_lock')).toEqual([]);
      // A lock written before the last boot is stale whatever its pid.
      writeLock(c.ws, { pid: other.pid!, start_ticks: startTicks(other.pid!), boot_id: '00000000-0000-0000-0000-000000000000', host: hostname() });
      expect(c.bill('2031-03-01').code).toBe(0);
    } finally {
      other.kill('SIGKILL');
    }
  });

  it('a running holder still refuses a second run (exit 4); db check names it; billing unlock --yes clears it, audited', async () => {
    const c = clinic();
    const holder = await sleeper();
    const held = holdLock(c.ws, { pid: holder.pid!, start_ticks: startTicks(holder.pid!), boot_id: bootId(), host: hostname() });
    try {
      const busy = c.bill('2031-02-01');
      expect(busy.code).toBe(4);
      expect(busy.stderr).toContain(`process ${holder.pid}`);

      const check = c.json<{ billing_lock: { pid: number; host: string; since: string; state: string } | null }>('db', 'check');
      expect(check.billing_lock).toEqual({ pid: holder.pid, host: hostname(), since: '2031-02-01T00:00:00.000Z', state: 'alive' });
      const checkText = c.run('db', 'check');
      expect(checkText.stdout).toContain(`billing lock: held by process ${holder.pid} on ${hostname()} since 2031-01-31 19:00 America/New_York (running)`);

      // Off a terminal, unlock needs --yes.
      const refused = c.run('billing', 'unlock');
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(/--yes/);
      expect(query(c.ws, 'SELECT pid FROM billing_lock')).toEqual([{ pid: holder.pid }]);

      if (engine === 'postgres') {
        // A live session holds it: nothing to remove by hand, and nothing is changed.
        const live = c.run('billing', 'unlock', '--yes');
        expect(live.code).toBe(1);
        expect(live.stderr).toBe(`txplan: The billing lock is held by a billing run that is still connected to the database (process ${holder.pid} on ${hostname()}); the server releases it as soon as that run ends, even if it is killed, so there is nothing to remove; nothing was changed\n`);
        expect(query(c.ws, 'SELECT pid FROM billing_lock')).toEqual([{ pid: holder.pid }]);
        expect(query(c.ws, "SELECT count(*) AS n FROM audit WHERE action = 'billing.unlock'")).toEqual([{ n: 0 }]);
        // The run ends (its connection closes): the row it left names no live session any more.
        held.release();
        expect(c.json<{ billing_lock: { state: string } }>('db', 'check').billing_lock).toMatchObject({ pid: holder.pid, state: 'stale' });
      }

      const unlocked = c.run('billing', 'unlock', '--yes');
      expect(unlocked.stderr).toBe('');
      expect(unlocked.code).toBe(0);
      expect(unlocked.stdout).toContain(`process ${holder.pid}`);
      expect(query(c.ws, 'SELECT * FROM billing_lock')).toEqual([]);
      const audit = query<{ action: string; actor: string; before: string }>(c.ws, "SELECT action, actor, before FROM audit WHERE action = 'billing.unlock'");
      expect(audit).toHaveLength(1);
      expect(audit[0]!.actor).toBe('test');
      expect(JSON.parse(audit[0]!.before)).toMatchObject({ pid: holder.pid, host: hostname() });

      expect(c.bill('2031-02-01').code).toBe(0);
      // Nothing to unlock now: said plainly, exit 0.
      const none = c.run('billing', 'unlock', '--yes');
      expect(none.code).toBe(0);
      expect(none.stdout).toContain('No billing lock');
      expect(c.json<{ billing_lock: unknown }>('db', 'check').billing_lock).toBeNull();
    } finally {
      held.release();
      holder.kill('SIGKILL');
    }
  });

  it('a holder on another host refuses the run: on SQLite it cannot be checked (the run points at billing unlock), on PostgreSQL the server frees its lock when it ends', () => {
    const c = clinic();
    // Its pid means nothing here (no such process on this machine), so a pid check alone would take the lock.
    const held = holdLock(c.ws, { pid: 4_000_000, start_ticks: 1, boot_id: bootId(), host: 'front-desk-pc' });
    try {
      const busy = c.bill('2031-02-01');
      expect(busy.code).toBe(4);
      if (engine === 'sqlite') {
        expect(busy.stderr).toBe(clockWarning('2031-02-01') + 'txplan: Another billing run (process 4000000 on front-desk-pc, started 2031-01-31 19:00 America/New_York) holds the lock, and a process on another computer cannot be checked from here; if no run is going on there, run "txplan billing unlock"\n');
        expect(c.json<{ billing_lock: { state: string } }>('db', 'check').billing_lock).toMatchObject({ host: 'front-desk-pc', state: 'unknown' });
        expect(c.run('billing', 'unlock', '--yes').code).toBe(0);
      } else {
        // The server knows the other computer's run is connected: it is simply running, wherever it is.
        expect(busy.stderr).toBe(clockWarning('2031-02-01') + 'txplan: Another billing run (process 4000000, started 2031-01-31 19:00 America/New_York) is working; let it finish, or rerun with --wait SECONDS\n');
        expect(c.json<{ billing_lock: { state: string } }>('db', 'check').billing_lock).toMatchObject({ host: 'front-desk-pc', state: 'alive' });
        // That run ends; the row it left is taken over by the next run, no unlock needed.
        held.release();
      }
      const run = c.bill('2031-02-01');
      expect(run.stderr).toBe(clockWarning('2031-02-01'));
      expect(run.code).toBe(0);
      expect(query(c.ws, 'SELECT * FROM billing_lock')).toEqual([]);
    } finally {
      held.release();
    }
  });

  it('on a terminal, billing unlock shows the holder and asks; no keeps the lock, yes removes it', async () => {
    const c = clinic();
    const holder = await sleeper();
    const held = holdLock(c.ws, { pid: holder.pid!, start_ticks: startTicks(holder.pid!), boot_id: bootId(), host: hostname() });
    try {
      const no = await onTerminal(c.ws, ['billing', 'unlock'], 'n\r');
      expect(no.screen).toContain(`The billing lock is held by process ${holder.pid} on ${hostname()} since 2031-01-31 19:00 America/New_York (running). That process is still running`);
      expect(no.code).toBe(130);
      expect(query(c.ws, 'SELECT pid FROM billing_lock')).toEqual([{ pid: holder.pid }]);
      // On PostgreSQL a live session's lock cannot be removed (see above): its run ends first, leaving the row.
      if (engine === 'postgres') held.release();
      const yes = await onTerminal(c.ws, ['billing', 'unlock'], 'y\r');
      expect(yes.code).toBe(0);
      expect(yes.screen).toContain('Removed the billing lock');
      if (engine === 'postgres') expect(yes.screen).toContain('(no longer running)');
      expect(query(c.ws, 'SELECT * FROM billing_lock')).toEqual([]);
      expect(query(c.ws, "SELECT count(*) AS n FROM audit WHERE action = 'billing.unlock'")).toEqual([{ n: 1 }]);
    } finally {
      held.release();
      holder.kill('SIGKILL');
    }
  }, 40_000);
});

/** Runs txplan on a pseudo-terminal (util-linux `script`) and types `keys` once the question is on screen. */
function onTerminal(cwd: string, args: string[], keys: string): Promise<{ code: number; screen: string }> {
  const command = [process.execPath, binary, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const child = spawn('script', ['-qec', command, '/dev/null'], { cwd, env: { ...process.env, TERM: 'xterm', TXPLAN_ACTOR: 'test', ...databaseEnv(cwd, args) } });
  let screen = '';
  let typed = false;
  child.stdout.on('data', (chunk: Buffer) => {
    screen += chunk.toString();
    if (!typed && plain(screen).includes('Remove it?')) {
      typed = true;
      child.stdin.write(keys);
    }
  });
  return new Promise((resolve) => child.on('close', (code) => resolve({ code: code ?? -1, screen: plain(screen) })));
}

/** The screen as text: no escape sequences, and the prompt's line wrapping undone. */
function plain(screen: string): string {
  return stripVTControlCharacters(screen).replace(/\s+/g, ' ');
}
