import { describe, expect, it } from 'vitest';
import { ellipsize, wrap, type Measure } from '../../src/handout/lines.js';

/** Widths of a proportional font, at 1 pt per unit: narrow, wide and ordinary letters. */
function advance(ch: string): number {
  if (ch === ' ') return 0.28;
  if ('iljft.,;:\'!|'.includes(ch)) return 0.3;
  if ('mwMW@'.includes(ch)) return 0.9;
  return ch.charCodeAt(0) > 0x2e80 ? 1 : 0.58;
}

/**
 * A measure that counts what it is asked: calls and characters. It refuses to
 * measure more than `budget` characters in all, so a quadratic breaker fails
 * fast here instead of running for minutes.
 */
function counting(options: { budget?: number; tracking?: number; kern?: (pair: string) => number } = {}) {
  const stats = { calls: 0, chars: 0, longest: 0 };
  const tracking = options.tracking ?? 0;
  const measure: Measure & { stats: typeof stats } = {
    stats,
    tracking,
    width(text: string): number {
      stats.calls++;
      stats.chars += text.length;
      stats.longest = Math.max(stats.longest, text.length);
      if (options.budget !== undefined && stats.chars > options.budget) {
        throw new Error(`measured ${stats.chars} characters, over the budget of ${options.budget}`);
      }
      let sum = 0;
      for (let i = 0; i < text.length; i++) {
        sum += advance(text[i]!);
        if (options.kern && i > 0) sum += options.kern(text.slice(i - 1, i + 1));
      }
      return sum + tracking * Math.max(0, text.length - 1);
    },
  };
  return measure;
}

/** The breaking the handout always did, by measuring prefixes: the reference for ordinary text. */
function reference(text: string, width: number, measure: Measure) {
  const out: Array<{ text: string; width: number }> = [];
  const space = measure.width(' ');
  for (const paragraph of text.split(/\r?\n/)) {
    let line = '';
    let lineWidth = 0;
    for (const word of paragraph.split(' ')) {
      if (word === '') continue;
      let w = measure.width(word);
      if (line && lineWidth + space + w <= width) {
        line += ` ${word}`;
        lineWidth += space + w;
        continue;
      }
      if (line) out.push({ text: line, width: lineWidth });
      let rest = word;
      while (w > width && rest.length > 1) {
        let cut = rest.length - 1;
        while (cut > 1 && measure.width(rest.slice(0, cut)) > width) cut--;
        out.push({ text: rest.slice(0, cut), width: measure.width(rest.slice(0, cut)) });
        rest = rest.slice(cut);
        w = measure.width(rest);
      }
      line = rest;
      lineWidth = w;
    }
    out.push({ text: line, width: lineWidth });
  }
  return out;
}

/** A seeded generator, so a failure can be replayed. */
function random(seed: number) {
  return () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
}

function words(count: number, next: () => number, longest = 12): string[] {
  const letters = 'abcdefghijklmnopqrstuvwxyzMWil.,';
  return Array.from({ length: count }, () => {
    const length = 1 + Math.floor(next() ** 3 * longest);
    return Array.from({ length }, () => letters[Math.floor(next() * letters.length)]).join('');
  });
}

/** A clinician's note: words, sentences and paragraphs, `length` characters. */
function note(length: number): string {
  const next = random(7);
  const vocabulary = words(3000, next);
  const parts: string[] = [];
  let size = 0;
  while (size < length) {
    const word = vocabulary[Math.floor(next() * vocabulary.length)]!;
    const piece = `${word}${next() < 0.01 ? '\n' : ' '}`;
    parts.push(piece);
    size += piece.length;
  }
  return parts.join('').slice(0, length);
}

const LONG_WORD = 'Pneumonoultramicroscopicsilicovolcanoconiosis';
const longWord = (length: number) => LONG_WORD.repeat(Math.ceil(length / LONG_WORD.length)).slice(0, length);

