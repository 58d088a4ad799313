import type { Context } from '../../context.js';
import { findPlan, withStore } from '../../store.js';
import type { Store } from '../../../store/store.js';
import { resolveWorkspace } from '../../workspace.js';
import { loadPlanView, planJson, type PlanView } from '../../../plans/view.js';
import { isCustomised } from '../../../plans/lifecycle.js';
import { diff, type Change } from '../../../domain/plan.js';
import { describeDuration } from '../../../domain/dates.js';
import { formatMoney } from '../../../domain/money.js';
import { formatInstant } from '../../../domain/instants.js';
import { describePaymentItem, paymentSummary, type PaymentItem } from '../../../billing/summary.js';
import { listAudit } from '../../../store/audit.js';
import { getTemplate, loadRegistry, type Registry } from '../../../registry/registry.js';
import type { Template } from '../../../generated/schema-types.js';
import { differsFromPlan, performedOf } from '../../../domain/performed.js';
import { chargesOfPlan } from '../../../store/charges.js';
import { needsPatient, NEEDS_PATIENT_ADVICE } from '../../../billing/gateway.js';
import type { AuditEntry, ChargeRow } from '../../../domain/records.js';

/** How a plan relates to its template now: customisations, and whether the template moved on. */
export interface Origin {
  customised: boolean;
  current: { version: number } | undefined;
  changes: Change[];
}

export async function origin(registry: Registry, view: PlanView): Promise<Origin> {
  let current: Template | undefined;
  try {
    current = (await getTemplate(registry.workspace, view.plan.template_id)).template;
  } catch {
    current = undefined; // deleted or invalid: the plan keeps its snapshot
  }
  return { customised: isCustomised(view.plan), current: current ? { version: current.version } : undefined, changes: current ? diff(current, view.snapshot) : [] };
}

export async function run(ctx: Context, ref: string): Promise<number> {
  const registry = await loadRegistry(resolveWorkspace(ctx));
  return withStore(ctx, (store) => showPlan(ctx, store, registry, ref));
}

/**
 * Prints one plan (as text, or its JSON document with --json) from an open
 * store: what `plan show` prints, also for a caller that shows many plans
 * through one store.
 */
export async function showPlan(ctx: Context, store: Store, registry: Registry, ref: string): Promise<number> {
  const view = loadPlanView(store, findPlan(store, ref));
  const from = await origin(registry, view);
  const summary = paymentSummary(store, view.plan);
  const payments = { paid_minor: summary.paid_minor, refunded_minor: summary.refunded_minor ?? 0, net_minor: summary.net_minor ?? summary.paid_minor, refunds: summary.refunds ?? [] };
  if (ctx.options.json) {
    const stopped = view.plan.status === 'past_due' ? lastDeclined(chargesOfPlan(store, view.plan.id)) : undefined;
    const pastDue = stopped ? { charge_id: stopped.id, decline_code: stopped.decline_code, needs_patient: needsPatient(stopped.decline_code) } : null;
    ctx.json({ ...planJson(view), origin: { customised: from.customised, template_current_version: from.current?.version ?? null, differences: from.changes }, payments, past_due: pastDue });
    return 0;
  }
  const history = listAudit(store, { entity: 'plan', id: String(view.plan.id) });
  ctx.out(render(ctx, registry, view, from, { payments: summary.items, totals: payments, history, charges: chargesOfPlan(store, view.plan.id) }));
  return 0;
}

