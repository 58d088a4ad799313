import type { Context } from '../../context.js';
import { renderTable } from '../../output/table.js';
import { findPatient, findPlan, withStore } from '../../store.js';
import { UsageError } from '../../../errors.js';
import { parseDate } from '../../../domain/dates.js';
import { formatMoney } from '../../../domain/money.js';
import { listCharges, listDeclinedStarts, type ChargeStatus } from '../../../store/charges.js';

const STATUSES: readonly ChargeStatus[] = ['pending', 'succeeded', 'failed'];

export async function run(ctx: Context, opts: { plan?: string; patient?: string; status?: string; since?: string }): Promise<number> {
  if (opts.status !== undefined && !(STATUSES as readonly string[]).includes(opts.status)) throw new UsageError(`--status "${opts.status}" is not a charge status; use pending, succeeded or failed`);
  if (opts.since !== undefined && !parseDate(opts.since)) throw new UsageError(`--since "${opts.since}" is not a date; write it as YYYY-MM-DD`);
  return withStore(ctx, (store) => {
    const planId = opts.plan !== undefined ? findPlan(store, opts.plan).id : undefined;
    const patientId = opts.patient !== undefined ? findPatient(store, opts.patient).id : undefined;
    const charges = listCharges(store, { planId, patientId, status: opts.status as ChargeStatus | undefined, since: opts.since });
    // A start whose first installment was declined kept no plan: its attempt is listed with the patient's charges.
    const declined = planId === undefined && (opts.status === undefined || opts.status === 'failed') ? listDeclinedStarts(store, { patientId, since: opts.since }) : [];
    if (ctx.options.json) {
      const rows = [
        ...charges.map((c) => ({ ...c, hard_decline: c.hard_decline === 1 })),
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
          gateway: d.gateway,
          gateway_charge_id: d.gateway_charge_id,
          created_at: d.created_at,
          updated_at: d.declined_at,
        })),
      ].sort((a, b) => (a.due_date < b.due_date ? -1 : a.due_date > b.due_date ? 1 : a.id - b.id));
      ctx.json(rows);
      return 0;
    }
    const { color } = ctx;
    const status = (s: string) => (s === 'succeeded' ? color.green(s) : s === 'failed' ? color.red(s) : color.yellow(s));
    const what = (c: (typeof charges)[number]) => (c.kind === 'installment' ? `installment ${c.installment}` : c.kind === 'step' ? `visit ${c.step_n}` : 'early cancellation fee');
    const rows = [
      ...charges.map((c) => ({ due: c.due_date, id: c.id, cells: [String(c.id), String(c.plan_id), what(c), c.due_date, formatMoney(c.amount_minor, c.currency), status(c.status), String(c.attempts), c.decline_code ? `${c.decline_code}${c.next_attempt_on ? `, retry ${c.next_attempt_on}` : ''}` : ''] })),
      ...declined.map((d) => ({ due: d.due_date, id: d.charge_id, cells: [String(d.charge_id), '—', `installment ${d.installment}`, d.due_date, formatMoney(d.amount_minor, d.currency), status('failed'), String(d.attempts), `${d.decline_code ?? 'declined'}; start declined, plan ${d.removed_plan_id} not kept (patient ${d.patient_id})`] })),
    ].sort((a, b) => (a.due < b.due ? -1 : a.due > b.due ? 1 : a.id - b.id));
    ctx.streams.stdout.write(
      renderTable(
        ['ID', 'PLAN', 'FOR', 'DUE', 'AMOUNT', 'STATUS', 'ATTEMPTS', 'NOTE'],
        rows.map((r) => r.cells),
        { tty: ctx.tty, raw: ctx.options.raw, heading: (t) => color.dim(t) },
      ),
    );
    return 0;
  });
}
