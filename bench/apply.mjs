#!/usr/bin/env node
// Benchmarks for patient records and plans.
//
// 1. Bulk apply: `txplan plan apply <template> --patients-file F` for 10,000
//    patients, against a floor measured in the same run: bench/floor-apply.mjs,
//    a bare better-sqlite3 script inserting the same rows (plans, steps,
//    audit entries) with the same pragmas in one transaction.
// 2. Lookups at scale: with 1,000,000 plans in the database, `txplan plan list
//    --patient P` and `txplan patient show P` against `txplan --version`
//    (target: at most 2x), with the query plans SQLite chooses.
//
//   node bench/apply.mjs [--patients N] [--plans N] [--rounds N] [--json]
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { arg, bin, compare, report, root, time } from './lib.mjs';

const patients = arg('--patients', 10_000);
const totalPlans = arg('--plans', 1_000_000);
const rounds = arg('--rounds', 3);
const work = join(root, 'bench', '.work', 'apply');
const TEMPLATE = 'post-procedure-recovery';
const txplan = (...args) => time(process.execPath, [bin, '--workspace', work, ...args]);

rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
txplan('init', work);
txplan('clinic', 'add', 'downtown', '--name', 'Downtown', '--timezone', 'America/New_York');

// Patients through the real import, then a pristine copy of the database for every round.
const csv = ['first_name,last_name,mrn,dob'];
for (let i = 0; i < patients; i++) csv.push(`Patient${i},Bench${i % 997},B-${String(i).padStart(7, '0')},1980-01-${String((i % 28) + 1).padStart(2, '0')}`);
writeFileSync(join(work, 'patients.csv'), `${csv.join('\n')}\n`);
txplan('patient', 'import', join(work, 'patients.csv'));
const db = join(work, '.txplan', 'txplan.db');
new Database(db).pragma('wal_checkpoint(TRUNCATE)');
const pristine = join(work, 'pristine.db');
copyFileSync(db, pristine);
const list = join(work, 'cohort.txt');
writeFileSync(list, csv.slice(1).map((line) => line.split(',')[2]).join('\n') + '\n');

const fresh = (path) => {
  for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
  copyFileSync(pristine, path);
};
const floorDb = join(work, 'floor.db');
const results = [
  compare(
    `plan apply --patients-file, ${patients} patients`,
    () => {
      fresh(db);
      return txplan('plan', 'apply', TEMPLATE, '--patients-file', list, '--mode', 'prescribe').ms;
    },
    () => {
      fresh(floorDb);
      return time(process.execPath, [join(root, 'bench', 'floor-apply.mjs'), floorDb, join(work, 'templates', `${TEMPLATE}.yaml`), list]).ms;
    },
    rounds,
    3,
  ),
];
const applied = new Database(db, { readonly: true });
const counts = applied.prepare('SELECT (SELECT count(*) FROM plans) AS plans, (SELECT count(*) FROM steps) AS steps, (SELECT count(*) FROM audit) AS audit').get();
applied.close();
const floorCounts = new Database(floorDb, { readonly: true }).prepare('SELECT (SELECT count(*) FROM plans) AS plans, (SELECT count(*) FROM steps) AS steps, (SELECT count(*) FROM audit) AS audit').get();
console.log(`rows written — txplan: ${JSON.stringify(counts)}; floor: ${JSON.stringify(floorCounts)}`);

// Fill the database to a million plans, spread over the patients, with a bare script
// (filler plans carry a small snapshot: lookups read the indexed columns, not snapshots).
const big = new Database(db);
big.pragma('journal_mode = WAL');
big.pragma('synchronous = OFF');
const have = big.prepare('SELECT count(*) AS n FROM plans').get().n;
const patientIds = big.prepare('SELECT id FROM patients').pluck().all();
const insert = big.prepare(`INSERT INTO plans (patient_id, clinic_id, template_id, template_version, template_hash, name, type, status, snapshot, currency, start_date, end_date, created_at, updated_at)
  VALUES (?, 'downtown', ?, 1, 'x', 'Filler plan', 'pay-as-you-go', ?, '{"id":"filler"}', 'USD', '2026-01-05', '2026-05-05', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')`);
const statuses = ['active', 'prescribed', 'completed', 'cancelled', 'paused'];
for (let done = have; done < totalPlans; ) {
  big.transaction(() => {
    for (let i = 0; i < 50_000 && done < totalPlans; i++, done++) insert.run(patientIds[done % patientIds.length], `template-${done % 40}`, statuses[done % statuses.length]);
  })();
}
// The query plans of the statements the commands really run, captured from the store.
const { Store } = await import(join(root, 'dist', 'store', 'store.js'));
const { listPlans } = await import(join(root, 'dist', 'store', 'plans.js'));
const { getPatientByMrn } = await import(join(root, 'dist', 'store', 'patients.js'));
const store = new Store(big);
const captured = [];
const prepare = store.statement.bind(store);
store.statement = (sql) => (captured.push(sql), prepare(sql));
// A patient from the middle of the imported list, whatever its size.
const someone = `B-${String(Math.floor(patients / 2)).padStart(7, '0')}`;
const patient = getPatientByMrn(store, someone);
listPlans(store, { patientId: patient.id });
console.log(`database: ${big.prepare('SELECT count(*) AS n FROM plans').get().n} plans, ${patientIds.length} patients`);
for (const sql of captured) {
  const plan = big.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(sql.includes('@') ? { patientId: patient.id, limit: -1 } : [someone]).map((r) => r.detail);
  console.log(`query plan: ${sql.replace(/\s+/g, ' ').slice(0, 90)}…\n  ${plan.join('\n  ')}`);
}
big.pragma('wal_checkpoint(TRUNCATE)');
big.close();

results.push(
  compare(`plan list --patient P (${totalPlans} plans)`, () => txplan('plan', 'list', '--patient', someone).ms, () => time(process.execPath, [bin, '--version']).ms, Math.max(rounds, 11), 2),
  compare(`patient show P (${totalPlans} plans)`, () => txplan('patient', 'show', someone).ms, () => time(process.execPath, [bin, '--version']).ms, Math.max(rounds, 11), 2),
);
report(results);
