import { UsageError } from '../errors.js';

/**
 * Characters that can turn stored text into a trap when it is printed: C0
 * controls (escape sequences start with ESC), DEL, C1 controls, the line and
 * paragraph separators, and the bidi overrides and isolates that make a
 * terminal show text in another order than it is stored (U+202A–U+202E,
 * U+2066–U+2069). Single-line fields refuse all of them; multi-line fields
 * (notes, outcomes, descriptions) allow only the newline.
 */
// eslint-disable-next-line no-control-regex
const SINGLE_LINE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;
// eslint-disable-next-line no-control-regex
const MULTI_LINE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;

/** Multi-line text as stored: Windows line ends (\r\n) become \n. */
export function normaliseNewlines(value: string): string {
  return value.replace(/\r\n/g, '\n');
}

export function hasControlCharacter(value: string, multiline = false): boolean {
  return (multiline ? MULTI_LINE : SINGLE_LINE).test(multiline ? normaliseNewlines(value) : value);
}

/** Throws a usage error naming the first field that holds a control character. */
export function refuseControlCharacters(fields: Record<string, string | null | undefined>, multiline = false): void {
  for (const [field, value] of Object.entries(fields)) {
    if (value && hasControlCharacter(value, multiline)) throw controlCharacterError(field, multiline);
  }
}

export function controlCharacterError(field: string, multiline = false): UsageError {
  return new UsageError(
    multiline
      ? `${field} holds a control character or a text-direction override; only line breaks are allowed in it, so remove the others`
      : `${field} holds a control character, a line break or a text-direction override; it takes one line of plain text, so remove them`,
    'control_character',
  );
}
