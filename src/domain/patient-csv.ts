import { parse } from 'csv-parse/sync';
import { FailedError } from '../errors.js';
import { closest } from './text.js';
import { containsCardNumber } from './cards.js';
import { checkPatient, PATIENT_FIELDS, REQUIRED_FIELDS, type PatientField, type PatientFields, type PatientInput } from './patient.js';

/**
 * Reading a patient CSV (SPEC §4, `patient import`): a header row naming the
 * columns in any order, then one patient per record. Pure: text in, rows and
 * problems out. A file that cannot be read as a table at all throws; problems
 * in single rows are collected, so one run lists everything to fix.
 */
export interface ImportRow {
  /** The line of the file the record starts on; the header is line 1. */
  line: number;
  patient: PatientFields;
}

export interface RowProblem {
  line: number;
  /** The column the problem is in; undefined when it is the whole row. */
  column: PatientField | undefined;
  message: string;
}

export const MAX_LISTED_PROBLEMS = 20;

export interface ParsedCsv {
  columns: PatientField[];
  /** The records after the header, each with the line it starts on. */
  records: CsvRecord[];
}

export interface CsvRecord {
  line: number;
  cells: string[];
}

/** The table's shape: throws when the file is empty or its header is wrong. */
export function parsePatientCsv(text: string, file: string): ParsedCsv {
  // One line-end convention, so record line numbers can be counted from the text.
  const normalised = text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
  if (normalised.trim() === '') {
    throw new FailedError(`${file} is empty; it needs a header row (${PATIENT_FIELDS.join(',')}) and one row per patient`, 'empty_csv');
  }
  const [header, ...records] = parseRecords(normalised, file);
  const columns = readHeader(header!, file);
  if (records.length === 0) throw new FailedError(`${file} has a header row but no patients; add one row per patient below it`, 'empty_csv');
  return { columns, records };
}

/**
 * Checks every record with the rules of `patient add`, plus MRNs unique
 * within the file. `today` is the latest date a birth date may have (see
 * latestToday); `onRow` is called after each record, for a progress bar.
 */
export function checkPatientRows(csv: ParsedCsv, today: string, onRow?: (done: number, total: number) => void): { rows: ImportRow[]; problems: RowProblem[] } {
  const { columns, records } = csv;
  const rows: ImportRow[] = [];
  const problems: RowProblem[] = [];
  const firstLineOfMrn = new Map<string, number>();
  records.forEach(({ line, cells }, index) => {
    if (cells.length !== columns.length) {
      problems.push({ line, column: undefined, message: `has ${cells.length} field${cells.length === 1 ? '' : 's'} but the header names ${columns.length} columns; put quotes around any value that holds a comma` });
    } else {
      const input: PatientInput = {};
      columns.forEach((column, i) => (input[column] = cells[i]));
      const check = checkPatient(input, today);
      if (!check.ok) {
        for (const p of check.problems) problems.push({ line, column: p.field, message: p.message });
      } else {
        const { mrn } = check.patient;
        const earlier = mrn === null ? undefined : firstLineOfMrn.get(mrn);
        if (earlier !== undefined) problems.push({ line, column: 'mrn', message: `MRN ${mrn} is also on row ${earlier}; each patient needs their own MRN` });
        else if (mrn !== null) firstLineOfMrn.set(mrn, line);
        rows.push({ line, patient: check.patient });
      }
    }
    onRow?.(index + 1, records.length);
  });
  return { rows, problems };
}

/** Both steps at once, for callers that show no progress. */
export function readPatientCsv(text: string, file: string, today: string): ParsedCsv & { rows: ImportRow[]; problems: RowProblem[] } {
  const csv = parsePatientCsv(text, file);
  return { ...csv, ...checkPatientRows(csv, today) };
}

interface CsvParseError extends Error {
  code?: string;
  lines?: number;
}

