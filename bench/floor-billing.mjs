#!/usr/bin/env node
// The floor for bench/billing.mjs: what billing 100,000 due installments must
// at least cost — read the due plans and write one charge row each, settled,
// with txplan's pragmas, in transactions of 1,000 rows. No processor, no rules.
import Database from 'better-sqlite3';

const [dbPath, runDate] = process.argv.slice(2);
const db = new Database(dbPath);
db.pragma('busy_timeout = 5000');
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL');
db.pragma('foreign_keys = ON');
const now = new Date().toISOString();
const page = db.prepare("SELECT p.id, m.token FROM plans p JOIN payment_methods m ON m.id = p.payment_method_id WHERE p.status = 'active' AND p.id > ? ORDER BY p.id LIMIT 1000");
const insert = db.prepare(`INSERT INTO charges (plan_id, kind, installment, idempotency_key, due_date, amount_minor, currency, status, attempts, retries_allowed, gateway, gateway_charge_id, payment_token, created_at, updated_at)
  VALUES (?, 'installment', 2, ?, ?, 24900, 'USD', 'succeeded', 1, 3, 'sandbox', ?, ?, ?, ?)`);
for (let after = 0; ; ) {
  const rows = page.all(after);
  if (rows.length === 0) break;
  after = rows[rows.length - 1].id;
  db.transaction(() => {
    for (const row of rows) insert.run(row.id, `plan-${row.id}-installment-2`, runDate, `ch_${row.id}`, row.token, now, now);
  })();
}
db.close();
