/**
 * Finding people the way the front desk types them: without regard to case or
 * accents ("muller" finds Müller, "nunez" finds Núñez), and phone numbers by
 * their digits. Pure; the store keeps each patient's folded text beside the
 * row (search_text, search_phone) so both engines search the same words.
 */

/**
 * Letters that Unicode does not decompose into a base letter and a mark, and
 * what a person types for them on a plain keyboard. Kept in step with
 * PostgreSQL migration 013, which folds the rows that existed before it.
 */
export const FOLDED_LETTERS: ReadonlyArray<readonly [string, string]> = [
  ['ø', 'o'],
  ['Ø', 'o'],
  ['æ', 'ae'],
  ['Æ', 'ae'],
  ['œ', 'oe'],
  ['Œ', 'oe'],
  ['ß', 'ss'],
  ['ł', 'l'],
  ['Ł', 'l'],
  ['đ', 'd'],
  ['Đ', 'd'],
  ['ð', 'd'],
  ['Ð', 'd'],
  ['þ', 'th'],
  ['Þ', 'th'],
  ['ı', 'i'],
];

const SPECIAL = new Map(FOLDED_LETTERS);
const SPECIAL_PATTERN = new RegExp(`[${FOLDED_LETTERS.map(([from]) => from).join('')}]`, 'g');

/** Text without accents, in lower case, with runs of white space as one space: what search compares. */
export function foldText(text: string): string {
  return text
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .replace(SPECIAL_PATTERN, (c) => SPECIAL.get(c) ?? c)
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .trim();
}

/** The digits of a phone number ("+47 400 00 101" → "4740000101"); null when it has none. */
export function phoneDigits(phone: string | null | undefined): string | null {
  const digits = (phone ?? '').replace(/\D/g, '');
  return digits === '' ? null : digits;
}

interface Searchable {
  first_name: string;
  last_name: string;
  mrn: string | null;
  email: string | null;
  phone: string | null;
}

/** What a patient's search column holds: the folded name, MRN and email, one space apart. */
export function searchTextOf(patient: Searchable): string {
  return foldText([patient.first_name, patient.last_name, patient.mrn ?? '', patient.email ?? ''].join(' '));
}

/** The columns the store writes beside a patient's fields. */
export function searchColumnsOf(patient: Searchable): { search_text: string; search_phone: string | null } {
  return { search_text: searchTextOf(patient), search_phone: phoneDigits(patient.phone) };
}

/**
 * A search as typed, ready for the store: the folded text, and its digits when
 * it looks like (part of) a phone number: at least four digits and nothing but
 * digits and phone punctuation.
 */
export function searchTerms(text: string): { text: string; digits: string | null } {
  const folded = foldText(text);
  const digits = /^\+?[0-9 ().-]+$/.test(text.trim()) ? phoneDigits(text) : null;
  return { text: folded, digits: digits !== null && digits.length >= 4 ? digits : null };
}

export type DuplicateReason = 'name_and_dob' | 'email' | 'phone';

export interface DuplicateMatch<P> {
  patient: P;
  reasons: DuplicateReason[];
}

/**
 * Patients among `others` who are likely the same person as `candidate`: the
 * same first and last name (ignoring case and accents) and the same date of
 * birth, or the same email (ignoring case), or the same phone number (by
 * digits). Each match says why.
 */
export function likelyDuplicates<P extends Searchable & { dob: string | null }>(candidate: Searchable & { dob: string | null }, others: readonly P[]): DuplicateMatch<P>[] {
  const name = foldText(`${candidate.first_name} ${candidate.last_name}`);
  const email = candidate.email?.trim().toLowerCase() || null;
  const phone = phoneDigits(candidate.phone);
  const matches: DuplicateMatch<P>[] = [];
  for (const other of others) {
    const reasons: DuplicateReason[] = [];
    if (candidate.dob !== null && other.dob === candidate.dob && foldText(`${other.first_name} ${other.last_name}`) === name) reasons.push('name_and_dob');
    if (email !== null && other.email?.trim().toLowerCase() === email) reasons.push('email');
    if (phone !== null && phoneDigits(other.phone) === phone) reasons.push('phone');
    if (reasons.length > 0) matches.push({ patient: other, reasons });
  }
  return matches;
}

/** "the same name and date of birth" / "the same email and phone": why a match was made, for a sentence. */
export function describeReasons(reasons: readonly DuplicateReason[]): string {
  const words = reasons.map((r) => (r === 'name_and_dob' ? 'name and date of birth' : r));
  return `the same ${words.length > 1 ? `${words.slice(0, -1).join(', ')} and ${words.at(-1)}` : words[0]}`;
}
