#!/usr/bin/env node
// Benchmarks of txplan on PostgreSQL, each against the same command on SQLite
// in the same run (target: at most 2x), on a throwaway local cluster started
// here (scripts/test-postgres.mjs) with durability on — fsync,
// synchronous_commit and full_page_writes, as a clinic's server runs — so
// both engines pay for durable commits.
//
// 1. `billing run` over 100,000 active monthly plans with an installment due.
// 2. `plan apply <template> --patients-file F` for 10,000 patients.
// 3. `plan list --patient P` with 1,000,000 plans in the database, against
//    `txplan --version` (target: at most 2x).
//
// The PostgreSQL databases are filled from the SQLite ones with the store's
// own copy (what `txplan db copy` runs), then cloned for each round
// (CREATE DATABASE … TEMPLATE), outside the timings.
//
//   node bench/postgres.mjs [--plans N] [--patients N] [--lookup-plans N] [--rounds N] [--json]
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { arg, bin, compare, monthlyPlansWorkspace, report, root, time } from './lib.mjs';
import { startCluster, stopCluster } from '../scripts/test-postgres.mjs';

const plans = arg('--plans', 100_000);
const patients = arg('--patients', 10_000);
const lookupPlans = arg('--lookup-plans', 1_000_000);
const rounds = arg('--rounds', 3);
const work = join(root, 'bench', '.work', 'postgres');
const START_DATE = '2026-11-02';
const RUN_DATE = '2026-12-01';

const { PostgresConnection, endIdlePostgres } = await import(join(root, 'dist', 'store', 'postgres', 'connection.js'));
const { openPostgres } = await import(join(root, 'dist', 'store', 'postgres', 'open.js'));
const { openDatabase } = await import(join(root, 'dist', 'store', 'database.js'));
const { Store } = await import(join(root, 'dist', 'store', 'store.js'));
const { copyDatabase } = await import(join(root, 'dist', 'store', 'copy.js'));

