import type { Context } from '../../context.js';
import { resolvePatient, withStore } from '../../store.js';
import { fullName } from '../../../domain/patient.js';
import { recordAudit } from '../../../store/audit.js';
import { getPatient, openPlansOf, setPatientArchived } from '../../../store/patients.js';
import { FailedError } from '../../../errors.js';

/**
 * `patient archive <patient>` / `patient unarchive <patient>`: an archived
 * patient keeps every record but is hidden from `patient list`, searches and
 * pickers, cannot be given or started on a plan, and is never billed: a
 * billing run skips the plans of archived patients. A patient with a running
 * plan (active, paused or past due) is archived only with --yes, because
 * that plan then stops being billed until the patient is brought back.
 */
export async function run(ctx: Context, ref: string, archive: boolean): Promise<number> {
  const at = ctx.now().toISOString();
  const outcome = await withStore(ctx, (store) => {
    const { patient: read, merged } = resolvePatient(store, ref);
    if (merged) ctx.err(`Patient ${merged.id} was merged into patient ${read.id}; acting on patient ${read.id}.`);
    if (archive === (read.archived_at !== null)) return { patient: read, running: [], changed: false };
    const running = archive ? openPlansOf(store, read.id).filter((p) => p.status !== 'prescribed') : [];
    if (running.length > 0 && !ctx.options.yes) {
      const list = running.map((p) => `plan ${p.id} (${p.status})`).join(', ');
      throw new FailedError(`Patient ${read.id} has ${running.length === 1 ? 'a running plan' : 'running plans'}: ${list}; an archived patient is never billed, so cancel ${running.length === 1 ? 'it' : 'them'} first ("txplan plan cancel PLAN"), or add --yes to archive and stop billing until the patient is unarchived`, 'running_plans');
    }
    return store.transaction(() => {
      if (!setPatientArchived(store, read, archive ? at : null, at)) throw new FailedError(`patient ${read.id} changed since you opened it; nothing was saved — run the command again`, 'patient_changed');
      const patient = getPatient(store, read.id)!;
      recordAudit(store, { at, actor: ctx.actor, action: archive ? 'patient.archive' : 'patient.unarchive', entity: 'patient', entityId: read.id, before: { archived_at: read.archived_at }, after: { archived_at: patient.archived_at, ...(running.length ? { unbilled_plans: running.map((p) => p.id) } : {}) } });
      return { patient, running, changed: true };
    });
  });

  const { patient, running, changed } = outcome;
  if (ctx.options.json) {
    ctx.json({ ...patient, changed });
    return 0;
  }
  const name = `patient ${patient.id} (${fullName(patient)})`;
  if (!changed) ctx.out(`Nothing to do; ${name} is ${archive ? 'already archived' : 'not archived'}.`);
  else if (archive) {
    ctx.out(`${ctx.color.green('✔')} Archived ${name}: hidden from lists and searches, never billed; every record is kept ("txplan patient unarchive ${patient.id}" brings it back).`);
    if (running.length > 0) ctx.err(`Plan${running.length === 1 ? '' : 's'} ${running.map((p) => p.id).join(', ')} will not be billed while the patient is archived.`);
  } else ctx.out(`${ctx.color.green('✔')} Unarchived ${name}: listed and billed again.`);
  return 0;
}
