import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Context } from '../../context.js';
import { renderTable } from '../../output/table.js';
import { progressBar, type Progress } from '../../progress.js';
import { databaseLocationOf, openStore } from '../../store.js';
import { resolveWorkspace } from '../../workspace.js';
import { mrnTakenMessage, savePatient } from './save.js';
import { checkPatientRows, describeProblems, parsePatientCsv, type ImportRow, type RowProblem } from '../../../domain/patient-csv.js';
import { latestToday } from '../../../domain/patient.js';
import { getPatientByMrn } from '../../../store/patients.js';
import type { Store } from '../../../store/store.js';
import { FailedError, NotFoundError } from '../../../errors.js';
import type { Patient } from '../../../domain/records.js';

/**
 * `patient import FILE.csv`: every row is checked before anything is
 * written, then all rows go in one transaction, or none do.
 *
 * Audit: one 'patient.import' entry per patient (entity patient, before
 * null, after the new row). A patient's own history then says how it came
 * to exist, which a single batch entry would not; the rows of one import
 * share one timestamp and actor, which is what ties them together.
 */
export async function run(ctx: Context, file: string, opts: { dryRun?: boolean | undefined }): Promise<number> {
  const text = readText(resolve(ctx.cwd, file), file);
  const parsed = parsePatientCsv(text, file);
  const checking = await bar(ctx, 'Checking ', parsed.records.length);
  let csv;
  try {
    csv = checkPatientRows(parsed, latestToday(ctx.now()), checking.update);
  } finally {
    checking.stop();
  }
  const { rows } = csv;

  // Without a database no MRN can be taken yet: a dry run, or a file with
  // problems, is decided here without creating an empty database.
  const location = databaseLocationOf(ctx, () => resolveWorkspace(ctx));
  if (location.engine === 'sqlite' && !existsSync(location.path)) {
    refuseProblems(csv.problems, file, opts.dryRun);
    if (opts.dryRun) return report(ctx, file, rows.map((row) => ({ line: row.line, ...row.patient })), true);
  }

  const store = await openStore(ctx);
  try {
    if (opts.dryRun) {
      refuseProblems([...csv.problems, ...takenMrns(store, rows)], file, true);
      return report(ctx, file, rows.map((row) => ({ line: row.line, ...row.patient })), true);
    }
    const importing = await bar(ctx, 'Importing', rows.length);
    let saved: Array<Patient & { line: number }>;
    try {
      const at = ctx.now().toISOString();
      // The MRN check runs inside the transaction; an MRN another desk takes meanwhile is still refused, by the unique index.
      saved = store.transaction(() => {
        refuseProblems([...csv.problems, ...takenMrns(store, rows)], file, false);
        return rows.map((row, i) => {
          const patient = savePatient(store, row.patient, { at, actor: ctx.actor, action: 'patient.import' });
          importing.update(i + 1, rows.length);
          return { ...patient, line: row.line };
        });
        // New rows only: other desks keep working meanwhile (on PostgreSQL), and an MRN one of them takes first is refused by its unique index.
      }, { bulk: true });
    } finally {
      importing.stop();
    }
    return report(ctx, file, saved, false);
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

/** Rows whose MRN is already in the database. One indexed lookup per MRN. */
function takenMrns(store: Store, rows: readonly ImportRow[]): RowProblem[] {
  const problems: RowProblem[] = [];
  for (const { line, patient } of rows) {
    if (patient.mrn === null) continue;
    const owner = getPatientByMrn(store, patient.mrn);
    if (owner) problems.push({ line, column: 'mrn', message: mrnTakenMessage(patient.mrn, owner.id) });
  }
  return problems;
}

function refuseProblems(problems: readonly RowProblem[], file: string, dryRun: boolean | undefined): void {
  if (problems.length === 0) return;
  const count = `${problems.length} problem${problems.length === 1 ? '' : 's'}`;
  const outcome = dryRun ? 'it cannot be imported as it is' : 'nothing was imported';
  throw new FailedError(`${file} has ${count}, so ${outcome}; fix ${problems.length === 1 ? 'it' : 'them'} and run the import again:\n  ${describeProblems(problems).join('\n  ')}`, 'invalid_csv');
}

type Reported = { line: number; id?: number } & ImportRow['patient'];

function report(ctx: Context, file: string, patients: readonly Reported[], dryRun: boolean): number {
  if (ctx.options.json) {
    ctx.json({ file, dry_run: dryRun, count: patients.length, patients });
    return 0;
  }
  const { color, tty } = ctx;
  const noun = `${patients.length} patient${patients.length === 1 ? '' : 's'}`;
  if (!dryRun) {
    const ids = patients.map((p) => p.id!);
    const range = ids.length === 1 ? `id ${ids[0]}` : `ids ${ids[0]}–${ids[ids.length - 1]}`;
    ctx.out(`${color.green('✔')} Imported ${noun} from ${file} (${range}).`);
    return 0;
  }
  const blank = tty ? color.dim('-') : '';
  const rows = patients.map((p) => [String(p.line), p.mrn ?? blank, `${p.last_name}, ${p.first_name}`, p.dob ?? blank, p.email ?? blank, p.phone ?? blank]);
  ctx.streams.stdout.write(renderTable(['LINE', 'MRN', 'NAME', 'DOB', 'EMAIL', 'PHONE'], rows, { tty, raw: ctx.options.raw, heading: (t) => color.dim(t) }));
  if (tty) ctx.out(`Would import ${noun} from ${file}; nothing was written (dry run).`);
  else ctx.err(`Would import ${noun} from ${file}; nothing was written (dry run).`);
  return 0;
}

const silent: Progress = { update() {}, stop() {} };

/** A bar on stderr only when a person watches both streams; never with --json or in a pipe. */
async function bar(ctx: Context, label: string, total: number): Promise<Progress> {
  return ctx.tty ? progressBar(ctx, label, total) : silent;
}
