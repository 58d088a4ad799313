#!/usr/bin/env node
// Benchmark: `txplan report --json` over 100,000 plans and 1,000,000 charges
// in a SQLite workspace, against a floor measured in the same run
// (bench/floor-report.mjs: a bare better-sqlite3 script computing the same
// aggregates — plans by status and reason, visits by timing, charges and
// refunds by currency and month, and the installments active plans still
// owe — with plain GROUP BY queries). Target: at most 3x.
//
// The workspace: one glow-membership plan started through the CLI (on the
// simulated clock, TXPLAN_NOW) is the pattern; the rest are written from it in
// SQL: plans started over a year at three clinics, one in seven in NOK, with
// a mix of statuses and cancellation reasons; four visits each (done on time,
// late, skipped or pending); ten monthly charges each (some declined, some
// recovered by a retry); a refund of one plan in fifty.
//
//   node bench/report.mjs [--plans N] [--rounds N] [--json]
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { arg, bin, compare, report, root, time } from './lib.mjs';

const plans = arg('--plans', 100_000);
const rounds = arg('--rounds', 3);
const work = join(root, 'bench', '.work', 'report');
const PATTERN_START = '2025-01-15';
const TODAY = '2026-03-20';
const env = (now) => ({ env: { ...process.env, TXPLAN_NOW: now } });

rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
const started = Date.now();
time(process.execPath, [bin, 'init', work]);
const txplan = (...args) => time(process.execPath, [bin, '--workspace', work, '--yes', ...args], env(PATTERN_START));
txplan('clinic', 'add', 'downtown', '--name', 'Downtown', '--timezone', 'UTC');
txplan('clinic', 'add', 'uptown', '--name', 'Uptown', '--timezone', 'UTC');
txplan('clinic', 'add', 'oslo', '--name', 'Oslo', '--timezone', 'UTC', '--currency', 'NOK');
txplan('patient', 'add', '--first', 'Template', '--last', 'Patient', '--mrn', 'T-1');
txplan('plan', 'apply', 'T-1', 'glow-membership', '--mode', 'start', '--clinic', 'downtown', '--start', PATTERN_START, '--payment-method', 'pm_card_visa');

