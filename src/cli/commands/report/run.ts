import sparkly from 'sparkly';
import type { Context } from '../../context.js';
import { renderTable } from '../../output/table.js';
import { withStore } from '../../store.js';
import { resolveWorkspace } from '../../workspace.js';
import { NotFoundError, UsageError } from '../../../errors.js';
import { addMonths, formatDate, parseDate, todayIn } from '../../../domain/dates.js';
import { formatMoney } from '../../../domain/money.js';
import type { Figures, Report } from '../../../domain/report.js';
import { readSettings } from '../../../registry/settings.js';
import { templateIds } from '../../../registry/registry.js';
import { clinicZone, getClinic } from '../../../store/clinics.js';
import { planTemplateExists } from '../../../store/report.js';
import { practiceReport } from '../../../plans/report.js';

export interface ReportOptions {
  from?: string;
  to?: string;
  clinic?: string;
  template?: string;
  pdf?: string;
  html?: string;
  force?: boolean;
}

export async function run(ctx: Context, opts: ReportOptions): Promise<number> {
  const given = (flag: string, text: string | undefined) => {
    if (text === undefined) return undefined;
    if (!parseDate(text)) throw new UsageError(`${flag} "${text}" is not a date; write it as YYYY-MM-DD, like 2026-01-31`);
    return text;
  };
  const from = given('--from', opts.from);
  const to = given('--to', opts.to);
  if (from && to && from > to) throw new UsageError(`--from ${from} is after --to ${to}; give the earlier date to --from`);
  const workspace = resolveWorkspace(ctx);
  const settings = readSettings(workspace);
  const registered = opts.template !== undefined ? await templateIds(workspace) : [];
  return withStore(ctx, async (store) => {
    if (opts.clinic !== undefined && !getClinic(store, opts.clinic)) throw new NotFoundError(`No clinic "${opts.clinic}"; "txplan clinic list --all" shows them`);
    if (opts.template !== undefined && !registered.includes(opts.template) && !planTemplateExists(store, opts.template)) {
      throw new NotFoundError(`No template "${opts.template}", and no plan was made from one of that id; "txplan template list --all" shows the ids`);
    }
    const today = todayIn(clinicZone(store, opts.clinic ?? null, settings.timezone), ctx.now());
    const period = {
      // The last twelve calendar months, this one included.
      from: from ?? (to ? formatDate(addMonths({ ...parseDate(to)!, day: 1 }, -11)) : formatDate(addMonths({ ...today, day: 1 }, -11))),
      to: to ?? formatDate(today),
    };
    if (period.from > period.to) throw new UsageError(`--from ${period.from} is after the period's end ${period.to}; give --to as well, or an earlier --from`);
    const report = practiceReport(store, { ...period, clinicId: opts.clinic ?? null, templateId: opts.template ?? null }, today);
    const scope = { clinic: opts.clinic ?? null, template: opts.template ?? null };
    if (opts.pdf !== undefined || opts.html !== undefined) {
      const written = await (await import('./files.js')).writeReportFiles(ctx, report, scope, opts, settings.paper ?? 'letter');
      if (ctx.options.json) ctx.json({ ...scope, ...report, files: written });
      else for (const w of written) ctx.out(`${ctx.color.green('✔')} Wrote the report ${report.from} to ${report.to} (${w.format === 'pdf' ? `PDF, ${w.pages} page${w.pages === 1 ? '' : 's'}` : 'web page'}) to ${w.file}`);
      return 0;
    }
    if (ctx.options.json) {
      ctx.json({ clinic: opts.clinic ?? null, template: opts.template ?? null, ...report });
      return 0;
    }
    printReport(ctx, report);
    return 0;
  });
}

/**
 * On a terminal (with colour allowed and without --raw): titled, aligned tables
 * with bars and sparklines. Otherwise tab-separated lines without any block
 * character, each starting with the name of the table it belongs to
 * (template, clinic, money-template, money-clinic, month, reason).
 */
