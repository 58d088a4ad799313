import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ICAL from 'ical.js';
import { describe, expect, it } from 'vitest';
import { at, beforeAllWithFolders, setUp, txplan, workspace } from '../helpers.js';
import { demoWorkspace, TROUBLESOME_CLINICS, TROUBLESOME_NOW, TROUBLESOME_PLAN_NAME, troublesomeWorkspace } from '../receivers.js';

/**
 * The calendars `txplan plan schedule --ics` writes, read back with ical.js
 * (the parser Mozilla's calendars are built on): names and texts come back
 * exactly as written, lines end in CRLF, recommendations do not block time,
 * events are unique per database, and a moved booking is an update calendar
 * apps apply (a higher SEQUENCE, a new LAST-MODIFIED).
 */

interface Schedule {
  plan: { id: number; name: string; clinic: { id: string; name: string; timezone: string; address: string | null } | null };
  steps: Array<{ n: number; status: string; booked_at: string | null; recommended_date: string | null; services: Array<{ name: string }>; note: string | null }>;
}

interface Export {
  text: string;
  calendar: ICAL.Component;
  schedule: Schedule;
}

/** How txplan runs: the simulated clock, and (for the demo, which keeps its own SQLite database) whether the test database is used. */
type Options = { env?: Record<string, string>; testDatabase?: boolean };

/** The calendar of every plan of a workspace that has one (a plan with no visits ahead says so and writes nothing). */
function exportAll(ws: string, options: Options = {}): Export[] {
  const plans = JSON.parse(txplan(['--json', 'plan', 'list'], { cwd: ws, ...options }).stdout) as Array<{ id: number }>;
  return plans.flatMap(({ id }) => {
    const result = exportPlan(ws, id, options);
    if (result) return [result];
    return [];
  });
}

/** One plan's calendar, read with ical.js, and its schedule as txplan lists it (the same command prints both). */
function exportPlan(ws: string, id: number, options: Options = {}): Export | undefined {
  const result = txplan(['--json', 'plan', 'schedule', String(id), '--ics', `plan-${id}.ics`, '--force'], { cwd: ws, ...options });
  if (result.code !== 0) {
    expect(JSON.parse(result.stderr)).toMatchObject({ error: { code: 'no_schedule' } });
    return undefined;
  }
  const text = readFileSync(join(ws, `plan-${id}.ics`), 'utf8');
  return { text, calendar: new ICAL.Component(ICAL.parse(text)), schedule: JSON.parse(result.stdout) as Schedule };
}

/*
 * ical.js knows RFC 5545's properties; the calendar's name comes in NAME (RFC
 * 7986, a TEXT value) and X-WR-CALNAME (the same, as Apple and Google calendars
 * read it). Told so, ical.js unescapes them as the apps do, and writes them as
 * RFC 5545 says TEXT is written.
 */
ICAL.design.icalendar.property['name'] = { defaultType: 'text' };
ICAL.design.icalendar.property['x-wr-calname'] = { defaultType: 'text' };

/** A property's content line as ical.js writes it for a TEXT value (unfolded). */
const written = (name: string, value: string) => ICAL.stringify.property([name, {}, 'text', value], ICAL.design.icalendar, true);

/** The content lines of a file, unfolded. */
const unfolded = (file: string) => file.replace(/\r\n[ \t]/g, '').split('\r\n');

const events = (calendar: ICAL.Component) => calendar.getAllSubcomponents('vevent');
const text = (component: ICAL.Component, name: string) => component.getFirstPropertyValue(name) as string | null;

