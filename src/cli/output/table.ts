import { stripVTControlCharacters } from 'node:util';

/**
 * Aligned columns for terminals and tab-separated lines for pipes, as the
 * GitHub CLI prints lists: people read the first, scripts cut the second.
 */
export function renderTable(headers: readonly string[], rows: ReadonlyArray<readonly string[]>, options: { tty: boolean; heading?: (text: string) => string }): string {
  if (!options.tty) return rows.map((row) => row.map((cell) => stripVTControlCharacters(cell)).join('\t')).join('\n') + (rows.length ? '\n' : '');
  const width = (text: string) => [...stripVTControlCharacters(text)].length;
  const widths = headers.map((h, i) => Math.max(width(h), ...rows.map((r) => width(r[i] ?? ''))));
  const line = (cells: readonly string[]) =>
    cells.map((cell, i) => (i === cells.length - 1 ? cell : cell + ' '.repeat(widths[i]! - width(cell)))).join('  ').trimEnd();
  const heading = options.heading ?? ((t: string) => t);
  return [heading(line(headers)), ...rows.map(line)].join('\n') + '\n';
}
