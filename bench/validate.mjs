#!/usr/bin/env node
// Benchmark: `txplan template validate` on 10,000 template files against a
// floor measured in the same run: a bare Node script that reads, parses and
// schema-checks the same files (bench/floor-validate.mjs). Also `txplan
// --version` against `node -e 0`.
//
//   node bench/validate.mjs [--files N] [--rounds N] [--json]
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { arg, bin, compare, report, root, time } from './lib.mjs';

const files = arg('--files', 10_000);
const rounds = arg('--rounds', 5);
const work = join(root, 'bench', '.work', 'validate');

rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
time(process.execPath, [bin, 'init', work]);
const templatesDir = join(work, 'templates');
const starter = readdirSync(templatesDir).filter((n) => n.endsWith('.yaml')).map((n) => readFileSync(join(templatesDir, n), 'utf8'));
for (const name of readdirSync(templatesDir)) rmSync(join(templatesDir, name));
for (let i = 0; i < files; i++) {
  const id = `bench-template-${String(i).padStart(5, '0')}`;
  writeFileSync(join(templatesDir, `${id}.yaml`), starter[i % starter.length].replace(/^id: .*$/m, `id: ${id}`));
}
console.log(`${files} templates in ${templatesDir}`);

const check = time(process.execPath, [bin, '--workspace', work, 'template', 'validate', '--json']);
const summary = JSON.parse(check.stdout);
if (!summary.ok || summary.files !== files + 2) throw new Error(`expected ${files + 2} valid files, got ${JSON.stringify({ ...summary, diagnostics: summary.diagnostics.slice(0, 3) })}`);
const floorCount = Number(time(process.execPath, [join(root, 'bench', 'floor-validate.mjs'), templatesDir]).stdout.trim());
if (floorCount !== files) throw new Error(`floor checked ${floorCount} files, expected ${files}`);

const results = [
  compare(
    `template validate, ${files} files`,
    () => time(process.execPath, [bin, '--workspace', work, 'template', 'validate']).ms,
    () => time(process.execPath, [join(root, 'bench', 'floor-validate.mjs'), templatesDir]).ms,
    rounds,
    1.5,
  ),
  compare(
    'txplan --version',
    () => time(process.execPath, [bin, '--version']).ms,
    () => time(process.execPath, ['-e', '0']).ms,
    Math.max(rounds, 21),
    2,
  ),
];
report(results);
