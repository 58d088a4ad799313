#!/usr/bin/env node
// Benchmark: `txplan handout --status active --out-dir DIR` writing 1,000
// handouts (a third each of the three source examples: Comprehensive Acne
// Resolution, Comprehensive Skin Tightening, Post-Procedure Recovery), against
// a floor measured in the same run: bench/floor-handout.mjs, a bare pdfkit
// script writing as many documents with the same text, fonts and page count
// (taken from txplan's own output with pdf.js). Target: at most 2x the floor.
//
// Then long text, one handout each (`txplan handout N`): a plan whose visit
// note is 130,000 characters of prose, and one with a 5,000-character word
// with no break in it (in its description and a visit note). Each must render
// in under 2 s and under 300 MB (peak RSS, read from GNU time); each is shown
// beside the same floor writing its text.
//
//   node bench/handout.mjs [--plans N] [--rounds N] [--long-only] [--json]
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { arg, bin, compare, median, report, root, time } from './lib.mjs';

const plans = arg('--plans', 1_000);
const rounds = arg('--rounds', 3);
const TEMPLATES = ['comprehensive-acne-resolution', 'comprehensive-skin-tightening', 'post-procedure-recovery'];
const { getDocument } = await import('pdfjs-dist/legacy/build/pdf.mjs');

/** Every text run of a PDF, where txplan put it: the floor's input. */
async function textRuns(file) {
  const pdf = await getDocument({ data: new Uint8Array(readFileSync(file)), verbosity: 0 }).promise;
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
  await pdf.destroy();
  return sample;
}

const results = [];
if (!process.argv.includes('--long-only')) results.push(await batch());
const long = await longText();
report(results);
for (const line of long) console.log(line);

async function batch() {
  const work = join(root, 'bench', '.work', 'handout');
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
    // Each patient pays with their own card: the sandbox's test Visa, one line each.
    writeFileSync(cohort, csv.slice(1 + from, 1 + to).map((line) => `${line.split(',')[2]},pm_card_visa`).join('\n') + '\n');
    txplan('plan', 'apply', template, '--patients-file', cohort, '--mode', 'start', '--yes', '--clinic', 'downtown', '--start', '2026-10-05');
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
  const samples = [];
  for (const [t] of TEMPLATES.entries()) samples.push(await textRuns(join(out, `plan-${first.handouts[order.indexOf(t)].id}.pdf`)));
  const input = join(work, 'floor-input.json');
  writeFileSync(input, JSON.stringify({ samples, order }));
  const floor = () => time(process.execPath, [join(root, 'bench', 'floor-handout.mjs'), input, floorOut]);
  const floorPages = Number(floor().stdout.trim());
  if (floorPages !== pages) throw new Error(`the floor wrote ${floorPages} pages, txplan ${pages}`);
  if (readdirSync(floorOut).length !== plans) throw new Error(`the floor wrote ${readdirSync(floorOut).length} files, expected ${plans}`);

  return compare(`handout --status active, ${plans} handouts (${pages} pages)`, () => subject().ms, () => floor().ms, rounds, 2);
}

/**
 * Prose as a clinician writes it, from a fixed seed: sentences and paragraphs, no digits. Besides the
 * common words, a few thousand rarer ones (made up from syllables), so that words are measured, not all
 * found in the renderer's cache.
 */
function prose(length) {
  const common = ('patient tolerated the treatment well with mild erythema resolving within hours advised to avoid sun exposure ' +
    'apply moisturiser twice daily review healing at next visit skin barrier intact no signs of infection reported tightness ' +
    'after peel discussed expectations and aftercare photographs taken with consent tingling settled quickly hyperpigmentation ' +
    'fading along the jawline continue retinoid every other night sunscreen reapplied every two hours').split(' ');
  let seed = 42;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const syllables = 'ba ce di fo gu ha je ki lo mu na pe ri so tu va we xi yo zu bro cla dre fli gro pla sta tri'.split(' ');
  const rare = Array.from({ length: 4000 }, () => Array.from({ length: 2 + Math.floor(next() * 4) }, () => syllables[Math.floor(next() * syllables.length)]).join(''));
  const parts = [];
  let size = 0;
  let sentence = 0;
  while (size < length) {
    let word = next() < 0.7 ? common[Math.floor(next() * common.length)] : rare[Math.floor(next() * rare.length)];
    if (sentence === 0) word = word[0].toUpperCase() + word.slice(1);
    sentence++;
    const end = sentence > 8 && next() < 0.15;
    if (end) sentence = 0;
    const piece = `${word}${end ? (next() < 0.1 ? '.\n' : '. ') : ' '}`;
    parts.push(piece);
    size += piece.length;
  }
  return parts.join('').slice(0, length).trim();
}

