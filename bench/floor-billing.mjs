#!/usr/bin/env node
// The floor for bench/billing.mjs: the writes the charging protocol itself
// needs, and nothing else. For each page of 1,000 due plans: every charge
// inserted pending in txplan's database (txplan's pragmas: WAL, synchronous
// FULL) and committed; then recorded by a "processor" in its own SQLite file
// (the sandbox's pragmas: WAL, synchronous NORMAL) and committed; then settled
// in txplan's database and committed. Three commits per 1,000 charges, one
// prepared statement per row kind. No rules, no audit, no lock.
//
//   node bench/floor-billing.mjs <txplan.db> <ledger.db> <run date>
import Database from 'better-sqlite3';

const [dbPath, ledgerPath, runDate] = process.argv.slice(2);
const db = new Database(dbPath);
db.pragma('busy_timeout = 5000');
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL');
db.pragma('foreign_keys = ON');
const ledger = new Database(ledgerPath);
ledger.pragma('busy_timeout = 10000');
ledger.pragma('journal_mode = WAL');
ledger.pragma('synchronous = NORMAL');
ledger.exec(`CREATE TABLE IF NOT EXISTS charges (
  id TEXT PRIMARY KEY, idempotency_key TEXT NOT NULL UNIQUE, amount_minor INTEGER NOT NULL, currency TEXT NOT NULL, token TEXT NOT NULL,
  status TEXT NOT NULL, decline_code TEXT, decline_message TEXT, hard INTEGER NOT NULL, created_at TEXT NOT NULL) STRICT`);

const now = new Date().toISOString();
const page = db.prepare("SELECT p.id, m.token FROM plans p JOIN payment_methods m ON m.id = p.payment_method_id WHERE p.status = 'active' AND p.id > ? ORDER BY p.id LIMIT 1000");
const insertPending = db.prepare(`INSERT INTO charges (plan_id, kind, installment, idempotency_key, due_date, amount_minor, currency, status, attempts, retries_allowed, gateway, payment_token, created_at, updated_at)
  VALUES (?, 'installment', 2, ?, ?, 24900, 'USD', 'pending', 1, 3, 'sandbox', ?, ?, ?)`);
const record = ledger.prepare(`INSERT INTO charges (id, idempotency_key, amount_minor, currency, token, status, decline_code, decline_message, hard, created_at)
  VALUES (?, ?, 24900, 'USD', ?, 'succeeded', NULL, NULL, 0, ?) ON CONFLICT (idempotency_key) DO NOTHING`);
const settle = db.prepare("UPDATE charges SET status = 'succeeded', gateway_charge_id = ?, updated_at = ? WHERE id = ? AND status = 'pending'");

for (let after = 0; ; ) {
  const plans = page.all(after);
  if (plans.length === 0) break;
  after = plans[plans.length - 1].id;
  const charges = db.transaction(() =>
    plans.map((p) => {
      const key = `plan-${p.id}-installment-2`;
      return { id: Number(insertPending.run(p.id, key, runDate, p.token, now, now).lastInsertRowid), key, token: p.token };
    }),
  ).immediate();
  ledger.transaction(() => {
    for (const c of charges) record.run(`ch_${c.id}`, c.key, c.token, now);
  }).immediate();
  db.transaction(() => {
    for (const c of charges) settle.run(`ch_${c.id}`, now, c.id);
  }).immediate();
}
ledger.close();
db.close();
