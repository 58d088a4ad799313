import type { Context } from '../../context.js';
import { renderTable } from '../../output/table.js';
import { resolvePatient, withStore } from '../../store.js';
import { workspaceZone } from '../../workspace.js';
import { formatInstant } from '../../../domain/instants.js';
import { listPlans } from '../../../store/plans.js';
import { ageOn, fullName } from '../../../domain/patient.js';

/**
 * One indexed lookup for the patient and one for its plans; nothing here
 * loads the registry (yaml, ajv), so it stays fast whatever the database holds.
 */
export async function run(ctx: Context, ref: string): Promise<number> {
  const { patient, plans, merged } = await withStore(ctx, (store) => {
    const { patient: found, merged } = resolvePatient(store, ref);
    // The patient's name and MRN are on every plan line; the profile already has them.
    const rows = listPlans(store, { patientId: found.id }).map(({ patient_name: _name, patient_mrn: _mrn, ...plan }) => plan);
    return { patient: found, plans: rows, merged };
  });

  if (ctx.options.json) {
    ctx.json({ ...patient, ...(merged ? { merged_from: merged.id } : {}), plans });
    return 0;
  }
  if (merged) ctx.err(`Patient ${merged.id} was merged into patient ${patient.id}; showing patient ${patient.id}.`);
  const { color } = ctx;
  const none = color.dim('-');
  const today = ctx.now().toISOString().slice(0, 10);
  const age = patient.dob ? ageOn(patient.dob, today) : undefined;
  const label = (text: string) => color.dim(text.padEnd(8));
  const out = [
    `${color.bold(fullName(patient))}  ${color.dim(`patient ${patient.id}`)}`,
    `${label('MRN')}${patient.mrn ?? none}`,
    `${label('Born')}${patient.dob ? `${patient.dob}${age !== undefined ? color.dim(` (${age})`) : ''}` : none}`,
    `${label('Email')}${patient.email ?? none}`,
    `${label('Phone')}${patient.phone ?? none}`,
    `${label('Added')}${formatInstant(patient.created_at, workspaceZone(ctx))}`,
    ...(patient.archived_at ? [`${color.dim('Archived')} ${formatInstant(patient.archived_at, workspaceZone(ctx))} ${color.dim('(hidden from lists, not billed)')}`] : []),
    '',
  ];
  if (plans.length === 0) {
    out.push(`No plans yet; apply one with "txplan plan apply ${patient.id} <template> --mode start|prescribe".`);
    ctx.out(out.join('\n'));
    return 0;
  }
  out.push(color.bold(`Plans (${plans.length})`));
  ctx.out(out.join('\n'));
  const rows = plans.map((p) => [color.bold(String(p.id)), p.name, `${p.template_id} v${p.template_version}`, p.type, p.status, p.start_date ?? none, p.end_date ?? none, p.clinic_id ?? none]);
  ctx.streams.stdout.write(renderTable(['ID', 'PLAN', 'TEMPLATE', 'TYPE', 'STATUS', 'START', 'END', 'CLINIC'], rows, { tty: true, heading: (t) => color.dim(t) }));
  return 0;
}
