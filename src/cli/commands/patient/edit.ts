import type { Context } from '../../context.js';
import { resolvePatient, withStore } from '../../store.js';
import { changePatient, mrnTakenMessage } from './save.js';
import { validate, type AddPatientOptions } from './add.js';
import { fullName, PATIENT_FIELDS, type PatientField } from '../../../domain/patient.js';
import { getPatientByMrn } from '../../../store/patients.js';
import type { Patient } from '../../../domain/records.js';
import { FailedError, UsageError } from '../../../errors.js';

const OPTION: Record<PatientField, keyof AddPatientOptions> = { first_name: 'first', last_name: 'last', dob: 'dob', email: 'email', phone: 'phone', mrn: 'mrn' };
const LABEL: Record<PatientField, string> = { first_name: 'First name', last_name: 'Last name', dob: 'Date of birth (YYYY-MM-DD)', email: 'Email', phone: 'Phone', mrn: 'MRN' };

/**
 * `patient edit <patient> [--first --last --dob --email --phone --mrn]`:
 * the given fields are checked as `patient add` checks them (an empty value
 * clears an optional field) and written with one audit entry of what changed.
 * On a terminal without flags, each field is asked with its current value.
 * The write is conditional on the record as read: if another desk changed it
 * meanwhile, nothing is saved (exit 1).
 */
export async function run(ctx: Context, ref: string, opts: AddPatientOptions): Promise<number> {
  const given = PATIENT_FIELDS.some((f) => opts[OPTION[f]] !== undefined);
  if (!given && !ctx.interactive) throw new UsageError('Nothing to change; give the fields to correct, e.g. --last NAME or --dob YYYY-MM-DD (--first, --last, --dob, --email, --phone, --mrn), or run it on a terminal to be asked field by field');

  const { patient: read, merged } = await withStore(ctx, (store) => resolvePatient(store, ref));
  if (merged) ctx.err(`Patient ${merged.id} was merged into patient ${read.id}; editing patient ${read.id}.`);
  const input = given ? fromFlags(read, opts) : await askFields(ctx, read);
  const fields = validate(input, ctx.now());

  const at = ctx.now().toISOString();
  const { patient, changed } = await withStore(ctx, (store) =>
    store.transaction(() => {
      if (fields.mrn !== null && fields.mrn !== read.mrn) {
        const owner = getPatientByMrn(store, fields.mrn);
        if (owner && owner.id !== read.id) throw new FailedError(mrnTakenMessage(fields.mrn, owner.id), 'mrn_taken');
      }
      return changePatient(store, read, fields, { at, actor: ctx.actor, action: 'patient.edit' });
    }),
  );

  const changes = Object.fromEntries(changed.map((k) => [k, { before: read[k], after: patient[k] }]));
  if (ctx.options.json) {
    ctx.json({ id: patient.id, changed: changes, patient });
    return 0;
  }
  if (changed.length === 0) {
    ctx.out(`Nothing changed; patient ${patient.id} already holds those values.`);
    return 0;
  }
  const { color } = ctx;
  const none = color.dim('(none)');
  ctx.out(`${color.green('✔')} Updated patient ${color.bold(String(patient.id))}: ${fullName(patient)}`);
  for (const k of changed) ctx.out(`  ${LABEL[k].replace(/ \(.*\)$/, '')}: ${read[k] ?? none} → ${patient[k] ?? none}`);
  return 0;
}

/** The record as read, with the flags given written over it. */
function fromFlags(read: Patient, opts: AddPatientOptions): Record<PatientField, string | null> {
  return Object.fromEntries(PATIENT_FIELDS.map((f) => [f, opts[OPTION[f]] ?? read[f]])) as Record<PatientField, string | null>;
}

/** Each field asked with its current value as the default: Enter keeps it, "-" clears an optional one. */
async function askFields(ctx: Context, read: Patient): Promise<Record<PatientField, string | null>> {
  const prompter = await ctx.prompter();
  ctx.err(`Editing patient ${read.id}: press Enter to keep a value, type - to clear an optional one.`);
  const answers = {} as Record<PatientField, string | null>;
  for (const field of PATIENT_FIELDS) {
    const current = read[field];
    const required = field === 'first_name' || field === 'last_name';
    const answer = await prompter.input(`${LABEL[field]}:`, {
      ...(current !== null ? { default: current } : {}),
      validate: (v) => (required && v.trim() === '' ? 'Write the name as the patient spells it.' : true),
    });
    answers[field] = !required && answer.trim() === '-' ? null : answer;
  }
  return answers;
}

