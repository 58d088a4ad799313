// Shared helpers for benchmarks: run a command several times, interleaved with
// its floor, and compare medians (shared machines are noisy: ratios, not seconds).
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';

/** The project root, and the built binary every benchmark runs. */
export const root = fileURLToPath(new URL('..', import.meta.url));
export const bin = join(root, 'bin', 'txplan');

/** A numeric command-line option: `--files 500`. */
export function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
}

export function time(command, args, options = {}) {
  const start = process.hrtime.bigint();
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, ...options });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.status !== (options.expectStatus ?? 0)) {
    throw new Error(`${command} ${args.join(' ')} exited ${result.status}: ${result.stderr?.slice(0, 2000)}`);
  }
  return { ms, stdout: result.stdout };
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Runs subject and floor alternately `rounds` times; returns both medians and the ratio. */
export function compare(name, subject, floor, rounds, target) {
  const subjectTimes = [];
  const floorTimes = [];
  for (let i = 0; i < rounds; i++) {
    floorTimes.push(floor());
    subjectTimes.push(subject());
  }
  const result = { name, rounds, subject_ms: round(median(subjectTimes)), floor_ms: round(median(floorTimes)) };
  result.ratio = Math.round((result.subject_ms / result.floor_ms) * 100) / 100;
  result.target = target;
  result.ok = result.ratio <= target;
  return result;
}

function round(ms) {
  return Math.round(ms * 10) / 10;
}

export function report(results) {
  for (const r of results) {
    console.log(`${r.ok ? 'ok  ' : 'SLOW'} ${r.name}: ${r.subject_ms} ms vs floor ${r.floor_ms} ms = ${r.ratio}x (target <= ${r.target}x, median of ${r.rounds})`);
  }
  if (process.argv.includes('--json')) console.log(JSON.stringify(results, null, 2));
}

/**
 * A fresh workspace at `work` with `plans` active monthly plans of the acne
 * program ($249.00 a month), started on `startDate` with installment 1 paid:
 * one plan through the CLI (on the simulated clock, TXPLAN_NOW), the rest
 * copied from its rows, 10,000 to a transaction. Returns the database's path.
 */
export function monthlyPlansWorkspace(work, plans, startDate) {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  time(process.execPath, [bin, 'init', work]);
  const txplan = (...args) => time(process.execPath, [bin, '--workspace', work, '--yes', ...args], { env: { ...process.env, TXPLAN_NOW: startDate } });
  txplan('clinic', 'add', 'downtown', '--name', 'Downtown', '--timezone', 'America/New_York');
  txplan('patient', 'add', '--first', 'Template', '--last', 'Patient', '--mrn', 'T-1');
  // One real plan through the CLI: its rows are the pattern for the rest.
  txplan('plan', 'apply', 'T-1', 'comprehensive-acne-resolution', '--mode', 'start', '--clinic', 'downtown', '--start', startDate, '--payment-method', 'pm_card_visa');

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
  return dbPath;
}