/** Every check that holds for any calendar txplan writes. */
function checkCalendar({ text: file, calendar, schedule }: Export): void {
  // Every line, the last one included, ends with CRLF; no bare CR or LF anywhere; no line longer than 75 octets.
  expect(file.endsWith('\r\n')).toBe(true);
  const lines = file.split('\r\n');
  expect(lines.pop()).toBe('');
  for (const line of lines) {
    expect(line).not.toMatch(/[\r\n]/);
    expect(Buffer.byteLength(line)).toBeLessThanOrEqual(75);
  }

  expect(calendar.name).toBe('vcalendar');
  expect(text(calendar, 'name')).toBe(schedule.plan.name);
  expect(text(calendar, 'x-wr-calname')).toBe(schedule.plan.name);
  // Escaped as ical.js escapes TEXT: a comma, semicolon or backslash written bare is read differently by other apps.
  const contentLines = unfolded(file);
  expect(contentLines).toContain(written('name', schedule.plan.name));
  expect(contentLines).toContain(written('x-wr-calname', schedule.plan.name));

  const pending = schedule.steps.filter((s) => s.status === 'pending');
  expect(events(calendar)).toHaveLength(pending.length);
  const uids = events(calendar).map((e) => text(e, 'uid'));
  expect(new Set(uids).size).toBe(uids.length);
  for (const [i, event] of events(calendar).entries()) {
    const step = pending[i]!;
    expect(text(event, 'summary')).toBe(`${schedule.plan.name}: ${step.services.map((s) => s.name).join(' + ')}`);
    expect(text(event, 'description')).toBe(step.note);
    expect(contentLines).toContain(written('summary', text(event, 'summary')!));
    if (step.note) expect(contentLines).toContain(written('description', step.note));
    const clinic = schedule.plan.clinic;
    const location = clinic ? [clinic.name, clinic.address].filter(Boolean).join(', ') : null;
    expect(text(event, 'location')).toBe(location);
    if (location) expect(contentLines).toContain(written('location', location));
    const start = event.getFirstPropertyValue('dtstart') as ICAL.Time;
    const end = event.getFirstPropertyValue('dtend') as ICAL.Time;
    if (step.booked_at) {
      // A booked visit: a wall-clock time in the clinic's zone, which the file defines (VTIMEZONE).
      const zone = schedule.plan.clinic!.timezone;
      expect(event.getFirstProperty('dtstart')!.getParameter('tzid')).toBe(zone);
      expect(start.zone?.tzid).toBe(zone);
      expect(start.isDate).toBe(false);
      expect(start.toString().slice(0, 16).replace('T', ' ')).toBe(step.booked_at);
      expect(end.compare(start)).toBe(1);
      expect(text(event, 'transp')).toBe('OPAQUE');
    } else {
      // A recommendation: an all-day event that leaves the day free.
      expect(start.isDate).toBe(true);
      expect(start.toString()).toBe(step.recommended_date);
      expect(text(event, 'transp')).toBe('TRANSPARENT');
    }
  }
}

