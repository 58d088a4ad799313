import { join } from 'node:path';
import { setUp, tempDir, txplan, workspace } from './helpers.js';

/**
 * Workspaces whose files go to other systems' validators (FHIR, iCalendar,
 * PDF, JUnit): the demo's, and one whose clinics, patients and plans hold the
 * text that breaks exporters — commas, semicolons, backslashes, quotes,
 * right-to-left and CJK names, emoji. Call inside a test (or a beforeAll):
 * the folders go when the test that made them ends.
 */

/** The simulated time the troublesome workspace is set up at. */
export const TROUBLESOME_NOW = '2026-03-02T15:00:00Z';

/** Clinic names and time zones: punctuation that iCalendar and CSV escape, a backslash, quotes. */
export const TROUBLESOME_CLINICS = [
  { id: 'north', name: 'Clinique Müller, Núñez & Co; "North" \\ Annex', timezone: 'Europe/Paris' },
  { id: 'east', name: 'عيادة النور، دبي', timezone: 'Asia/Dubai' },
] as const;

/** Patients: right-to-left (Arabic, Hebrew), CJK, Devanagari, emoji, and Latin names full of punctuation. */
export const TROUBLESOME_PATIENTS = [
  { mrn: 'T-1', first: 'محمد', last: 'العلي', dob: '1988-04-12' },
  { mrn: 'T-2', first: 'דוד', last: 'כהן', dob: '1979-11-30' },
  { mrn: 'T-3', first: '小明', last: '王', dob: '1995-02-07' },
  { mrn: 'T-4', first: '太郎', last: '山田', dob: '1990-06-15' },
  { mrn: 'T-5', first: '민준', last: '김', dob: '1992-09-03' },
  { mrn: 'T-6', first: 'प्रिया', last: 'शर्मा', dob: '1985-01-21' },
  { mrn: 'T-7', first: 'Zoë 🌸', last: 'Ångström', dob: '2001-12-24' },
  { mrn: 'T-8', first: 'Seán "Jr."', last: "O'Brien, Smith\\Jones; III", dob: '1970-07-04' },
] as const;

/** A plan name with every character an exporter must escape. */
export const TROUBLESOME_PLAN_NAME = 'Acne plan, phase 1; "clear" \\ skin — ✨ خطة';

/**
 * The troublesome workspace: both clinics, all the patients, an active plan
 * for each (the first with a troublesome name), visits booked, one visit
 * recorded with a note, and the last plan cancelled.
 */
export function troublesomeWorkspace(): string {
  const ws = workspace();
  setUp(ws, [
    ...TROUBLESOME_CLINICS.map((c) => ['clinic', 'add', c.id, '--name', c.name, '--timezone', c.timezone]),
    ...TROUBLESOME_PATIENTS.map((p) => ['patient', 'add', '--first', p.first, '--last', p.last, '--mrn', p.mrn, '--dob', p.dob]),
  ]);
  setUp(
    ws,
    [
      ['--yes', 'plan', 'apply', 'T-1', 'mild-acne-clearing', '--mode', 'start', '--clinic', 'north', '--payment-method', 'pm_card_visa', '--set', `name=${TROUBLESOME_PLAN_NAME}`],
      ...TROUBLESOME_PATIENTS.slice(1).map((p, i) => ['--yes', 'plan', 'apply', p.mrn, 'post-procedure-recovery', '--mode', 'start', '--clinic', i % 2 ? 'north' : 'east', '--payment-method', 'pm_card_visa']),
      ['plan', 'book', '1', '1', '--at', '2026-03-09 10:30'],
      ['plan', 'book', '2', '1', '--at', '2026-03-10 09:00'],
      ['plan', 'book', '3', '1', '--at', '2026-03-11 16:15'],
      ['--yes', 'plan', 'step', '2', '1', '--done', '--note', 'Patient said: "fine, thanks"; no redness \\ swelling'],
      ['--yes', 'plan', 'cancel', String(TROUBLESOME_PATIENTS.length), '--reason', 'Moved away; "no longer local"'],
    ],
    TROUBLESOME_NOW,
  );
  return ws;
}

/** The demo's workspace (`txplan demo --dir`), with its simulated year of plans. */
export function demoWorkspace(): string {
  const dir = join(tempDir(), 'demo');
  const result = txplan(['demo', '--dir', dir]);
  if (result.code !== 0) throw new Error(`txplan demo failed: ${result.stderr}`);
  return dir;
}
