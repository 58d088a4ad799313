import { describe, expect, it } from 'vitest';
import { addMonths, endDate, formatDate, monthsWithin, parseDate, recommendedDate, whenFitsDuration } from '../../src/domain/dates.js';

const d = (text: string) => parseDate(text)!;

describe('dates (SPEC §3)', () => {
  it('parses only real calendar dates', () => {
    expect(parseDate('2026-02-28')).toEqual({ year: 2026, month: 2, day: 28 });
    expect(parseDate('2026-02-29')).toBeUndefined();
    expect(parseDate('2028-02-29')).toEqual({ year: 2028, month: 2, day: 29 });
    expect(parseDate('2026-13-01')).toBeUndefined();
    expect(parseDate('26-01-01')).toBeUndefined();
  });

  it('recommends week N at start + 7(N-1) days', () => {
    expect(formatDate(recommendedDate(d('2026-12-29'), { week: 1 }))).toBe('2026-12-29');
    expect(formatDate(recommendedDate(d('2026-12-29'), { week: 2 }))).toBe('2027-01-05');
    expect(formatDate(recommendedDate(d('2028-02-22'), { week: 2 }))).toBe('2028-02-29');
  });

  it('recommends month N at start + (N-1) months, clamped to the last day of the month', () => {
    expect(formatDate(recommendedDate(d('2026-01-31'), { month: 2 }))).toBe('2026-02-28');
    expect(formatDate(recommendedDate(d('2028-01-31'), { month: 2 }))).toBe('2028-02-29');
    expect(formatDate(recommendedDate(d('2026-01-31'), { month: 3 }))).toBe('2026-03-31');
    expect(formatDate(recommendedDate(d('2026-08-31'), { month: 2 }))).toBe('2026-09-30');
    expect(formatDate(addMonths(d('2026-11-15'), 14))).toBe('2028-01-15');
  });

  it('computes the end of a plan', () => {
    expect(formatDate(endDate(d('2026-01-15'), { months: 6 }))).toBe('2026-07-15');
    expect(formatDate(endDate(d('2026-01-15'), { weeks: 4 }))).toBe('2026-02-12');
  });

  it('decides whether a when lies inside a duration, for mixed units whatever the start', () => {
    expect(whenFitsDuration({ month: 6 }, { months: 6 })).toBe(true);
    expect(whenFitsDuration({ month: 7 }, { months: 6 })).toBe(false);
    expect(whenFitsDuration({ week: 12 }, { weeks: 12 })).toBe(true);
    expect(whenFitsDuration({ week: 13 }, { weeks: 12 })).toBe(false);
    // One month is at least 28 days: week 4 starts on day 21, week 5 on day 28.
    expect(whenFitsDuration({ week: 4 }, { months: 1 })).toBe(true);
    expect(whenFitsDuration({ week: 5 }, { months: 1 })).toBe(false);
    // Four months are at least 120 days (Feb-May in a common year): week 18 starts on day 119.
    expect(whenFitsDuration({ week: 18 }, { months: 4 })).toBe(true);
    expect(whenFitsDuration({ week: 19 }, { months: 4 })).toBe(false);
    // Month 2 starts at most 31 days in: inside 5 weeks (35 days), not inside 4 (28).
    expect(whenFitsDuration({ month: 2 }, { weeks: 5 })).toBe(true);
    expect(whenFitsDuration({ month: 2 }, { weeks: 4 })).toBe(false);
  });

  it('checks a minimum term against the duration', () => {
    expect(monthsWithin(3, { months: 6 })).toBe(true);
    expect(monthsWithin(7, { months: 6 })).toBe(false);
    expect(monthsWithin(1, { weeks: 5 })).toBe(true);
    expect(monthsWithin(1, { weeks: 4 })).toBe(false);
  });
});
