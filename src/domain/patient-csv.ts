import { parse } from 'csv-parse/sync';
import { FailedError, UsageError } from '../errors.js';
import { closest, editDistance } from './text.js';
import { containsCardNumber } from './cards.js';
import { daysInMonth } from './dates.js';
import { checkPatient, PATIENT_FIELDS, REQUIRED_FIELDS, type PatientField, type PatientFields, type PatientInput } from './patient.js';
import type { Patient } from './records.js';

/**
 * Reading a patient CSV (SPEC §4, `patient import`): a header row naming the
 * columns in any order, then one patient per record. Pure: text in, rows and
 * problems out. A file that cannot be read as a table at all throws; problems
 * in single rows are collected, so one run lists everything to fix.
 *
 * Rows are numbered as a spreadsheet shows them: the header is row 1, the
 * first patient row 2, a blank line is a row of its own and a value holding
 * a line break stays within its row. Every message says "row N".
 */
export interface ImportRow {
  /** The line of the file the record starts on; the header is line 1. */
  line: number;
  /** The row a spreadsheet shows the record on; the header is row 1. */
  row: number;
  patient: PatientFields;
  /** The fields this row gives a value for (a blank cell gives none). */
  given: PatientField[];
}

export interface RowProblem {
  /** The spreadsheet row; the header is row 1. */
  row: number;
  /** The column the problem is in; undefined when it is the whole row. */
  column: PatientField | undefined;
  message: string;
}

export const MAX_LISTED_PROBLEMS = 20;

export interface ParsedCsv {
  /** The field each column holds, in file order; null for a column that is not imported. */
  columns: Array<PatientField | null>;
  /** The header's names of the columns that are not imported, in file order. */
  ignored: string[];
  /** The records after the header, each with the line it starts on. */
  records: CsvRecord[];
}

export interface CsvRecord {
  line: number;
  row: number;
  cells: string[];
}

/**
 * The header names booking and practice systems export, for each field.
 * Matched ignoring case, accents, spaces and punctuation ("Chart #", "chart
 * no." and "CHART_NO" are one name), as is each field's own name.
 */
export const HEADER_ALIASES: Readonly<Record<PatientField, readonly string[]>> = {
  first_name: ['First Name', 'Given name', 'Given names', 'Forename', 'First', 'Firstname', 'Patient first name'],
  last_name: ['Last Name', 'Surname', 'Family name', 'Last', 'Lastname', 'Patient last name'],
  dob: ['DOB', 'Date of Birth', 'Birth date', 'Birthdate', 'Birthday', 'Born'],
  email: ['E-mail', 'Email', 'Email address', 'E-mail address', 'Mail'],
  phone: ['Mobile', 'Phone', 'Cell', 'Telephone', 'Mobile phone', 'Cell phone', 'Phone number', 'Mobile number', 'Tel'],
  mrn: ['Chart #', 'Chart number', 'Chart no', 'Chart', 'MRN', 'Patient ID', 'Patient #', 'Patient number', 'Record number', 'Medical record number'],
};

/** A header name reduced to what identifies it: lower case, no accents, letters and digits only. */
export function headerKey(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]/gu, '');
}

const FIELD_BY_KEY: ReadonlyMap<string, PatientField> = new Map(
  PATIENT_FIELDS.flatMap((field) => [field, ...HEADER_ALIASES[field]].map((name) => [headerKey(name), field] as const)),
);

/** The field a header name stands for by the alias table, if any. */
export function fieldForHeader(name: string): PatientField | undefined {
  return FIELD_BY_KEY.get(headerKey(name));
}

/** For a header no alias matches: the field it is probably a misspelling of ("Emial" → email), if any. */
export function likelyField(name: string): PatientField | undefined {
  const key = headerKey(name);
  // Short names are near too many others ("Name" is two edits from "Mail"): one edit for them, more for longer ones.
  const allowed = key.length < 5 ? 1 : Math.max(2, Math.floor(key.length / 4));
  let best: { field: PatientField; distance: number } | undefined;
  for (const [alias, field] of FIELD_BY_KEY) {
    const distance = editDistance(key, alias);
    if (distance <= allowed && (!best || distance < best.distance)) best = { field, distance };
  }
  return best?.field;
}

/** One `--map` entry: the file's header name and the field its column holds. */
export interface ColumnMapping {
  header: string;
  field: PatientField;
}

/**
 * Reads `--map` values: each "HEADER=field", several per value when
 * separated by commas. A wrong entry is a usage error naming it.
 */
