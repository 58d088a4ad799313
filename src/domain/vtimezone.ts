/**
 * Time zones for iCalendar files: a VTIMEZONE component (RFC 5545 §3.6.5) for
 * a named zone, built from the platform's time-zone data, so an event can
 * carry the clinic's wall-clock time with TZID and every calendar app reads it
 * the same; and the wall-clock time in a zone at an instant. The rest of an
 * iCalendar file is written by ical-generator. Pure: nothing here reads the
 * clock or the database.
 */

import { zoneOffsetMinutes } from './instants.js';

const two = (n: number) => String(n).padStart(2, '0');

export interface WallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

/** The wall-clock time in a zone at an instant. */
export function wallClock(timeZone: string, instant: Date): WallClock {
  const local = new Date(instant.getTime() + zoneOffsetMinutes(timeZone, instant.getTime()) * 60_000);
  return { year: local.getUTCFullYear(), month: local.getUTCMonth() + 1, day: local.getUTCDate(), hour: local.getUTCHours(), minute: local.getUTCMinutes(), second: local.getUTCSeconds() };
}

/** A local DATE-TIME value (no Z). */
function localDateTime(wall: WallClock): string {
  return `${wall.year}${two(wall.month)}${two(wall.day)}T${two(wall.hour)}${two(wall.minute)}${two(wall.second)}`;
}

function utcOffset(minutes: number): string {
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  return `${sign}${two(Math.floor(abs / 60))}${two(abs % 60)}`;
}

/**
 * A VTIMEZONE for an IANA zone covering the years `from`–`to`, as CRLF-ended
 * content lines: the offset in force when `from` begins, then every change of
 * offset until `to` ends, each an observance of its own (no recurrence rules
 * to get wrong). A change that moves the clocks forward is DAYLIGHT, one that
 * moves them back STANDARD.
 */
export function vtimezone(timeZone: string, from: number, to: number): string {
  const MINUTE = 60_000;
  const DAY = 86_400_000;
  const start = Date.UTC(from, 0, 1) - 14 * 3_600_000; // midnight of 1 January at the zone's earliest
  const end = Date.UTC(to + 1, 0, 1) + 14 * 3_600_000;
  const changes: Array<{ at: number; from: number; to: number }> = [];
  let before = zoneOffsetMinutes(timeZone, start);
  for (let day = start; day < end; day += DAY) {
    const next = zoneOffsetMinutes(timeZone, day + DAY);
    if (next === before) continue;
    // The first minute of the new offset, by halving the day.
    let lo = day / MINUTE;
    let hi = (day + DAY) / MINUTE;
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (zoneOffsetMinutes(timeZone, mid * MINUTE) === before) lo = mid;
      else hi = mid;
    }
    changes.push({ at: hi * MINUTE, from: before, to: next });
    before = next;
  }
  const observance = (kind: 'STANDARD' | 'DAYLIGHT', at: number, fromOffset: number, toOffset: number) => [
    `BEGIN:${kind}`,
    // Observance start times are local, in the offset before the change.
    `DTSTART:${localDateTime(wallClock('UTC', new Date(at + fromOffset * MINUTE)))}`,
    `TZOFFSETFROM:${utcOffset(fromOffset)}`,
    `TZOFFSETTO:${utcOffset(toOffset)}`,
    `END:${kind}`,
  ];
  const first = zoneOffsetMinutes(timeZone, start);
  const firstKind = changes.length > 0 && changes[0]!.to < first ? 'DAYLIGHT' : 'STANDARD';
  const firstStart = Date.UTC(from, 0, 1) - first * MINUTE;
  const lines = [
    'BEGIN:VTIMEZONE',
    `TZID:${timeZone}`,
    ...observance(firstKind, firstStart, first, first),
    ...changes.filter((c) => c.at > firstStart).flatMap((c) => observance(c.to > c.from ? 'DAYLIGHT' : 'STANDARD', c.at, c.from, c.to)),
    'END:VTIMEZONE',
  ];
  return lines.map((line) => `${line}\r\n`).join('');
}
