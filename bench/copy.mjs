#!/usr/bin/env node
// Benchmark: `txplan db copy` of a SQLite workspace holding the demo's data
// (`txplan demo`) plus 10,000 generated plans (copies of the demo's plan 1,
// each with its own patient, card, steps, prices, charges and audit entries)
// into PostgreSQL and back into a new SQLite file, printing how long each
// copy takes. Then the three databases are compared in full as the clinic
// sees them: `billing charges --json`, `billing charges --refunds --json` and
// `audit --json` (all of them: neither has a default limit, and how many
// they list is checked against the source's tables; the copies' own audit
// entries left out), run as commands, and `plan show --json` of every
// plan. Starting `txplan plan show` once per plan and database would take
// far longer than the copies, so the plans are shown in this process by the
// command's own code (showPlan, what `plan show` runs once its store is
// open) through one store per database, and the text it prints is compared;
// the first and last plans are also shown by the command itself, to check
// the two print the same.
// Needs a PostgreSQL server on which the given role may create a database
// (one is made for the run and dropped at the end):
//
//   node bench/copy.mjs --server postgres://USER@HOST/postgres [--plans N]
//   (or TXPLAN_BENCH_POSTGRES_URL=postgres://… node bench/copy.mjs)
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { isDeepStrictEqual } from 'node:util';
import { arg, bin, root, time } from './lib.mjs';
import { PostgresConnection } from '../dist/store/postgres/connection.js';
import { createContext } from '../dist/cli/context.js';
import { openStore } from '../dist/cli/store.js';
import { resolveWorkspace } from '../dist/cli/workspace.js';
import { loadRegistry } from '../dist/registry/registry.js';
import { showPlan } from '../dist/cli/commands/plan/show.js';

const plans = arg('--plans', 10_000);
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

/** The ids of the plans in the database (the demo's and the generated ones). */
let planIds = [];
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

  /** What the clinic sees of one database: the charges, the refunds and the audit in full, as the commands print them. */
  const seen = (db) => {
    const json = (...args) => JSON.parse(txplan(db, ...args, '--json').stdout);
    return {
      charges: json('billing', 'charges'),
      refunds: json('billing', 'charges', '--refunds'),
      audit: json('audit').filter((entry) => entry.action !== 'db.copy'),
    };
  };
  const start = process.hrtime.bigint();
  const [a, b, c] = [seen(source), seen(url), seen(back)];
  const same = isDeepStrictEqual(a, b) && isDeepStrictEqual(a, c);
  for (const [what, x, y, z] of [['charges', a.charges, b.charges, c.charges], ['refunds', a.refunds, b.refunds, c.refunds], ['audit', a.audit, b.audit, c.audit]]) {
    for (const [where, other] of [['PostgreSQL', y], ['SQLite copied back', z]]) {
      if (isDeepStrictEqual(x, other)) continue;
      const k = Array.from({ length: Math.max(x.length, other.length) }, (_, k) => k).find((k) => !isDeepStrictEqual(x[k], other[k]));
      console.log(`${what} differ on ${where} (${x.length} vs ${other.length} entries); the first difference, at entry ${k}:\n  ${JSON.stringify(x[k])}\n  ${JSON.stringify(other[k])}`);
    }
  }
  // In full: as many charges, refunds and audit entries as the source's tables hold.
  const rows = (() => {
    const db = new Database(source, { readonly: true });
    const count = (sql) => db.prepare(sql).get().n;
    try {
      return { charges: count('SELECT (SELECT count(*) FROM charges) + (SELECT count(*) FROM declined_starts) AS n'), refunds: count('SELECT count(*) AS n FROM refunds'), audit: count('SELECT count(*) AS n FROM audit') };
    } finally {
      db.close();
    }
  })();
  const whole = a.charges.length === rows.charges && a.refunds.length === rows.refunds && a.audit.length === rows.audit;
  if (!whole) console.log(`not in full: the commands listed ${a.charges.length} charges, ${a.refunds.length} refunds and ${a.audit.length} audit entries of the source's ${rows.charges}, ${rows.refunds} and ${rows.audit}`);
  const plansShown = await showEveryPlan([source, url, back]);
  // The text shown in this process is what the command prints when it runs on its own.
  for (const db of [source, url]) {
    for (const k of [0, planIds.length - 1]) {
      if (txplan(db, 'plan', 'show', String(planIds[k]), '--json').stdout !== plansShown.texts[k]) throw new Error(`plan show ${planIds[k]} --json printed another text when run as a command on ${db}`);
    }
  }
  const compareMs = Number(process.hrtime.bigint() - start) / 1e6;
  console.log(`${plans} plans: SQLite → PostgreSQL ${Math.round(there.ms)} ms, PostgreSQL → SQLite ${Math.round(home.ms)} ms`);
  console.log(`plan show --json of every plan: ${plansShown.ms.map((ms, k) => `${['SQLite', 'PostgreSQL', 'SQLite copied back'][k]} ${ms} ms`).join(', ')}`);
  const allSame = same && whole && plansShown.differing === 0;
  console.log(`${allSame ? 'same' : 'DIFFERENT'}: billing charges (${a.charges.length}), refunds (${a.refunds.length}), audit (${a.audit.length} entries) and plan show of every plan (${plansShown.plans}, ${plansShown.differing} differing) compared on all three databases in ${Math.round(compareMs)} ms`);
  if (!allSame) process.exitCode = 1;
} finally {
  admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
}