describe('wrap', () => {
  it('breaks text exactly where measuring every prefix did, kerned or not', () => {
    const next = random(42);
    for (let round = 0; round < 200; round++) {
      const text = words(5 + Math.floor(next() * 60), next, round % 4 === 0 ? 80 : 14)
        .map((word) => (next() < 0.05 ? `${word}\n` : next() < 0.05 ? `${word}  ` : word))
        .join(' ');
      const width = 4 + next() * 40;
      // Half the rounds kern some pairs, tighter or looser (never so much that a longer prefix is narrower).
      const kern = round % 2 ? (pair: string) => (((pair.charCodeAt(0) * 31 + pair.charCodeAt(1)) % 7) - 3) * 0.03 : undefined;
      const measure = counting({ tracking: round % 3 === 0 ? 0.05 : 0, ...(kern ? { kern } : {}) });
      const got = wrap(text, width, measure);
      const want = reference(text, width, measure);
      expect(got.map((l) => l.text), `round ${round}: "${text}" at ${width}`).toEqual(want.map((l) => l.text));
      got.forEach((line, i) => expect(line.width).toBeCloseTo(want[i]!.width, 9));
    }
  });

  it('keeps every line within the width, and loses no character', () => {
    const text = `Tolerated well. ${longWord(700)} then ${longWord(90)}\nsecond paragraph`;
    const measure = counting();
    const lines = wrap(text, 20, measure);
    for (const line of lines) expect(measure.width(line.text)).toBeLessThanOrEqual(20);
    expect(lines.map((l) => l.text).join('').replace(/ /g, '')).toBe(text.replace(/[ \n]/g, ''));
    expect(lines.at(-1)!.text).toBe('second paragraph');
  });

  it('breaks a 5,000-character word with a number of measurements proportional to its length', () => {
    const word = longWord(5_000);
    const measure = counting({ budget: 50 * word.length });
    const lines = wrap(word, 18, measure);
    expect(lines.length).toBeGreaterThan(100);
    expect(lines.map((l) => l.text).join('')).toBe(word);
    for (const line of lines) expect(line.width).toBeLessThanOrEqual(18);
    // Each character is measured a bounded number of times (its letter, its piece, the piece with one letter more),
    // and nothing much longer than a line (about 30 letters here) is measured at all.
    expect(measure.stats.chars).toBeLessThanOrEqual(3 * word.length);
    expect(measure.stats.calls).toBeLessThanOrEqual(2 * word.length);
    expect(measure.stats.longest).toBeLessThan(64);
  });

  it('does twice the work for a word twice as long, not four times', () => {
    const work = (length: number) => {
      const measure = counting({ budget: 50 * length });
      wrap(longWord(length), 18, measure);
      return measure.stats.chars;
    };
    const ratio = work(10_000) / work(5_000);
    expect(ratio).toBeGreaterThan(1.8);
    expect(ratio).toBeLessThan(2.2);
  });

  it('breaks a 130,000-character note measuring each word about once', () => {
    const text = note(130_000);
    const measure = counting({ budget: 50 * text.length });
    const lines = wrap(text, 140, measure);
    expect(lines.length).toBeGreaterThan(500);
    for (const line of lines) expect(line.width).toBeLessThanOrEqual(140);
    const wordCount = text.split(/[ \n]/).filter(Boolean).length;
    expect(measure.stats.calls).toBeLessThanOrEqual(wordCount + 1);
    expect(measure.stats.chars).toBeLessThanOrEqual(text.length);
  });

  it('never cuts a letter from its accent or an emoji in half', () => {
    const accented = 'e\u0301'.repeat(40); // é as e + combining acute
    const emoji = '👍🏽'.repeat(20); // thumbs up with a skin tone: four UTF-16 units, one cluster
    for (const word of [accented, emoji]) {
      const measure = counting();
      const lines = wrap(word, 3.1, measure);
      expect(lines.length).toBeGreaterThan(1);
      for (const line of lines) {
        const clusters = [...new Intl.Segmenter('en', { granularity: 'grapheme' }).segment(line.text)].map((s) => s.segment);
        expect(clusters.every((c) => c === clusters[0])).toBe(true);
      }
      expect(lines.map((l) => l.text).join('')).toBe(word);
    }
  });

  it('puts a letter wider than the line alone on its line rather than losing it', () => {
    const lines = wrap('MMM', 0.5, counting());
    expect(lines.map((l) => l.text)).toEqual(['M', 'M', 'M']);
  });

  it('shortens a piece that kerning makes wider than the sum of its letters', () => {
    // Every "ab" pair is set 0.2 wider than its letters: a sum of letter widths would overfill the line.
    const measure = counting({ kern: (pair) => (pair === 'ab' ? 0.2 : 0) });
    const word = 'ab'.repeat(300);
    const lines = wrap(word, 10, measure);
    for (const line of lines) expect(measure.width(line.text)).toBeLessThanOrEqual(10);
    expect(lines.map((l) => l.text).join('')).toBe(word);
    lines.forEach((line) => expect(line.width).toBeCloseTo(measure.width(line.text), 9));
  });
});

describe('ellipsize', () => {
  it('keeps text that fits, and otherwise the longest start that fits with an ellipsis', () => {
    const measure = counting();
    expect(ellipsize('Lumen Downtown', 100, measure)).toBe('Lumen Downtown');
    const text = 'Comprehensive Acne Resolution with Microneedling';
    const short = ellipsize(text, 10, measure);
    expect(short.endsWith('…')).toBe(true);
    expect(measure.width(short)).toBeLessThanOrEqual(10);
    const kept = short.slice(0, -1);
    expect(text.startsWith(kept)).toBe(true);
    // One letter more would not fit.
    const more = text.slice(0, text.indexOf(kept) + kept.length + 1).trimEnd();
    expect(measure.width(`${more}…`)).toBeGreaterThan(10);
    expect(kept).toBe(kept.trimEnd());
  });

  it('keeps as much as measuring every shorter start did, kerned or not', () => {
    const next = random(9);
    for (let round = 0; round < 300; round++) {
      const text = words(2 + Math.floor(next() * 12), next).join(next() < 0.3 ? '  ' : ' ');
      const width = 1 + next() * 20;
      const kern = round % 2 ? (pair: string) => (((pair.charCodeAt(0) * 17 + pair.charCodeAt(1)) % 7) - 3) * 0.03 : undefined;
      const measure = counting({ tracking: round % 3 === 0 ? 0.05 : 0, ...(kern ? { kern } : {}) });
      // What the running head always did: cut one letter at a time from the end until it fits.
      let cut = text.length;
      if (measure.width(text) > width) while (cut > 1 && measure.width(`${text.slice(0, cut).trimEnd()}…`) > width) cut--;
      const want = cut === text.length ? text : `${text.slice(0, cut).trimEnd()}…`;
      expect(ellipsize(text, width, measure), `round ${round}: "${text}" at ${width}`).toBe(want);
    }
  });

  it('shortens a 5,000-character name measuring in proportion to its length', () => {
    const measure = counting({ budget: 50 * 5_000 });
    const short = ellipsize(longWord(5_000), 60, measure);
    expect(measure.width(short)).toBeLessThanOrEqual(60);
    expect(short.length).toBeGreaterThan(20);
    expect(measure.stats.chars).toBeLessThanOrEqual(2 * 5_000);
  });

  it('never leaves half an emoji before the ellipsis', () => {
    const short = ellipsize('👍🏽'.repeat(30), 5.7, counting());
    expect(short).toMatch(/^(👍🏽)+…$/u);
  });
});
