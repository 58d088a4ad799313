import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseDate } from '../../src/domain/dates.js';
import { openDatabase } from '../../src/store/database.js';
import { Store } from '../../src/store/store.js';
import { getAttachments, getPlan, getSteps, insertPlan, insertSteps } from '../../src/store/plans.js';
import { stepsFor } from '../../src/domain/plan.js';
import {
  formatDateTime,
  localToUtc,
  parseDateTime,
  parseStepNumber,
  planCalendar,
  readAttachment,
  readPhoto,
  recordStep,
  sniffImage,
  visitMinutes,
  zoneOffsetMinutes,
} from '../../src/plans/steps.js';
import type { Template } from '../../src/generated/schema-types.js';

const dt = (text: string) => parseDateTime(text)!;
const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8ffff3f0005fe02fea7d6a4b20000000049454e44ae426082', 'hex');

const dirs: string[] = [];
function temp(): string {
  const dir = mkdtempSync(join(tmpdir(), 'txplan-steps-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('clinic-local date-times', () => {
  it('parses "YYYY-MM-DD HH:MM" on the 24-hour clock, real dates only', () => {
    expect(parseDateTime('2026-11-10 14:30')).toEqual({ date: { year: 2026, month: 11, day: 10 }, hour: 14, minute: 30 });
    expect(parseDateTime('2028-02-29 00:00')).toBeDefined();
    for (const bad of ['2026-02-29 10:00', '2026-11-10 24:00', '2026-11-10 10:60', '2026-11-10 2:30', '2026-11-10', '2026-11-10 2:30 PM', '10:00']) {
      expect(parseDateTime(bad), bad).toBeUndefined();
    }
    expect(formatDateTime(dt('2026-01-05 09:05'))).toBe('2026-01-05 09:05');
  });

  it('knows the offset of a zone at an instant', () => {
    expect(zoneOffsetMinutes('America/New_York', new Date('2026-01-15T12:00:00Z'))).toBe(-300);
    expect(zoneOffsetMinutes('America/New_York', new Date('2026-07-15T12:00:00Z'))).toBe(-240);
    expect(zoneOffsetMinutes('Asia/Kolkata', new Date('2026-07-15T12:00:00Z'))).toBe(330);
    expect(zoneOffsetMinutes('UTC', new Date('2026-07-15T12:00:00Z'))).toBe(0);
  });

  it('converts clinic time to UTC on both sides of a DST change', () => {
    expect(localToUtc(dt('2026-11-23 10:00'), 'America/New_York')).toEqual({ instant: new Date('2026-11-23T15:00:00Z'), kind: 'exact' });
    expect(localToUtc(dt('2027-03-15 10:00'), 'America/New_York')).toEqual({ instant: new Date('2027-03-15T14:00:00Z'), kind: 'exact' });
    expect(localToUtc(dt('2026-07-01 09:00'), 'Europe/Berlin').instant).toEqual(new Date('2026-07-01T07:00:00Z'));
    expect(localToUtc(dt('2026-12-01 09:00'), 'Australia/Sydney').instant).toEqual(new Date('2026-11-30T22:00:00Z'));
  });

  it('takes the earlier of an ambiguous time and moves a missing one forward', () => {
    // 2026-11-01 01:30 happens twice in New York (EDT, then EST).
    expect(localToUtc(dt('2026-11-01 01:30'), 'America/New_York')).toEqual({ instant: new Date('2026-11-01T05:30:00Z'), kind: 'ambiguous' });
    // 2027-03-14 02:30 never happens in New York; calendars show 03:30 EDT.
    expect(localToUtc(dt('2027-03-14 02:30'), 'America/New_York')).toEqual({ instant: new Date('2027-03-14T07:30:00Z'), kind: 'gap' });
    // The hours right around the change are exact.
    expect(localToUtc(dt('2027-03-14 01:59'), 'America/New_York')).toEqual({ instant: new Date('2027-03-14T06:59:00Z'), kind: 'exact' });
    expect(localToUtc(dt('2027-03-14 03:00'), 'America/New_York')).toEqual({ instant: new Date('2027-03-14T07:00:00Z'), kind: 'exact' });
  });
});

describe('photos', () => {
  const withHeader = (hex: string, rest = 32) => Buffer.concat([Buffer.from(hex, 'hex'), Buffer.alloc(rest)]);
  const ftyp = (...brands: string[]) => {
    const body = Buffer.from(`ftyp${brands[0]}\0\0\0\0${brands.slice(1).join('')}`, 'latin1');
    const size = Buffer.alloc(4);
    size.writeUInt32BE(body.length + 4);
    return Buffer.concat([size, body, Buffer.alloc(16)]);
  };

  it('recognises JPEG, PNG, WebP and HEIC by their magic bytes', () => {
    expect(sniffImage(PNG)).toBe('png');
    expect(sniffImage(withHeader('ffd8ffe000104a464946'))).toBe('jpg');
    expect(sniffImage(Buffer.concat([Buffer.from('RIFF\x10\x00\x00\x00WEBPVP8 ', 'latin1'), Buffer.alloc(16)]))).toBe('webp');
    expect(sniffImage(ftyp('heic', 'mif1', 'heic'))).toBe('heic');
    expect(sniffImage(ftyp('mif1', 'mif1', 'heic'))).toBe('heic');
  });

  it('refuses everything else, including AVIF, GIF, PDF, text and truncated files', () => {
    expect(sniffImage(ftyp('avif', 'mif1', 'avif'))).toBeUndefined();
    expect(sniffImage(ftyp('mif1', 'mif1', 'avif'))).toBeUndefined();
    expect(sniffImage(Buffer.from('GIF89a\x01\x00\x01\x00', 'latin1'))).toBeUndefined();
    expect(sniffImage(Buffer.from('%PDF-1.7\n', 'latin1'))).toBeUndefined();
    expect(sniffImage(Buffer.from('hello\n'))).toBeUndefined();
    expect(sniffImage(Buffer.from([0x89, 0x50]))).toBeUndefined();
    expect(sniffImage(Buffer.alloc(0))).toBeUndefined();
  });

  it('reads a photo with its hash, and refuses missing, empty, folder and oversized files', () => {
    const dir = temp();
    writeFileSync(join(dir, 'a.png'), PNG);
    const photo = readPhoto(join(dir, 'a.png'), 'a.png');
    expect(photo).toMatchObject({ name: 'a.png', bytes: PNG.length, kind: 'png' });
    expect(photo.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(() => readPhoto(join(dir, 'missing.png'), 'missing.png')).toThrow('The photo missing.png does not exist');
    expect(() => readPhoto(dir, 'dir')).toThrow('is not a regular file');
    writeFileSync(join(dir, 'empty.png'), '');
    expect(() => readPhoto(join(dir, 'empty.png'))).toThrow('is empty');
    const big = join(dir, 'big.png');
    writeFileSync(big, PNG);
    writeFileSync(big, Buffer.alloc(25 * 1024 * 1024 + 1 - PNG.length), { flag: 'a' });
    expect(() => readPhoto(big, 'big.png')).toThrow('more than the 25 MiB allowed');
  });
});

describe('step numbers, visit length and calendars', () => {
  it('takes positive whole step numbers only', () => {
    expect(parseStepNumber('3')).toBe(3);
    for (const bad of ['0', '-1', '1.5', 'x', '']) expect(parseStepNumber(bad), bad).toBeUndefined();
  });

  it('adds up the catalog minutes, an hour when unknown', () => {
    const services = new Map([
      ['a', { name: 'A', minutes: 20 }],
      ['b', { name: 'B', minutes: 30 }],
      ['c', { name: 'C' }],
    ]);
    expect(visitMinutes(['a', 'b'], services)).toBe(50);
    expect(visitMinutes(['c'], services)).toBe(60);
    expect(visitMinutes(['unknown'], services)).toBe(60);
  });
});

/** A database with one active pay-as-you-go plan, built through the store module. */
function planFixture() {
  const dir = temp();
  const store = new Store(openDatabase(join(dir, '.txplan', 'txplan.db')));
  const now = '2026-11-27T12:00:00.000Z';
  store.db.prepare("INSERT INTO clinics (id, name, timezone, created_at) VALUES ('downtown', 'Downtown', 'America/New_York', ?)").run(now);
  store.db.prepare("INSERT INTO patients (first_name, last_name, mrn, created_at, updated_at) VALUES ('Zoë', 'Ødegård', 'A-1', ?, ?)").run(now, now);
  const snapshot: Template = {
    id: 'recovery',
    version: 1,
    name: 'Recovery',
    type: 'pay-as-you-go',
    status: 'active',
    goal: 'Heal',
    duration: { weeks: 4 },
    schedule: [
      { when: { week: 1 }, services: ['check-in'], note: 'First visit' },
      { when: { week: 2 }, services: ['facial', 'led'] },
    ],
  } as Template;
  const id = insertPlan(store, {
    patient_id: 1,
    clinic_id: 'downtown',
    template_id: 'recovery',
    template_version: 1,
    template_hash: 'x',
    template_commit: null,
    template_dirty: null,
    name: 'Recovery',
    type: 'pay-as-you-go',
    status: 'active',
    snapshot: JSON.stringify(snapshot),
    currency: 'USD',
    start_date: '2026-11-02',
    end_date: '2026-11-30',
    paused_on: null,
    pause_until: null,
    cancelled_on: null,
    cancel_reason: null,
    payment_method_id: null,
    service_prices: "{}",
    created_at: now,
    updated_at: now,
  });
  insertSteps(store, id, stepsFor(snapshot, parseDate('2026-11-02')));
  return { dir, store, plan: getPlan(store, id)! };
}

describe('recordStep', () => {
  it('removes the photos it copied when the transaction fails', () => {
    const { dir, store, plan } = planFixture();
    try {
      writeFileSync(join(dir, 'p.png'), PNG);
      store.db.exec("CREATE TRIGGER fail_audit BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT, 'disk full'); END;");
      const attachments = { root: dir, dir: join(dir, '.txplan', 'attachments') };
      const input = { n: 1, mark: 'done' as const, date: parseDate('2026-11-02')!, today: parseDate('2026-11-27')!, note: 'ok', outcome: null, photos: [readPhoto(join(dir, 'p.png'))], attachments };
      expect(() => recordStep(store, plan, input, { actor: 'test', now: new Date() })).toThrow('disk full');
      expect(readdirSync(attachments.dir)).toEqual([]);
      expect(getSteps(store, plan.id)[0]!.status).toBe('pending');
      expect(getAttachments(store, plan.id)).toEqual([]);

      store.db.exec('DROP TRIGGER fail_audit');
      const { step, attachments: rows } = recordStep(store, plan, input, { actor: 'test', now: new Date() });
      expect(step.status).toBe('done');
      expect(rows).toHaveLength(1);
      expect(rows[0]!.path).toBe(`.txplan/attachments/${rows[0]!.sha256}.png`);
      expect(existsSync(join(dir, rows[0]!.path))).toBe(true);
      expect(readAttachment(store, rows[0]!, dir).equals(PNG)).toBe(true);
    } finally {
      store.close();
    }
  });

  it('writes pending steps to a calendar: timed when booked, all-day otherwise', () => {
    const { store, plan } = planFixture();
    try {
      const steps = getSteps(store, plan.id).map((s) => (s.n === 2 ? { ...s, booked_at: '2026-11-09 09:30' } : s));
      const services = new Map([
        ['facial', { name: 'Facial', minutes: 45 }],
        ['led', { name: 'LED', minutes: 15 }],
      ]);
      const { text, events } = planCalendar({ plan, steps, services, timeZone: 'America/New_York', site: 'downtown', databaseId: 'abcdefghijklmnopqrstuvwx', now: new Date('2026-11-27T12:00:00Z') });
      expect(events).toBe(2);
      expect(text).toContain('UID:txplan-abcdefghijklmnopqrstuvwx-plan-1-step-1@downtown.txplan.invalid');
      expect(text).toContain('DTSTART;VALUE=DATE:20261102');
      expect(text).toContain('DTSTART;TZID=America/New_York:20261109T093000');
      expect(text).toContain('DTEND;TZID=America/New_York:20261109T103000');
      // The zone is defined in the file: EST from 1 November 2026 (02:00 EDT, UTC−4, becomes 01:00 EST, UTC−5).
      expect(text).toContain('BEGIN:STANDARD\r\nDTSTART:20261101T020000\r\nTZOFFSETFROM:-0400\r\nTZOFFSETTO:-0500\r\nEND:STANDARD');
      expect(text.endsWith('END:VCALENDAR\r\n')).toBe(true);
      expect(text).toContain('SUMMARY:Recovery: Facial + LED');
      expect(text).not.toMatch(/Zoë|Ødegård|A-1/);
    } finally {
      store.close();
    }
  });
});
