import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Context } from '../../context.js';
import { progressBar, type Progress } from '../../progress.js';
import { databaseLocationOf, openStore } from '../../store.js';
import { resolveWorkspace } from '../../workspace.js';
import { changePatient, mrnTakenMessage, savePatient } from './save.js';
import {
  checkPatientRows,
  describeProblems,
  likelyField,
  parseColumnMap,
  parseDateFormat,
  parsePatientCsv,
  planImport,
  type ExistingMode,
  type ImportPlan,
  type ImportRow,
  type RowProblem,
} from '../../../domain/patient-csv.js';
import { latestToday } from '../../../domain/patient.js';
import { getPatientsByMrns } from '../../../store/patients.js';
import type { Store } from '../../../store/store.js';
import { FailedError, NotFoundError, UsageError } from '../../../errors.js';
import type { Patient } from '../../../domain/records.js';

export interface ImportOptions {
  dryRun?: boolean | undefined;
  map?: string[] | undefined;
  dateFormat?: string | undefined;
  update?: boolean | undefined;
  skipExisting?: boolean | undefined;
}

/**
 * `patient import FILE.csv`: every row is checked before anything is
 * written, then all rows go in one transaction, or none do. Columns are
 * found by the header alias table and `--map`; rows whose MRN is already in
 * the database are refused (the default), updated (`--update`) or skipped
 * (`--skip-existing`).
 *
 * Audit: one 'patient.import' entry per new patient (entity patient, before
 * null, after the new row) and one 'patient.import.update' entry per updated
 * patient (before and after of the changed fields). A patient's own history
 * then says how it came to be as it is; the rows of one import share one
 * timestamp and actor, which is what ties them together.
 */
export async function run(ctx: Context, file: string, opts: ImportOptions): Promise<number> {
  if (opts.update && opts.skipExisting) {
    throw new UsageError('--update and --skip-existing cannot be used together; choose --update to write the changed fields of patients already there, or --skip-existing to leave them as they are');
  }
  const mode: ExistingMode = opts.update ? 'update' : opts.skipExisting ? 'skip' : 'refuse';
  const dateFormat = parseDateFormat(opts.dateFormat);
  const map = parseColumnMap(opts.map ?? []);
  const text = readText(resolve(ctx.cwd, file), file);
  const parsed = parsePatientCsv(text, file, { map });
  if (parsed.ignored.length > 0) {
    const names = parsed.ignored.map((n) => (likelyField(n) ? `"${n}" (did you mean ${likelyField(n)}?)` : `"${n}"`)).join(', ');
    ctx.err(`warning: ${file}: ignoring ${parsed.ignored.length === 1 ? 'the column' : `${parsed.ignored.length} columns`} ${names}, which txplan does not import; to import ${parsed.ignored.length === 1 ? 'it' : 'one'}, name its field with --map "HEADER=field"`);
  }
  const checking = await bar(ctx, 'Checking ', parsed.records.length);
  let csv;
  try {
    csv = checkPatientRows(parsed, latestToday(ctx.now()), { onRow: checking.update, dateFormat });
  } finally {
    checking.stop();
  }
  const { rows } = csv;
  const out: Outcome = { file, ignored: parsed.ignored, dryRun: opts.dryRun === true };

  // Without a database no MRN can be taken yet: a dry run, or a file with
  // problems, is decided here without creating an empty database.
  const location = databaseLocationOf(ctx, () => resolveWorkspace(ctx));
  if (location.engine === 'sqlite' && !existsSync(location.path)) {
    refuseProblems(csv.problems, file, opts.dryRun);
    if (opts.dryRun) return report(ctx, out, planImport(rows, new Map(), mode), []);
  }

  const store = await openStore(ctx);
  try {
    if (opts.dryRun) {
      const plan = planImport(rows, existingByMrn(store, rows), mode);
      refuseProblems([...csv.problems, ...takenProblems(plan)], file, true, plan.taken.length);
      return report(ctx, out, plan, []);
    }
    const total = rows.length;
    const importing = await bar(ctx, 'Importing', total);
    let result: { plan: ImportPlan; added: Array<Patient & { line: number; row: number }> };
    try {
      const at = ctx.now().toISOString();
      // MRNs are looked up inside the transaction; an MRN another desk takes meanwhile is still refused, by the unique index,
      // and a patient another desk changes meanwhile is refused by changePatient (nothing of the import is then written).
      result = store.transaction(
        () => {
          const plan = planImport(rows, existingByMrn(store, rows), mode);
          refuseProblems([...csv.problems, ...takenProblems(plan)], file, false, plan.taken.length);
          let done = 0;
          const added = plan.add.map((row) => {
            const patient = savePatient(store, row.patient, { at, actor: ctx.actor, action: 'patient.import' });
            importing.update(++done, total);
            return { ...patient, line: row.line, row: row.row };
          });
          for (const change of plan.update) {
            changePatient(store, change.patient, change.fields, { at, actor: ctx.actor, action: 'patient.import.update' });
            importing.update(++done, total);
          }
          importing.update(total, total); // unchanged and skipped rows are done too
          return { plan, added };
        },
        // New rows only: other desks keep working meanwhile (on PostgreSQL), and an MRN one of them takes first is refused by its unique index.
        { bulk: mode !== 'update' },
      );
    } finally {
      importing.stop();
    }
    return report(ctx, out, result.plan, result.added);
  } finally {
    store.close();
  }
}

