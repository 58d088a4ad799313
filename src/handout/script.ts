import bidiModule, { type Bidi } from 'bidi-js';
import { FALLBACKS, fallbackFont, fallbackName, handoutFonts, type FallbackScript, type FontName } from './fonts.js';

/**
 * Which face draws each character of a line, and in what order the pieces
 * go on the page.
 *
 * Noto Sans draws what it covers; Arabic, Hebrew and Devanagari go to their
 * Noto fallbacks. A line is split into pieces of one face and one direction
 * and put in visual order with the Unicode bidirectional algorithm (bidi-js),
 * so "Plan for محمد العلي" reads correctly; within a right-to-left piece,
 * fontkit shapes the letters (Arabic joining) and lays the glyphs out right
 * to left. Characters no face covers are replaced before layout (cover.ts),
 * so nothing here ever draws an empty box.
 */

export interface Piece {
  /** The piece's characters in logical (reading) order. */
  text: string;
  /** The registered font name: a Noto Sans style, or a fallback such as "arabic-bold". */
  font: string;
  rtl: boolean;
}

const SCRIPTS = Object.keys(FALLBACKS) as FallbackScript[];
/** Right-to-left letters and the explicit direction marks: only such lines need the bidi algorithm. */
const NEEDS_BIDI = /[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufeff\u200f\u202a-\u202e\u2066-\u2069]/u;
/** Characters that take the face of the letter before them: marks, joiners, spaces and punctuation. */
const INHERITS = /^[\p{M}\p{Zs}\p{P}\u200c\u200d]$/u;

// bidi-js is CommonJS: under Node its default import is the factory itself, whatever its type declaration says.
const bidiFactory = bidiModule as unknown as () => Bidi;
let bidi: Bidi | undefined;
/** Per style, the face chosen for each code point seen: looked up for every character measured, so keyed by number. */
const faces = new Map<FontName, Map<number, string | null>>();

/** The registered font that has a glyph for a code point in this style, or null when none has. */
export function faceFor(codePoint: number, style: FontName): string | null {
  let known = faces.get(style);
  if (!known) faces.set(style, (known = new Map()));
  let face = known.get(codePoint);
  if (face === undefined) {
    face = null;
    if (handoutFonts()[style].hasGlyphForCodePoint(codePoint)) face = style;
    else {
      for (const script of SCRIPTS) {
        const name = fallbackName(script, style);
        if (fallbackFont(name).hasGlyphForCodePoint(codePoint)) {
          face = name;
          break;
        }
      }
    }
    known.set(codePoint, face);
  }
  return face;
}

/** Whether some face covers a code point (the style does not change coverage). */
export function covered(codePoint: number): boolean {
  return faceFor(codePoint, 'regular') !== null;
}

/** The pieces of one line, in visual order, left to right. */
export function pieces(text: string, style: FontName): Piece[] {
  if (text === '') return [];
  if (!NEEDS_BIDI.test(text) && allPrimary(text, style)) return [{ text, font: style, rtl: false }];
  // One face per UTF-16 unit (a surrogate pair's second half shares the first's).
  const units = text.length;
  const face: string[] = new Array<string>(units);
  let previous: string | null = null;
  for (let i = 0; i < units; i++) {
    const cp = text.codePointAt(i)!;
    const ch = String.fromCodePoint(cp);
    let f: string | null = INHERITS.test(ch) && previous !== null && hasGlyph(previous, cp) ? previous : faceFor(cp, style);
    // Uncovered characters are replaced before layout; should one slip through, Noto Sans draws its box.
    f ??= style;
    face[i] = f;
    if (cp > 0xffff) face[++i] = f;
    previous = f;
  }
  let levels: Uint8Array = new Uint8Array(units);
  let order = Array.from({ length: units }, (_, i) => i);
  let chars = text.split('');
  if (NEEDS_BIDI.test(text)) {
    bidi ??= bidiFactory();
    const embedding = bidi.getEmbeddingLevels(text, 'ltr');
    levels = embedding.levels;
    for (const [i, mirrored] of bidi.getMirroredCharactersMap(text, embedding.levels)) chars[i] = mirrored;
    for (const [start = 0, end = -1] of bidi.getReorderSegments(text, embedding)) {
      const reversed = order.slice(start, end + 1).reverse();
      order.splice(start, reversed.length, ...reversed);
    }
  }
  // Group neighbours in visual order that share a face and a direction and are neighbours in the text too.
  const out: Piece[] = [];
  let group: number[] = [];
  const flush = () => {
    if (group.length === 0) return;
    const rtl = (levels[group[0]!]! & 1) === 1;
    const logical = rtl ? [...group].reverse() : group;
    out.push({ text: logical.map((i) => chars[i]).join(''), font: face[group[0]!]!, rtl });
    group = [];
  };
  for (const i of order) {
    const last = group[group.length - 1];
    const rtl = (levels[i]! & 1) === 1;
    if (last !== undefined && (face[last] !== face[i] || (levels[last]! & 1) !== (rtl ? 1 : 0) || Math.abs(last - i) !== 1)) flush();
    group.push(i);
  }
  flush();
  return out;
}

function allPrimary(text: string, style: FontName): boolean {
  for (let i = 0; i < text.length; i++) {
    const cp = text.codePointAt(i)!;
    if (faceFor(cp, style) !== style) return false;
    if (cp > 0xffff) i++;
  }
  return true;
}

function hasGlyph(face: string, codePoint: number): boolean {
  const fonts = handoutFonts() as Record<string, { hasGlyphForCodePoint(cp: number): boolean }>;
  return (fonts[face] ?? fallbackFont(face)).hasGlyphForCodePoint(codePoint);
}
