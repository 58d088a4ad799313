import { afterAll, describe, expect, it } from 'vitest';
import { endIdlePostgres, PostgresConnection } from '../../src/store/postgres/connection.js';
import { openPostgres } from '../../src/store/postgres/open.js';
import { OPENING, type OpeningRow } from '../../src/store/postgres/opening.js';
import { postgresMarks } from '../../src/store/postgres/sequences.js';
import { Store } from '../../src/store/store.js';
import { SEQUENCED } from '../../src/domain/records.js';
import { scratchDatabase } from './scratch.js';
import { join } from 'node:path';
import { checkHighWater, raiseHighWater } from '../../src/store/high-water.js';
import { billingHold } from '../../src/store/database-info.js';
import type { Sequences } from '../../src/domain/records.js';
import { tempDir } from '../helpers.js';

/**
 * What a command reads as it opens the database (read-only or not, the schema
 * version, the database's id and id counters) comes with the connection, read
 * by its worker as the session starts; the high-water marks are taken from it
 * while the command has only read, and read afresh once it may have written.
 */

describe('the opening read', () => {
  const scratch = scratchDatabase('txplan_opening');
  const open = () => new Store(openPostgres({ url: scratch.url, display: 'opening', now: '2026-11-28T12:00:00.000Z' }));
  /** Moves the plans' id counter on from another session, as another terminal creating a plan would. */
  const issueElsewhere = () => {
    const other = PostgresConnection.connect({ url: scratch.url, applicationName: 'txplan-other' });
    try {
      return other.query<{ id: number }>("SELECT nextval(pg_get_serial_sequence('plans', 'id')) AS id").rows[0]!.id;
    } finally {
      other.end();
    }
  };
  afterAll(() => {
    endIdlePostgres();
    scratch.drop();
  });

  it('is answered with a new connection, once, and not for one taken back from the idle ones', () => {
    open().close(); // sets the database up
    endIdlePostgres();
    const fresh = PostgresConnection.connect({ url: scratch.url, opening: true });
    const row = fresh.takeOpening<OpeningRow>();
    expect(row).toMatchObject({ read_only: 'off', id: expect.any(String), sequences: Object.fromEntries(SEQUENCED.map((t) => [t, 0])) });
    expect(row!.version).toBeGreaterThan(0);
    expect(fresh.takeOpening()).toBeUndefined();
    fresh.close();
    const reused = PostgresConnection.connect({ url: scratch.url, opening: true });
    expect(reused.takeOpening()).toBeUndefined();
    // The same query asked by hand gives the same facts.
    expect(reused.query<OpeningRow>(OPENING.text, OPENING.params).rows[0]).toEqual(row);
    reused.close();
  });

  it('gives the high-water marks while the store has only read, and they are read again once it may have written', () => {
    endIdlePostgres();
    const store = open();
    const opened = postgresMarks(store, SEQUENCED, { asOpened: true });
    const elsewhere = issueElsewhere();
    expect(elsewhere).toBe(opened.sequences.plans! + 1);
    // Plain reads leave the opening's marks standing: this command issued no id.
    store.statement('SELECT count(*) AS n FROM plans').get();
    expect(postgresMarks(store, SEQUENCED, { asOpened: true })).toEqual(opened);
    // Asked without asOpened, the counters are read.
    expect(postgresMarks(store, SEQUENCED).sequences.plans).toBe(elsewhere);
    // A transaction may issue ids: from then on the counters are asked for.
    store.transaction(() => store.statement('SELECT 1 AS one').get());
    expect(postgresMarks(store, SEQUENCED, { asOpened: true }).sequences.plans).toBe(elsewhere);
    store.close();
  });

  it('does not take a database for an older copy when another process issued ids and raised the mark after this one opened', () => {
    endIdlePostgres();
    const store = open();
    const opened = postgresMarks(store, SEQUENCED, { asOpened: true });
    const file = join(tempDir(), 'high-water.json');
    // Another terminal creates a plan and records it in the shared mark, after this command's opening read.
    raiseHighWater(file, opened.id, { ...(opened.sequences as Sequences), plans: issueElsewhere() }, '2026-11-28T12:00:01.000Z');
    expect(checkHighWater(store, file, '2026-11-28T12:00:02.000Z', 'desk')).toBe(false);
    expect(billingHold(store)).toBeUndefined();
    // A counter truly behind the mark is still caught.
    raiseHighWater(file, opened.id, { ...(opened.sequences as Sequences), plans: opened.sequences.plans! + 50 }, '2026-11-28T12:00:03.000Z');
    expect(checkHighWater(store, file, '2026-11-28T12:00:04.000Z', 'desk')).toBe(true);
    expect(billingHold(store)).toBeDefined();
    store.close();
  });

  it('counts a SELECT that moves a counter, takes a lock or changes a setting as a change', () => {
    for (const sql of [
      "SELECT nextval(pg_get_serial_sequence('charges', 'id')) AS v",
      "SELECT setval(pg_get_serial_sequence('charges', 'id'), 500) AS v",
      'SELECT pg_advisory_lock(7) AS v',
      "SELECT set_config('statement_timeout', '5s', false) AS v",
    ]) {
      endIdlePostgres();
      const store = open();
      const opened = postgresMarks(store, SEQUENCED, { asOpened: true });
      issueElsewhere();
      store.statement(sql).get();
      expect(postgresMarks(store, SEQUENCED, { asOpened: true }).sequences.plans, sql).toBe(opened.sequences.plans! + 1);
      store.close();
    }
  });
});
