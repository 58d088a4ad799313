import { readFileSync } from 'node:fs';
import { create, type Font } from 'fontkit';
import { fallbackFontPath, handoutFontPath, type FontName } from './fonts.js';
import { faceFor } from './script.js';

/**
 * The handout's fonts for the web page, inlined as data: URIs so the page
 * loads nothing: the same Noto Sans faces as the PDF, each cut down to the
 * characters the page uses (a few dozen kB instead of 630 kB a face).
 *
 * fontkit makes the subset (the outlines, composite glyphs included, and
 * their metrics), as it does for the PDF; a browser also needs the tables a
 * PDF does without: the character map (built here from the glyphs kept),
 * the naming and OS/2 metrics tables (copied from the original), and a post
 * table without glyph names. The subset has no kerning or ligature tables:
 * Latin, Greek and Cyrillic set well without them.
 *
 * The Arabic, Hebrew and Devanagari fallbacks need their shaping tables
 * (letters join, marks stack), which a subset would lose: they are inlined
 * whole, and only when the page has text in that script.
 */

const FACES: ReadonlyArray<{ font: FontName; weight: number; style: 'normal' | 'italic' }> = [
  { font: 'regular', weight: 400, style: 'normal' },
  { font: 'italic', weight: 400, style: 'italic' },
  { font: 'semibold', weight: 600, style: 'normal' },
  { font: 'bold', weight: 700, style: 'normal' },
];

const FALLBACK_FAMILIES: Record<string, string> = { arabic: 'Noto Sans Arabic', hebrew: 'Noto Sans Hebrew', devanagari: 'Noto Sans Devanagari' };
const FALLBACK_WEIGHTS: Record<string, number> = { regular: 400, semibold: 600, bold: 700 };

const parsed = new Map<string, { bytes: Buffer; font: Font }>();

function load(path: string): { bytes: Buffer; font: Font } {
  let entry = parsed.get(path);
  if (!entry) {
    const bytes = readFileSync(path);
    entry = { bytes, font: create(bytes) };
    parsed.set(path, entry);
  }
  return entry;
}

/** The @font-face rules for a page whose text (markup included) is `text`. */
export function webFontFaces(text: string): string {
  const codePoints = new Set<number>();
  // Printable ASCII always: escaped characters (&lt;) reach the page as themselves.
  for (let cp = 0x20; cp < 0x7f; cp++) codePoints.add(cp);
  for (const ch of text) codePoints.add(ch.codePointAt(0)!);
  const rules: string[] = [];
  for (const face of FACES) {
    const { bytes, font } = load(handoutFontPath(face.font));
    rules.push(fontFace('Noto Sans', face.weight, face.style, subsetFont(font, bytes, codePoints)));
  }
  const scripts = new Set<string>();
  for (const cp of codePoints) {
    const name = faceFor(cp, 'regular');
    if (name && name !== 'regular') scripts.add(name.split('-')[0]!);
  }
  for (const script of [...scripts].sort()) {
    for (const [weight, value] of Object.entries(FALLBACK_WEIGHTS)) {
      rules.push(fontFace(FALLBACK_FAMILIES[script]!, value, 'normal', readFileSync(fallbackFontPath(`${script}-${weight}`))));
    }
  }
  return rules.join('\n');
}

function fontFace(family: string, weight: number, style: string, bytes: Uint8Array): string {
  return `@font-face { font-family: '${family}'; font-weight: ${weight}; font-style: ${style}; font-display: swap; src: url(data:font/ttf;base64,${Buffer.from(bytes).toString('base64')}) format('truetype'); }`;
}

/** A TrueType font holding only the glyphs of `codePoints` that `font` has, usable by a browser. */
export function subsetFont(font: Font, original: Uint8Array, codePoints: Iterable<number>): Uint8Array {
  const subset = font.createSubset();
  const map = new Map<number, number>();
  for (const cp of [...codePoints].sort((a, b) => a - b)) {
    if (cp === 0xffff || !font.hasGlyphForCodePoint(cp)) continue;
    map.set(cp, subset.includeGlyph(font.glyphForCodePoint(cp)));
  }
  const outlines = readTables(subset.encode());
  const source = readTables(original);
  const tables = new Map(outlines);
  tables.set('cmap', characterMap(map));
  for (const tag of ['name', 'OS/2']) {
    const table = source.get(tag);
    if (table) tables.set(tag, table);
  }
  tables.set('post', postWithoutNames(source.get('post')));
  return writeFont(tables);
}

/** The tables of a TrueType file, by tag. */
function readTables(bytes: Uint8Array): Map<string, Uint8Array> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = view.getUint16(4);
  const tables = new Map<string, Uint8Array>();
  for (let i = 0; i < count; i++) {
    const at = 12 + 16 * i;
    const tag = String.fromCharCode(bytes[at]!, bytes[at + 1]!, bytes[at + 2]!, bytes[at + 3]!);
    const offset = view.getUint32(at + 8);
    const length = view.getUint32(at + 12);
    tables.set(tag, bytes.subarray(offset, offset + length));
  }
  return tables;
}

