/**
 * Breaking text into lines of a given width, for the handout. Pure: the width
 * of a piece of text comes from the caller (pdfkit's measure, in the
 * renderer), so the breaking is tested without a PDF.
 *
 * Time and memory are proportional to the text's length. A word is measured
 * once, whole, and a line's width is the running sum of its words and spaces.
 * A word that may be wider than the line (longer than LONG_WORD) is cut
 * first, between grapheme clusters (never inside a letter with its accent, or
 * an emoji): each distinct cluster is measured once, the cut falls where the
 * running sum would pass the width, and each piece is then measured whole,
 * with one letter more, to correct the sum for kerning, so that the breaks
 * fall where measuring every prefix would put them. No prefix is measured
 * again as it grows: a 5,000-letter word costs about three measurements per
 * line of a line's length, not millions of measurements of long prefixes.
 */

export interface Measure {
  /** Width of text set on one line, in points, letter spacing included. */
  width(text: string): number;
  /** Letter spacing between two characters, in points: what joining two pieces adds to the sum of their widths. */
  tracking: number;
}

export interface TextLine {
  text: string;
  width: number;
}

const clusters = new Intl.Segmenter('en', { granularity: 'grapheme' });

/** Longer words (in UTF-16 units) are cut before they are measured whole. */
const LONG_WORD = 64;

/** Latin, Greek and Cyrillic without combining marks: every UTF-16 unit is a cluster of its own, no segmenter needed. */
const ONE_UNIT_CLUSTERS = /^[\0-\u02ff\u0370-\u0482\u048a-\u052f]*$/;

/** Where each grapheme cluster of `text` starts. */
function clusterStarts(text: string): number[] {
  if (ONE_UNIT_CLUSTERS.test(text)) return Array.from({ length: text.length }, (_, i) => i);
  return Array.from(clusters.segment(text), (s) => s.index);
}

/** Wraps text to a width: greedy, by words between spaces; a newline starts a new line; a word longer than the width breaks between letters. */
export function wrap(text: string, width: number, measure: Measure): TextLine[] {
  const out: TextLine[] = [];
  const space = measure.width(' ');
  for (const paragraph of text.split(/\r?\n/)) {
    let line = '';
    let lineWidth = 0;
    for (const word of paragraph.split(' ')) {
      if (word === '') continue;
      // A word that may not fit a line is cut first, so that nothing much longer than a line is ever measured.
      const pieces = word.length > LONG_WORD ? split(word, width, measure) : undefined;
      const w = pieces ? (pieces.length === 1 ? pieces[0]!.width : Infinity) : measure.width(word);
      if (line && lineWidth + space + w <= width) {
        line += ` ${word}`;
        lineWidth += space + w;
        continue;
      }
      if (line) out.push({ text: line, width: lineWidth });
      if (w <= width) {
        line = word;
        lineWidth = w;
        continue;
      }
      // The last piece starts the next line, where the following word may join it.
      const cut = pieces ?? split(word, width, measure);
      for (let i = 0; i < cut.length - 1; i++) out.push(cut[i]!);
      ({ text: line, width: lineWidth } = cut[cut.length - 1]!);
    }
    out.push({ text: line, width: lineWidth });
  }
  return out;
}

/** A word in pieces no wider than `width`, cut between clusters; a cluster wider than the line has a piece of its own. */
function split(word: string, width: number, measure: Measure): TextLine[] {
  const { tracking } = measure;
  const widthOf = clusterWidths(measure);
  const starts = clusterStarts(word);
  starts.push(word.length);
  const advances = starts.slice(1).map((end, i) => widthOf(word.slice(starts[i], end)));

  const pieces: TextLine[] = [];
  let from = 0;
  while (from < advances.length) {
    let to = from + 1;
    let sum = advances[from]!;
    while (to < advances.length && sum + tracking + advances[to]! <= width) sum += tracking + advances[to++]!;
    let text = word.slice(starts[from], starts[to]);
    let exact = measure.width(text);
    // The sum ignores kerning. Where kerning sets the piece wider, give back letters worth the excess and measure again;
    // where it sets it narrower, take one more letter at a time while the piece still fits, as measuring prefixes would.
    while (exact > width && to - from > 1) {
      let excess = exact - width;
      do excess -= advances[--to]! + tracking;
      while (excess > 0 && to - from > 1);
      text = word.slice(starts[from], starts[to]);
      exact = measure.width(text);
    }
    while (to < advances.length && exact <= width) {
      const longer = word.slice(starts[from], starts[to + 1]);
      const longerWidth = measure.width(longer);
      if (longerWidth > width) break;
      text = longer;
      exact = longerWidth;
      to++;
    }
    pieces.push({ text, width: exact });
    from = to;
  }
  return pieces;
}

/** One line of at most `width`: the text, or as much of its start as fits before an ellipsis. */
export function ellipsize(text: string, width: number, measure: Measure): string {
  if (measure.width(text) <= width) return text;
  const { tracking } = measure;
  const room = width - measure.width('…') - tracking;
  const widthOf = clusterWidths(measure);
  // Clusters are read only as far as needed: the rest of a long text is never looked at.
  const segments = clusters.segment(text)[Symbol.iterator]();
  const ends: number[] = [];
  const sums: number[] = [];
  const read = (): boolean => {
    const next = segments.next();
    if (next.done) return false;
    const { segment, index } = next.value;
    sums.push((sums.length > 0 ? sums[sums.length - 1]! + tracking : 0) + widthOf(segment));
    ends.push(index + segment.length);
    return true;
  };
  read();
  while (sums[sums.length - 1]! <= room && read());
  let keep = sums.length > 1 && sums[sums.length - 1]! > room ? sums.length - 1 : sums.length;
  const shortened = (clusters: number) => `${text.slice(0, ends[clusters - 1]).trimEnd()}…`;
  let result = shortened(keep);
  let exact = measure.width(result);
  // As in split(): correct the sum for kerning, either way.
  while (exact > width && keep > 1) {
    const target = sums[keep - 1]! - (exact - width);
    do keep--;
    while (keep > 1 && sums[keep - 1]! > target);
    result = shortened(keep);
    exact = measure.width(result);
  }
  while (exact <= width && (keep < ends.length || read())) {
    const longer = shortened(keep + 1);
    const longerWidth = measure.width(longer);
    if (longerWidth > width) break;
    result = longer;
    exact = longerWidth;
    keep++;
  }
  return result;
}

/** The width of each distinct cluster, measured once. */
function clusterWidths(measure: Measure): (cluster: string) => number {
  const known = new Map<string, number>();
  return (cluster) => {
    let w = known.get(cluster);
    if (w === undefined) {
      w = measure.width(cluster);
      known.set(cluster, w);
    }
    return w;
  };
}