export function parseColumnMap(values: readonly string[]): ColumnMapping[] {
  const mappings: ColumnMapping[] = [];
  for (const entry of values.flatMap((v) => v.split(','))) {
    if (entry.trim() === '') continue;
    const eq = entry.lastIndexOf('=');
    const header = eq === -1 ? '' : entry.slice(0, eq).trim();
    const target = eq === -1 ? '' : entry.slice(eq + 1).trim().toLowerCase();
    if (header === '' || target === '') throw new UsageError(`--map "${entry.trim()}" is not HEADER=field; write it like --map "Chart #=mrn"`);
    if (!(PATIENT_FIELDS as readonly string[]).includes(target)) {
      const guess = closest(target, PATIENT_FIELDS);
      throw new UsageError(`--map "${entry.trim()}": there is no field ${target}${guess ? ` (did you mean ${guess}?)` : ''}; the fields are ${PATIENT_FIELDS.join(', ')}`);
    }
    mappings.push({ header, field: target as PatientField });
  }
  return mappings;
}

/** How a clinic writes dates, for `--date-format`; YYYY-MM-DD is always read as well. */
export const DATE_FORMATS = ['MM/DD/YYYY', 'DD/MM/YYYY', 'DD.MM.YYYY'] as const;
export type DateFormat = (typeof DATE_FORMATS)[number];

export function parseDateFormat(value: string | undefined): DateFormat | undefined {
  if (value === undefined) return undefined;
  const format = DATE_FORMATS.find((f) => f === value.trim().toUpperCase());
  if (!format) throw new UsageError(`--date-format ${value} is not one txplan reads; use ${DATE_FORMATS.join(', ')} (YYYY-MM-DD is always read)`);
  return format;
}

const SAFE_TO_QUOTE = /^[0-9./ -]{1,12}$/;

/**
 * A birth date as the file writes it, read as YYYY-MM-DD. ISO dates pass
 * through (checkPatient judges them); with a format, dates in it (single-digit
 * day and month too) are converted; without one, a day-first or month-first
 * date is refused with the --date-format that would read it. Messages quote
 * the value only when it is made of digits and date separators.
 */
export function readBirthDate(value: string, format: DateFormat | undefined): { ok: true; value: string } | { ok: false; message: string } {
  const text = value.trim();
  if (text === '' || /^\d{4}-\d{2}-\d{2}$/.test(text)) return { ok: true, value: text };
  const shown = SAFE_TO_QUOTE.test(text) ? `"${text}"` : 'the value';
  const match = /^(\d{1,2})([/.])(\d{1,2})\2(\d{4})$/.exec(text);
  if (format) {
    const separator = format[2]!;
    if (!match || match[2] !== separator) return { ok: false, message: `${shown} is not a date written ${format} (nor YYYY-MM-DD); check it` };
    const [first, second, year] = [Number(match[1]), Number(match[3]), Number(match[4])];
    const [month, day] = format.startsWith('MM') ? [first, second] : [second, first];
    if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return { ok: false, message: `${shown} is not a real date written ${format}; check the month and the day` };
    return { ok: true, value: `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}` };
  }
  if (!match) return { ok: true, value: text }; // checkPatient says what a date must look like
  const [first, second] = [Number(match[1]), Number(match[3])];
  if (match[2] === '.') return { ok: false, message: `${shown} looks like DD.MM.YYYY, not YYYY-MM-DD; import with --date-format DD.MM.YYYY` };
  if (first > 12 && second <= 12) return { ok: false, message: `${shown} looks like DD/MM/YYYY, not YYYY-MM-DD; import with --date-format DD/MM/YYYY` };
  if (second > 12 && first <= 12) return { ok: false, message: `${shown} looks like MM/DD/YYYY, not YYYY-MM-DD; import with --date-format MM/DD/YYYY` };
  if (first > 12) return { ok: false, message: `${shown} is not a date; write it like 1985-04-23` };
  return { ok: false, message: `${shown} could be day first or month first; import with --date-format MM/DD/YYYY or --date-format DD/MM/YYYY, as the file writes dates` };
}

export interface ParseOptions {
  /** `--map` entries, which take precedence over the alias table. */
  map?: readonly ColumnMapping[] | undefined;
}

/** The table's shape: throws when the file is empty or its header is wrong. */
export function parsePatientCsv(text: string, file: string, options: ParseOptions = {}): ParsedCsv {
  // One line-end convention, so record line numbers can be counted from the text.
  const normalised = text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
  if (normalised.trim() === '') {
    throw new FailedError(`${file} is empty; it needs a header row (${PATIENT_FIELDS.join(',')}) and one row per patient`, 'empty_csv');
  }
  const [header, ...records] = parseRecords(normalised, file);
  const { columns, ignored } = readHeader(header!, file, options.map ?? []);
  if (records.length === 0) throw new FailedError(`${file} has a header row but no patients; add one row per patient below it`, 'empty_csv');
  return { columns, ignored, records };
}

