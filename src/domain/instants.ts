import { addDays, parseDate, type PlainDate } from './dates.js';

/**
 * Turning what a person types for a moment ("2026-03-10", "2026-03-10 14:30")
 * into a UTC instant, read in a time zone — the clinic group's, not the
 * machine's — since every audit entry is stamped in UTC.
 */

const LOCAL = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?$/;
const WITH_OFFSET = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$/i;

export type Moment = { kind: 'date'; date: PlainDate } | { kind: 'instant'; at: Date };

/** A date (YYYY-MM-DD), a local date-time in `zone`, or a date-time with its own offset; undefined when it is none of these. */
export function parseMoment(text: string, zone: string): Moment | undefined {
  const value = text.trim();
  const date = parseDate(value);
  if (date) return { kind: 'date', date };
  const local = LOCAL.exec(value);
  if (local) {
    const [, y, mo, d, h, mi, s, ms] = local;
    const fields = { year: Number(y), month: Number(mo), day: Number(d), hour: Number(h), minute: Number(mi), second: Number(s ?? 0), ms: Number((ms ?? '0').padEnd(3, '0')) };
    if (!parseDate(`${y}-${mo}-${d}`) || fields.hour > 23 || fields.minute > 59 || fields.second > 59) return undefined;
    return { kind: 'instant', at: zonedInstant(fields, zone) };
  }
  if (WITH_OFFSET.test(value)) {
    const at = new Date(value.replace(' ', 'T'));
    return Number.isNaN(at.getTime()) ? undefined : { kind: 'instant', at };
  }
  return undefined;
}

/** The first instant of a moment: a date starts at its local midnight. */
export function startOf(moment: Moment, zone: string): Date {
  return moment.kind === 'instant' ? moment.at : midnight(moment.date, zone);
}

/** The first instant after a moment: a date includes its whole local day. */
export function endOf(moment: Moment, zone: string): Date {
  return moment.kind === 'instant' ? new Date(moment.at.getTime() + 1) : midnight(addDays(moment.date, 1), zone);
}

function midnight(date: PlainDate, zone: string): Date {
  return zonedInstant({ ...date, hour: 0, minute: 0, second: 0, ms: 0 }, zone);
}

interface Fields {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  ms: number;
}

/**
 * The UTC instant at which the wall clock in `zone` shows `fields`. A time
 * shown twice (clocks going back) is its first showing; a time skipped (clocks
 * going forward) is read with the offset after the change.
 */
export function zonedInstant(fields: Fields, zone: string): Date {
  const wall = Date.UTC(fields.year, fields.month - 1, fields.day, fields.hour, fields.minute, fields.second, fields.ms);
  const first = wall - offsetAt(zone, wall - offsetAt(zone, wall));
  const earlier = wall - offsetAt(zone, first - 3_600_000 * 3);
  // Two readings when clocks go back: the earlier one is the first time the wall clock shows it.
  return new Date(offsetAt(zone, earlier) === wall - earlier ? Math.min(earlier, first) : first);
}

const formats = new Map<string, Intl.DateTimeFormat>();

/** Minutes the zone is ahead of UTC at an instant (New York in winter: −300). */
export function zoneOffsetMinutes(zone: string, instant: Date | number): number {
  return Math.round(offsetAt(zone, typeof instant === 'number' ? instant : instant.getTime()) / 60_000);
}

/** The zone's offset from UTC at an instant, in milliseconds. */
function offsetAt(zone: string, instant: number): number {
  const parts = wallClock(zone).formatToParts(new Date(instant));
  const get = (type: string) => Number(parts.find((p) => p.type === type)!.value);
  const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return asUtc - Math.floor(instant / 1000) * 1000;
}

/**
 * An instant as a person reads it: the wall clock in `zone`, to the minute,
 * with the zone's name — "2026-11-28 05:35 Europe/Paris", "2026-11-28 04:35 UTC".
 * The name rather than an abbreviation, since "CST" names three zones. Stored
 * instants stay UTC (ISO 8601); text that is not an instant is returned as it is.
 */
export function formatInstant(instant: string | Date, zone: string): string {
  const at = typeof instant === 'string' ? new Date(instant) : instant;
  if (Number.isNaN(at.getTime())) return String(instant);
  const parts = wallClock(zone).formatToParts(at);
  const get = (type: string) => parts.find((p) => p.type === type)!.value;
  return `${get('year')}-${get('month')}-${get('day')} ${get('hour')}:${get('minute')} ${zone}`;
}

function wallClock(zone: string): Intl.DateTimeFormat {
  let format = formats.get(zone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
    formats.set(zone, format);
  }
  return format;
}
