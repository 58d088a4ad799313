#!/usr/bin/env node
// Benchmark: `txplan db copy` of a SQLite workspace holding the demo's data
// (`txplan demo`) plus 10,000 generated plans (copies of the demo's plan 1,
// each with its own patient, card, steps, prices and charges) into PostgreSQL
// and back into a new SQLite file, printing how long each copy takes. Then
// the three databases are compared as the clinic sees them: `billing charges
// --json` and `audit --json` in full (without the copies' own audit entries),
// and `plan show --json` for a sample of plans across the id range.
// Needs a PostgreSQL server on which the given role may create a database
// (one is made for the run and dropped at the end):
//
//   node bench/copy.mjs --server postgres://USER@HOST/postgres [--plans N] [--sample N]
//   (or TXPLAN_BENCH_POSTGRES_URL=postgres://… node bench/copy.mjs)
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { arg, bin, root, time } from './lib.mjs';
import { PostgresConnection } from '../dist/store/postgres/connection.js';

const plans = arg('--plans', 10_000);
const sample = arg('--sample', 20);
const i = process.argv.indexOf('--server');
const server = i === -1 ? process.env.TXPLAN_BENCH_POSTGRES_URL : process.argv[i + 1];
if (!server) {
  console.error('bench/copy.mjs needs a PostgreSQL server: --server postgres://USER@HOST/postgres (or TXPLAN_BENCH_POSTGRES_URL)');
  process.exit(2);
}
const work = join(root, 'bench', '.work', 'copy');

const name = `txplan_bench_copy_${randomBytes(4).toString('hex')}`;
const match = /^(postgres(?:ql)?:\/\/[^/?]*)(\/[^?]*)?(\?.*)?$/.exec(server);
if (!match) throw new Error(`Not a postgres:// URL: ${server}`);
const url = `${match[1]}/${name}${match[3] ?? ''}`;
const admin = (sql) => {
  const connection = PostgresConnection.connect({ url: server });
  try {
    connection.query(sql);
  } finally {
    connection.close();
  }
};

/** Plans in the database (the demo's and the generated ones). */
let planCount = 0;
const source = demoWorkspace(work, plans);
const back = join(work, 'back', 'txplan.db');
rmSync(join(work, 'back'), { recursive: true, force: true });
admin(`CREATE DATABASE ${name}`);
try {
  const txplan = (db, ...args) => time(process.execPath, [bin, '--workspace', work, ...args], { env: { ...process.env, TXPLAN_DB: db } });
  const there = txplan(source, 'db', 'copy', '--to', url);
  console.log(there.stdout.trimEnd());
  const home = txplan(url, 'db', 'copy', '--to', back);
  console.log(home.stdout.trimEnd());

  const seen = (db) => {
    const json = (...args) => JSON.parse(txplan(db, ...args, '--json').stdout);
    const ids = Array.from({ length: Math.min(sample, planCount) }, (_, k) => 1 + Math.floor((k * planCount) / Math.min(sample, planCount)));
    return {
      plans: ids.map((id) => json('plan', 'show', String(id))),
      charges: json('billing', 'charges'),
      audit: json('audit').filter((entry) => entry.action !== 'db.copy'),
    };
  };
  const start = process.hrtime.bigint();
  const [a, b, c] = [seen(source), seen(url), seen(back)];
  const compareMs = Number(process.hrtime.bigint() - start) / 1e6;
  const same = isDeepStrictEqual(a, b) && isDeepStrictEqual(a, c);
  console.log(`${plans} plans: SQLite → PostgreSQL ${Math.round(there.ms)} ms, PostgreSQL → SQLite ${Math.round(home.ms)} ms`);
  console.log(`${same ? 'same' : 'DIFFERENT'}: billing charges (${a.charges.length}), audit (${a.audit.length} entries) and ${a.plans.length} plans shown alike on all three databases (compared in ${Math.round(compareMs)} ms)`);
  if (!same) process.exitCode = 1;
} finally {
  admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
}

/**
 * `txplan demo` in `work`, then `extra` copies of its plan 1 with all their
 * rows (a new patient and card each; the charges' keys made unique), 10,000
 * to a transaction. Returns the database's path.
 */
function demoWorkspace(work, extra) {
  rmSync(work, { recursive: true, force: true });
  time(process.execPath, [bin, 'demo', '--dir', work]);
  const path = join(work, '.txplan', 'txplan.db');
  const db = new Database(path);
  db.pragma('synchronous = OFF');
  const insert = (table, row) => {
    const columns = Object.keys(row).filter((c) => c !== 'id');
    return db.prepare(`INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map((c) => `@${c}`).join(', ')})`).run(row).lastInsertRowid;
  };
  const plan = db.prepare('SELECT * FROM plans WHERE id = 1').get();
  const patient = db.prepare('SELECT * FROM patients WHERE id = ?').get(plan.patient_id);
  const method = db.prepare('SELECT * FROM payment_methods WHERE id = ?').get(plan.payment_method_id);
  const steps = db.prepare('SELECT * FROM steps WHERE plan_id = 1').all();
  const prices = db.prepare('SELECT * FROM plan_prices WHERE plan_id = 1').all();
  const charges = db.prepare('SELECT * FROM charges WHERE plan_id = 1').all();
  for (let done = 0; done < extra; ) {
    db.transaction(() => {
      for (let i = 0; i < 10_000 && done < extra; i++, done++) {
        const patientId = insert('patients', { ...patient, mrn: `B-${done}` });
        const methodId = insert('payment_methods', { ...method, patient_id: patientId });
        const id = insert('plans', { ...plan, patient_id: patientId, payment_method_id: methodId });
        for (const step of steps) insert('steps', { ...step, plan_id: id });
        for (const price of prices) insert('plan_prices', { ...price, plan_id: id });
        for (const charge of charges) insert('charges', { ...charge, plan_id: id, idempotency_key: `${charge.idempotency_key}-bench-${id}`, gateway_charge_id: charge.gateway_charge_id ? `${charge.gateway_charge_id}_${id}` : null });
      }
    })();
  }
  planCount = db.prepare('SELECT count(*) AS n FROM plans').get().n;
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  return path;
}
