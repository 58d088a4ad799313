import { formatDate, parseDate, type PlainDate } from '../domain/dates.js';
import { computeReport, monthsOf, type Report, type ReportForecastRow } from '../domain/report.js';
import { forecast } from '../billing/forecast.js';
import { reportChargeRows, reportDeclinedStartRows, reportPlanRows, reportRefundRows, reportVisitRows, type ReportFilter } from '../store/report.js';
import type { Store } from '../store/store.js';

/**
 * The practice report over a period, as of `today`: the store's grouped rows
 * and the billing forecast's amounts (grouped by template, clinic, currency
 * and month) handed to computeReport. Read in one consistent snapshot.
 */
export function practiceReport(store: Store, filter: ReportFilter, today: PlainDate): Report {
  return store.engine.readSnapshot(() => {
    const rows = {
      plans: reportPlanRows(store, filter),
      visits: reportVisitRows(store, filter),
      charges: reportChargeRows(store, filter),
      refunds: reportRefundRows(store, filter),
      forecast: forecastRows(store, filter, today),
      declined_starts: reportDeclinedStartRows(store, filter),
    };
    return computeReport(rows, filter, formatDate(today));
  });
}

/** What `billing forecast` expects in the period's months from today's on, of the plans the filter keeps. */
function forecastRows(store: Store, filter: ReportFilter, today: PlainDate): ReportForecastRow[] {
  const first = formatDate(today).slice(0, 7);
  const months = monthsOf({ from: `${first}-01`, to: filter.to }).length;
  if (months === 0 || !parseDate(filter.to)) return [];
  const grouped = new Map<string, ReportForecastRow>();
  forecast(store, today, months, ({ plan, month, amount_minor }) => {
    if ((filter.clinicId !== null && plan.clinic_id !== filter.clinicId) || (filter.templateId !== null && plan.template_id !== filter.templateId)) return;
    const key = JSON.stringify([plan.template_id, plan.clinic_id, plan.currency, month]);
    const row = grouped.get(key);
    if (row) row.amount_minor += amount_minor;
    else grouped.set(key, { template_id: plan.template_id, clinic_id: plan.clinic_id, currency: plan.currency, month, amount_minor });
  });
  return [...grouped.values()];
}
