import type { Context } from '../../context.js';
import { renderTable } from '../../output/table.js';
import { findPatient, withStore } from '../../store.js';
import { listPlans } from '../../../store/plans.js';
import { NotFoundError, UsageError } from '../../../errors.js';
import { todayIn } from '../../../domain/dates.js';
import { isOverdue } from '../../../billing/plan.js';
import { clinicZone, getClinic } from '../../../store/clinics.js';
import { readSettings } from '../../../registry/settings.js';
import { resolveWorkspace } from '../../workspace.js';
import { PLAN_STATUSES, type PlanStatus } from '../../../domain/records.js';

export interface ListOptions {
  patient?: string;
  status?: string;
  template?: string;
  clinic?: string;
  overdue?: boolean;
}

export async function run(ctx: Context, opts: ListOptions): Promise<number> {
  if (opts.status !== undefined && !(PLAN_STATUSES as readonly string[]).includes(opts.status)) {
    throw new UsageError(`--status "${opts.status}" is not a plan status; use one of ${PLAN_STATUSES.join(', ')}`);
  }
  return withStore(ctx, (store) => {
    if (opts.clinic !== undefined && !getClinic(store, opts.clinic)) throw new NotFoundError(`No clinic "${opts.clinic}"; "txplan clinic list --all" shows them`);
    const patientId = opts.patient !== undefined ? findPatient(store, opts.patient).id : undefined;
    let plans = listPlans(store, { patientId, status: opts.status as PlanStatus | undefined, templateId: opts.template, clinicId: opts.clinic, withPendingSteps: opts.overdue });
    if (opts.overdue) {
      // Overdue at each plan's own clinic's today; the steps' count only matters as "some pending", which the query ensured.
      const fallback = readSettings(resolveWorkspace(ctx)).timezone;
      plans = plans.filter((p) => isOverdue({ status: p.status, last_step_date: p.last_step_date ?? null, pending_steps: 1 }, todayIn(clinicZone(store, p.clinic_id, fallback), ctx.now())));
    }
    if (ctx.options.json) {
      ctx.json(plans);
      return 0;
    }
    const { color } = ctx;
    const status = (s: string) => (s === 'active' ? color.green(s) : s === 'past_due' ? color.red(s) : s === 'cancelled' || s === 'completed' ? color.dim(s) : s);
    ctx.streams.stdout.write(
      renderTable(
        ['ID', 'PATIENT', 'PLAN', 'TEMPLATE', 'STATUS', 'CLINIC', 'START', 'END'],
        plans.map((p) => [String(p.id), `${p.patient_name}${p.patient_mrn ? ` (${p.patient_mrn})` : ''}`, p.name, `${p.template_id} v${p.template_version}`, status(p.status), p.clinic_id ?? '', p.start_date ?? '', p.end_date ?? '']),
        { tty: ctx.tty, raw: ctx.options.raw, heading: (t) => color.dim(t) },
      ),
    );
    if (plans.length === 0 && ctx.tty) ctx.err('No plans match; "txplan plan apply" creates one.');
    return 0;
  });
}
