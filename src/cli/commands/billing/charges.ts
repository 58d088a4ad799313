import type { Context } from '../../context.js';
import type { Store } from '../../../store/store.js';
import { renderTable } from '../../output/table.js';
import { findPatient, findPlan, withStore } from '../../store.js';
import { UsageError } from '../../../errors.js';
import { parseDate } from '../../../domain/dates.js';
import { formatMoney } from '../../../domain/money.js';
import { listCharges, listDeclinedStarts } from '../../../store/charges.js';
import { listRefunds, refundTotals } from '../../../store/refunds.js';
import { needsPatient } from '../../../billing/gateway.js';
import { planLocales } from '../../../store/clinics.js';
import { workspaceLocale } from '../../locale.js';
import type { ChargeStatus } from '../../../domain/records.js';

const STATUSES: readonly ChargeStatus[] = ['pending', 'succeeded', 'failed'];

export async function run(ctx: Context, opts: { plan?: string; patient?: string; status?: string; since?: string; refunds?: boolean }): Promise<number> {
  if (opts.status !== undefined && !(STATUSES as readonly string[]).includes(opts.status)) throw new UsageError(`--status "${opts.status}" is not a charge status; use pending, succeeded or failed`);
  if (opts.since !== undefined && !parseDate(opts.since)) throw new UsageError(`--since "${opts.since}" is not a date; write it as YYYY-MM-DD`);
  return withStore(ctx, (store) => {
    const planId = opts.plan !== undefined ? findPlan(store, opts.plan).id : undefined;
    if (opts.refunds) return showRefunds(ctx, store, planId, opts.status as ChargeStatus | undefined);
    const patientId = opts.patient !== undefined ? findPatient(store, opts.patient).id : undefined;
    const charges = listCharges(store, { planId, patientId, status: opts.status as ChargeStatus | undefined, since: opts.since });
    // A start whose first installment was declined kept no plan: its attempt is listed with the patient's charges.
    const declined = planId === undefined && (opts.status === undefined || opts.status === 'failed') ? listDeclinedStarts(store, { patientId, since: opts.since }) : [];
    const refunded = refundTotals(store, charges.map((c) => c.id));
    const none = { succeeded_minor: 0, pending_minor: 0 };
    if (ctx.options.json) {
      const rows = [
        ...charges.map((c) => ({ ...c, hard_decline: c.hard_decline === 1, needs_patient: c.status === 'failed' && needsPatient(c.decline_code), refunded_minor: (refunded.get(c.id) ?? none).succeeded_minor, refund_pending_minor: (refunded.get(c.id) ?? none).pending_minor })),
        ...declined.map((d) => ({
          id: d.charge_id,
          plan_id: null,
          patient_id: d.patient_id,
          declined_start: { removed_plan_id: d.removed_plan_id, template: d.template },
          kind: d.kind,
          installment: d.installment,
          step_n: null,
          idempotency_key: d.idempotency_key,
          due_date: d.due_date,
          amount_minor: d.amount_minor,
          currency: d.currency,
          status: 'failed' as const,
          attempts: d.attempts,
          next_attempt_on: null,
          decline_code: d.decline_code,
          decline_message: d.decline_message,
          needs_patient: needsPatient(d.decline_code),
          gateway: d.gateway,
          gateway_charge_id: d.gateway_charge_id,
          created_at: d.created_at,
          updated_at: d.declined_at,
          refunded_minor: 0,
          refund_pending_minor: 0,
        })),
      ].sort((a, b) => (a.due_date < b.due_date ? -1 : a.due_date > b.due_date ? 1 : a.id - b.id));
      ctx.json(rows);
      return 0;
    }
    // Each amount in its own currency, written the way its plan's clinic writes money.
    const locales = planLocales(store);
    const fallback = workspaceLocale(ctx);
    const money = (minor: number, currency: string, planId: number | null) => formatMoney(minor, currency, (planId !== null ? locales.get(planId) : undefined) ?? fallback);
    const refundCell = (id: number, currency: string, planId: number) => {
      const { succeeded_minor: done, pending_minor: pending } = refunded.get(id) ?? none;
      if (done === 0 && pending === 0) return '';
      return [done > 0 ? money(done, currency, planId) : '', pending > 0 ? `${money(pending, currency, planId)} pending` : ''].filter(Boolean).join(' + ');
    };
    const { color } = ctx;
    const status = (s: string) => (s === 'succeeded' ? color.green(s) : s === 'failed' ? color.red(s) : color.yellow(s));
    const what = (c: (typeof charges)[number]) => (c.kind === 'installment' ? `installment ${c.installment}` : c.kind === 'step' ? `visit ${c.step_n}` : 'early cancellation fee');
    const rows = [
      ...charges.map((c) => ({ due: c.due_date, id: c.id, cells: [String(c.id), String(c.plan_id), what(c), c.due_date, money(c.amount_minor, c.currency, c.plan_id), status(c.status), String(c.attempts), refundCell(c.id, c.currency, c.plan_id), [c.decline_code ? `${c.decline_code}${c.next_attempt_on ? `, retry ${c.next_attempt_on}` : ''}${c.status === 'failed' && needsPatient(c.decline_code) ? ', needs the patient' : ''}` : '', c.note ?? ''].filter(Boolean).join('; ')] })),
      ...declined.map((d) => ({ due: d.due_date, id: d.charge_id, cells: [String(d.charge_id), '—', `installment ${d.installment}`, d.due_date, money(d.amount_minor, d.currency, null), status('failed'), String(d.attempts), '', `${d.decline_code ?? 'declined'}; start declined, plan ${d.removed_plan_id} not kept (patient ${d.patient_id})`] })),
    ].sort((a, b) => (a.due < b.due ? -1 : a.due > b.due ? 1 : a.id - b.id));
    ctx.streams.stdout.write(
      renderTable(
        ['ID', 'PLAN', 'FOR', 'DUE', 'AMOUNT', 'STATUS', 'ATTEMPTS', 'REFUNDED', 'NOTE'],
        rows.map((r) => r.cells),
        { tty: ctx.tty, raw: ctx.options.raw, heading: (t) => color.dim(t) },
      ),
    );
    return 0;
  });
}

/** `billing charges --refunds`: the refunds themselves, with the charge each gave money back from. */
function showRefunds(ctx: Context, store: Store, planId: number | undefined, status: ChargeStatus | undefined): number {
  const refunds = listRefunds(store, { planId, status });
  if (ctx.options.json) {
    ctx.json(refunds);
    return 0;
  }
  const { color } = ctx;
  const shown = (s: string) => (s === 'succeeded' ? color.green(s) : s === 'failed' ? color.red(s) : color.yellow(s));
  ctx.streams.stdout.write(
    renderTable(
      ['REFUND', 'CHARGE', 'PLAN', 'AMOUNT', 'STATUS', 'WHEN', 'BY', 'REASON'],
      refunds.map((r) => [String(r.id), String(r.charge_id), String(r.plan_id), formatMoney(r.amount_minor, r.currency), shown(r.status), r.created_at.slice(0, 10), r.actor, r.failure_code ? `${r.reason} (${r.failure_code})` : r.reason]),
      { tty: ctx.tty, raw: ctx.options.raw, heading: (t) => color.dim(t) },
    ),
  );
  return 0;
}
