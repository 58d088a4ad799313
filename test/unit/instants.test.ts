import { describe, expect, it } from 'vitest';
import { endOf, formatInstant, parseMoment, startOf, zonedInstant } from '../../src/domain/instants.js';

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

describe('showing an instant to a person', () => {
  it('reads the wall clock in the zone and names the zone', () => {
    expect(formatInstant('2026-11-28T04:35:12.345Z', 'Europe/Paris')).toBe('2026-11-28 05:35 Europe/Paris');
    expect(formatInstant(new Date('2026-11-28T04:35:00Z'), 'America/New_York')).toBe('2026-11-27 23:35 America/New_York');
    expect(formatInstant('2026-11-28T04:35:59.999Z', 'UTC')).toBe('2026-11-28 04:35 UTC');
    expect(formatInstant('2026-01-15T00:10:00Z', 'Asia/Kolkata')).toBe('2026-01-15 05:40 Asia/Kolkata');
  });

  it('follows the offset across the changes of summer time, both ways', () => {
    // New York springs forward at 02:00 local on 2026-03-08 (07:00Z): 01:59 EST, then 03:00 EDT.
    expect(formatInstant('2026-03-08T06:59:00Z', 'America/New_York')).toBe('2026-03-08 01:59 America/New_York');
    expect(formatInstant('2026-03-08T07:00:00Z', 'America/New_York')).toBe('2026-03-08 03:00 America/New_York');
    // …and falls back at 02:00 EDT on 2026-11-01: 01:30 is shown twice, an hour apart.
    expect(formatInstant('2026-11-01T05:30:00Z', 'America/New_York')).toBe('2026-11-01 01:30 America/New_York');
    expect(formatInstant('2026-11-01T06:30:00Z', 'America/New_York')).toBe('2026-11-01 01:30 America/New_York');
    // Paris: 2026-03-29 01:00Z is 03:00 CEST; 2026-10-25 00:59Z is 02:59 CEST, 01:00Z is 02:00 CET.
    expect(formatInstant('2026-03-29T00:59:00Z', 'Europe/Paris')).toBe('2026-03-29 01:59 Europe/Paris');
    expect(formatInstant('2026-03-29T01:00:00Z', 'Europe/Paris')).toBe('2026-03-29 03:00 Europe/Paris');
    expect(formatInstant('2026-10-25T00:59:00Z', 'Europe/Paris')).toBe('2026-10-25 02:59 Europe/Paris');
    expect(formatInstant('2026-10-25T01:00:00Z', 'Europe/Paris')).toBe('2026-10-25 02:00 Europe/Paris');
  });

  it('crosses the date line and the year end in the zone, not in UTC', () => {
    expect(formatInstant('2026-12-31T23:30:00Z', 'Pacific/Auckland')).toBe('2027-01-01 12:30 Pacific/Auckland');
    expect(formatInstant('2027-01-01T03:00:00Z', 'America/Los_Angeles')).toBe('2026-12-31 19:00 America/Los_Angeles');
    expect(formatInstant('2026-06-01T12:00:00Z', 'Asia/Kathmandu')).toBe('2026-06-01 17:45 Asia/Kathmandu');
  });

  it('leaves text that is not an instant as it is', () => {
    expect(formatInstant('not a time', 'UTC')).toBe('not a time');
  });
});
