import type { Context } from '../../context.js';
import { withStore } from '../../store.js';
import { savePatient, mrnTakenMessage } from './save.js';
import { checkPatient, latestToday, fullName, type PatientField, type PatientFields, type PatientInput } from '../../../domain/patient.js';
import { duplicateCandidates, getPatientByMrn } from '../../../store/patients.js';
import { CancelledError, FailedError, UsageError } from '../../../errors.js';
import { describeReasons, likelyDuplicates, type DuplicateMatch } from '../../../domain/patient-search.js';
import type { Patient } from '../../../domain/records.js';

export interface AddPatientOptions {
  first?: string | undefined;
  last?: string | undefined;
  dob?: string | undefined;
  email?: string | undefined;
  phone?: string | undefined;
  mrn?: string | undefined;
  allowDuplicate?: boolean | undefined;
}

const FLAG: Record<PatientField, string> = { first_name: '--first', last_name: '--last', dob: '--dob', email: '--email', phone: '--phone', mrn: '--mrn' };

export async function run(ctx: Context, opts: AddPatientOptions): Promise<number> {
  const first = opts.first ?? (await ask(ctx, '--first', 'First name:'));
  const last = opts.last ?? (await ask(ctx, '--last', 'Last name:'));
  const fields = validate({ first_name: first, last_name: last, dob: opts.dob, email: opts.email, phone: opts.phone, mrn: opts.mrn }, ctx.now());

  const at = ctx.now().toISOString();
  const patient = await withStore(ctx, async (store) => {
    if (!opts.allowDuplicate) await checkDuplicates(ctx, likelyDuplicates(fields, duplicateCandidates(store, fields)));
    return store.transaction(() => {
      const owner = fields.mrn === null ? undefined : getPatientByMrn(store, fields.mrn);
      if (owner) throw new FailedError(mrnTakenMessage(fields.mrn!, owner.id), 'mrn_taken');
      return savePatient(store, fields, { at, actor: ctx.actor, action: 'patient.add' });
    });
  });

  if (ctx.options.json) ctx.json(patient);
  // Piped, only the id: `id=$(txplan patient add …)`.
  else if (!ctx.tty) ctx.out(String(patient.id));
  else ctx.out(`${ctx.color.green('✔')} Added patient ${ctx.color.bold(String(patient.id))}: ${fullName(patient)}${patient.mrn ? ` (MRN ${patient.mrn})` : ''}`);
  return 0;
}

/**
 * A likely duplicate (same name and date of birth, same email or same phone)
 * is shown and asked about on a terminal; without one, refused (exit 1)
 * naming the patient's id only (stderr may end up in logs) and --allow-duplicate.
 */
async function checkDuplicates(ctx: Context, matches: DuplicateMatch<Patient>[]): Promise<void> {
  if (matches.length === 0) return;
  const [first] = matches;
  if (!ctx.interactive) {
    const others = matches.length > 1 ? ` (and ${matches.slice(1).map((m) => `patient ${m.patient.id}`).join(', ')})` : '';
    throw new FailedError(`This looks like patient ${first!.patient.id}${others}: ${describeReasons(first!.reasons)}; nothing was added. See "txplan patient show ${first!.patient.id}", or add --allow-duplicate if this is a different person`, 'likely_duplicate');
  }
  for (const { patient, reasons } of matches) {
    ctx.err(`Patient ${patient.id}: ${fullName(patient)}${patient.dob ? `, born ${patient.dob}` : ''}${patient.mrn ? ` (MRN ${patient.mrn})` : ''}${patient.archived_at ? ', archived' : ''} has ${describeReasons(reasons)}.`);
  }
  const prompter = await ctx.prompter();
  if (!(await prompter.confirm('Add a new patient anyway?', false))) throw new CancelledError();
}

async function ask(ctx: Context, flag: string, question: string): Promise<string> {
  if (!ctx.interactive) throw new UsageError(`Missing ${flag}; every patient needs a first and a last name (--first NAME --last NAME)`);
  const prompter = await ctx.prompter();
  return prompter.input(question, { validate: (v) => (v.trim() ? true : 'Write the name as the patient spells it.') });
}

/** A card number is refused input (exit 1); any other bad value is a malformed argument (exit 2). */
export function validate(input: PatientInput, now: Date): PatientFields {
  const check = checkPatient(input, latestToday(now));
  if (check.ok) return check.patient;
  const card = check.problems.find((p) => p.code === 'card_number');
  if (card) throw new FailedError(`${FLAG[card.field]} ${card.message}`, 'card_number');
  const [first] = check.problems;
  const others = [...new Set(check.problems.slice(1).map((p) => FLAG[p.field]))];
  const more = others.length ? ` (${others.join(' and ')} ${others.length === 1 ? 'needs' : 'need'} fixing too)` : '';
  throw new UsageError(`${FLAG[first!.field]} ${first!.message}${more}`);
}