/** A post table of version 3 (no glyph names, which would name the original's glyphs), with the original's metrics. */
function postWithoutNames(post: Uint8Array | undefined): Uint8Array {
  const out = new Uint8Array(32);
  if (post) out.set(post.subarray(0, 32));
  new DataView(out.buffer).setUint32(0, 0x00030000);
  return out;
}

/** A cmap with a format 4 subtable (the Basic Multilingual Plane) and, when needed, a format 12 one (every plane). */
function characterMap(map: ReadonlyMap<number, number>): Uint8Array {
  const entries = [...map.entries()].sort((a, b) => a[0] - b[0]);
  // Runs of consecutive code points mapped to consecutive glyphs.
  const runs: Array<{ start: number; end: number; glyph: number }> = [];
  for (const [cp, glyph] of entries) {
    const last = runs[runs.length - 1];
    if (last && cp === last.end + 1 && glyph === last.glyph + (cp - last.start)) last.end = cp;
    else runs.push({ start: cp, end: cp, glyph });
  }
  const bmp = runs.filter((r) => r.end < 0xffff);
  const segments = [...bmp.map((r) => ({ start: r.start, end: r.end, delta: (r.glyph - r.start) & 0xffff })), { start: 0xffff, end: 0xffff, delta: 1 }];
  const segCount = segments.length;
  const format4 = new DataView(new ArrayBuffer(16 + 8 * segCount));
  const searchRange = 2 * 2 ** Math.floor(Math.log2(segCount));
  format4.setUint16(0, 4);
  format4.setUint16(2, format4.byteLength);
  format4.setUint16(4, 0);
  format4.setUint16(6, segCount * 2);
  format4.setUint16(8, searchRange);
  format4.setUint16(10, Math.log2(searchRange / 2));
  format4.setUint16(12, segCount * 2 - searchRange);
  segments.forEach((s, i) => {
    format4.setUint16(14 + 2 * i, s.end);
    format4.setUint16(16 + 2 * segCount + 2 * i, s.start);
    format4.setUint16(16 + 4 * segCount + 2 * i, s.delta);
    format4.setUint16(16 + 6 * segCount + 2 * i, 0);
  });
  const subtables: Array<{ encoding: number; bytes: Uint8Array }> = [{ encoding: 1, bytes: new Uint8Array(format4.buffer) }];
  if (runs.some((r) => r.end > 0xffff)) {
    const format12 = new DataView(new ArrayBuffer(16 + 12 * runs.length));
    format12.setUint16(0, 12);
    format12.setUint32(4, format12.byteLength);
    format12.setUint32(12, runs.length);
    runs.forEach((r, i) => {
      format12.setUint32(16 + 12 * i, r.start);
      format12.setUint32(20 + 12 * i, r.end);
      format12.setUint32(24 + 12 * i, r.glyph);
    });
    subtables.push({ encoding: 10, bytes: new Uint8Array(format12.buffer) });
  }
  const headerLength = 4 + 8 * subtables.length;
  const out = new Uint8Array(headerLength + subtables.reduce((sum, t) => sum + t.bytes.length, 0));
  const view = new DataView(out.buffer);
  view.setUint16(2, subtables.length);
  let offset = headerLength;
  subtables.forEach((t, i) => {
    view.setUint16(4 + 8 * i, 3); // Windows platform: Unicode BMP (1) or full repertoire (10)
    view.setUint16(6 + 8 * i, t.encoding);
    view.setUint32(8 + 8 * i, offset);
    out.set(t.bytes, offset);
    offset += t.bytes.length;
  });
  return out;
}

/** A TrueType file from its tables: the directory sorted by tag, each table on a 4-byte boundary with its checksum, and head's checksum adjustment. */
function writeFont(tables: ReadonlyMap<string, Uint8Array>): Uint8Array {
  const tags = [...tables.keys()].sort();
  const padded = (n: number) => (n + 3) & ~3;
  const headerLength = 12 + 16 * tags.length;
  const total = headerLength + tags.reduce((sum, tag) => sum + padded(tables.get(tag)!.length), 0);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  const entrySelector = Math.floor(Math.log2(tags.length));
  view.setUint32(0, 0x00010000);
  view.setUint16(4, tags.length);
  view.setUint16(6, 16 * 2 ** entrySelector);
  view.setUint16(8, entrySelector);
  view.setUint16(10, 16 * tags.length - 16 * 2 ** entrySelector);
  let offset = headerLength;
  let headAt = -1;
  tags.forEach((tag, i) => {
    const table = tables.get(tag)!;
    out.set(table, offset);
    if (tag === 'head') {
      headAt = offset;
      view.setUint32(offset + 8, 0); // checkSumAdjustment is summed as zero
    }
    const at = 12 + 16 * i;
    for (let k = 0; k < 4; k++) out[at + k] = tag.charCodeAt(k);
    view.setUint32(at + 4, checksum(out, offset, padded(table.length)));
    view.setUint32(at + 8, offset);
    view.setUint32(at + 12, table.length);
    offset += padded(table.length);
  });
  if (headAt >= 0) view.setUint32(headAt + 8, (0xb1b0afba - checksum(out, 0, out.length)) >>> 0);
  return out;
}

function checksum(bytes: Uint8Array, offset: number, length: number): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let sum = 0;
  for (let i = offset; i < offset + length; i += 4) sum = (sum + view.getUint32(i)) >>> 0;
  return sum;
}