export interface CheckOptions {
  /** `onRow` is called after each record, for a progress bar. */
  onRow?: ((done: number, total: number) => void) | undefined;
  dateFormat?: DateFormat | undefined;
}

/**
 * Checks every record with the rules of `patient add`, plus MRNs unique
 * within the file. `today` is the latest date a birth date may have (see
 * latestToday); birth dates are read with `options.dateFormat` (readBirthDate).
 */
export function checkPatientRows(csv: ParsedCsv, today: string, options: CheckOptions = {}): { rows: ImportRow[]; problems: RowProblem[] } {
  const { columns, records } = csv;
  const { onRow, dateFormat } = options;
  const rows: ImportRow[] = [];
  const problems: RowProblem[] = [];
  const firstRowOfMrn = new Map<string, number>();
  records.forEach(({ line, row, cells }, index) => {
    if (cells.length !== columns.length) {
      problems.push({ row, column: undefined, message: `has ${cells.length} field${cells.length === 1 ? '' : 's'} but the header names ${columns.length} columns; put quotes around any value that holds a comma` });
    } else {
      const input: PatientInput = {};
      columns.forEach((column, i) => {
        if (column !== null) input[column] = cells[i];
      });
      const date = input.dob == null ? undefined : readBirthDate(input.dob, dateFormat);
      if (date?.ok) input.dob = date.value;
      const check = checkPatient(date?.ok === false ? { ...input, dob: undefined } : input, today);
      if (date?.ok === false) problems.push({ row, column: 'dob', message: date.message });
      if (!check.ok) {
        for (const p of check.problems) problems.push({ row, column: p.field, message: p.message });
      } else if (date?.ok !== false) {
        const { mrn } = check.patient;
        const earlier = mrn === null ? undefined : firstRowOfMrn.get(mrn);
        if (earlier !== undefined) problems.push({ row, column: 'mrn', message: `MRN ${mrn} is also on row ${earlier}; each patient needs their own MRN` });
        else if (mrn !== null) firstRowOfMrn.set(mrn, row);
        const given = PATIENT_FIELDS.filter((field) => check.patient[field] !== null);
        rows.push({ line, row, patient: check.patient, given });
      }
    }
    onRow?.(index + 1, records.length);
  });
  return { rows, problems };
}

/** Both steps at once, for callers that show no progress. */
export function readPatientCsv(text: string, file: string, today: string, options: ParseOptions & CheckOptions = {}): ParsedCsv & { rows: ImportRow[]; problems: RowProblem[] } {
  const csv = parsePatientCsv(text, file, options);
  return { ...csv, ...checkPatientRows(csv, today, options) };
}

/** What an import does with patients whose MRN is already in the database. */
export type ExistingMode = 'refuse' | 'update' | 'skip';

export interface ImportPlan {
  add: ImportRow[];
  /** Existing patients with the fields the row changes (only fields the row gives). */
  update: Array<{ row: number; patient: Patient; fields: Partial<PatientFields>; changed: PatientField[] }>;
  unchanged: Array<{ row: number; patient: Patient }>;
  skip: Array<{ row: number; patient: Patient }>;
  /** The rows whose MRN is taken, when the mode is 'refuse'. */
  taken: Array<{ row: number; patient: Patient }>;
}

/**
 * Sorts checked rows by what the import does with them. `existing` holds
 * the database's patients by MRN. A blank cell never erases a stored value:
 * an update writes only the fields the row gives and that differ.
 */
export function planImport(rows: readonly ImportRow[], existing: ReadonlyMap<string, Patient>, mode: ExistingMode): ImportPlan {
  const plan: ImportPlan = { add: [], update: [], unchanged: [], skip: [], taken: [] };
  for (const row of rows) {
    const patient = row.patient.mrn === null ? undefined : existing.get(row.patient.mrn);
    if (!patient) plan.add.push(row);
    else if (mode === 'refuse') plan.taken.push({ row: row.row, patient });
    else if (mode === 'skip') plan.skip.push({ row: row.row, patient });
    else {
      const changed = row.given.filter((field) => row.patient[field] !== patient[field]);
      if (changed.length === 0) plan.unchanged.push({ row: row.row, patient });
      else plan.update.push({ row: row.row, patient, changed, fields: Object.fromEntries(changed.map((f) => [f, row.patient[f]])) as Partial<PatientFields> });
    }
  }
  return plan;
}

