#!/usr/bin/env node
// Benchmark: `txplan handout --status active --out-dir DIR` writing 1,000
// handouts (a third each of the three source examples: Comprehensive Acne
// Resolution, Comprehensive Skin Tightening, Post-Procedure Recovery), against
// a floor measured in the same run: bench/floor-handout.mjs, a bare pdfkit
// script writing as many documents with the same text, fonts and page count
// (taken from txplan's own output with pdf.js). Target: at most 2x the floor.
//
//   node bench/handout.mjs [--plans N] [--rounds N] [--json]
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { arg, bin, compare, report, root, time } from './lib.mjs';

const plans = arg('--plans', 1_000);
const rounds = arg('--rounds', 3);
const work = join(root, 'bench', '.work', 'handout');
const TEMPLATES = ['comprehensive-acne-resolution', 'comprehensive-skin-tightening', 'post-procedure-recovery'];
const txplan = (...args) => time(process.execPath, [bin, '--workspace', work, ...args]);

rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
txplan('init', work);
txplan('clinic', 'add', 'downtown', '--name', 'Lumen Downtown', '--timezone', 'America/New_York', '--address', '120 Main Street, Suite 4', '--phone', '+1 555 010 0100');
const csv = ['first_name,last_name,mrn'];
for (let i = 0; i < plans; i++) csv.push(`Patient${i},Bench${i % 997},B-${String(i).padStart(7, '0')}`);
writeFileSync(join(work, 'patients.csv'), `${csv.join('\n')}\n`);
txplan('patient', 'import', join(work, 'patients.csv'));
// Plans are numbered in the order applied: the first third acne, then tightening, then recovery.
const order = [];
TEMPLATES.forEach((template, t) => {
  const from = Math.floor((plans * t) / TEMPLATES.length);
  const to = Math.floor((plans * (t + 1)) / TEMPLATES.length);
  const cohort = join(work, `cohort-${t}.txt`);
  writeFileSync(cohort, csv.slice(1 + from, 1 + to).map((line) => line.split(',')[2]).join('\n') + '\n');
  txplan('plan', 'apply', template, '--patients-file', cohort, '--mode', 'start', '--clinic', 'downtown', '--start', '2026-10-05', '--payment-method', 'pm_card_visa');
  for (let i = from; i < to; i++) order.push(t);
});

const out = join(work, 'out');
const floorOut = join(work, 'floor-out');
const subject = () => txplan('handout', '--status', 'active', '--out-dir', out, '--force', '--json');
const first = JSON.parse(subject().stdout);
if (first.handouts.length !== plans || first.failed.length) throw new Error(`expected ${plans} handouts, got ${first.handouts.length} and ${first.failed.length} failures`);
const pages = first.handouts.reduce((sum, h) => sum + h.pages, 0);
console.log(`${plans} handouts, ${pages} pages, in ${out}`);

// The floor's input: every text run of one handout per template, where txplan put it.
const { getDocument } = await import('pdfjs-dist/legacy/build/pdf.mjs');
const samples = [];
for (const [t] of TEMPLATES.entries()) {
  const id = first.handouts[order.indexOf(t)].id;
  const pdf = await getDocument({ data: new Uint8Array(readFileSync(join(out, `plan-${id}.pdf`))), verbosity: 0 }).promise;
  const sample = { size: null, pages: [] };
  for (let n = 1; n <= pdf.numPages; n++) {
    const page = await pdf.getPage(n);
    sample.size ??= [page.view[2], page.view[3]];
    await page.getOperatorList(); // loads the fonts, so their names can be read
    const items = [];
    for (const item of (await page.getTextContent()).items) {
      if (!item.str) continue;
      const size = Math.hypot(item.transform[0], item.transform[1]);
      const font = page.commonObjs.get(item.fontName).name.replace(/^[A-Z]{6}\+/, '');
      items.push({ text: item.str, font, size, x: item.transform[4], y: sample.size[1] - item.transform[5] - 1.069 * size });
    }
    sample.pages.push(items);
  }
  samples.push(sample);
  await pdf.destroy();
}
const input = join(work, 'floor-input.json');
writeFileSync(input, JSON.stringify({ samples, order }));
const floor = () => time(process.execPath, [join(root, 'bench', 'floor-handout.mjs'), input, floorOut]);
const floorPages = Number(floor().stdout.trim());
if (floorPages !== pages) throw new Error(`the floor wrote ${floorPages} pages, txplan ${pages}`);
if (readdirSync(floorOut).length !== plans) throw new Error(`the floor wrote ${readdirSync(floorOut).length} files, expected ${plans}`);

report([compare(`handout --status active, ${plans} handouts (${pages} pages)`, () => subject().ms, () => floor().ms, rounds, 2)]);
