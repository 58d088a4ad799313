import type { Context } from '../../context.js';
import { withStore } from '../../store.js';
import { resolveWorkspace } from '../../workspace.js';
import { chargingContext } from '../../billing.js';
import { progressBar } from '../../progress.js';
import { NotFoundError, UsageError } from '../../../errors.js';
import { parseDate } from '../../../domain/dates.js';
import { formatMoney } from '../../../domain/money.js';
import { readSettings } from '../../../registry/settings.js';
import { getClinic } from '../../../store/clinics.js';
import { billingTodays, runBilling } from '../../../billing/run.js';
import { futureDateRefusal } from '../../../billing/future.js';
import { needsPatient, NEEDS_PATIENT_ADVICE } from '../../../billing/gateway.js';

export async function run(ctx: Context, opts: { date?: string; dryRun?: boolean; clinic?: string; wait?: string }): Promise<number> {
  const date = opts.date !== undefined ? parseDate(opts.date) : undefined;
  if (opts.date !== undefined && !date) throw new UsageError(`--date "${opts.date}" is not a date; write it as YYYY-MM-DD`);
  if (opts.wait !== undefined && !/^\d+$/.test(opts.wait)) throw new UsageError(`--wait "${opts.wait}" is not a number of seconds`);
  const settings = readSettings(resolveWorkspace(ctx));
  return withStore(ctx, async (store) => {
    if (opts.clinic !== undefined && !getClinic(store, opts.clinic)) throw new NotFoundError(`No clinic "${opts.clinic}"; "txplan clinic list --all" shows them`);
    // Before the lock and the processor: a refused date writes nothing.
    const ahead = date && !opts.dryRun ? futureDateRefusal(date, billingTodays(store, opts.clinic, settings.timezone, ctx.now())) : undefined;
    if (ahead) throw new UsageError(ahead, 'future_date');
    const charging = chargingContext(ctx, store, settings, opts.dryRun ? 'look-up' : 'charge');
    const progress = await progressBar(ctx, opts.dryRun ? 'Planning' : 'Billing', 0);
    let report;
    try {
      report = await runBilling(charging, {
        date,
        clinicId: opts.clinic,
        dryRun: opts.dryRun ?? false,
        waitMs: Number(opts.wait ?? 0) * 1000,
        fallbackZone: settings.timezone,
        keep: ctx.options.json || opts.dryRun ? 'all' : 'unpaid',
        onProgress: (done, total) => progress.update(done, total),
      });
    } finally {
      progress.stop();
      charging.gateway.close();
    }
    const currency = settings.currency;
    if (ctx.options.json) {
      ctx.json({ ...report, dry_run: opts.dryRun ?? false, currency });
    } else {
      const { color } = ctx;
      if (opts.dryRun) {
        const total = report.charges.reduce((sum, c) => sum + c.amount_minor, 0);
        for (const c of report.charges) ctx.out(`would charge ${c.idempotency_key}  ${formatMoney(c.amount_minor, c.currency)}`);
        ctx.out(`billing run (dry run)${report.date ? ` ${report.date}` : ''}: would charge ${report.charges.length} (${formatMoney(total, currency)}), ${report.skipped} skipped, ${report.completed_plans} to complete, ${report.overdue_plans} overdue; nothing was charged or written`);
      } else {
        for (const c of report.charges.filter((x) => x.status !== 'succeeded')) {
          if (c.status === 'pending') ctx.err(color.yellow(`unanswered ${c.idempotency_key} ${formatMoney(c.amount_minor, c.currency)}: ${c.problem ?? 'the processor did not answer; the next run asks again under the same key'}`));
          else if (needsPatient(c.decline_code)) ctx.err(color.yellow(`declined ${c.idempotency_key} ${formatMoney(c.amount_minor, c.currency)}: ${c.decline_code}, plan ${c.plan_id} past due; ${NEEDS_PATIENT_ADVICE}`));
          else ctx.err(color.yellow(`declined ${c.idempotency_key} ${formatMoney(c.amount_minor, c.currency)}: ${c.decline_code}${c.next_attempt_on ? `, retry on ${c.next_attempt_on}` : ', plan past due'}`));
        }
        if (report.refunds_settled) ctx.out(`settled ${report.refunds_settled} refund${report.refunds_settled === 1 ? '' : 's'} a stopped "billing refund" had left pending, under ${report.refunds_settled === 1 ? 'its' : 'their'} own key${report.refunds_settled === 1 ? '' : 's'}`);
        // One summary line per run, for cron logs.
        ctx.out(`billing run${report.date ? ` ${report.date}` : ''}: charged ${report.charged} (${formatMoney(report.amount_minor, currency)}), failed ${report.failed}, skipped ${report.skipped}, completed ${report.completed_plans}, past due ${report.past_due_plans}, ${report.needs_patient > 0 ? `needing the patient ${report.needs_patient}, ` : ''}overdue ${report.overdue_plans}`);
      }
    }
    return report.failed > 0 && !opts.dryRun ? 3 : 0;
  });
}
