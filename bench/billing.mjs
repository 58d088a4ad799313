#!/usr/bin/env node
// Benchmark: `txplan billing run` over 100,000 active monthly plans with an
// installment due, against a floor measured in the same run
// (bench/floor-billing.mjs: a bare better-sqlite3 script doing the charging
// protocol's own writes — each charge inserted pending, recorded by a
// processor in its own SQLite file, then settled: three commits per 1,000
// charges, with txplan's and the sandbox's pragmas). Target: at most 2.5x.
// Also the run's peak memory (target under 300 MB: the batch streams).
// Time moves with TXPLAN_NOW, as in the tests: the set-up starts the pattern
// plan on 2026-11-02 and the run bills 2026-12-01, both on the simulated clock.
//
//   node bench/billing.mjs [--plans N] [--rounds N] [--json]
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { arg, bin, compare, report, root, time } from './lib.mjs';

const plans = arg('--plans', 100_000);
const rounds = arg('--rounds', 3);
const work = join(root, 'bench', '.work', 'billing');
const START_DATE = '2026-11-02';
const RUN_DATE = '2026-12-01';
const at = (day) => ({ env: { ...process.env, TXPLAN_NOW: day } });

rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
time(process.execPath, [bin, 'init', work]);
const txplan = (...args) => time(process.execPath, [bin, '--workspace', work, '--yes', ...args], at(START_DATE));
txplan('clinic', 'add', 'downtown', '--name', 'Downtown', '--timezone', 'America/New_York');
txplan('patient', 'add', '--first', 'Template', '--last', 'Patient', '--mrn', 'T-1');
// One real plan through the CLI: its rows are the pattern for the rest.
txplan('plan', 'apply', 'T-1', 'comprehensive-acne-resolution', '--mode', 'start', '--clinic', 'downtown', '--start', START_DATE, '--payment-method', 'pm_card_visa');

const dbPath = join(work, '.txplan', 'txplan.db');
const db = new Database(dbPath);
db.pragma('synchronous = OFF');
const plan = db.prepare('SELECT * FROM plans WHERE id = 1').get();
const steps = db.prepare('SELECT * FROM steps WHERE plan_id = 1').all();
const insertPatient = db.prepare("INSERT INTO patients (mrn, first_name, last_name, created_at, updated_at) VALUES (?, 'Bench', 'Patient', 'x', 'x')");
const insertMethod = db.prepare("INSERT INTO payment_methods (patient_id, token, brand, last4, exp_month, exp_year, created_at) VALUES (?, 'pm_card_visa', 'visa', '4242', 12, 2034, 'x')");
const columns = Object.keys(plan).filter((c) => c !== 'id');
const insertPlan = db.prepare(`INSERT INTO plans (${columns.join(', ')}) VALUES (${columns.map((c) => `@${c}`).join(', ')})`);
const stepColumns = Object.keys(steps[0]).filter((c) => c !== 'id' && c !== 'plan_id');
const insertStep = db.prepare(`INSERT INTO steps (plan_id, ${stepColumns.join(', ')}) VALUES (@plan_id, ${stepColumns.map((c) => `@${c}`).join(', ')})`);
const insertPrice = db.prepare('INSERT INTO plan_prices (plan_id, from_installment, monthly_fee_minor) VALUES (?, 1, 24900)');
const insertPaid = db.prepare(`INSERT INTO charges (plan_id, kind, installment, idempotency_key, due_date, amount_minor, currency, status, attempts, retries_allowed, gateway, payment_token, created_at, updated_at)
  VALUES (?, 'installment', 1, ?, '2026-11-02', 24900, 'USD', 'succeeded', 1, 3, 'sandbox', 'pm_card_visa', 'x', 'x')`);
for (let done = 1; done < plans; ) {
  db.transaction(() => {
    for (let i = 0; i < 10_000 && done < plans; i++, done++) {
      const patient = insertPatient.run(`B-${done}`).lastInsertRowid;
      const method = insertMethod.run(patient).lastInsertRowid;
      const id = insertPlan.run({ ...plan, patient_id: patient, payment_method_id: method }).lastInsertRowid;
      for (const step of steps) insertStep.run({ ...step, plan_id: id });
      insertPrice.run(id);
      insertPaid.run(id, `plan-${id}-installment-1`);
    }
  })();
}
db.pragma('wal_checkpoint(TRUNCATE)');
db.close();
const pristine = join(work, 'pristine.db');
copyFileSync(dbPath, pristine);
console.log(`${plans} active monthly plans, installment 2 due on ${RUN_DATE}`);

const fresh = (path) => {
  for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
  copyFileSync(pristine, path);
};
const ledger = join(work, '.txplan', 'sandbox-gateway.db');
const floorLedger = join(work, 'floor-ledger.db');
// Each round starts from the pristine copy as if nothing had been charged: the
// processor's ledger and the ids it has seen (the high-water mark) go too, or
// txplan would rightly hold billing for a database put back behind them.
const forgetProcessor = () => {
  for (const suffix of ['', '-wal', '-shm']) rmSync(ledger + suffix, { force: true }), rmSync(floorLedger + suffix, { force: true });
  rmSync(join(work, '.txplan', 'high-water.json'), { force: true });
};
const floorDb = join(work, 'floor.db');
let peakKb = 0;
let summary = '';
const results = [
  compare(
    `billing run, ${plans} installments due`,
    () => {
      fresh(dbPath);
      forgetProcessor();
      // GNU time reports the peak resident set of the run.
      const run = time('/usr/bin/time', ['-f', '%M', process.execPath, bin, '--workspace', work, 'billing', 'run'], at(RUN_DATE));
      summary = run.stdout.trim();
      return run.ms;
    },
    () => {
      fresh(floorDb);
      forgetProcessor();
      return time(process.execPath, [join(root, 'bench', 'floor-billing.mjs'), floorDb, floorLedger, RUN_DATE]).ms;
    },
    rounds,
    2.5,
  ),
];
// Peak memory of one more run, read from GNU time's stderr.
fresh(dbPath);
forgetProcessor();
const { spawnSync } = await import('node:child_process');
const measured = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, bin, '--workspace', work, 'billing', 'run'], { encoding: 'utf8', ...at(RUN_DATE) });
peakKb = Number(measured.stderr.trim().split('\n').pop());
console.log(`txplan: ${summary}`);
const check = new Database(dbPath, { readonly: true });
const counts = check.prepare("SELECT count(*) AS charges, sum(status = 'succeeded') AS succeeded FROM charges WHERE installment = 2").get();
check.close();
console.log(`installment-2 charges written: ${counts.charges}, succeeded: ${counts.succeeded}`);
console.log(`peak memory of billing run: ${Math.round(peakKb / 1024)} MB (target < 300 MB)`);
report(results);
