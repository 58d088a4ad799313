import { FailedError } from '../errors.js';

/**
 * Card numbers must never be stored (SPEC §5): a run of 13 to 19 digits, with
 * spaces or dashes between them, that passes the Luhn check is refused.
 */
const CANDIDATE = /\d(?:[ -]?\d){12,18}/g;

export function containsCardNumber(text: string): boolean {
  for (const match of text.matchAll(CANDIDATE)) {
    const digits = match[0].replace(/[ -]/g, '');
    // A longer run may hold a card number inside it: check every window.
    for (let length = 13; length <= Math.min(19, digits.length); length++) {
      for (let start = 0; start + length <= digits.length; start++) {
        if (luhn(digits.slice(start, start + length))) return true;
      }
    }
  }
  return false;
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

/**
 * Refuses free text holding a card number before anything is written. The
 * message names the field, never the value, so the number reaches no log.
 */
export function refuseCardNumbers(fields: Record<string, string | null | undefined>): void {
  for (const [field, value] of Object.entries(fields)) {
    if (value && containsCardNumber(value)) {
      throw new FailedError(`${field} looks like it holds a card number; txplan never stores card numbers, so remove it (payments use a processor token such as pm_…)`, 'card_number');
    }
  }
}
