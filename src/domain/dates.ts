import type { Duration, When } from '../generated/schema-types.js';

/**
 * Calendar arithmetic on plain dates (YYYY-MM-DD), SPEC §3. Dates here carry no
 * time of day and no zone: "today" is decided by the caller in the clinic's zone.
 */
export interface PlainDate {
  year: number;
  month: number; // 1-12
  day: number;
}

export function parseDate(text: string): PlainDate | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!match) return undefined;
  const date = { year: Number(match[1]), month: Number(match[2]), day: Number(match[3]) };
  if (date.month < 1 || date.month > 12 || date.day < 1 || date.day > daysInMonth(date.year, date.month)) return undefined;
  return date;
}

export function formatDate(date: PlainDate): string {
  return `${String(date.year).padStart(4, '0')}-${pad(date.month)}-${pad(date.day)}`;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

export function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

export function addDays(date: PlainDate, days: number): PlainDate {
  const t = new Date(Date.UTC(date.year, date.month - 1, date.day + days));
  return { year: t.getUTCFullYear(), month: t.getUTCMonth() + 1, day: t.getUTCDate() };
}

/** Adds whole months, clamping to the last day of the target month (Jan 31 + 1 month = Feb 28/29). */
export function addMonths(date: PlainDate, months: number): PlainDate {
  const index = date.year * 12 + (date.month - 1) + months;
  const year = Math.floor(index / 12);
  const month = (index % 12) + 1;
  return { year, month, day: Math.min(date.day, daysInMonth(year, month)) };
}

export function daysBetween(from: PlainDate, to: PlainDate): number {
  return Math.round((Date.UTC(to.year, to.month - 1, to.day) - Date.UTC(from.year, from.month - 1, from.day)) / 86_400_000);
}

/** Recommended date of a schedule entry: week N is start + 7(N-1) days, month N is start + (N-1) months. */
export function recommendedDate(start: PlainDate, when: When): PlainDate {
  if (when.week !== undefined) return addDays(start, 7 * (when.week - 1));
  return addMonths(start, (when.month ?? 1) - 1);
}

/** The day after the plan's last day. */
export function endDate(start: PlainDate, duration: Duration): PlainDate {
  if (duration.weeks !== undefined) return addDays(start, 7 * duration.weeks);
  return addMonths(start, duration.months ?? 0);
}

/**
 * Whether a `when` falls inside a duration whatever the start date. Mixed units
 * (a week inside a plan measured in months) are judged against the shortest
 * span the duration can have, so the rule never depends on the calendar.
 */
export function whenFitsDuration(when: When, duration: Duration): boolean {
  if (when.month !== undefined && duration.months !== undefined) return when.month <= duration.months;
  if (when.week !== undefined && duration.weeks !== undefined) return when.week <= duration.weeks;
  if (when.week !== undefined && duration.months !== undefined) return 7 * (when.week - 1) < shortestMonthsSpan(duration.months);
  if (when.month !== undefined && duration.weeks !== undefined) return longestMonthsSpan(when.month - 1) < 7 * duration.weeks;
  return true;
}

function monthsSpans(months: number): number[] {
  // Every start month across a 400-year Gregorian cycle would be exact; the
  // 28-year cycle of leap years within one century gives the same extremes.
  const spans: number[] = [];
  for (let index = 0; index < 12 * 28; index++) {
    const start = { year: 2001 + Math.floor(index / 12), month: (index % 12) + 1, day: 1 };
    spans.push(daysBetween(start, addMonths(start, months)));
  }
  return spans;
}

const shortest = new Map<number, number>();
const longest = new Map<number, number>();

function shortestMonthsSpan(months: number): number {
  let days = shortest.get(months);
  if (days === undefined) shortest.set(months, (days = Math.min(...monthsSpans(months))));
  return days;
}

function longestMonthsSpan(months: number): number {
  let days = longest.get(months);
  if (days === undefined) longest.set(months, (days = Math.max(...monthsSpans(months))));
  return days;
}

/** "Week 3", "Month 2". */
export function describeWhen(when: When): string {
  return when.week !== undefined ? `Week ${when.week}` : `Month ${when.month ?? 1}`;
}

/** "6 months", "4 weeks", "1 month". */
export function describeDuration(duration: Duration): string {
  if (duration.weeks !== undefined) return `${duration.weeks} week${duration.weeks === 1 ? '' : 's'}`;
  const months = duration.months ?? 0;
  return `${months} month${months === 1 ? '' : 's'}`;
}


/** Whether a span of whole months ends no later than the duration, whatever the start date. */
export function monthsWithin(months: number, duration: Duration): boolean {
  if (duration.months !== undefined) return months <= duration.months;
  return longestMonthsSpan(months) <= 7 * (duration.weeks ?? 0);
}

/** Approximate days from the start, only for ordering entries of mixed units. */
export function approximateOffsetDays(when: When): number {
  return when.week !== undefined ? 7 * (when.week - 1) : Math.round(30.44 * ((when.month ?? 1) - 1));
}

/** Formatters are costly to build and a batch asks for the same zones over and over. */
const dayFormats = new Map<string, Intl.DateTimeFormat>();

/** The calendar date at `now` in an IANA time zone: a clinic's "today". */
export function todayIn(timeZone: string, now: Date): PlainDate {
  let format = dayFormats.get(timeZone);
  if (!format) dayFormats.set(timeZone, (format = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' })));
  const parts = format.formatToParts(now);
  const get = (type: string) => Number(parts.find((p) => p.type === type)!.value);
  return { year: get('year'), month: get('month'), day: get('day') };
}

/** Whether an IANA zone name is one this runtime knows. */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
