import { containsCardNumber } from './cards.js';
import { hasControlCharacter } from './safe-text.js';
import { CARD_NUMBER_PROBLEM, normaliseName, phoneProblem } from './patient.js';

/** The rules of a clinic's profile; the time zone is checked by the caller against Intl. */
export const CLINIC_ID = /^[a-z0-9]+(-[a-z0-9]+)*$/;
export const MAX_CLINIC_ID_LENGTH = 40;
export const MAX_CLINIC_NAME_LENGTH = 100;
export const MAX_ADDRESS_LENGTH = 300;

export interface ClinicInput {
  id: string;
  name: string | undefined;
  address: string | undefined;
  phone: string | undefined;
}

export interface ClinicFields {
  id: string;
  name: string;
  address: string | null;
  phone: string | null;
}

export type ClinicField = 'id' | 'name' | 'address' | 'phone';

export interface ClinicProblem {
  field: ClinicField;
  code: 'card_number' | 'invalid';
  message: string;
}

export type ClinicCheck = { ok: true; clinic: ClinicFields } | { ok: false; problems: ClinicProblem[] };

export function checkClinic(input: ClinicInput): ClinicCheck {
  const problems: ClinicProblem[] = [];
  const invalid = (field: ClinicField, message: string) => void problems.push({ field, code: 'invalid', message });
  const card = (field: ClinicField) => void problems.push({ field, code: 'card_number', message: CARD_NUMBER_PROBLEM });

  const id = input.id.trim();
  if (containsCardNumber(id)) card('id');
  else if (!CLINIC_ID.test(id) || id.length > MAX_CLINIC_ID_LENGTH) invalid('id', `must be lowercase letters, digits and dashes, at most ${MAX_CLINIC_ID_LENGTH} characters, e.g. downtown or north-side`);

  const name = normaliseName(input.name);
  if (containsCardNumber(name)) card('name');
  else if (hasControlCharacter(name)) invalid('name', 'holds a control character or a text-direction override; remove it');
  else if (name === '') invalid('name', 'is empty; give the clinic the name patients know it by');
  else if ([...name].length > MAX_CLINIC_NAME_LENGTH) invalid('name', `is longer than ${MAX_CLINIC_NAME_LENGTH} characters; shorten it`);

  const address = normaliseName(input.address) || null;
  if (address !== null && containsCardNumber(address)) card('address');
  else if (address !== null && hasControlCharacter(address)) invalid('address', 'holds a control character or a text-direction override; remove it');
  else if (address !== null && [...address].length > MAX_ADDRESS_LENGTH) invalid('address', `is longer than ${MAX_ADDRESS_LENGTH} characters; shorten it`);

  const phone = input.phone?.trim() || null;
  const phoneIssue = phone === null ? undefined : phoneProblem(phone);
  if (phoneIssue?.code === 'card_number') card('phone');
  else if (phoneIssue) invalid('phone', phoneIssue.message);

  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, clinic: { id, name, address, phone } };
}

/** A clinic's currency as typed (`nok` or `NOK`): the ISO 4217 code, or a sentence saying what is wrong. */
export function clinicCurrency(text: string, isCurrency: (code: string) => boolean): { currency: string } | { error: string } {
  const code = text.trim().toUpperCase();
  if (!isCurrency(code)) return { error: `"${text}" is not an ISO 4217 currency code; use one such as USD, EUR, NOK or JPY` };
  return { currency: code };
}

/** A clinic's locale as typed: the canonical BCP 47 tag the runtime can format in (nb-NO, en-GB), or a sentence saying what is wrong. */
export function clinicLocale(text: string): { locale: string } | { error: string } {
  const problem = { error: `"${text}" is not a locale this txplan can write money in; use a BCP 47 tag such as en-US, en-GB, nb-NO or de-DE` };
  let tag: string;
  try {
    const [canonical] = Intl.getCanonicalLocales(text.trim());
    if (canonical === undefined) return problem;
    tag = canonical;
  } catch {
    return problem;
  }
  // A well-formed tag the runtime has no data for would silently fall back to another language.
  if (Intl.NumberFormat.supportedLocalesOf([tag], { localeMatcher: 'lookup' }).length === 0) return problem;
  return { locale: tag };
}
