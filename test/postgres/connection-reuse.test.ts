import { afterAll, describe, expect, it } from 'vitest';
import { endIdlePostgres, PostgresConnection } from '../../src/store/postgres/connection.js';
import { PostgresEngine } from '../../src/store/postgres/engine.js';
import { Store } from '../../src/store/store.js';
import { tryAdvisoryBillingLock, advisoryBillingLockHeld } from '../../src/store/postgres/billing-lock.js';
import { scratchDatabase } from './scratch.js';

/**
 * A process reuses the connection a closed store gave back for the next store
 * with the same URL — clean: no transaction, no advisory lock, no prepared
 * statement or setting of the previous user — and never reuses one that broke.
 */

describe('connections reused within a process', () => {
  const scratch = scratchDatabase('txplan_reuse');
  const open = () => new Store(new PostgresEngine(PostgresConnection.connect({ url: scratch.url }), 'reuse', false));
  const pid = (store: Store) => store.statement<[], { pid: number }>('SELECT pg_backend_pid() AS pid').get()!.pid;
  /** A session of its own (another application name, so never one of the stores'), to look at theirs from outside. */
  const observer = () => PostgresConnection.connect({ url: scratch.url, applicationName: 'txplan-observer' });
  afterAll(() => {
    endIdlePostgres();
    scratch.drop();
  });

  it('hands the session of a closed store to the next store of the same database', () => {
    const first = open();
    const session = pid(first);
    first.close();
    const second = open();
    expect(pid(second)).toBe(session);
    // Two stores open at once never share a session.
    const third = open();
    expect(pid(third)).not.toBe(session);
    second.close();
    third.close();
  });

  it('gives it back with no transaction, no advisory lock, no prepared statement and no setting left', () => {
    const first = open();
    const session = pid(first);
    // The billing lock is a session-level advisory lock; a transaction left open holds a row lock and a transaction lock.
    expect(tryAdvisoryBillingLock(first)).toBe(true);
    first.statement('CREATE TABLE IF NOT EXISTS probe (id bigint PRIMARY KEY)').run();
    first.statement("SET statement_timeout = '1234s'").run();
    first.statement('SELECT pg_advisory_lock(42)').get();
    first.statement('CREATE TEMPORARY TABLE scratch_note (x int)').run();
    first.statement('SELECT count(*) AS n FROM probe').get();
    first.statement('BEGIN').run();
    first.statement('INSERT INTO probe (id) VALUES (1)').run();
    first.close();

    // Seen from another session: idle, outside any transaction, holding no lock at all.
    const look = observer();
    expect(look.query('SELECT state FROM pg_stat_activity WHERE pid = $1', [session]).rows).toEqual([{ state: 'idle' }]);
    expect(look.query('SELECT locktype, mode FROM pg_locks WHERE pid = $1', [session]).rows).toEqual([]);
    look.close();

    const second = open();
    expect(pid(second)).toBe(session);
    expect(second.statement<[], { n: number }>('SELECT count(*) AS n FROM probe').get()!.n).toBe(0);
    expect(second.statement<[], { n: number }>("SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()").get()!.n).toBe(0);
    expect(advisoryBillingLockHeld(second)).toBe(false);
    expect(second.statement<[], { t: string }>("SELECT current_setting('statement_timeout') AS t").get()!.t).toBe('0');
    // The first store's prepared statements are gone (the second's own are there, prepared as it goes).
    const prepared = (sql: string) => second.statement<[string], { n: number }>('SELECT count(*) AS n FROM pg_prepared_statements WHERE statement = ?').get(sql)!.n;
    expect(prepared('SELECT count(*) AS n FROM probe')).toBe(1);
    expect(prepared('CREATE TEMPORARY TABLE scratch_note (x int)')).toBe(0);
    expect(prepared('SELECT pg_advisory_lock(42)')).toBe(0);
    expect(second.statement<[], { t: string | null }>("SELECT to_regclass('pg_temp.scratch_note') AS t").get()!.t).toBeNull();
    // Its statements are prepared afresh under the names the first store used.
    expect(second.statement<[], { one: number }>('SELECT 1 AS one').get()!.one).toBe(1);
    // And another session may take the billing lock.
    const other = open();
    expect(tryAdvisoryBillingLock(other)).toBe(true);
    other.close();
    second.statement('DROP TABLE probe').run();
    second.close();
  });

  it('never hands out a connection the server has cut off, nor one that failed', () => {
    const first = open();
    const session = pid(first);
    first.close();
    const killer = observer();
    expect(killer.query<{ pid: number }>('SELECT pg_backend_pid() AS pid').rows[0]!.pid).not.toBe(session);
    expect(killer.query<{ ok: boolean }>('SELECT pg_terminate_backend($1) AS ok', [session]).rows[0]!.ok).toBe(true);
    killer.close();

    const second = open();
    const now = pid(second);
    expect(now).not.toBe(session);
    expect(second.statement<[], { one: number }>('SELECT 1 AS one').get()!.one).toBe(1);
    // A store whose session dies while in use: its connection is ended, not given back.
    const victim = observer();
    expect(victim.query<{ ok: boolean }>('SELECT pg_terminate_backend($1) AS ok', [now]).rows[0]!.ok).toBe(true);
    victim.close();
    expect(() => pid(second)).toThrow();
    second.close();
    const third = open();
    expect(pid(third)).not.toBe(now);
    third.close();
  });

  it('keeps no connection it was given back with other libpq settings', () => {
    const first = open();
    const session = pid(first);
    first.close();
    process.env.PGAPPNAME = 'txplan-reuse-probe';
    try {
      const second = open();
      expect(pid(second)).not.toBe(session);
      second.close();
    } finally {
      delete process.env.PGAPPNAME;
    }
    const third = open();
    expect(pid(third)).toBe(session);
    third.close();
  });
});
