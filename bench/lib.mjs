// Shared helpers for benchmarks: run a command several times, interleaved with
// its floor, and compare medians (shared machines are noisy: ratios, not seconds).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

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