describe('iCalendar files, read with ical.js', () => {
  let trouble: string;
  let demo: string;

  beforeAllWithFolders(() => {
    trouble = troublesomeWorkspace();
    demo = demoWorkspace();
  }, 120_000);

  it('keep names with commas, semicolons, backslashes, quotes, RTL text and emoji exactly, in CRLF lines', () => {
    const exports = exportAll(trouble, { env: at(TROUBLESOME_NOW) });
    // Plans 1–7 have visits ahead; plan 8 is cancelled.
    expect(exports.map((e) => e.schedule.plan.id)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    for (const e of exports) checkCalendar(e);

    const first = exports[0]!;
    expect(text(first.calendar, 'x-wr-calname')).toBe(TROUBLESOME_PLAN_NAME);
    expect(text(events(first.calendar)[0]!, 'summary')!.startsWith(`${TROUBLESOME_PLAN_NAME}: `)).toBe(true);
    expect(text(events(first.calendar)[0]!, 'location')).toBe(TROUBLESOME_CLINICS[0].name);

    // The booked visits are at the clinic's wall-clock time: Paris is UTC+1 in early March.
    const paris = TROUBLESOME_CLINICS[0].timezone;
    const booked = exports.flatMap((e) => events(e.calendar).filter((v) => v.getFirstProperty('dtstart')!.getParameter('tzid')));
    expect(booked.map((v) => (v.getFirstPropertyValue('dtstart') as ICAL.Time).toJSDate().toISOString())).toEqual(['2026-03-09T09:30:00.000Z', '2026-03-11T15:15:00.000Z']);
    expect(booked.map((v) => v.getFirstProperty('dtstart')!.getParameter('tzid'))).toEqual([paris, paris]);

    // UIDs are distinct across the workspace's calendars.
    const uids = exports.flatMap((e) => events(e.calendar).map((v) => text(v, 'uid')));
    expect(new Set(uids).size).toBe(uids.length);
  });

  it('hold for every calendar of the demo, and the demo writes the same calendars as it ends', () => {
    const exports = exportAll(demo, { testDatabase: false });
    expect(exports.length).toBeGreaterThan(0);
    for (const e of exports) checkCalendar(e);
    // The tour's own closing exports (the two programs), read by ical.js like any other.
    for (const id of [1, 3]) {
      const own = readFileSync(join(demo, '.txplan', `plan-${id}.ics`), 'utf8');
      const exported = exports.find((e) => e.schedule.plan.id === id)!;
      expect(own.endsWith('END:VCALENDAR\r\n')).toBe(true);
      expect(events(new ICAL.Component(ICAL.parse(own))).map((event) => text(event, 'uid'))).toEqual(events(exported.calendar).map((event) => text(event, 'uid')));
    }
  });

  it('give the same plans in two databases different UIDs, and update a moved booking: SEQUENCE 0, 1, 2 and a new LAST-MODIFIED', () => {
    const T0 = '2026-10-20T12:00:00Z';
    const make = () => {
      const ws = workspace();
      setUp(
        ws,
        [
          ['clinic', 'add', 'downtown', '--name', 'Downtown, 5th Ave; Suite \\ 2', '--timezone', 'America/New_York'],
          ['patient', 'add', '--first', 'Zoë', '--last', 'Ødegård', '--mrn', 'A-1001'],
          ['--yes', 'plan', 'apply', 'A-1001', 'post-procedure-recovery', '--mode', 'start', '--clinic', 'downtown', '--start', '2026-11-02', '--payment-method', 'pm_card_visa'],
        ],
        T0,
      );
      return ws;
    };
    const one = make();
    const two = make();
    const calendarAt = (ws: string, now: string) => {
      const e = exportPlan(ws, 1, { env: at(now) });
      expect(e).toBeDefined();
      checkCalendar(e!);
      return e!;
    };
    const step2 = (e: Export) => events(e.calendar)[1]!;

    // The same plan, steps and clinic in two databases: no UID in common.
    const uidsOf = (e: Export) => events(e.calendar).map((v) => text(v, 'uid'));
    const before = calendarAt(one, T0);
    expect(new Set([...uidsOf(before), ...uidsOf(calendarAt(two, T0))]).size).toBe(2 * uidsOf(before).length);

    expect(step2(before).getFirstPropertyValue('sequence')).toBe(0);
    expect(step2(before).getFirstProperty('last-modified')).toBeNull();

    const T1 = '2026-10-21T08:00:00Z';
    setUp(one, [['plan', 'book', '1', '2', '--at', '2026-11-10 14:30']], T1);
    const booked = calendarAt(one, T1);
    expect(text(step2(booked), 'uid')).toBe(text(step2(before), 'uid'));
    expect(step2(booked).getFirstPropertyValue('sequence')).toBe(1);
    expect((step2(booked).getFirstPropertyValue('last-modified') as ICAL.Time).toJSDate().toISOString()).toBe('2026-10-21T08:00:00.000Z');
    expect((step2(booked).getFirstPropertyValue('dtstart') as ICAL.Time).toJSDate().toISOString()).toBe('2026-11-10T19:30:00.000Z'); // EST, UTC−5

    const T2 = '2026-10-22T09:30:00Z';
    setUp(one, [['plan', 'book', '1', '2', '--at', '2026-11-11 09:00']], T2);
    // Booking the same time again changes nothing.
    setUp(one, [['plan', 'book', '1', '2', '--at', '2026-11-11 09:00']], '2026-10-23T10:00:00Z');
    const moved = calendarAt(one, '2026-10-24T10:00:00Z');
    expect(text(step2(moved), 'uid')).toBe(text(step2(before), 'uid'));
    expect(step2(moved).getFirstPropertyValue('sequence')).toBe(2);
    expect((step2(moved).getFirstPropertyValue('last-modified') as ICAL.Time).toJSDate().toISOString()).toBe('2026-10-22T09:30:00.000Z');
    expect((step2(moved).getFirstPropertyValue('dtstart') as ICAL.Time).toJSDate().toISOString()).toBe('2026-11-11T14:00:00.000Z');
    // The other visits did not move: their events are unchanged.
    expect(events(moved.calendar).filter((_, i) => i !== 1).map((v) => v.getFirstPropertyValue('sequence'))).toEqual([0, 0, 0]);
  });
});