const dbPath = join(work, '.txplan', 'txplan.db');
const db = new Database(dbPath);
db.pragma('synchronous = OFF');
db.pragma('foreign_keys = OFF');
const planColumns = Object.keys(db.prepare('SELECT * FROM plans WHERE id = 1').get()).filter((c) => c !== 'id');
// Each new plan n (2 … N) from the pattern: its start day spread over a year, its clinic, currency, template and status by n.
const overrides = {
  patient_id: 'k.n',
  clinic_id: "CASE WHEN k.n % 7 = 0 THEN 'oslo' WHEN k.n % 2 = 0 THEN 'uptown' ELSE 'downtown' END",
  currency: "CASE WHEN k.n % 7 = 0 THEN 'NOK' ELSE 'USD' END",
  template_id: "CASE k.n % 3 WHEN 0 THEN 'glow-membership' WHEN 1 THEN 'anti-aging-maintenance' ELSE 'injectables-maintenance' END",
  start_date: "date('2024-06-01', '+' || (k.n % 400) || ' days')",
  status: "CASE k.n % 10 WHEN 0 THEN 'cancelled' WHEN 1 THEN 'cancelled' WHEN 2 THEN 'completed' WHEN 3 THEN 'paused' ELSE 'active' END",
  cancelled_on: "CASE WHEN k.n % 10 < 2 THEN date('2024-06-01', '+' || (k.n % 400 + 60) || ' days') END",
  cancel_reason: "CASE WHEN k.n % 10 < 2 THEN CASE k.n % 3 WHEN 0 THEN 'Moved away' WHEN 1 THEN 'Price' ELSE 'moved away ' END END",
  dues_waived: "CASE WHEN k.n % 10 < 2 THEN 1 ELSE 0 END",
};
const numbers = (max) => `WITH RECURSIVE k(n) AS (SELECT 2 UNION ALL SELECT n + 1 FROM k WHERE n < ${max})`;
db.transaction(() => {
  db.exec(`${numbers(plans)} INSERT INTO patients (id, mrn, first_name, last_name, created_at, updated_at) SELECT n, 'B-' || n, 'Bench', 'Patient', 'x', 'x' FROM k`);
  db.exec(`${numbers(plans)} INSERT INTO plans (id, ${planColumns.join(', ')}) SELECT k.n, ${planColumns.map((c) => overrides[c] ?? `p.${c}`).join(', ')} FROM k, plans p WHERE p.id = 1`);
  db.exec(`INSERT INTO plan_prices (plan_id, from_installment, monthly_fee_minor) SELECT id, 1, CASE currency WHEN 'NOK' THEN 169000 ELSE 16900 END FROM plans WHERE id > 1`);
  // Four visits a plan, a month apart: done within the week (on time, with an outcome), done late, skipped, or pending.
  db.exec(`DELETE FROM steps WHERE plan_id = 1 AND n > 4`);
  db.exec(`WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 4)
    INSERT INTO steps (plan_id, n, when_unit, when_value, services, recommended_date, status, completed_on, outcome)
    SELECT p.id, s.n, 'month', s.n, '["hydrafacial"]', date(p.start_date, '+' || (s.n - 1) || ' months'),
      CASE (p.id + s.n) % 4 WHEN 0 THEN 'done' WHEN 1 THEN 'done' WHEN 2 THEN 'skipped' ELSE 'pending' END,
      CASE (p.id + s.n) % 4 WHEN 0 THEN date(p.start_date, '+' || (s.n - 1) || ' months', '+3 days') WHEN 1 THEN date(p.start_date, '+' || (s.n - 1) || ' months', '+12 days')
        WHEN 2 THEN date(p.start_date, '+' || (s.n - 1) || ' months') END,
      CASE WHEN (p.id + s.n) % 4 = 0 THEN 'Clearer skin' END
    FROM plans p, s WHERE p.id > 1`);
  // Ten installments a plan: installment 3 of one plan in twenty declined, of another recovered by a retry.
  db.exec(`WITH RECURSIVE i(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM i WHERE n < 10)
    INSERT INTO charges (plan_id, kind, installment, idempotency_key, due_date, amount_minor, currency, status, attempts, retries_allowed, gateway, payment_token, created_at, updated_at)
    SELECT p.id, 'installment', i.n, 'bench-' || p.id || '-' || i.n,
      CASE WHEN i.n = 1 THEN p.start_date ELSE date(p.start_date, 'start of month', '+' || (i.n - 1) || ' months') END,
      CASE p.currency WHEN 'NOK' THEN 169000 ELSE 16900 END, p.currency,
      CASE WHEN i.n = 3 AND p.id % 20 = 0 THEN 'failed' ELSE 'succeeded' END,
      CASE WHEN i.n = 3 AND p.id % 20 = 1 THEN 2 ELSE 1 END, 3, 'sandbox', 'pm_card_visa', 'x', 'x'
    FROM plans p, i WHERE p.id > 1`);
  db.exec(`INSERT INTO refunds (charge_id, seq, idempotency_key, amount_minor, currency, reason, actor, status, gateway, created_at, updated_at)
    SELECT c.id, 1, c.idempotency_key || '-refund-1', 5000, c.currency, 'Goodwill', 'bench', 'succeeded', 'sandbox', c.due_date || 'T12:00:00.000Z', 'x'
    FROM charges c WHERE c.installment = 2 AND c.plan_id % 50 = 0`);
})();
db.exec('ANALYZE');
db.pragma('wal_checkpoint(TRUNCATE)');
const counts = db.prepare('SELECT (SELECT count(*) FROM plans) AS plans, (SELECT count(*) FROM charges) AS charges, (SELECT count(*) FROM steps) AS steps, (SELECT count(*) FROM refunds) AS refunds').get();
db.close();
console.log(`${counts.plans} plans, ${counts.charges} charges, ${counts.steps} visits, ${counts.refunds} refunds (made in ${Math.round((Date.now() - started) / 1000)} s)`);

let figures;
const results = [
  compare(
    `report --json, ${counts.plans} plans and ${counts.charges} charges`,
    () => {
      const run = time(process.execPath, [bin, '--workspace', work, 'report', '--json'], env(`${TODAY}T12:00:00Z`));
      figures = JSON.parse(run.stdout);
      return run.ms;
    },
    () => time(process.execPath, [join(root, 'bench', 'floor-report.mjs'), dbPath, '2025-04-01', TODAY]).ms,
    rounds,
    3,
  ),
];
const t = figures.totals;
console.log(`txplan: ${figures.from} to ${figures.to}: ${t.plans.started} plans started, ${t.visits.due} visits, ${t.payments.charges} charges (${t.payments.declined} declined, ${t.payments.recovered} recovered), currencies ${figures.currencies.join(', ')}`);
report(results);
