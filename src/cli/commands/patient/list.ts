import type { Context } from '../../context.js';
import { renderTable } from '../../output/table.js';
import { withStore } from '../../store.js';
import { listPatientsWithPlanCounts, type PatientScope } from '../../../store/patients.js';
import { UsageError } from '../../../errors.js';

export async function run(ctx: Context, opts: { search?: string | undefined; all?: boolean | undefined; archived?: boolean | undefined }): Promise<number> {
  if (opts.all && opts.archived) throw new UsageError('--all and --archived do not go together; --all lists every patient, --archived only the archived ones');
  const scope: PatientScope = opts.archived ? 'archived' : opts.all ? 'all' : 'current';
  const patients = await withStore(ctx, (store) => listPatientsWithPlanCounts(store, opts.search, scope));
  if (ctx.options.json) {
    ctx.json(patients);
    return 0;
  }
  if (patients.length === 0) {
    // The search text is not repeated: it may be a patient's name, and stderr ends up in logs.
    ctx.err(opts.search?.trim() ? 'No patient matches that search; try part of a name, an MRN, an email address or a phone number.' : scope === 'archived' ? 'No archived patients.' : 'No patients yet; add one with "txplan patient add --first NAME --last NAME" or "txplan patient import FILE.csv".');
    return 0;
  }
  const { color, tty } = ctx;
  const blank = tty ? color.dim('-') : '';
  const plans = (total: number, active: number) => (tty && total > 0 ? `${total} ${color.dim(`(${active} active)`)}` : String(total));
  const rows = patients.map((p) => [
    color.bold(String(p.id)),
    p.mrn ?? blank,
    `${p.last_name}, ${p.first_name}${p.archived_at ? (tty ? color.dim(' (archived)') : ' (archived)') : ''}`,
    p.dob ?? blank,
    p.email ?? blank,
    p.phone ?? blank,
    plans(p.plans, p.active_plans),
  ]);
  ctx.streams.stdout.write(renderTable(['ID', 'MRN', 'NAME', 'DOB', 'EMAIL', 'PHONE', 'PLANS'], rows, { tty, raw: ctx.options.raw, heading: (t) => color.dim(t) }));
  return 0;
}
