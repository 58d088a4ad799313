#!/usr/bin/env node
// The floor for bench/report.mjs: the report's aggregates as bare GROUP BY
// queries over the same database (txplan's read pragmas), and nothing else —
// no rules, no forecast beyond the installments active plans still owe.
//
//   node bench/floor-report.mjs <txplan.db> <from> <to>
import Database from 'better-sqlite3';

const [dbPath, from, to] = process.argv.slice(2);
const db = new Database(dbPath, { readonly: true });
db.pragma('busy_timeout = 5000');
const params = { from, to };
const result = {
  plans: db.prepare(`SELECT template_id, clinic_id, status, lower(trim(cancel_reason)) AS reason, count(*) AS plans FROM plans WHERE start_date BETWEEN @from AND @to GROUP BY 1, 2, 3, 4`).all(params),
  visits: db
    .prepare(
      `SELECT p.template_id, p.clinic_id, s.status, CASE WHEN s.completed_on > date(s.recommended_date, '+7 days') THEN 'late' ELSE 'on_time' END AS timing,
         sum(s.outcome IS NOT NULL) AS outcomes, count(*) AS visits
       FROM steps s JOIN plans p ON p.id = s.plan_id WHERE s.recommended_date BETWEEN @from AND @to GROUP BY 1, 2, 3, 4`,
    )
    .all(params),
  charges: db
    .prepare(
      `SELECT p.template_id, p.clinic_id, c.currency, substr(c.due_date, 1, 7) AS month, c.status, c.attempts > 1 AS retried, count(*) AS charges, sum(c.amount_minor) AS amount_minor
       FROM charges c JOIN plans p ON p.id = c.plan_id WHERE c.due_date BETWEEN @from AND @to GROUP BY 1, 2, 3, 4, 5, 6`,
    )
    .all(params),
  refunds: db
    .prepare(
      `SELECT p.template_id, p.clinic_id, r.currency, substr(r.created_at, 1, 7) AS month, sum(r.amount_minor) AS amount_minor
       FROM refunds r JOIN charges c ON c.id = r.charge_id JOIN plans p ON p.id = c.plan_id
       WHERE r.status = 'succeeded' AND r.created_at >= @from AND r.created_at < @to || '~' GROUP BY 1, 2, 3, 4`,
    )
    .all(params),
  owed: db
    .prepare(
      `SELECT p.template_id, p.clinic_id, p.currency, sum((json_extract(p.snapshot, '$.duration.months') - (SELECT count(*) FROM charges c WHERE c.plan_id = p.id AND c.kind = 'installment')) * pp.monthly_fee_minor) AS owed_minor
       FROM plans p JOIN plan_prices pp ON pp.plan_id = p.id AND pp.from_installment = 1 WHERE p.status = 'active' GROUP BY 1, 2, 3`,
    )
    .all(),
};
process.stdout.write(JSON.stringify(result).slice(0, 0));
db.close();