interface CsvParseError extends Error {
  code?: string;
  lines?: number;
}

function parseRecords(text: string, file: string): CsvRecord[] {
  let parsed: Array<{ record: string[]; info: { lines: number } }>;
  let lastGoodLine = 0;
  let breaksSoFar = 0; // quoted line breaks in the records read so far: a spreadsheet shows none of them as rows
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
        // With info: true, csv-parse hands on_record the record with its info.
        const cells = (Array.isArray(record) ? record : (record as { record: string[] }).record) as string[];
        breaksSoFar += cells.reduce((n, cell) => n + countLineBreaks(cell), 0);
        return record;
      },
    }) as unknown as Array<{ record: string[]; info: { lines: number } }>;
  } catch (error) {
    // csv-parse's own message quotes the field's value: name only the line.
    const { code, lines } = error as CsvParseError;
    if (code === 'CSV_QUOTE_NOT_CLOSED') {
      throw new FailedError(`${file} row ${firstLineAfter(text, lastGoodLine) - breaksSoFar}: a quoted field is never closed, so the rest of the file would be one value; close the quote, and write a quote inside a quoted field as ""`, 'invalid_csv');
    }
    throw new FailedError(`${file}${lines !== undefined ? ` row ${lines - breaksSoFar}` : ''} cannot be read as CSV; check the quotes there (a quote inside a quoted field is written "")`, 'invalid_csv');
  }
  // info.lines is the line a record ends on; a quoted line break inside it moves its start up,
  // and every earlier one moves its spreadsheet row up (a spreadsheet shows the value in one row).
  let earlierBreaks = 0;
  return parsed.map(({ record, info }) => {
    const breaks = record.reduce((n, cell) => n + countLineBreaks(cell), 0);
    const line = info.lines - breaks;
    const row = line - earlierBreaks;
    earlierBreaks += breaks;
    return { line, row, cells: record };
  });
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

function readHeader({ cells, row }: CsvRecord, file: string, map: readonly ColumnMapping[]): { columns: Array<PatientField | null>; ignored: string[] } {
  const mapped = new Map(map.map((m) => [headerKey(m.header), m.field]));
  const keys = cells.map((cell) => headerKey(cell));
  for (const m of map) {
    if (!keys.includes(headerKey(m.header))) {
      throw new UsageError(`--map names the column "${m.header}", which ${file} does not have; its columns are ${cells.map((c) => `"${c.trim()}"`).join(', ')}`);
    }
  }
  const seen = new Map<PatientField, number>();
  const problems: string[] = [];
  const ignored: string[] = [];
  const columns = cells.map((cell, i): PatientField | null => {
    const name = cell.trim();
    if (containsCardNumber(name)) {
      problems.push(`column ${i + 1} of the header looks like it holds a card number; txplan never stores card numbers, so remove it`);
      return null;
    }
    const field = mapped.get(keys[i]!) ?? FIELD_BY_KEY.get(keys[i]!);
    if (field === undefined) {
      ignored.push(name === '' ? `column ${i + 1} (no name)` : name);
      return null;
    }
    const earlier = seen.get(field);
    if (earlier !== undefined) {
      problems.push(`columns "${cells[earlier]!.trim()}" (column ${earlier + 1}) and "${name}" (column ${i + 1}) both hold ${field}; remove one, or say which with --map "${name}=FIELD"`);
      return null;
    }
    seen.set(field, i);
    return field;
  });
  for (const required of REQUIRED_FIELDS) {
    if (!seen.has(required)) {
      const names = [...HEADER_ALIASES[required], required].map((n) => `"${n}"`);
      problems.push(`no column holds ${required}; name one ${names.slice(0, -1).join(', ')} or ${names.at(-1)}, or point to it with --map "HEADER=${required}"`);
    }
  }
  if (problems.length > 0) throw new FailedError(`${file} row ${row} (the header): ${problems.join('; ')}`, 'invalid_csv');
  return { columns, ignored };
}

/** "row N, column C: problem", in file order, at most `limit` of them and a count of the rest. */
export function describeProblems(problems: readonly RowProblem[], limit = MAX_LISTED_PROBLEMS): string[] {
  const sorted = [...problems].sort((a, b) => a.row - b.row || PATIENT_FIELDS.indexOf(a.column ?? 'first_name') - PATIENT_FIELDS.indexOf(b.column ?? 'first_name'));
  const lines = sorted.slice(0, limit).map((p) => `row ${p.row}${p.column ? `, column ${p.column}` : ''}: ${p.message}`);
  if (sorted.length > limit) lines.push(`and ${sorted.length - limit} more`);
  return lines;
}
