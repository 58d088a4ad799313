import { describe, expect, it } from 'vitest';
import { clinicWorkspace, runner, setUp, testDatabase, type TestClock } from '../helpers.js';

/**
 * Issue 8 item 11: every charge event is in the audit, the charges table
 * refuses deletes and rewrites, and --since/--until read dates in the
 * workspace's time zone (txplan.yaml timezone: America/New_York).
 */

interface Entry {
  id: number;
  at: string;
  action: string;
  entity: string;
  entity_id: string;
  after: Record<string, unknown> | null;
}

/** A workspace whose commands run at `clock.now` (TXPLAN_NOW). */
function clinic() {
  const ws = clinicWorkspace(2);
  const clock: TestClock = { now: undefined };
  const { run, json } = runner(ws, clock);
  const db = (readonly = true) => testDatabase(ws, { readonly });
  return { ws, clock, run, json, db };
}

describe('charge events in the audit', () => {
  it('records created, succeeded, declined and retried with plan, key, amount and status, never the token', () => {
    const c = clinic();
    setUp(c.ws, [['plan', 'apply', 'P-1', 'comprehensive-acne-resolution', '--mode', 'start', '--yes', '--clinic', 'main', '--start', '2031-01-15', '--payment-method', 'pm_card_visa', '--yes']], '2031-01-15');
    // Newest first, like git log.
    const paid = c.json<Entry[]>('audit', '--entity', 'charge');
    expect(paid.map((e) => e.action)).toEqual(['charge.succeeded', 'charge.created']);
    expect(paid[0]!.after).toMatchObject({ plan_id: 1, amount_minor: 24900, currency: 'USD', status: 'succeeded', key: expect.stringMatching(/plan-1-installment-1$/) });

    // Installment 2 declines, then is retried on the next run.
    setUp(c.ws, [['plan', 'payment', '--yes', '1', '--payment-method', 'pm_card_chargeDeclinedInsufficientFunds']], '2031-01-15');
    c.clock.now = '2031-02-01';
    expect(c.run('billing', 'run', '--date', '2031-02-01').code).toBe(3);
    c.clock.now = '2031-02-04';
    expect(c.run('billing', 'run', '--date', '2031-02-04').code).toBe(3);
    const story = c.json<Entry[]>('audit', '--entity', 'charge', '--reverse').map((e) => [e.action, e.after?.status ?? null, e.after?.decline_code ?? null]);
    expect(story).toEqual([
      ['charge.created', 'pending', null],
      ['charge.succeeded', 'succeeded', null],
      ['charge.created', 'pending', null],
      ['charge.declined', 'failed', 'insufficient_funds'],
      ['charge.retried', 'pending', null],
      ['charge.declined', 'failed', 'insufficient_funds'],
    ]);
    const text = JSON.stringify(c.json<Entry[]>('audit'));
    expect(text).not.toContain('pm_card');
  });
});

describe('the charges table keeps its history', () => {
  it('refuses DELETE and any UPDATE other than settling or retrying, through the database itself', () => {
    const c = clinic();
    setUp(c.ws, [['plan', 'apply', 'P-1', 'comprehensive-acne-resolution', '--mode', 'start', '--yes', '--clinic', 'main', '--start', '2031-01-15', '--payment-method', 'pm_card_visa', '--yes']], '2031-01-15');
    const db = c.db(false);
    try {
      expect(() => db.prepare('DELETE FROM charges').run()).toThrow(/charges are never deleted/);
      expect(() => db.prepare('UPDATE charges SET amount_minor = 1').run()).toThrow(/charge/);
      expect(() => db.prepare("UPDATE charges SET idempotency_key = 'x'").run()).toThrow(/charge/);
      expect(() => db.prepare('UPDATE charges SET plan_id = 99').run()).toThrow(/charge/);
      expect(() => db.prepare("UPDATE charges SET status = 'pending'").run()).toThrow(/charge/);
      expect(() => db.prepare("UPDATE charges SET status = 'failed'").run()).toThrow(/charge/);
      expect((db.prepare('SELECT amount_minor, status FROM charges').all())).toEqual([{ amount_minor: 24900, status: 'succeeded' }]);
    } finally {
      db.close();
    }
  });
});

describe('txplan audit --since/--until', () => {
  it('reads dates in the workspace time zone and --until includes the whole day', () => {
    const c = clinic();
    const db = c.db(false);
    try {
      const insert = db.prepare("INSERT INTO audit (at, actor, action, entity, entity_id) VALUES (?, 'test', ?, 'probe', ?)");
      // America/New_York is UTC−4 from 8 March 2026 (daylight time): 03:30Z is still 9 March there, 04:30Z is 10 March.
      insert.run('2026-03-10T03:30:00.000Z', 'probe.late-on-9th', '1');
      insert.run('2026-03-10T04:30:00.000Z', 'probe.early-on-10th', '2');
      insert.run('2026-03-11T03:59:59.999Z', 'probe.last-of-10th', '3');
      insert.run('2026-03-11T04:00:00.000Z', 'probe.first-of-11th', '4');
      // The audit is append-only in the database itself: no entry is rewritten or deleted.
      expect(() => db.prepare("UPDATE audit SET action = 'probe.rewritten' WHERE entity = 'probe'").run()).toThrow(/audit entries are append-only/);
      expect(() => db.prepare("DELETE FROM audit WHERE entity = 'probe'").run()).toThrow(/audit entries are append-only/);
      expect(db.prepare("SELECT count(*) AS n FROM audit WHERE entity = 'probe' AND action LIKE 'probe.%'").get()).toEqual({ n: 4 });
    } finally {
      db.close();
    }
    const actions = (...flags: string[]) => c.json<Entry[]>('audit', '--entity', 'probe', '--reverse', ...flags).map((e) => e.action);
    expect(actions('--until', '2026-03-09')).toEqual(['probe.late-on-9th']);
    expect(actions('--since', '2026-03-10')).toEqual(['probe.early-on-10th', 'probe.last-of-10th', 'probe.first-of-11th']);
    expect(actions('--since', '2026-03-10', '--until', '2026-03-10')).toEqual(['probe.early-on-10th', 'probe.last-of-10th']);
    expect(actions('--since', '2026-03-10T00:00', '--until', '2026-03-10T00:30')).toEqual(['probe.early-on-10th']);
    expect(actions('--until', '2026-03-10T04:30:00Z')).toEqual(['probe.late-on-9th', 'probe.early-on-10th']);
    // Without --reverse the same entries come newest first; --limit keeps the newest.
    const newestFirst = (...flags: string[]) => c.json<Entry[]>('audit', '--entity', 'probe', ...flags).map((e) => e.action);
    expect(newestFirst('--since', '2026-03-10')).toEqual(['probe.first-of-11th', 'probe.last-of-10th', 'probe.early-on-10th']);
    expect(newestFirst('--until', '2026-03-10', '--limit', '2')).toEqual(['probe.last-of-10th', 'probe.early-on-10th']);
    expect(actions('--until', '2026-03-10', '--limit', '2')).toEqual(['probe.early-on-10th', 'probe.last-of-10th']);
    const wrong = c.run('audit', '--since', '2026-03-11', '--until', '2026-03-10');
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('--until');
    expect(c.run('audit', '--until', 'yesterday').code).toBe(2);
  });
});
