#!/usr/bin/env node
// Benchmark: `txplan billing run` through the Stripe gateway, against the
// local Stripe stand-in (test/stripe/standin.mjs, in a child process of its
// own) answering each PaymentIntent after 100 ms. 2,000 active monthly plans
// with an installment due:
//   (i)  concurrency 16, no rate cap: the run's wall time against the ideal,
//        2,000 x 100 ms / 16 = 12.5 s. Target: at most 1.3x.
//   (ii) max_rps 25 (concurrency 16): the most PaymentIntent requests the
//        stand-in saw arrive in any sliding second (target: at most 25), and
//        the wall time against 2,000 / 25 = 80 s. Target: at most 1.3x.
// Each also against a floor measured in the same run (bench/floor-stripe.mjs:
// the same 2,000 PaymentIntents sent with the stripe SDK at the same
// concurrency and cap, nothing else around them). Wall times are of the whole
// process, start to exit, with a fresh stand-in and a fresh copy of the
// database for every run. Time moves with TXPLAN_NOW, as in the tests: the
// set-up starts the pattern plan on 2026-11-02 and the run bills 2026-12-01.
// Exits 1 when a target is missed.
//
//   node bench/stripe.mjs [--plans N] [--rounds N] [--capped-rounds N] [--latency MS] [--json]
import { spawn } from 'node:child_process';
import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import Database from 'better-sqlite3';
import { parseDocument } from 'yaml';
import { arg, bin, median, monthlyPlansWorkspace, root, time } from './lib.mjs';

const plans = arg('--plans', 2000);
const rounds = arg('--rounds', 3);
const cappedRounds = arg('--capped-rounds', 1);
const latencyMs = arg('--latency', 100);
const CONCURRENCY = 16;
const MAX_RPS = 25;
const TARGET = 1.3;
const work = join(root, 'bench', '.work', 'stripe');
const START_DATE = '2026-11-02';
const RUN_DATE = '2026-12-01';
const KEY = 'sk_test_51TxplanBenchKey000000000';
const PAYMENT_INTENTS = 'POST /v1/payment_intents';

