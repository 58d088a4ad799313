import { readFileSync } from 'node:fs';

export interface PdfText {
  /** Each page's text, runs joined by single spaces. */
  pages: string[];
  /** All pages, joined the same way. */
  text: string;
  /** Width and height of the first page, in points. */
  size: [number, number];
  /** The fonts the PDF embeds, by PostScript name without the subset tag. */
  fonts: string[];
}

/** The text of a PDF as a reader would extract it (pdf.js), for golden checks by content rather than bytes. */
export async function pdfText(source: string | Uint8Array): Promise<PdfText> {
  const { getDocument } = await import('pdfjs-dist/legacy/build/pdf.mjs');
  const bytes = typeof source === 'string' ? readFileSync(source) : source;
  const pdf = await getDocument({ data: new Uint8Array(bytes), useSystemFonts: false, isEvalSupported: false, verbosity: 0 }).promise;
  const pages: string[] = [];
  let size: [number, number] = [0, 0];
  for (let n = 1; n <= pdf.numPages; n++) {
    const page = await pdf.getPage(n);
    if (n === 1) size = [page.view[2]!, page.view[3]!];
    const content = await page.getTextContent();
    pages.push(
      content.items
        .map((item) => ('str' in item ? item.str : ''))
        .join(' ')
        .replace(/\s+/g, ' ')
        .trim(),
    );
  }
  await pdf.destroy();
  const raw = Buffer.from(bytes).toString('latin1');
  const fonts = [...new Set([...raw.matchAll(/\/BaseFont \/(?:[A-Z]{6}\+)?([A-Za-z0-9-]+)/g)].map((m) => m[1]!))].sort();
  return { pages, text: pages.join(' '), size, fonts };
}