/**
 * One run under GNU time, killed after `limit` seconds: wall time, CPU time (user + system: what the run costs,
 * whatever else the machine is doing), peak RSS, and whether it finished.
 */
function measured(command, args, limit) {
  const result = spawnSync('/usr/bin/time', ['-f', '%e %U %S %M', 'timeout', '--foreground', '-s', 'KILL', String(limit), command, ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const [wall, user, system, kb] = result.stderr.trim().split('\n').pop().split(' ').map(Number);
  return { ms: wall * 1000, cpu: (user + system) * 1000, mb: Math.round(kb / 1024), ok: result.status === 0, stdout: result.stdout, stderr: result.stderr };
}

async function longText() {
  const limit = arg('--limit', 120);
  const work = join(root, 'bench', '.work', 'handout-long');
  const txplan = (...args) => time(process.execPath, [bin, '--workspace', work, ...args]);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  txplan('init', work);
  txplan('clinic', 'add', 'downtown', '--name', 'Lumen Downtown', '--timezone', 'America/New_York', '--address', '120 Main Street, Suite 4', '--phone', '+1 555 010 0100');
  txplan('patient', 'add', '--first', 'Long', '--last', 'Note', '--mrn', 'L-1');
  txplan('patient', 'add', '--first', 'Long', '--last', 'Word', '--mrn', 'L-2');
  const apply = (mrn, ...set) => txplan('plan', 'apply', mrn, 'comprehensive-acne-resolution', '--mode', 'start', '--yes', '--clinic', 'downtown', '--start', '2026-10-05', '--payment-method', 'pm_card_visa', ...set);
  // A single argument may be at most 128 KiB on Linux: 130,000 characters fit.
  const note = prose(130_000);
  apply('L-1');
  txplan('plan', 'step', '1', '1', '--done', '--date', '2026-10-05', '--note', note);
  const word = 'Pneumonoultramicroscopicsilicovolcanoconiosis'.repeat(112).slice(0, 5_000);
  apply('L-2', '--set', `description=${word}`);
  txplan('plan', 'step', '2', '1', '--done', '--date', '2026-10-05', '--note', word);

  const lines = [];
  const cases = [
    { plan: 1, name: `a visit note of ${note.length.toLocaleString('en-US')} characters` },
    { plan: 2, name: `a ${word.length.toLocaleString('en-US')}-character word, in the description and a visit note` },
  ];
  for (const { plan, name } of cases) {
    const file = join(work, `plan-${plan}.pdf`);
    const runs = [];
    for (let i = 0; i < rounds; i++) {
      const run = measured(process.execPath, [bin, '--workspace', work, 'handout', String(plan), '-o', file, '--force', '--json'], limit);
      runs.push(run);
      if (!run.ok) break;
    }
    const ms = Math.round(median(runs.map((r) => r.ms)));
    const cpu = Math.round(median(runs.map((r) => r.cpu)));
    const mb = Math.max(...runs.map((r) => r.mb));
    if (runs.some((r) => !r.ok)) {
      lines.push(`FAIL handout ${plan}, ${name}: did not finish (killed after ${limit} s or failed: ${runs.at(-1).stderr.trim().split('\n').slice(-2, -1)[0] ?? ''}); ${cpu} ms CPU, peak ${mb} MB`);
      continue;
    }
    const pages = JSON.parse(runs[0].stdout).pages;
    const input = join(work, `floor-input-${plan}.json`);
    writeFileSync(input, JSON.stringify({ samples: [await textRuns(file)], order: [0] }));
    const floors = [];
    for (let i = 0; i < rounds; i++) floors.push(measured(process.execPath, [join(root, 'bench', 'floor-handout.mjs'), input, join(work, `floor-out-${plan}`)], limit));
    const floorMs = Math.round(median(floors.map((r) => r.ms)));
    const floorCpu = Math.round(median(floors.map((r) => r.cpu)));
    const floorMb = Math.max(...floors.map((r) => r.mb));
    // Wall time depends on what else the machine runs; CPU time is the limit's fair reading on a busy machine.
    const fast = Math.min(ms, cpu) < 2000;
    const small = mb < 300;
    const ratio = (a, b) => Math.round((a / b) * 100) / 100;
    lines.push(
      `${fast && small ? 'ok  ' : 'FAIL'} handout ${plan}, ${name} (${pages} pages): ${ms} ms wall, ${cpu} ms CPU, ${mb} MB peak` +
        ` vs floor ${floorMs} ms wall, ${floorCpu} ms CPU, ${floorMb} MB = ${ratio(cpu, floorCpu)}x CPU, ${ratio(mb, floorMb)}x memory` +
        ` (under 2 s: ${fast ? 'yes' : 'NO'}, under 300 MB: ${small ? 'yes' : 'NO'}; median of ${runs.length})`,
    );
  }
  return lines;
}
