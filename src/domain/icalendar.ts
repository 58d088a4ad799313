/**
 * Writing iCalendar (RFC 5545) text: escaped TEXT values, lines folded at 75
 * octets and ended with CRLF (the last one too), and a VTIMEZONE for a named
 * zone built from the platform's time zone data, so an event can carry the
 * clinic's wall-clock time with TZID and every calendar reads it the same.
 * Pure: nothing here reads the clock or the database.
 */

/** A TEXT value (RFC 5545 §3.3.11): backslash, semicolon and comma escaped, line breaks as \n. */
export function escapeText(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/;/g, '\\;').replace(/,/g, '\\,').replace(/\r\n|\r|\n/g, '\\n');
}

/**
 * One content line, folded (§3.1): no line longer than 75 octets, a
 * continuation starting with a space, never splitting a character.
 */
export function foldLine(line: string): string {
  const parts: string[] = [];
  let current = '';
  let octets = 0;
  for (const char of line) {
    const size = Buffer.byteLength(char);
    // The space a continuation starts with counts towards its 75.
    if (octets + size > (parts.length === 0 ? 75 : 74)) {
      parts.push(current);
      current = '';
      octets = 0;
    }
    current += char;
    octets += size;
  }
  parts.push(current);
  return parts.join('\r\n ');
}

/** Content lines as a document: each folded and ended with CRLF. */
export function contentLines(lines: readonly string[]): string {
  return lines.map((line) => `${foldLine(line)}\r\n`).join('');
}

const two = (n: number) => String(n).padStart(2, '0');

/** A UTC DATE-TIME (…Z) of an instant, whole seconds. */
export function utcDateTime(instant: Date): string {
  return `${instant.getUTCFullYear()}${two(instant.getUTCMonth() + 1)}${two(instant.getUTCDate())}T${two(instant.getUTCHours())}${two(instant.getUTCMinutes())}${two(instant.getUTCSeconds())}Z`;
}

/** A local DATE-TIME (no Z), from wall-clock fields. */
export function localDateTime(wall: { year: number; month: number; day: number; hour: number; minute: number; second?: number }): string {
  return `${wall.year}${two(wall.month)}${two(wall.day)}T${two(wall.hour)}${two(wall.minute)}${two(wall.second ?? 0)}`;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Minutes a zone is ahead of UTC at an instant (whole minutes; the zones clinics use have no seconds). */
export function offsetMinutes(timeZone: string, instant: number): number {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    formatters.set(timeZone, format);
  }
  const parts = format.formatToParts(new Date(instant));
  const get = (type: string) => Number(parts.find((p) => p.type === type)!.value);
  const wall = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return Math.round((wall - Math.floor(instant / 1000) * 1000) / 60_000);
}

/** The wall-clock time in a zone at an instant. */
export function wallClock(timeZone: string, instant: Date): { year: number; month: number; day: number; hour: number; minute: number; second: number } {
  const local = new Date(instant.getTime() + offsetMinutes(timeZone, instant.getTime()) * 60_000);
  return { year: local.getUTCFullYear(), month: local.getUTCMonth() + 1, day: local.getUTCDate(), hour: local.getUTCHours(), minute: local.getUTCMinutes(), second: local.getUTCSeconds() };
}

function utcOffset(minutes: number): string {
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  return `${sign}${two(Math.floor(abs / 60))}${two(abs % 60)}`;
}

/**
 * A VTIMEZONE for an IANA zone covering the years `from`–`to`: the offset in
 * force when `from` begins, then every change of offset until `to` ends, each
 * an observance of its own (no recurrence rules to get wrong). A change that
 * moves the clocks forward is DAYLIGHT, one that moves them back STANDARD.
 */
export function vtimezone(timeZone: string, from: number, to: number): string[] {
  const MINUTE = 60_000;
  const DAY = 86_400_000;
  const start = Date.UTC(from, 0, 1) - 14 * 3_600_000; // midnight of 1 January at the zone's earliest
  const end = Date.UTC(to + 1, 0, 1) + 14 * 3_600_000;
  const changes: Array<{ at: number; from: number; to: number }> = [];
  let before = offsetMinutes(timeZone, start);
  for (let day = start; day < end; day += DAY) {
    const next = offsetMinutes(timeZone, day + DAY);
    if (next === before) continue;
    // The first minute of the new offset, by halving the day.
    let lo = day / MINUTE;
    let hi = (day + DAY) / MINUTE;
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (offsetMinutes(timeZone, mid * MINUTE) === before) lo = mid;
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
  const first = offsetMinutes(timeZone, start);
  const firstKind = changes.length > 0 && changes[0]!.to < first ? 'DAYLIGHT' : 'STANDARD';
  const firstStart = Date.UTC(from, 0, 1) - first * MINUTE;
  return [
    'BEGIN:VTIMEZONE',
    `TZID:${timeZone}`,
    ...observance(firstKind, firstStart, first, first),
    ...changes.filter((c) => c.at > firstStart).flatMap((c) => observance(c.to > c.from ? 'DAYLIGHT' : 'STANDARD', c.at, c.from, c.to)),
    'END:VTIMEZONE',
  ];
}