function readText(path: string, file: string): string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new NotFoundError(`There is no file ${file}; check the path`);
    if (code === 'EISDIR') throw new FailedError(`${file} is a folder; give the CSV file inside it`, 'not_a_file');
    if (code === 'EACCES' || code === 'EPERM') throw new FailedError(`Cannot read ${file}: permission denied; check its permissions`, 'unreadable');
    throw new FailedError(`Cannot read ${file} (${code ?? 'unknown error'}); check the path`, 'unreadable');
  }
  // UTF-16 (Excel's "Unicode text") decodes as "valid" UTF-8 full of NULs: refuse it by its marks.
  const utf16 = (bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff) || bytes.includes(0);
  try {
    if (utf16) throw new Error('not UTF-8');
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new FailedError(`${file} is not UTF-8 text; save it as "CSV UTF-8" (in Excel: File > Save As > CSV UTF-8) and import that`, 'not_utf8');
  }
}

/** The database's patients holding the file's MRNs, in one read. */
function existingByMrn(store: Store, rows: readonly ImportRow[]): Map<string, Patient> {
  const mrns = rows.flatMap((row) => (row.patient.mrn === null ? [] : [row.patient.mrn]));
  return new Map(getPatientsByMrns(store, mrns).map((p) => [p.mrn!, p]));
}

function takenProblems(plan: ImportPlan): RowProblem[] {
  return plan.taken.map(({ row, patient }) => ({ row, column: 'mrn', message: mrnTakenMessage(patient.mrn!, patient.id) }));
}

function refuseProblems(problems: readonly RowProblem[], file: string, dryRun: boolean | undefined, taken = 0): void {
  if (problems.length === 0) return;
  const count = `${problems.length} problem${problems.length === 1 ? '' : 's'}`;
  const outcome = dryRun ? 'it cannot be imported as it is' : 'nothing was imported';
  const hint = taken > 0 ? '\nFor patients already in txplan, add --update to write the changed fields from the file, or --skip-existing to leave them as they are.' : '';
  throw new FailedError(`${file} has ${count}, so ${outcome}; fix ${problems.length === 1 ? 'it' : 'them'} and run the import again:\n  ${describeProblems(problems).join('\n  ')}${hint}`, 'invalid_csv');
}

interface Outcome {
  file: string;
  ignored: string[];
  dryRun: boolean;
}

type Added = { line: number; row: number; id?: number } & ImportRow['patient'];

/**
 * A dry run lists each row's fate ("row 3: update patient 7 …: email,
 * phone"); a real run prints the counts. --json carries both as data.
 */
function report(ctx: Context, outcome: Outcome, plan: ImportPlan, saved: ReadonlyArray<Patient & { line: number; row: number }>): number {
  const { file, dryRun } = outcome;
  const added: Added[] = dryRun ? plan.add.map((r) => ({ line: r.line, row: r.row, ...r.patient })) : saved.map((p) => ({ ...p }));
  const counts = { added: plan.add.length, updated: plan.update.length, unchanged: plan.unchanged.length, skipped: plan.skip.length };
  if (ctx.options.json) {
    ctx.json({
      file,
      dry_run: dryRun,
      count: added.length,
      ...counts,
      ignored_columns: outcome.ignored,
      patients: added,
      updates: plan.update.map((u) => ({ row: u.row, id: u.patient.id, mrn: u.patient.mrn, fields: u.changed, before: Object.fromEntries(u.changed.map((f) => [f, u.patient[f]])), after: u.fields })),
      unchanged_rows: plan.unchanged.map((u) => ({ row: u.row, id: u.patient.id, mrn: u.patient.mrn })),
      skipped_rows: plan.skip.map((s) => ({ row: s.row, id: s.patient.id, mrn: s.patient.mrn })),
    });
    return 0;
  }
  const { color, tty } = ctx;
  const summary = `added ${counts.added}, updated ${counts.updated}, unchanged ${counts.unchanged}, skipped ${counts.skipped}`;
  const wouldDo = `would add ${counts.added}, update ${counts.updated}, leave ${counts.unchanged} unchanged and skip ${counts.skipped}`;
  if (!dryRun) {
    const ids = saved.map((p) => p.id);
    const range = ids.length === 0 ? '' : ids.length === 1 ? ` (id ${ids[0]})` : ` (ids ${ids[0]}–${ids[ids.length - 1]})`;
    ctx.out(`${color.green('✔')} Imported ${file}: ${summary.replace(`added ${counts.added}`, `added ${counts.added}${range}`)}.`);
    return 0;
  }
  const lines: Array<[number, string]> = [
    ...plan.add.map((r): [number, string] => [r.row, `add ${r.patient.last_name}, ${r.patient.first_name}${r.patient.mrn ? ` (MRN ${r.patient.mrn})` : ''}`]),
    ...plan.update.map((u): [number, string] => [u.row, `update patient ${u.patient.id} (MRN ${u.patient.mrn}): ${u.changed.join(', ')}`]),
    ...plan.unchanged.map((u): [number, string] => [u.row, `unchanged patient ${u.patient.id} (MRN ${u.patient.mrn})`]),
    ...plan.skip.map((s): [number, string] => [s.row, `skip patient ${s.patient.id} (MRN ${s.patient.mrn}), already in txplan`]),
  ];
  lines.sort((a, b) => a[0] - b[0]);
  for (const [row, text] of lines) ctx.out(`row ${row}: ${text}`);
  const closing = `Dry run of ${file}: ${wouldDo}; nothing was written.`;
  if (tty) ctx.out(closing);
  else ctx.err(closing);
  return 0;
}

const silent: Progress = { update() {}, stop() {} };

/** A bar on stderr only when a person watches both streams; never with --json or in a pipe. */
async function bar(ctx: Context, label: string, total: number): Promise<Progress> {
  return ctx.tty ? progressBar(ctx, label, total) : silent;
}
