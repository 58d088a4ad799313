/**
 * Text printed for a person never carries a terminal escape sequence, a
 * control character or a bidi override that txplan did not mean: each such
 * character is shown as a visible escape instead (ESC as \x1b, U+202E as
 * \u202e), so the text cannot move the cursor, set the clipboard (OSC 52),
 * hide a link (OSC 8) or reorder what is shown.
 */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/gu;
// eslint-disable-next-line no-control-regex
const UNSAFE_WITH_NEWLINES = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/gu;

function visible(char: string): string {
  const code = char.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** Neutralises everything but newlines and tabs (the layout txplan itself prints). */
export function neutralise(text: string): string {
  return text.replace(UNSAFE, visible);
}

/** For one value on one line: newlines and tabs are escaped too. */
export function neutraliseValue(text: string): string {
  return text.replace(UNSAFE_WITH_NEWLINES, (c) => (c === '\n' ? '\\n' : c === '\t' ? '\\t' : c === '\r' ? '\\r' : visible(c)));
}

/**
 * What goes to a terminal that shows colour: txplan's own SGR colour codes
 * (ESC [ … m) and the progress bar's cursor codes survive; any other escape
 * is neutralised. Values were refused at entry and tables escape them, so a
 * stray sequence here is txplan's own.
 */
// eslint-disable-next-line no-control-regex
const CSI = /\u001b\[[0-9;?]*[A-Za-z]/y;

export function neutraliseForTerminal(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\u001b') {
      CSI.lastIndex = i;
      const match = CSI.exec(text);
      if (match) {
        out += match[0];
        i += match[0].length - 1;
        continue;
      }
    }
    if (c === '\r') {
      out += c;
      continue;
    }
    out += c.replace(UNSAFE, visible);
  }
  return out;
}

/** Characters JSON.stringify leaves raw that a terminal would still act on. */
// eslint-disable-next-line no-control-regex
const JSON_UNSAFE = /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/gu;

/** JSON text with those characters as \u escapes: the same JSON value, safe to print. */
export function escapeJson(text: string): string {
  return text.replace(JSON_UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * A cell of tab-separated output: backslashes, tabs and line breaks escaped
 * (\\, \t, \n, \r) so each row stays one line of cells, other controls made
 * visible, and — unless `raw` — a cell a spreadsheet would read as a formula
 * (leading =, +, -, @, tab or CR) prefixed with a single quote, as OWASP
 * recommends against CSV injection.
 */
export function tsvCell(cell: string, raw = false): string {
  const guarded = !raw && /^[=+\-@\t\r]/.test(cell) ? `'${cell}` : cell;
  return neutraliseValue(guarded.replace(/\\/g, '\\\\'));
}