/** A stand-in of its own in a child process: this process blocks while txplan runs (spawnSync). */
async function startStandIn(latency) {
  const child = spawn(process.execPath, [join(root, 'test', 'stripe', 'standin.mjs'), '--port', '0', '--latency', String(latency)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the stand-in exited ${code} before it listened`)));
    createInterface({ input: child.stdout }).once('line', resolve);
  });
  const { url } = JSON.parse(line);
  return {
    url,
    stats: async () => (await fetch(`${url}/__standin/stats`)).json(),
    close: () => new Promise((resolve) => (child.once('exit', resolve), child.kill('SIGTERM'))),
  };
}

// The workspace: one real plan through the CLI (on the sandbox), the rest copied from its rows; then every
// payment method is Stripe's test card pm_card_visa (no customer), and the workspace charges Stripe.
const dbPath = monthlyPlansWorkspace(work, plans, START_DATE);
// Every payment method is Stripe's test card pm_card_visa, with no customer: charged as a pm_card_* name.
{
  const db = new Database(dbPath);
  db.prepare("UPDATE payment_methods SET token = 'pm_card_visa', customer = NULL").run();
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
}
const pristine = join(work, 'pristine.db');
copyFileSync(dbPath, pristine);
const settingsFile = join(work, 'txplan.yaml');
const settings = readFileSync(settingsFile, 'utf8');
const configure = (stripe) => {
  const doc = parseDocument(settings);
  doc.setIn(['payments', 'gateway'], 'stripe');
  doc.setIn(['payments', 'stripe'], { mode: 'test', ...stripe });
  writeFileSync(settingsFile, doc.toString());
};
console.log(`${plans} active monthly plans, installment 2 due on ${RUN_DATE}; the stand-in answers each PaymentIntent after ${latencyMs} ms`);

/** One billing run from the pristine database against a fresh stand-in: wall time, and what the stand-in saw. */
async function billingRun(stripe) {
  for (const suffix of ['', '-wal', '-shm']) rmSync(dbPath + suffix, { force: true });
  copyFileSync(pristine, dbPath);
  rmSync(join(work, '.txplan', 'high-water.json'), { force: true });
  configure(stripe);
  const standIn = await startStandIn(latencyMs);
  try {
    const env = { ...process.env, TXPLAN_NOW: RUN_DATE, TXPLAN_STRIPE_API_BASE: standIn.url, STRIPE_SECRET_KEY: KEY };
    const run = time(process.execPath, [bin, '--workspace', work, 'billing', 'run'], { env });
    const stats = await standIn.stats();
    const check = new Database(dbPath, { readonly: true });
    const { succeeded } = check.prepare("SELECT sum(status = 'succeeded') AS succeeded FROM charges WHERE installment = 2").get();
    check.close();
    if (succeeded !== plans) throw new Error(`expected ${plans} installment-2 charges succeeded, found ${succeeded}: ${run.stdout}`);
    return { ms: run.ms, stats, summary: run.stdout.trim() };
  } finally {
    await standIn.close();
  }
}

/** The bare SDK script sending the same PaymentIntents, against a fresh stand-in. */
async function floorRun(maxRps) {
  const standIn = await startStandIn(latencyMs);
  try {
    const run = time(process.execPath, [join(root, 'bench', 'floor-stripe.mjs'), standIn.url, String(plans), String(CONCURRENCY), String(maxRps)], { env: { ...process.env, STRIPE_SECRET_KEY: KEY } });
    const stats = await standIn.stats();
    return { ms: run.ms, stats };
  } finally {
    await standIn.close();
  }
}

/** Runs floor and subject alternately; medians, ratios to the ideal and to the floor. */
async function measure(name, stripe, ideal, n) {
  const subject = [];
  const floor = [];
  for (let i = 0; i < n; i++) {
    floor.push(await floorRun(stripe.max_rps));
    subject.push(await billingRun(stripe));
  }
  const ms = median(subject.map((r) => r.ms));
  const floorMs = median(floor.map((r) => r.ms));
  return {
    name,
    rounds: n,
    subject_ms: Math.round(ms),
    floor_ms: Math.round(floorMs),
    ideal_ms: ideal,
    ratio_to_ideal: Math.round((ms / ideal) * 100) / 100,
    ratio_to_floor: Math.round((ms / floorMs) * 100) / 100,
    floor_ratio_to_ideal: Math.round((floorMs / ideal) * 100) / 100,
    max_in_any_second: Math.max(...subject.map((r) => r.stats.maxInAnySecond)),
    floor_max_in_any_second: Math.max(...floor.map((r) => r.stats.maxInAnySecond)),
    max_in_flight: Math.max(...subject.map((r) => r.stats.maxInFlight)),
    payment_intent_requests: Math.max(...subject.map((r) => r.stats.byRoute[PAYMENT_INTENTS] ?? 0)),
    summary: subject.at(-1).summary,
  };
}

const uncapped = await measure(`concurrency ${CONCURRENCY}, no rate cap`, { concurrency: CONCURRENCY, max_rps: 0 }, (plans * latencyMs) / CONCURRENCY, rounds);
const capped = await measure(`concurrency ${CONCURRENCY}, max_rps ${MAX_RPS}`, { concurrency: CONCURRENCY, max_rps: MAX_RPS }, (plans / MAX_RPS) * 1000, cappedRounds);

let ok = true;
for (const r of [uncapped, capped]) {
  const fast = r.ratio_to_ideal <= TARGET;
  ok &&= fast;
  console.log(`${fast ? 'ok  ' : 'SLOW'} billing run, ${r.name}: ${r.subject_ms} ms vs ideal ${r.ideal_ms} ms = ${r.ratio_to_ideal}x (target <= ${TARGET}x); vs floor ${r.floor_ms} ms = ${r.ratio_to_floor}x (floor/ideal ${r.floor_ratio_to_ideal}x), median of ${r.rounds}; at most ${r.max_in_flight} in flight, ${r.max_in_any_second} in any second`);
}
const paced = capped.max_in_any_second <= MAX_RPS;
ok &&= paced;
console.log(`${paced ? 'ok  ' : 'OVER'} max_rps ${MAX_RPS}: the stand-in saw at most ${capped.max_in_any_second} requests arrive in any sliding second (target <= ${MAX_RPS}; the floor's limiter: ${capped.floor_max_in_any_second})`);
console.log(`txplan: ${uncapped.summary}`);
if (process.argv.includes('--json')) console.log(JSON.stringify([uncapped, capped], null, 2));
if (!ok) process.exitCode = 1;