const cluster = await startCluster();
const results = [];
try {
  const admin = PostgresConnection.connect({ url: cluster.adminUrl });
  for (const setting of ['fsync', 'synchronous_commit', 'full_page_writes']) admin.query(`ALTER SYSTEM SET ${setting} = on`);
  admin.query('SELECT pg_reload_conf()');
  const urlOf = (name) => {
    const u = new URL(cluster.url);
    u.pathname = `/${name}`;
    return u.toString();
  };
  const create = (name, template) => {
    admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    admin.query(`CREATE DATABASE ${name} OWNER ${cluster.role}${template ? ` TEMPLATE ${template}` : ''}`);
    return urlOf(name);
  };
  /** The SQLite database at `path` copied into a new PostgreSQL database `name`. */
  const copyInto = (path, name) => {
    const url = create(name);
    const source = new Store(openDatabase(path));
    const target = new Store(openPostgres({ url, display: name, now: new Date().toISOString() }));
    const started = Date.now();
    const tables = copyDatabase(source, target);
    source.close();
    target.close();
    endIdlePostgres(); // the session ends now, not at exit: the database is a template for the rounds
    console.log(`copied into PostgreSQL in ${((Date.now() - started) / 1000).toFixed(1)} s: ${tables.filter((t) => t.rows > 0).map((t) => `${t.rows} ${t.table}`).join(', ')}`);
  };
  const fresh = (pristine, path) => {
    for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
    copyFileSync(pristine, path);
  };

  // 1. The billing run.
  {
    const ws = join(work, 'billing');
    const db = monthlyPlansWorkspace(ws, plans, START_DATE);
    const pristine = join(ws, 'pristine.db');
    copyFileSync(db, pristine);
    copyInto(db, 'bench_billing');
    // Each round starts as if nothing had been charged: the sandbox ledger and the high-water mark go too.
    const forget = () => {
      for (const suffix of ['', '-wal', '-shm']) rmSync(join(ws, '.txplan', `sandbox-gateway.db${suffix}`), { force: true });
      rmSync(join(ws, '.txplan', 'high-water.json'), { force: true });
    };
    const run = (env) => time(process.execPath, [bin, '--workspace', ws, 'billing', 'run'], { env: { ...process.env, TXPLAN_NOW: RUN_DATE, ...env } });
    let summary = '';
    results.push(
      compare(
        `billing run on PostgreSQL vs SQLite, ${plans} installments due`,
        () => {
          const url = create('bench_billing_run', 'bench_billing');
          forget();
          const r = run({ TXPLAN_DB: url });
          summary = r.stdout.trim().split('\n').pop();
          return r.ms;
        },
        () => {
          fresh(pristine, db);
          forget();
          return run({}).ms;
        },
        rounds,
        2,
      ),
    );
    console.log(`PostgreSQL: ${summary}`);
  }

  // 2. Bulk apply, and 3. a lookup among a million plans.
  {
    const ws = join(work, 'apply');
    rmSync(ws, { recursive: true, force: true });
    mkdirSync(ws, { recursive: true });
    const txplan = (env, ...args) => time(process.execPath, [bin, '--workspace', ws, ...args], { env: { ...process.env, ...env } });
    txplan({}, 'init', ws);
    txplan({}, 'clinic', 'add', 'downtown', '--name', 'Downtown', '--timezone', 'America/New_York');
    const csv = ['first_name,last_name,mrn,dob'];
    for (let i = 0; i < patients; i++) csv.push(`Patient${i},Bench${i % 997},B-${String(i).padStart(7, '0')},1980-01-${String((i % 28) + 1).padStart(2, '0')}`);
    writeFileSync(join(ws, 'patients.csv'), `${csv.join('\n')}\n`);
    txplan({}, 'patient', 'import', join(ws, 'patients.csv'));
    const db = join(ws, '.txplan', 'txplan.db');
    const pristine = join(ws, 'pristine.db');
    copyFileSync(db, pristine);
    copyInto(db, 'bench_apply');
    const cohort = join(ws, 'cohort.txt');
    writeFileSync(cohort, `${csv.slice(1).map((line) => line.split(',')[2]).join('\n')}\n`);
    const apply = (env) => txplan(env, 'plan', 'apply', 'post-procedure-recovery', '--patients-file', cohort, '--mode', 'prescribe').ms;
    results.push(
      compare(
        `plan apply --patients-file on PostgreSQL vs SQLite, ${patients} patients`,
        () => apply({ TXPLAN_DB: create('bench_apply_run', 'bench_apply') }),
        () => {
          fresh(pristine, db);
          return apply({});
        },
        rounds,
        2,
      ),
    );

    // A million plans, spread over the patients, written by the server itself (filler plans carry a small snapshot).
    const url = create('bench_lookup', 'bench_apply_run');
    const filler = PostgresConnection.connect({ url });
    filler.query(
      `INSERT INTO plans (patient_id, clinic_id, template_id, template_version, template_hash, name, type, status, snapshot, currency, start_date, end_date, service_prices, created_at, updated_at)
       SELECT p.id, 'downtown', 'template-' || (g % 40), 1, 'x', 'Filler plan', 'pay-as-you-go', (ARRAY['active', 'prescribed', 'completed', 'cancelled', 'paused'])[1 + g % 5],
              '{"id":"filler"}', 'USD', '2026-01-05', '2026-05-05', '{}', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z'
       FROM generate_series(1, $1 - (SELECT count(*) FROM plans)) g JOIN patients p ON p.id = 1 + g % $2`,
      [lookupPlans, patients],
    );
    filler.query('ANALYZE');
    const count = filler.query('SELECT count(*) AS n FROM plans').rows[0].n;
    filler.close();
    const someone = `B-${String(Math.floor(patients / 2)).padStart(7, '0')}`;
    console.log(`lookup database: ${count} plans, ${patients} patients`);
    results.push(
      compare(
        `plan list --patient P on PostgreSQL (${count} plans) vs txplan --version`,
        () => txplan({ TXPLAN_DB: url }, 'plan', 'list', '--patient', someone).ms,
        () => time(process.execPath, [bin, '--version']).ms,
        Math.max(rounds, 11),
        2,
      ),
    );
  }
  admin.close();
} finally {
  stopCluster(cluster);
}
report(results);
