import type { Store } from './store.js';
import type { ReportChargeRow, ReportPeriod, ReportPlanRow, ReportRefundRow, ReportVisitRow } from '../domain/report.js';

/**
 * The rows the practice report is computed from (src/domain/report.ts), read
 * grouped in SQL at the finest grain its figures need — a day, never a single
 * charge — so a million charges come back as a few thousand rows. The same
 * SQL runs on both engines. Only rows in the period (by the date the report
 * puts each in it) and of the clinic and template asked for are read.
 */
export interface ReportFilter extends ReportPeriod {
  clinicId: string | null;
  templateId: string | null;
}

const PLAN_FILTER = '(@clinicId IS NULL OR p.clinic_id = @clinicId) AND (@templateId IS NULL OR p.template_id = @templateId)';

/** Only what each statement names is bound. */
const bound = (filter: ReportFilter): ReportFilter => ({ from: filter.from, to: filter.to, clinicId: filter.clinicId, templateId: filter.templateId });

export function reportPlanRows(store: Store, filter: ReportFilter): ReportPlanRow[] {
  return store
    .statement<[ReportFilter], ReportPlanRow>(
      `SELECT p.template_id, p.clinic_id, p.start_date, p.status, p.cancel_reason, COUNT(*) AS plans
       FROM plans p
       WHERE p.start_date BETWEEN @from AND @to AND ${PLAN_FILTER}
       GROUP BY 1, 2, 3, 4, 5`,
    )
    .all(bound(filter));
}

export function reportVisitRows(store: Store, filter: ReportFilter): ReportVisitRow[] {
  return store
    .statement<[ReportFilter], ReportVisitRow>(
      `SELECT p.template_id, p.clinic_id, CASE WHEN p.status = 'cancelled' THEN 1 ELSE 0 END AS plan_cancelled,
              s.recommended_date, s.status, s.completed_on,
              CASE WHEN s.status = 'done' AND s.outcome IS NOT NULL AND TRIM(s.outcome) <> '' THEN 1 ELSE 0 END AS with_outcome,
              COUNT(*) AS visits
       FROM steps s JOIN plans p ON p.id = s.plan_id
       WHERE s.recommended_date BETWEEN @from AND @to AND ${PLAN_FILTER}
       GROUP BY 1, 2, 3, 4, 5, 6, 7`,
    )
    .all(bound(filter));
}

export function reportChargeRows(store: Store, filter: ReportFilter): ReportChargeRow[] {
  return store
    .statement<[ReportFilter], ReportChargeRow>(
      `SELECT p.template_id, p.clinic_id, c.currency, c.due_date, c.status, CASE WHEN c.attempts > 1 THEN 1 ELSE 0 END AS retried,
              COUNT(*) AS charges, SUM(c.amount_minor) AS amount_minor
       FROM charges c JOIN plans p ON p.id = c.plan_id
       WHERE c.due_date BETWEEN @from AND @to AND ${PLAN_FILTER}
       GROUP BY 1, 2, 3, 4, 5, 6`,
    )
    .all(bound(filter));
}

/** Refunds that went through, by the UTC day they were made (created_at is an ISO instant). */
export function reportRefundRows(store: Store, filter: ReportFilter): ReportRefundRow[] {
  return store
    .statement<[{ clinicId: string | null; templateId: string | null; fromInstant: string; toInstant: string }], ReportRefundRow>(
      `SELECT p.template_id, p.clinic_id, r.currency, SUBSTR(r.created_at, 1, 10) AS date, SUM(r.amount_minor) AS amount_minor
       FROM refunds r JOIN charges c ON c.id = r.charge_id JOIN plans p ON p.id = c.plan_id
       WHERE r.status = 'succeeded' AND r.created_at >= @fromInstant AND r.created_at < @toInstant AND ${PLAN_FILTER}
       GROUP BY 1, 2, 3, 4`,
    )
    // "~" sorts after every character of an ISO instant (both engines compare these columns byte by byte).
    .all({ clinicId: filter.clinicId, templateId: filter.templateId, fromInstant: filter.from, toInstant: `${filter.to}~` });
}

/** Template ids any plan was made from (a template may since have left the registry). */
export function planTemplateExists(store: Store, templateId: string): boolean {
  return store.statement<[string], { one: number }>('SELECT 1 AS one FROM plans WHERE template_id = ? LIMIT 1').get(templateId) !== undefined;
}
