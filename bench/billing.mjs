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
import { copyFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { arg, bin, compare, monthlyPlansWorkspace, report, root, time } from './lib.mjs';

const plans = arg('--plans', 100_000);
const rounds = arg('--rounds', 3);
const work = join(root, 'bench', '.work', 'billing');
const START_DATE = '2026-11-02';
const RUN_DATE = '2026-12-01';
const at = (day) => ({ env: { ...process.env, TXPLAN_NOW: day } });

const dbPath = monthlyPlansWorkspace(work, plans, START_DATE);
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