function parseRecords(text: string, file: string): CsvRecord[] {
  let parsed: Array<{ record: string[]; info: { lines: number } }>;
  let lastGoodLine = 0;
  try {
    parsed = parse(text, {
      delimiter: guessDelimiter(text),
      record_delimiter: '\n',
      info: true,
      // Field counts are checked per row, so a short row is reported with the others.
      relax_column_count: true,
      // Robert "Bob" Smith: a quote inside an unquoted field is just a character.
      relax_quotes: true,
      skip_empty_lines: true,
      // Spreadsheets leave rows of empty cells (",,,,") at the end.
      skip_records_with_empty_values: true,
      on_record: (record, context) => {
        lastGoodLine = context.lines;
        return record;
      },
    }) as unknown as Array<{ record: string[]; info: { lines: number } }>;
  } catch (error) {
    // csv-parse's own message quotes the field's value: name only the line.
    const { code, lines } = error as CsvParseError;
    if (code === 'CSV_QUOTE_NOT_CLOSED') {
      throw new FailedError(`${file} line ${firstLineAfter(text, lastGoodLine)}: a quoted field is never closed, so the rest of the file would be one value; close the quote, and write a quote inside a quoted field as ""`, 'invalid_csv');
    }
    throw new FailedError(`${file}${lines !== undefined ? ` line ${lines}` : ''} cannot be read as CSV; check the quotes there (a quote inside a quoted field is written "")`, 'invalid_csv');
  }
  // info.lines is the line a record ends on; a quoted line break inside it moves its start up.
  return parsed.map(({ record, info }) => ({ line: info.lines - record.reduce((n, cell) => n + countLineBreaks(cell), 0), cells: record }));
}

/** The first non-blank line after `line`: where the record that failed begins. */
function firstLineAfter(text: string, line: number): number {
  const lines = text.split('\n');
  let n = line;
  while (n < lines.length && lines[n]!.trim() === '') n++;
  return n + 1;
}

function countLineBreaks(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

/** Spreadsheets in much of Europe save "CSV" with semicolons; the header line tells which. */
function guessDelimiter(text: string): string {
  const header = text.slice(0, text.indexOf('\n') === -1 ? undefined : text.indexOf('\n'));
  const counts = [',', ';', '\t'].map((d) => ({ d, n: header.split(d).length - 1 }));
  const best = counts.reduce((a, b) => (b.n > a.n ? b : a));
  return best.n > 0 ? best.d : ',';
}

function readHeader({ cells, line }: CsvRecord, file: string): PatientField[] {
  const known = new Set<string>(PATIENT_FIELDS);
  const seen = new Map<string, number>();
  const problems: string[] = [];
  const columns = cells.map((cell, i) => {
    const name = cell.trim().toLowerCase();
    if (name === '') problems.push(`column ${i + 1} of the header is empty; name it or remove the column`);
    else if (containsCardNumber(name)) problems.push(`column ${i + 1} of the header looks like it holds a card number; txplan never stores card numbers, so remove it`);
    else if (!known.has(name)) {
      const guess = closest(name, PATIENT_FIELDS);
      problems.push(`unknown column "${cell.trim()}"${guess ? ` (did you mean ${guess}?)` : ''}; the columns are ${PATIENT_FIELDS.join(', ')}`);
    } else if (seen.has(name)) problems.push(`column ${name} appears twice (columns ${seen.get(name)! + 1} and ${i + 1}); keep one`);
    else seen.set(name, i);
    return name as PatientField;
  });
  for (const required of REQUIRED_FIELDS) {
    if (!seen.has(required)) problems.push(`the header has no ${required} column; ${REQUIRED_FIELDS.join(' and ')} are required`);
  }
  if (problems.length > 0) throw new FailedError(`${file} line ${line}: ${problems.join('; ')}`, 'invalid_csv');
  return columns;
}

/** "row N, column C: problem", in file order, at most `limit` of them and a count of the rest. */
export function describeProblems(problems: readonly RowProblem[], limit = MAX_LISTED_PROBLEMS): string[] {
  const sorted = [...problems].sort((a, b) => a.line - b.line || PATIENT_FIELDS.indexOf(a.column ?? 'first_name') - PATIENT_FIELDS.indexOf(b.column ?? 'first_name'));
  const lines = sorted.slice(0, limit).map((p) => `row ${p.line}${p.column ? `, column ${p.column}` : ''}: ${p.message}`);
  if (sorted.length > limit) lines.push(`and ${sorted.length - limit} more`);
  return lines;
}
