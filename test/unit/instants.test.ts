import { describe, expect, it } from 'vitest';
import { endOf, parseMoment, startOf, zonedInstant } from '../../src/domain/instants.js';

const at = (text: string, zone: string, edge: 'start' | 'end' = 'start') => {
  const moment = parseMoment(text, zone);
  if (!moment) return undefined;
  return (edge === 'start' ? startOf(moment, zone) : endOf(moment, zone)).toISOString();
};

describe('reading a typed moment in a time zone', () => {
  it('a date runs from its local midnight to the next', () => {
    expect(at('2026-01-15', 'America/New_York')).toBe('2026-01-15T05:00:00.000Z');
    expect(at('2026-01-15', 'America/New_York', 'end')).toBe('2026-01-16T05:00:00.000Z');
    expect(at('2026-07-15', 'America/New_York')).toBe('2026-07-15T04:00:00.000Z');
    expect(at('2026-01-15', 'Asia/Kolkata')).toBe('2026-01-14T18:30:00.000Z');
    expect(at('2026-01-15', 'UTC')).toBe('2026-01-15T00:00:00.000Z');
  });

  it('the day clocks go forward is 23 hours long, the day they go back 25', () => {
    expect(at('2026-03-08', 'America/New_York')).toBe('2026-03-08T05:00:00.000Z');
    expect(at('2026-03-08', 'America/New_York', 'end')).toBe('2026-03-09T04:00:00.000Z');
    expect(at('2026-11-01', 'America/New_York')).toBe('2026-11-01T04:00:00.000Z');
    expect(at('2026-11-01', 'America/New_York', 'end')).toBe('2026-11-02T05:00:00.000Z');
  });

  it('a local time shown twice is its first showing; a time with an offset keeps it', () => {
    expect(zonedInstant({ year: 2026, month: 11, day: 1, hour: 1, minute: 30, second: 0, ms: 0 }, 'America/New_York').toISOString()).toBe('2026-11-01T05:30:00.000Z');
    expect(at('2026-03-10T00:30', 'America/New_York')).toBe('2026-03-10T04:30:00.000Z');
    expect(at('2026-03-10 00:30:15.5', 'America/New_York')).toBe('2026-03-10T04:30:15.500Z');
    expect(at('2026-03-10T00:30', 'America/New_York', 'end')).toBe('2026-03-10T04:30:00.001Z');
    expect(at('2026-03-10T00:30:00Z', 'America/New_York')).toBe('2026-03-10T00:30:00.000Z');
    expect(at('2026-03-10T00:30:00+01:00', 'America/New_York')).toBe('2026-03-09T23:30:00.000Z');
  });

  it('refuses what is not a date or time', () => {
    for (const text of ['yesterday', '2026-02-30', '2026-03-10T24:00', '10/03/2026', '', '2026-03-10T00:30Zjunk']) expect(parseMoment(text, 'UTC')).toBeUndefined();
  });
});
