import { containsCardNumber } from './cards.js';
import { daysBetween, parseDate, todayIn } from './dates.js';

/**
 * The rules a patient's profile must meet, shared by `patient add` and
 * `patient import`. Pure: "today" is passed in. Problems never quote the
 * value they are about, because a value may be health data or a card number
 * and problems end up on stderr and in CI logs.
 */
export const PATIENT_FIELDS = ['first_name', 'last_name', 'dob', 'email', 'phone', 'mrn'] as const;
export type PatientField = (typeof PATIENT_FIELDS)[number];
export const REQUIRED_FIELDS: readonly PatientField[] = ['first_name', 'last_name'];

/** What a person typed or a CSV cell held: anything, possibly missing. */
export type PatientInput = Partial<Record<PatientField, string | null | undefined>>;

/** A profile that passed every rule, normalised as it will be stored. */
export interface PatientFields {
  first_name: string;
  last_name: string;
  dob: string | null;
  email: string | null;
  phone: string | null;
  mrn: string | null;
}

export type PatientProblemCode = 'required' | 'too_long' | 'control_character' | 'card_number' | 'date_format' | 'date_invalid' | 'date_future' | 'date_too_old' | 'email' | 'phone' | 'mrn';

export interface PatientProblem {
  field: PatientField;
  code: PatientProblemCode;
  /** A phrase that follows the field's name: "is not a real date; …". */
  message: string;
}

export type PatientCheck = { ok: true; patient: PatientFields } | { ok: false; problems: PatientProblem[] };

export const MAX_NAME_LENGTH = 100;
export const MAX_EMAIL_LENGTH = 254;
export const MAX_MRN_LENGTH = 40;
/** E.164 numbers have at most 15 digits; a longer run is no phone number. */
export const MAX_PHONE_DIGITS = 15;
export const MIN_PHONE_DIGITS = 4;
export const EARLIEST_DOB = '1900-01-01';

const MRN = /^[A-Za-z0-9._-]{1,40}$/;
const PHONE = /^\+?[0-9 ().-]+$/;
/**
 * An extension after the number, as booking systems and people write it:
 * "ext. 42", "ext 42", "extension 42", "x42", "#42". Its digits are not part
 * of the number's count.
 */
const EXTENSION = /^(.*?[0-9)])\s*,?\s*(?:ext\.?|extension|x|#)\s*([0-9]{1,6})$/i;
// Plausible, not RFC 5322: one @, no spaces, a dot in the domain.
const EMAIL = /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

export const CARD_NUMBER_PROBLEM = 'looks like it holds a card number; txplan never stores card numbers, so remove it (payments use a processor token such as pm_…)';

export function checkPatient(input: PatientInput, today: string): PatientCheck {
  const problems: PatientProblem[] = [];
  const problem = (field: PatientField, code: PatientProblemCode, message: string) => void problems.push({ field, code, message });

  const name = (field: 'first_name' | 'last_name', label: string): string => {
    const value = normaliseName(input[field]);
    if (containsCardNumber(value)) problem(field, 'card_number', CARD_NUMBER_PROBLEM);
    else if (value === '') problem(field, 'required', `is empty; every patient needs a ${label}`);
    else if ([...value].length > MAX_NAME_LENGTH) problem(field, 'too_long', `is longer than ${MAX_NAME_LENGTH} characters; shorten it`);
    else if (CONTROL.test(value)) problem(field, 'control_character', 'holds a control character; remove it');
    return value;
  };
  const first_name = name('first_name', 'first name');
  const last_name = name('last_name', 'last name');
  const dob = checkDob(optional(input.dob), today, problem);
  const email = checkEmail(optional(input.email), problem);
  const phone = checkPhone(optional(input.phone), problem);
  const mrn = checkMrn(optional(input.mrn), problem);

  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, patient: { first_name, last_name, dob, email, phone, mrn } };
}

type Report = (field: PatientField, code: PatientProblemCode, message: string) => void;

