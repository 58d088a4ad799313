import { stripVTControlCharacters } from 'node:util';
import { neutraliseValue, tsvCell } from './escape.js';

/**
 * Aligned columns for terminals and tab-separated lines for pipes, as the
 * GitHub CLI prints lists: people read the first, scripts cut the second.
 * Piped cells are escaped (see tsvCell: tabs, newlines, formula starts unless
 * `raw`); terminal cells keep colour but no other control character.
 */
export function renderTable(headers: readonly string[], rows: ReadonlyArray<readonly string[]>, options: { tty: boolean; heading?: (text: string) => string; raw?: boolean }): string {
  if (!options.tty) return rows.map((row) => row.map((cell) => tsvCell(stripVTControlCharacters(cell), options.raw)).join('\t')).join('\n') + (rows.length ? '\n' : '');
  const width = (text: string) => [...stripVTControlCharacters(text)].length;
  const shown = rows.map((row) => row.map(terminalCell));
  const widths = headers.map((h, i) => Math.max(width(h), ...shown.map((r) => width(r[i] ?? ''))));
  const line = (cells: readonly string[]) =>
    cells.map((cell, i) => (i === cells.length - 1 ? cell : cell + ' '.repeat(widths[i]! - width(cell)))).join('  ').trimEnd();
  const heading = options.heading ?? ((t: string) => t);
  return [heading(line(headers)), ...shown.map(line)].join('\n') + '\n';
}

// eslint-disable-next-line no-control-regex
const SGR = /(\u001b\[[0-9;]*m)/;

/** A cell on a terminal: colour codes kept, every other control shown as an escape. */
function terminalCell(cell: string): string {
  return cell
    .split(SGR)
    .map((part, i) => (i % 2 === 1 ? part : neutraliseValue(part)))
    .join('');
}
