import { FailedError } from '../errors.js';

/**
 * Card numbers must never be stored (SPEC §5). This is the one detector every
 * way text enters txplan goes through (flags, prompts, CSV cells, templates,
 * the audit). It looks for what a person could paste or type as a card
 * number, in any form:
 *
 * - text is NFKC-normalised first (fullwidth digits, non-breaking and thin
 *   spaces), invisible format characters (zero-width spaces and joiners, word
 *   joiner, BOM, bidi controls) are dropped, and every other Unicode decimal
 *   digit (Arabic-Indic, Devanagari, …) counts as the digit it stands for;
 * - digits may be split into groups by up to three separators in a row: any
 *   space, tab or newline, dots, dashes (Unicode ones too) and slashes;
 * - a card number is a 13–19 digit window of such a run that passes the Luhn
 *   check, starts with a card network's prefix (IIN) and has a length that
 *   network issues. It may sit inside a longer run: the window may start or
 *   end at any group boundary, or lie anywhere inside one unbroken group.
 *
 * Ordinary long numbers are told apart (see test/unit/cards.test.ts, which
 * measures it): a run written as an international phone number (`+` and at
 * most 15 digits, or `00` and at most 17) and a run made only of dates
 * (2024-01-15, 15/01/2024 - 16/02/2024, 20240115) are not card numbers.
 */
export function containsCardNumber(text: string): boolean {
  // Plain ASCII is its own normal form: fewer than 13 digits in all can hold no card.
  if (fewAsciiDigits(text)) return false;
  const normalised = normaliseDigits(text);
  for (const run of digitRuns(normalised)) {
    if (run.digits.length < 13) continue;
    if (looksLikePhone(run) || looksLikeDates(run.groups)) continue;
    if (holdsCard(run)) return true;
  }
  return false;
}

/** Plain ASCII text with fewer than 13 digits, told in one pass (most text txplan checks is). */
function fewAsciiDigits(text: string): boolean {
  if (text.length < 13) {
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
    return true;
  }
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code > 0x7f) return false;
    if (code >= 48 && code <= 57 && ++count >= 13) return false;
  }
  return true;
}

/**
 * Refuses free text holding a card number before anything is written. The
 * message names the field, never the value, so the number reaches no log.
 */
export function refuseCardNumbers(fields: Record<string, string | null | undefined>): void {
  for (const [field, value] of Object.entries(fields)) {
    if (value && containsCardNumber(value)) throw cardNumberError(field);
  }
}

export function cardNumberError(field: string): FailedError {
  return new FailedError(`${field} looks like it holds a card number; txplan never stores card numbers, so remove it (payments use a processor token such as pm_…)`, 'card_number');
}

export function luhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** NFKC, without invisible format characters, with every decimal digit as ASCII. */
export function normaliseDigits(text: string): string {
  return text
    .normalize('NFKC')
    .replace(/\p{Cf}/gu, '')
    .replace(/\p{Nd}/gu, (d) => (d >= '0' && d <= '9' ? d : String(digitValue(d))));
}

const digitValues = new Map<string, number>();
const DECIMAL = /^\p{Nd}$/u;

/** Unicode encodes every decimal digit set as ten consecutive code points from 0 to 9. */
function digitValue(char: string): number {
  let value = digitValues.get(char);
  if (value === undefined) {
    const cp = char.codePointAt(0)!;
    let k = 0;
    while (DECIMAL.test(String.fromCodePoint(cp - k - 1))) k++;
    value = k % 10;
    digitValues.set(char, value);
  }
  return value;
}

interface DigitRun {
  /** The digits of the run, separators left out. */
  digits: string;
  /** The run's groups of unbroken digits. */
  groups: string[];
  /** Whether a `+` comes right before the first digit. */
  plus: boolean;
}

const SEPARATOR = /[\s.\-/\p{Pd}\u2212]/u;
const MAX_SEPARATORS = 3;

function* digitRuns(text: string): Generator<DigitRun> {
  const chars = [...text];
  let i = 0;
  while (i < chars.length) {
    if (!isDigit(chars[i]!)) {
      i++;
      continue;
    }
    const plus = i > 0 && chars[i - 1] === '+';
    const groups: string[] = [];
    let group = '';
    while (i < chars.length) {
      const c = chars[i]!;
      if (isDigit(c)) {
        group += c;
        i++;
        continue;
      }
      // A separator run joins two groups only when a digit follows it.
      let j = i;
      while (j < chars.length && j - i < MAX_SEPARATORS && SEPARATOR.test(chars[j]!)) j++;
      if (j > i && j < chars.length && isDigit(chars[j]!)) {
        groups.push(group);
        group = '';
        i = j;
        continue;
      }
      break;
    }
    groups.push(group);
    yield { digits: groups.join(''), groups, plus };
  }
}

function isDigit(c: string): boolean {
  return c >= '0' && c <= '9';
}

