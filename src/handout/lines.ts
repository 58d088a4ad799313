/**
 * Breaking text into lines of a given width, for the handout. Pure: the width
 * of a piece of text comes from the caller (pdfkit's measure, in the
 * renderer), so the breaking is tested without a PDF.
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

/** Wraps text to a width: greedy, by words between spaces; a newline starts a new line; a word longer than the width breaks between letters. */
export function wrap(text: string, width: number, measure: Measure): TextLine[] {
  const out: TextLine[] = [];
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

/** One line of at most `width`, shortened with an ellipsis. */
export function ellipsize(text: string, width: number, measure: Measure): string {
  if (measure.width(text) <= width) return text;
  let cut = text.length;
  while (cut > 1 && measure.width(`${text.slice(0, cut).trimEnd()}…`) > width) cut--;
  return `${text.slice(0, cut).trimEnd()}…`;
}
