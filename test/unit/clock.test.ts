import { describe, expect, it } from 'vitest';
import { parseClock } from '../../src/domain/clock.js';
import { futureDateRefusal } from '../../src/billing/future.js';
import { parseDate } from '../../src/domain/dates.js';
import { refuseLiveGatewayUnderSimulatedClock } from '../../src/cli/billing.js';
import { FailedError } from '../../src/errors.js';

const iso = (text: string) => parseClock(text)?.toISOString();
const d = (text: string) => parseDate(text)!;

describe('TXPLAN_NOW (parseClock)', () => {
  it('reads an ISO date-time with Z or an offset, to the millisecond', () => {
    expect(iso('2027-01-01T09:00:00Z')).toBe('2027-01-01T09:00:00.000Z');
    expect(iso('2027-01-01T09:00Z')).toBe('2027-01-01T09:00:00.000Z');
    expect(iso('2027-01-01T09:00:00.250Z')).toBe('2027-01-01T09:00:00.250Z');
    expect(iso('2027-01-01T09:00+01:00')).toBe('2027-01-01T08:00:00.000Z');
    expect(iso('2027-01-01T01:30:00-05:00')).toBe('2027-01-01T06:30:00.000Z');
    expect(iso('  2027-03-01T00:00:00Z \n')).toBe('2027-03-01T00:00:00.000Z');
  });

  it('reads a date alone as noon UTC, the same date in every clinic from UTC−11 to UTC+11', () => {
    expect(iso('2027-01-01')).toBe('2027-01-01T12:00:00.000Z');
    expect(iso('2028-02-29')).toBe('2028-02-29T12:00:00.000Z');
  });

  it('refuses a date-time without an offset: it would be a different instant on every machine', () => {
    expect(parseClock('2027-01-01T09:00:00')).toBeUndefined();
    expect(parseClock('2027-01-01T09:00')).toBeUndefined();
    expect(parseClock('2027-01-01 09:00:00Z')).toBeUndefined();
  });

  it('refuses dates and times that do not exist', () => {
    expect(parseClock('2027-13-01')).toBeUndefined();
    expect(parseClock('2027-00-10T09:00:00Z')).toBeUndefined();
    expect(parseClock('2027-02-29')).toBeUndefined();
    expect(parseClock('2027-04-31T09:00:00Z')).toBeUndefined();
    expect(parseClock('2027-01-01T24:00:00Z')).toBeUndefined();
    expect(parseClock('2027-01-01T09:60:00Z')).toBeUndefined();
    expect(parseClock('2027-01-01T09:00:60Z')).toBeUndefined();
  });

  it('refuses anything else', () => {
    for (const text of ['', 'now', 'tomorrow', '1798761600', '27-01-01', '2027-1-1', '2027-01-01T09:00:00+0100', '2027-01-01T09:00:00Zjunk', 'Fri, 01 Jan 2027 09:00:00 GMT']) {
      expect(parseClock(text), text).toBeUndefined();
    }
  });
});

describe('billing run --date in the future of the clock', () => {
  const utc = { clinic: 'main', zone: 'UTC', today: d('2027-01-01') };
  const tokyo = { clinic: 'tokyo', zone: 'Asia/Tokyo', today: d('2027-01-02') };

  it('allows today and any date before it (a catch-up run)', () => {
    expect(futureDateRefusal(d('2027-01-01'), [utc])).toBeUndefined();
    expect(futureDateRefusal(d('2026-06-01'), [utc, tokyo])).toBeUndefined();
  });

  it('refuses a date after the clinic\'s today, naming the date, that today, its zone and the way out', () => {
    const message = futureDateRefusal(d('2027-01-02'), [utc]);
    expect(message).toBe('--date 2027-01-02 is after today (2027-01-01 at clinic "main", UTC), and a billing run never charges the future; leave out --date to bill what is due today, or rehearse that date with --dry-run or TXPLAN_NOW=2027-01-02');
  });

  it('holds every clinic the run bills to the earliest today among them', () => {
    expect(futureDateRefusal(d('2027-01-02'), [tokyo, utc])).toContain('(2027-01-01 at clinic "main", UTC)');
    expect(futureDateRefusal(d('2027-01-02'), [tokyo])).toBeUndefined();
  });

  it('names the first clinic by id when several share the earliest today, in whatever order they come', () => {
    const sameDay = { ...tokyo, today: d('2027-01-01') };
    expect(futureDateRefusal(d('2027-01-02'), [sameDay, utc])).toContain('(2027-01-01 at clinic "main", UTC)');
    expect(futureDateRefusal(d('2027-01-02'), [utc, sameDay])).toContain('(2027-01-01 at clinic "main", UTC)');
  });

  it('names the workspace\'s zone for plans without a clinic', () => {
    expect(futureDateRefusal(d('2027-01-05'), [{ clinic: null, zone: 'America/New_York', today: d('2027-01-01') }])).toContain('(2027-01-01 in the workspace\'s zone, America/New_York)');
  });
});

describe('a processor that moves real money under a simulated clock', () => {
  const gateway = (live: boolean) => {
    const g = { name: live ? 'stripe' : 'sandbox', live, closed: false, close: () => void (g.closed = true) };
    return g;
  };

  it('is refused (and closed) while TXPLAN_NOW is set, with the way out', () => {
    const live = gateway(true);
    expect(() => refuseLiveGatewayUnderSimulatedClock({ simulatedNow: new Date('2027-01-01T09:00:00Z') }, live)).toThrow(
      expect.objectContaining({
        constructor: FailedError,
        exitCode: 1,
        code: 'simulated_clock_live',
        message: 'TXPLAN_NOW is set, and the Stripe processor moves real money: a simulated clock is for rehearsals with the sandbox processor; unset TXPLAN_NOW, or set payments.gateway: sandbox in txplan.yaml',
      }),
    );
    expect(live.closed).toBe(true);
  });

  it('is used on the real clock, and the sandbox is used under either', () => {
    const live = gateway(true);
    expect(() => refuseLiveGatewayUnderSimulatedClock({ simulatedNow: undefined }, live)).not.toThrow();
    const sandbox = gateway(false);
    expect(() => refuseLiveGatewayUnderSimulatedClock({ simulatedNow: new Date('2027-01-01T09:00:00Z') }, sandbox)).not.toThrow();
    expect([live.closed, sandbox.closed]).toEqual([false, false]);
  });
});