/**
 * `plan show --json` of every plan on each database, printed by the command's
 * own code through one store per database, compared with the first
 * database's text. Prints the first few differences; returns how many plans
 * were compared, how many differ, and the first database's texts.
 */
async function showEveryPlan(databases) {
  let printed = '';
  const stdout = new Writable({ write: (chunk, _encoding, done) => { printed += chunk.toString(); done(); } });
  const stderr = new Writable({ write: (chunk, _encoding, done) => { process.stderr.write(chunk); done(); } });
  const shown = [];
  let differing = 0;
  const ms = [];
  for (const [n, db] of databases.entries()) {
    const start = process.hrtime.bigint();
    const ctx = createContext({ db, json: true }, { streams: { stdout, stderr, stdin: process.stdin }, cwd: work });
    const registry = await loadRegistry(resolveWorkspace(ctx));
    const store = await openStore(ctx);
    try {
      for (const [k, id] of planIds.entries()) {
        printed = '';
        try {
          const code = await showPlan(ctx, store, registry, String(id));
          if (code !== 0) printed += `(exit ${code})`;
        } catch (error) {
          printed += `(failed: ${error.message})`; // a plan missing from a copy
        }
        if (n === 0) {
          if (JSON.parse(printed).id !== id) throw new Error(`plan show ${id} --json on ${db} printed another plan`);
          shown.push(printed);
        } else if (printed !== shown[k]) {
          if (++differing <= 3) console.log(`plan show ${id} --json differs on ${db}:\n${firstDifference(shown[k], printed)}`);
        }
      }
    } finally {
      store.close();
    }
    ms.push(Math.round(Number(process.hrtime.bigint() - start) / 1e6));
  }
  return { plans: planIds.length, differing, texts: shown, ms };
}

/** The first line where two texts differ, from each. */
function firstDifference(a, b) {
  const x = a.split('\n');
  const y = b.split('\n');
  const found = x.findIndex((line, k) => line !== y[k]);
  const k = found === -1 ? x.length : found;
  return `  line ${k + 1}: ${x[k]}\n  line ${k + 1}: ${y[k]}`;
}

/**
 * `txplan demo` in `work`, then `extra` copies of its plan 1 with all their
 * rows (a new patient and card each; the charges' keys made unique) and the
 * audit entries of its patient, plan and charges, 10,000 to a transaction.
 * Returns the database's path.
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
  const audit = db.prepare('SELECT * FROM audit WHERE entity = ? AND entity_id = ? ORDER BY id');
  const patientAudit = audit.all('patient', String(plan.patient_id));
  const planAudit = audit.all('plan', '1');
  const chargeAudit = new Map(charges.map((charge) => [charge.id, audit.all('charge', String(charge.id))]));
  for (let done = 0; done < extra; ) {
    db.transaction(() => {
      for (let i = 0; i < 10_000 && done < extra; i++, done++) {
        const patientId = insert('patients', { ...patient, mrn: `B-${done}` });
        const methodId = insert('payment_methods', { ...method, patient_id: patientId });
        const id = insert('plans', { ...plan, patient_id: patientId, payment_method_id: methodId });
        for (const step of steps) insert('steps', { ...step, plan_id: id });
        for (const price of prices) insert('plan_prices', { ...price, plan_id: id });
        for (const entry of patientAudit) insert('audit', { ...entry, entity_id: String(patientId) });
        for (const entry of planAudit) insert('audit', { ...entry, entity_id: String(id) });
        for (const charge of charges) {
          const chargeId = insert('charges', { ...charge, plan_id: id, idempotency_key: `${charge.idempotency_key}-bench-${id}`, gateway_charge_id: charge.gateway_charge_id ? `${charge.gateway_charge_id}_${id}` : null });
          for (const entry of chargeAudit.get(charge.id)) insert('audit', { ...entry, entity_id: String(chargeId) });
        }
      }
    })();
  }
  planIds = db.prepare('SELECT id FROM plans ORDER BY id').all().map((row) => row.id);
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  return path;
}
