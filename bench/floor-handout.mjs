#!/usr/bin/env node
// The floor for bench/handout.mjs: the least a batch of handouts must cost —
// write the same number of PDFs, with the same text, in the same embedded
// fonts, on the same number of pages, with pdfkit — and nothing else: no
// database, no view model, no measuring or page-breaking decisions. Like
// txplan, it parses each font once and shares it across the documents.
// Prints the number of pages written.
//
//   node bench/floor-handout.mjs INPUT.json OUT_DIR
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import PDFDocument from 'pdfkit';
import { create } from 'fontkit';

const [input, outDir] = process.argv.slice(2);
const { samples, order } = JSON.parse(readFileSync(input, 'utf8'));
const fontDir = dirname(createRequire(import.meta.url).resolve('@expo-google-fonts/noto-sans/package.json'));
const fonts = {
  'NotoSans-Regular': create(readFileSync(join(fontDir, '400Regular/NotoSans_400Regular.ttf'))),
  'NotoSans-Italic': create(readFileSync(join(fontDir, '400Regular_Italic/NotoSans_400Regular_Italic.ttf'))),
  'NotoSans-SemiBold': create(readFileSync(join(fontDir, '600SemiBold/NotoSans_600SemiBold.ttf'))),
  'NotoSans-Bold': create(readFileSync(join(fontDir, '700Bold/NotoSans_700Bold.ttf'))),
};
mkdirSync(outDir, { recursive: true });

let pages = 0;
for (const [i, index] of order.entries()) {
  const sample = samples[index];
  const doc = new PDFDocument({ autoFirstPage: false, font: null, info: { CreationDate: new Date(0), ModDate: new Date(0) } });
  for (const [name, font] of Object.entries(fonts)) doc.registerFont(name, font);
  const chunks = [];
  doc.on('data', (chunk) => chunks.push(chunk));
  const ended = new Promise((resolve) => doc.on('end', resolve));
  for (const items of sample.pages) {
    doc.addPage({ size: sample.size, margin: 0 });
    pages++;
    for (const item of items) doc.font(item.font).fontSize(item.size).text(item.text, item.x, item.y, { lineBreak: false });
  }
  doc.end();
  await ended;
  writeFileSync(join(outDir, `plan-${i + 1}.pdf`), Buffer.concat(chunks));
}
console.log(pages);