/** E.164 numbers have at most 15 digits, written after `+` or the `00` international prefix. */
function looksLikePhone(run: DigitRun): boolean {
  if (run.plus) return run.digits.length <= 15;
  return run.groups[0]!.startsWith('00') && run.digits.length <= 17;
}

/** True when the groups read, in order, as nothing but calendar dates. */
function looksLikeDates(groups: readonly string[]): boolean {
  let i = 0;
  while (i < groups.length) {
    const g = groups[i]!;
    if (g.length === 8 && compactDate(g)) {
      i++;
      continue;
    }
    const [a, b, c] = [groups[i], groups[i + 1], groups[i + 2]];
    if (a === undefined || b === undefined || c === undefined) return false;
    const ymd = a.length === 4 && isDate(a, b, c);
    const dmy = c.length === 4 && (isDate(c, b, a) || isDate(c, a, b));
    if (!ymd && !dmy) return false;
    i += 3;
  }
  return groups.length > 0;
}

function compactDate(g: string): boolean {
  return isDate(g.slice(0, 4), g.slice(4, 6), g.slice(6)) || isDate(g.slice(4), g.slice(2, 4), g.slice(0, 2)) || isDate(g.slice(4), g.slice(0, 2), g.slice(2, 4));
}

function isDate(year: string, month: string, day: string): boolean {
  if (year.length !== 4 || month.length < 1 || month.length > 2 || day.length < 1 || day.length > 2) return false;
  const y = Number(year);
  const m = Number(month);
  const d = Number(day);
  return y >= 1800 && y <= 2199 && m >= 1 && m <= 12 && d >= 1 && d <= 31;
}

/** Card networks by IIN prefix range, with the lengths they issue. */
const NETWORKS: ReadonlyArray<{ from: number; to: number; width: number; lengths: readonly number[] }> = [
  { from: 4, to: 4, width: 1, lengths: [13, 16, 19] }, // Visa
  { from: 51, to: 55, width: 2, lengths: [16] }, // Mastercard
  { from: 2221, to: 2720, width: 4, lengths: [16] }, // Mastercard 2-series
  { from: 2200, to: 2204, width: 4, lengths: [16, 17, 18, 19] }, // Mir
  { from: 34, to: 34, width: 2, lengths: [15] }, // American Express
  { from: 37, to: 37, width: 2, lengths: [15] }, // American Express
  { from: 6011, to: 6011, width: 4, lengths: [16, 17, 18, 19] }, // Discover
  { from: 644, to: 649, width: 3, lengths: [16, 17, 18, 19] }, // Discover
  { from: 65, to: 65, width: 2, lengths: [16, 17, 18, 19] }, // Discover
  { from: 3528, to: 3589, width: 4, lengths: [16, 17, 18, 19] }, // JCB
  { from: 300, to: 305, width: 3, lengths: [14, 15, 16, 17, 18, 19] }, // Diners Club
  { from: 3095, to: 3095, width: 4, lengths: [14, 15, 16, 17, 18, 19] }, // Diners Club
  { from: 36, to: 36, width: 2, lengths: [14, 15, 16, 17, 18, 19] }, // Diners Club
  { from: 38, to: 39, width: 2, lengths: [14, 15, 16, 17, 18, 19] }, // Diners Club
  { from: 62, to: 62, width: 2, lengths: [16, 17, 18, 19] }, // UnionPay
  { from: 50, to: 50, width: 2, lengths: [13, 14, 15, 16, 17, 18, 19] }, // Maestro
  { from: 56, to: 69, width: 2, lengths: [13, 14, 15, 16, 17, 18, 19] }, // Maestro
];

function issued(digits: string, start: number, length: number): boolean {
  for (const n of NETWORKS) {
    if (!n.lengths.includes(length)) continue;
    const prefix = Number(digits.slice(start, start + n.width));
    if (prefix >= n.from && prefix <= n.to) return true;
  }
  return false;
}

/** Every 13–19 digit window that starts or ends at a group boundary, or lies inside one group. */
function holdsCard(run: DigitRun): boolean {
  const { digits, groups } = run;
  const boundary = new Set<number>([0]);
  const groupOf: number[] = [];
  let at = 0;
  groups.forEach((g, index) => {
    for (let k = 0; k < g.length; k++) groupOf.push(index);
    at += g.length;
    boundary.add(at);
  });
  for (let end = 13; end <= digits.length; end++) {
    // Luhn sums of the windows ending at `end`, grown one digit leftwards at a time.
    let sum = 0;
    for (let length = 1; length <= 19 && end - length >= 0; length++) {
      let d = digits.charCodeAt(end - length) - 48;
      if (length % 2 === 0) {
        d *= 2;
        if (d > 9) d -= 9;
      }
      sum += d;
      if (length < 13 || sum % 10 !== 0) continue;
      const start = end - length;
      if (!boundary.has(start) && !boundary.has(end) && groupOf[start] !== groupOf[end - 1]) continue;
      if (issued(digits, start, length)) return true;
    }
  }
  return false;
}