function printReport(ctx: Context, report: Report): void {
  const charts = ctx.tty && !ctx.options.raw && !ctx.env.noColor && ctx.options.color !== false;
  const { color } = ctx;
  const write = (section: string, title: string, headers: string[], rows: string[][]) => {
    if (charts) {
      ctx.out(`\n${color.bold(title)}`);
      ctx.streams.stdout.write(rows.length ? renderTable(headers, rows, { tty: true, heading: (t) => color.dim(t) }) : `${color.dim('(none)')}\n`);
    } else {
      ctx.streams.stdout.write(renderTable([section, ...headers], rows.map((row) => [section, ...row]), { tty: false, raw: ctx.options.raw }));
    }
  };
  const percent = (value: number | null) => (value === null ? (charts ? '–' : '') : `${(value * 100).toFixed(1)}%`);
  const completion = (f: Figures) => (charts ? `${bar(f.plans.completion_rate ?? 0, 1, 10)} ${percent(f.plans.completion_rate)}`.trim() : percent(f.plans.completion_rate));
  const counts = (f: Figures) => [
    String(f.plans.started), String(f.plans.active), String(f.plans.completed), String(f.plans.cancelled), completion(f),
    String(f.visits.on_time), String(f.visits.late), String(f.visits.skipped), String(f.visits.pending), String(f.visits.outcomes),
    String(f.payments.charges), `${f.payments.declined}${charts ? ` (${percent(f.payments.failed_rate)})` : ''}`, `${f.payments.recovered}${charts ? ` (${percent(f.payments.recovery_rate)})` : ''}`,
  ];
  const countHeaders = ['STARTED', 'ACTIVE', 'COMPLETED', 'CANCELLED', 'COMPLETION', 'ON TIME', 'LATE', 'SKIPPED', 'PENDING', 'OUTCOMES', 'CHARGES', 'DECLINED', 'RECOVERED'];
  const money = (f: Figures, id: string) =>
    Object.entries(f.money).map(([c, m]) => [id, c, formatMoney(m.collected_minor, c), formatMoney(m.refunded_minor, c), formatMoney(m.net_minor, c), formatMoney(m.outstanding_minor, c), formatMoney(m.forecast_minor, c)]);
  const moneyHeaders = ['CURRENCY', 'COLLECTED', 'REFUNDED', 'NET', 'OUTSTANDING', 'FORECAST'];
  const total = charts ? color.bold('all') : 'all';
  const clinicName = (id: string | null) => id ?? (charts ? '(no clinic)' : '');

  if (charts) ctx.out(color.bold(`Practice report ${report.from} to ${report.to}`) + color.dim(` (today ${report.today})`));
  write('template', 'Plans, visits and payments by template', ['TEMPLATE', ...countHeaders], [...report.templates.map((t) => [t.template_id, ...counts(t)]), ...(report.templates.length > 1 ? [[total, ...counts(report.totals)]] : [])]);
  write('clinic', 'By clinic', ['CLINIC', ...countHeaders], report.clinics.map((c) => [clinicName(c.clinic_id), ...counts(c)]));
  write('money-template', 'Revenue by template', ['TEMPLATE', ...moneyHeaders], [...report.templates.flatMap((t) => money(t, t.template_id)), ...(report.templates.length > 1 ? money(report.totals, total) : [])]);
  write('money-clinic', 'Revenue by clinic', ['CLINIC', ...moneyHeaders], report.clinics.flatMap((c) => money(c, clinicName(c.clinic_id))));
  const peak = new Map(report.currencies.map((c) => [c, Math.max(0, ...report.months.map((m) => Math.max(m.money[c]!.collected_minor, m.money[c]!.forecast_minor)))]));
  write(
    'month',
    'Revenue by month (collected, then forecast)',
    ['MONTH', 'CURRENCY', 'COLLECTED', 'REFUNDED', 'FORECAST', ...(charts ? [''] : [])],
    report.months.flatMap((m) =>
      report.currencies.map((c) => {
        const v = m.money[c]!;
        const chart = charts ? [`${color.green(bar(v.collected_minor, peak.get(c)!, 20))}${color.dim(bar(v.forecast_minor, peak.get(c)!, 20, true))}`] : [];
        return [m.month, c, formatMoney(v.collected_minor, c), formatMoney(v.refunded_minor, c), formatMoney(v.forecast_minor, c), ...chart];
      }),
    ),
  );
  if (charts) {
    for (const c of report.currencies) {
      const collected = report.months.map((m) => m.money[c]!.collected_minor);
      const expected = report.months.map((m) => m.money[c]!.collected_minor + m.money[c]!.forecast_minor);
      ctx.out(`${c} collected ${sparkly(collected, { minimum: 0 })}  with forecast ${sparkly(expected, { minimum: 0 })}  ${report.months[0]?.month ?? ''} to ${report.months.at(-1)?.month ?? ''}`);
    }
  }
  write('reason', 'Cancellation reasons', ['TEMPLATE', 'REASON', 'PLANS'], report.templates.flatMap((t) => t.plans.cancellation_reasons.map((r) => [t.template_id, r.reason, String(r.plans)])));
}

const EIGHTHS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];

/** A horizontal bar `width` columns wide at most, in eighths of a column; `hollow` draws it with light shade. */
function bar(value: number, max: number, width: number, hollow = false): string {
  if (max <= 0 || value <= 0) return '';
  const eighths = Math.max(1, Math.round((Math.min(value, max) / max) * width * 8));
  if (hollow) return '░'.repeat(Math.ceil(eighths / 8));
  return '█'.repeat(Math.floor(eighths / 8)) + EIGHTHS[eighths % 8]!;
}