function checkDob(value: string | null, today: string, problem: Report): string | null {
  if (value === null) return null;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) problem('dob', 'date_format', 'is not a date in the form YYYY-MM-DD; write it like 1985-04-23');
  else if (!parseDate(value)) problem('dob', 'date_invalid', 'is not a real calendar date; check the month and the day');
  else if (value > today) problem('dob', 'date_future', 'is in the future; check the year');
  else if (value < EARLIEST_DOB) problem('dob', 'date_too_old', 'is before 1900; check the year');
  return value;
}

function checkEmail(value: string | null, problem: Report): string | null {
  if (value === null) return null;
  if (containsCardNumber(value)) problem('email', 'card_number', CARD_NUMBER_PROBLEM);
  else if (value.length > MAX_EMAIL_LENGTH || !EMAIL.test(value) || CONTROL.test(value)) problem('email', 'email', 'is not an email address; write it like name@example.com');
  return value;
}

function checkPhone(value: string | null, problem: Report): string | null {
  if (value === null) return null;
  const found = phoneProblem(value);
  if (found) problem('phone', found.code, found.message);
  return value;
}

/** Shared with clinics: what is wrong with a phone number, if anything. */
export function phoneProblem(value: string): { code: 'card_number' | 'phone'; message: string } | undefined {
  // The detector knows international numbers (+ or 00, at most 15 digits) are phones.
  if (containsCardNumber(value)) return { code: 'card_number', message: CARD_NUMBER_PROBLEM };
  const extension = EXTENSION.exec(value);
  const number = extension ? extension[1]! : value;
  if (!PHONE.test(number)) return { code: 'phone', message: 'may hold only digits, spaces, a leading + and ( ) - . and an extension such as "ext. 42"; remove the other characters' };
  const digits = number.replace(/\D/g, '').length;
  if (digits > MAX_PHONE_DIGITS) return { code: 'phone', message: `has more than ${MAX_PHONE_DIGITS} digits, more than any phone number; check it` };
  if (digits < MIN_PHONE_DIGITS) return { code: 'phone', message: `has fewer than ${MIN_PHONE_DIGITS} digits; write the whole number, with its country code when abroad` };
  return undefined;
}

function checkMrn(value: string | null, problem: Report): string | null {
  if (value === null) return null;
  if (containsCardNumber(value)) problem('mrn', 'card_number', CARD_NUMBER_PROBLEM);
  else if (!MRN.test(value)) problem('mrn', 'mrn', `may hold only letters, digits, dots, underscores and dashes, at most ${MAX_MRN_LENGTH} of them; use the id your records system shows`);
  return value;
}

/**
 * Names arrive from terminals, spreadsheets and other systems: composed to
 * NFC (so "Zoë" typed on macOS finds "Zoë" typed elsewhere), and any run of
 * white space, line breaks included, becomes one space.
 */
export function normaliseName(value: string | null | undefined): string {
  return (value ?? '').normalize('NFC').replace(/\s+/gu, ' ').trim();
}

function optional(value: string | null | undefined): string | null {
  const text = (value ?? '').normalize('NFC').trim();
  return text === '' ? null : text;
}

/**
 * The latest calendar date anywhere on Earth (UTC+14). A birth date is "in
 * the future" only when it is after this, so a clinic east of UTC can record
 * a baby born today.
 */
export function latestToday(now: Date): string {
  const { year, month, day } = todayIn('Pacific/Kiritimati', now);
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

/** Age in whole years on `today`; undefined when either date is unreadable. */
export function ageOn(dob: string, today: string): number | undefined {
  const born = parseDate(dob);
  const on = parseDate(today);
  if (!born || !on || daysBetween(born, on) < 0) return undefined;
  return on.year - born.year - (on.month < born.month || (on.month === born.month && on.day < born.day) ? 1 : 0);
}

export function fullName(patient: { first_name: string; last_name: string }): string {
  return `${patient.first_name} ${patient.last_name}`;
}
