import type { Context } from '../../context.js';
import { renderTable } from '../../output/table.js';
import { findPlan, withStore } from '../../store.js';
import { UsageError } from '../../../errors.js';
import { parseDate } from '../../../domain/dates.js';
import { formatMoney } from '../../../domain/money.js';
import { listCharges, type ChargeStatus } from '../../../store/charges.js';

const STATUSES: readonly ChargeStatus[] = ['pending', 'succeeded', 'failed'];

export async function run(ctx: Context, opts: { plan?: string; status?: string; since?: string }): Promise<number> {
  if (opts.status !== undefined && !(STATUSES as readonly string[]).includes(opts.status)) throw new UsageError(`--status "${opts.status}" is not a charge status; use pending, succeeded or failed`);
  if (opts.since !== undefined && !parseDate(opts.since)) throw new UsageError(`--since "${opts.since}" is not a date; write it as YYYY-MM-DD`);
  return withStore(ctx, (store) => {
    const planId = opts.plan !== undefined ? findPlan(store, opts.plan).id : undefined;
    const charges = listCharges(store, { planId, status: opts.status as ChargeStatus | undefined, since: opts.since });
    if (ctx.options.json) {
      ctx.json(charges.map((c) => ({ ...c, hard_decline: c.hard_decline === 1 })));
      return 0;
    }
    const { color } = ctx;
    const status = (s: string) => (s === 'succeeded' ? color.green(s) : s === 'failed' ? color.red(s) : color.yellow(s));
    const what = (c: (typeof charges)[number]) => (c.kind === 'installment' ? `installment ${c.installment}` : c.kind === 'step' ? `visit ${c.step_n}` : 'early cancellation fee');
    ctx.streams.stdout.write(
      renderTable(
        ['ID', 'PLAN', 'FOR', 'DUE', 'AMOUNT', 'STATUS', 'ATTEMPTS', 'NOTE'],
        charges.map((c) => [String(c.id), String(c.plan_id), what(c), c.due_date, formatMoney(c.amount_minor, c.currency), status(c.status), String(c.attempts), [c.decline_code ? `${c.decline_code}${c.next_attempt_on ? `, retry ${c.next_attempt_on}` : ''}` : '', c.note ?? ''].filter(Boolean).join('; ')]),
        { tty: ctx.tty, raw: ctx.options.raw, heading: (t) => color.dim(t) },
      ),
    );
    return 0;
  });
}