function render(ctx: Context, registry: Registry, view: PlanView, from: Origin, record: { payments: PaymentItem[]; totals: { paid_minor: number; refunded_minor: number; net_minor: number }; history: AuditEntry[]; charges: readonly ChargeRow[] }): string {
  const { color } = ctx;
  const { plan, snapshot, patient, clinic } = view;
  // In the currency the plan was sold in, written the clinic's way (its locale, else the workspace's).
  const money = (minor: number) => formatMoney(minor, plan.currency, clinic?.locale ?? registry.settings.locale);
  // Times in the plan's clinic's zone, or the workspace's before it has a clinic.
  const when = (at: string) => formatInstant(at, clinic?.timezone ?? registry.settings.timezone);
  const last = (action: string) => record.history.filter((e) => e.action === action).at(-1);
  const service = (id: string) => registry.services.get(id)?.name ?? id;
  const statusColour = plan.status === 'active' ? color.green : plan.status === 'past_due' ? color.red : (t: string) => t;
  const lines: string[] = [];
  const row = (label: string, value: string) => lines.push(`${color.dim(label.padEnd(10))}${value}`);

  lines.push(`${color.bold(`Plan ${plan.id}`)} · ${snapshot.name} · ${statusColour(plan.status.replace('_', ' '))}`);
  row('Patient', `${patient.first_name} ${patient.last_name} (id ${patient.id}${patient.mrn ? `, MRN ${patient.mrn}` : ''})`);
  if (clinic) row('Clinic', `${clinic.name} (${clinic.id}, ${clinic.timezone})`);
  row('Duration', `${describeDuration(snapshot.duration)}${plan.start_date ? `, ${plan.start_date} → ${plan.end_date}` : ', starts when the program starts'}`);
  if (plan.type === 'monthly') {
    const prices = view.prices.map((p, i) => (i === 0 ? `${money(p.monthly_fee_minor)}/month × ${snapshot.duration.months}` : `from installment ${p.from_installment}: ${money(p.monthly_fee_minor)}`));
    row('Price', prices.join('; '));
  } else row('Price', 'pay per visit, at the plan’s service prices');
  if (view.paymentMethod) row('Payment', `${view.paymentMethod.brand} •••• ${view.paymentMethod.last4}, expires ${String(view.paymentMethod.exp_month).padStart(2, '0')}/${view.paymentMethod.exp_year}`);
  const { totals } = record;
  // Each refund is itemised under Payments, after the charge it refunds.
  if (totals.paid_minor > 0) row('Paid', totals.refunded_minor > 0 ? `${money(totals.paid_minor)}; refunded ${money(totals.refunded_minor)}; net ${money(totals.net_minor)}` : money(totals.paid_minor));
  if (plan.status === 'past_due') row('Past due', pastDueReason(record.charges));
  if (plan.status === 'paused') row('Paused', `since ${plan.paused_on}${plan.pause_until ? `, until ${plan.pause_until}` : ''}`);
  row('Added', when(plan.created_at));
  const started = last('plan.start');
  if (started && plan.status !== 'prescribed') row('Started', `${when(started.at)} by ${started.actor}`);
  const cancelled = last('plan.cancel');
  if (plan.status === 'cancelled') row('Cancelled', `${cancelled ? `${when(cancelled.at)} by ${cancelled.actor}` : plan.cancelled_on}: ${plan.cancel_reason}`);

  const provenance = [`template ${plan.template_id} v${plan.template_version}`, `sha256 ${plan.template_hash.slice(0, 12)}`];
  if (plan.template_commit) provenance.push(`commit ${plan.template_commit.slice(0, 12)}${plan.template_dirty ? color.yellow(' with uncommitted changes') : ''}`);
  else if (plan.template_dirty !== null) provenance.push(color.yellow('a file not yet committed to git'));
  else provenance.push('outside a git repository');
  row('Source', provenance.join(', '));
  const notes: string[] = [];
  if (!from.current) notes.push(color.yellow(`the template ${plan.template_id} no longer exists (or is invalid); the plan keeps its own copy`));
  else if (from.current.version !== plan.template_version) notes.push(color.yellow(`the template is now v${from.current.version}; this plan keeps v${plan.template_version} until "txplan template rollout ${plan.template_id}"`));
  if (from.customised) notes.push('customised for this patient');
  if (!from.customised && from.current?.version === plan.template_version) notes.push('identical to its template');
  row('Origin', notes.join('; '));
  for (const change of from.changes.slice(0, 12)) lines.push(`${' '.repeat(10)}${color.dim(change.path)}: ${show(change.before)} → ${show(change.after)}`);
  if (from.changes.length > 12) lines.push(`${' '.repeat(10)}… and ${from.changes.length - 12} more differences (txplan plan show ${plan.id} --json)`);

  lines.push('', color.bold('Steps'));
  for (const step of view.steps) {
    const mark = step.status === 'done' ? color.green('✔ done') : step.status === 'skipped' ? color.yellow('– skipped') : color.dim('· pending');
    const services = (JSON.parse(step.services) as string[]).map(service).join(' + ');
    lines.push(`  ${String(step.n).padStart(2)}. ${`${step.when_unit === 'week' ? 'Week' : 'Month'} ${step.when_value}`.padEnd(9)} ${(step.recommended_date ?? '').padEnd(10)}  ${mark.padEnd(10)} ${services}`);
    const note = record.charges.find((c) => c.kind === 'step' && c.step_n === step.n)?.note;
    const details = [
      step.booked_at ? `booked ${step.booked_at}${clinic ? ` ${clinic.timezone}` : ''}` : '', // a wall-clock time at the clinic
      step.completed_on ? `${step.status} on ${step.completed_on}` : '',
      differsFromPlan(step) ? `performed: ${performedOf(step).map(service).join(' + ')}` : '',
      note ? `charge: ${note}` : '',
      step.completion_note ? `note (internal): ${step.completion_note}` : '',
      step.patient_note ? `note (for the patient): ${step.patient_note}` : '',
      step.outcome ? `outcome: ${step.outcome}` : '',
      view.attachments.some((a) => a.step_id === step.id) ? `${view.attachments.filter((a) => a.step_id === step.id).length} photo(s)` : '',
    ].filter(Boolean);
    if (details.length) lines.push(`${' '.repeat(27)}${color.dim(details.join(' · '))}`);
  }
  if (record.payments.length) {
    lines.push('', color.bold('Payments'));
    for (const item of record.payments) lines.push(`  ${describePaymentItem(item, money)}`);
  }
  return lines.join('\n');
}

function show(value: unknown): string {
  if (value === undefined) return '(none)';
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}…` : text;
}

/** Why billing stopped: the declined charge that made the plan past due, and what the front desk does. */
function pastDueReason(charges: readonly ChargeRow[]): string {
  const last = lastDeclined(charges);
  if (!last) return 'billing stopped until "txplan plan payment" sets a payment method';
  const what = last.kind === 'installment' ? `installment ${last.installment}` : last.kind === 'step' ? `visit ${last.step_n}` : 'the early cancellation fee';
  if (needsPatient(last.decline_code)) return `${what} ${NEEDS_PATIENT_ADVICE}`;
  return `${what} was declined (${last.decline_code ?? 'declined'}); billing stopped until "txplan plan payment" sets a new payment method`;
}

/** The charge declined last: the one that stopped billing on a past-due plan. */
function lastDeclined(charges: readonly ChargeRow[]): ChargeRow | undefined {
  return charges.filter((c) => c.status === 'failed').sort((a, b) => (a.updated_at < b.updated_at ? -1 : a.updated_at > b.updated_at ? 1 : a.id - b.id)).at(-1);
}
