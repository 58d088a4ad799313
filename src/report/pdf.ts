import { createRequire } from 'node:module';
import PDFDocument from 'pdfkit';
import { handoutFonts } from '../handout/fonts.js';
import type { Paper } from '../handout/render.js';
import { ACCENT, HEADER_FILL, INK, MUTED, PAPER_SIZES, RULE } from '../handout/ink.js';
import type { Report } from '../domain/report.js';
import { formatMoney } from '../domain/money.js';
import { percent, type ChartTable, type DrawnChart } from './charts.js';
import type { ReportScope } from './html.js';

/**
 * The practice report as a PDF: the same charts as the web page, drawn from
 * the same SVG by svg-to-pdfkit, each followed by its figures as a table, set
 * in the handout's embedded Noto Sans on the workspace's paper. The same
 * report gives the same bytes (the dates in the file are the report's own).
 * The PDF is tagged for screen readers: headings, paragraphs, each chart a
 * figure whose alternative text is its description, tables of header and data
 * cells; rules, fills and page numbers are artifacts.
 */

type SvgToPdf = (doc: PDFKit.PDFDocument, svg: string, x: number, y: number, options: {
  width?: number;
  height?: number;
  assumePt?: boolean;
  preserveAspectRatio?: string;
  fontCallback?: (family: string, bold: boolean, italic: boolean) => string;
  warningCallback?: (message: string) => void;
}) => void;

const MARGIN = 50;

export interface RenderedReport {
  bytes: Buffer;
  pages: number;
}

export async function reportPdf(report: Report, charts: readonly DrawnChart[], scope: ReportScope, paper: Paper): Promise<RenderedReport> {
  const svgToPdf = createRequire(import.meta.url)('svg-to-pdfkit') as SvgToPdf;
  const [width, height] = PAPER_SIZES[paper];
  const title = `Practice report ${report.from} to ${report.to}`;
  const date = new Date(`${report.today}T00:00:00Z`);
  const doc = new PDFDocument({
    size: [width, height],
    margin: MARGIN,
    bufferPages: true,
    font: null as unknown as string,
    info: { Title: title, Creator: 'txplan', Producer: 'txplan with PDFKit', CreationDate: date, ModDate: date },
    displayTitle: true,
    lang: 'en-US',
    tagged: true,
  });
  const root = doc.struct('Document');
  doc.addStructure(root);
  for (const [name, font] of Object.entries(handoutFonts())) doc.registerFont(name, font as unknown as Uint8Array);
  const chunks: Buffer[] = [];
  doc.on('data', (chunk: Buffer) => chunks.push(chunk));
  const ended = new Promise<void>((resolve, reject) => {
    doc.on('end', resolve);
    doc.on('error', reject);
  });

  const content = width - 2 * MARGIN;
  const bottom = height - MARGIN;
  let y = MARGIN;
  const room = (needed: number) => {
    if (y + needed > bottom) {
      doc.addPage();
      y = MARGIN;
    }
  };
  const text = (tag: string, value: string, font: string, size: number, color: string, gap = 4) => {
    doc.font(font).fontSize(size).fillColor(color);
    const h = doc.heightOfString(value, { width: content });
    room(h);
    const el = doc.struct(tag);
    root.add(el);
    el.add(doc.markStructureContent(tag));
    doc.text(value, MARGIN, y, { width: content });
    doc.endMarkedContent();
    y += h + gap;
  };

  const narrowed = [scope.clinic === null ? null : `clinic ${scope.clinic}`, scope.template === null ? null : `template ${scope.template}`].filter((x): x is string => x !== null);
  const totals = report.totals;
  text('H1', title, 'bold', 20, ACCENT, 6);
  text('P', `As of ${report.today}${narrowed.length ? `, ${narrowed.join(', ')}` : ', every clinic and template'}. ${totals.plans.started} plans started, ${totals.plans.completed} completed (completion rate ${percent(totals.plans.completion_rate)}); ${totals.payments.charges} charges, ${totals.payments.declined} declined, ${totals.payments.recovered} recovered.`, 'regular', 10, MUTED, 14);

  for (const chart of charts) {
    const [w, h] = svgSize(chart.svg);
    const drawWidth = Math.min(content, w * 0.75);
    const drawHeight = (h / w) * drawWidth;
    // A heading never ends a page: it moves with its chart.
    room(24 + drawHeight);
    text('H2', chart.title, 'semibold', 13, INK, 6);
    const figure = doc.struct('Figure', { alt: chart.description });
    root.add(figure);
    figure.add(doc.markStructureContent('Figure'));
    svgToPdf(doc, chart.svg, MARGIN, y, {
      width: drawWidth,
      height: drawHeight,
      assumePt: true,
      preserveAspectRatio: 'xMinYMin meet',
      fontCallback: (_family, bold) => (bold ? 'semibold' : 'regular'),
      warningCallback: () => undefined,
    });
    doc.endMarkedContent();
    y += drawHeight + 6;
    text('P', chart.description, 'italic', 8.5, MUTED, 8);
    y = drawTable(doc, root, chart.table, y, { left: MARGIN, width: content, bottom, top: MARGIN });
    y += 16;
  }

  const money = report.templates.flatMap((t) => Object.entries(t.money).map(([c, m]) => [t.template_id, c, formatMoney(m.collected_minor, c), formatMoney(m.refunded_minor, c), formatMoney(m.net_minor, c), formatMoney(m.outstanding_minor, c), formatMoney(m.forecast_minor, c)]));
  room(60);
  text('H2', 'Revenue by template', 'semibold', 13, INK, 6);
  y = drawTable(doc, root, { headers: ['Template', 'Currency', 'Collected', 'Refunded', 'Net', 'Outstanding', 'Forecast'], rows: money, numeric: [2, 3, 4, 5, 6] }, y, { left: MARGIN, width: content, bottom, top: MARGIN });
  y += 16;
  room(60);
  text('H2', 'Visits by template', 'semibold', 13, INK, 6);
  y = drawTable(
    doc,
    root,
    {
      headers: ['Template', 'Due', 'On time', 'Late', 'Skipped', 'Pending', 'Outcomes'],
      rows: report.templates.map((t) => [t.template_id, String(t.visits.due), String(t.visits.on_time), String(t.visits.late), String(t.visits.skipped), String(t.visits.pending), String(t.visits.outcomes)]),
      numeric: [1, 2, 3, 4, 5, 6],
    },
    y,
    { left: MARGIN, width: content, bottom, top: MARGIN },
  );

  // Page furniture, once every page exists.
  const range = doc.bufferedPageRange();
  for (let i = 0; i < range.count; i++) {
    doc.switchToPage(range.start + i);
    // The footer sits in the bottom margin; without this pdfkit would start a new page for it.
    doc.page.margins.bottom = 0;
    doc.markContent('Artifact', { type: 'Pagination' });
    doc.font('regular').fontSize(7.5).fillColor(MUTED);
    doc.text(`${title} · page ${i + 1} of ${range.count}`, MARGIN, height - MARGIN + 18, { width: content, align: 'right', lineBreak: false, height: 10 });
    doc.endMarkedContent();
  }
  const pages = range.count;
  doc.end();
  await ended;
  return { bytes: Buffer.concat(chunks), pages };
}

/** The size vega gave the SVG (its width and height attributes, in CSS pixels). */
function svgSize(svg: string): [number, number] {
  const open = /<svg\b[^>]*>/.exec(svg)?.[0] ?? '';
  const w = Number(/\swidth="([\d.]+)"/.exec(open)?.[1] ?? 600);
  const h = Number(/\sheight="([\d.]+)"/.exec(open)?.[1] ?? 300);
  return [w, h];
}

/**
 * A table of single-line cells, the header repeated at the top of a new page
 * (as an artifact: the structure has it once); returns the y below it.
 */
function drawTable(doc: PDFKit.PDFDocument, parent: PDFKit.PDFStructureElement, table: ChartTable, top: number, box: { left: number; width: number; bottom: number; top: number }): number {
  const first = table.headers.length > 5 ? 0.3 : 0.34;
  const widths = table.headers.map((_, i) => (i === 0 ? box.width * first : (box.width * (1 - first)) / (table.headers.length - 1)));
  const rowHeight = 15;
  const pad = 4;
  let y = top;
  const artifact = (draw: () => void) => {
    doc.markContent('Artifact', { type: 'Layout' });
    draw();
    doc.endMarkedContent();
  };
  const tableEl = doc.struct('Table');
  parent.add(tableEl);
  const cells = (values: string[], font: string, size: number, color: string, tags: Array<'TH' | 'TD'> | null) => {
    const row = tags ? doc.struct('TR') : null;
    if (row) tableEl.add(row);
    let x = box.left;
    values.forEach((value, i) => {
      doc.font(font).fontSize(size).fillColor(color);
      const tag = tags?.[i];
      if (row && tag) {
        const cell = doc.struct(tag);
        row.add(cell);
        cell.add(doc.markStructureContent(tag));
      } else doc.markContent('Artifact', { type: 'Pagination' });
      doc.text(value, x + pad, y + 3.5, { width: widths[i]! - 2 * pad, align: table.numeric.includes(i) ? 'right' : 'left', lineBreak: false, ellipsis: true, height: rowHeight });
      doc.endMarkedContent();
      x += widths[i]!;
    });
  };
  const header = (repeated: boolean) => {
    artifact(() => doc.rect(box.left, y, box.width, rowHeight).fill(HEADER_FILL));
    cells(table.headers, 'semibold', 8, MUTED, repeated ? null : table.headers.map(() => 'TH'));
    y += rowHeight;
  };
  if (y + 2 * rowHeight > box.bottom) {
    doc.addPage();
    y = box.top;
  }
  header(false);
  const rows = table.rows.length ? table.rows : [['Nothing in this period.', ...table.headers.slice(1).map(() => '')]];
  for (const row of rows) {
    if (y + rowHeight > box.bottom) {
      doc.addPage();
      y = box.top;
      header(true);
    }
    cells(row, 'regular', 8.8, INK, row.map((_, i) => (i === 0 ? 'TH' : 'TD')));
    y += rowHeight;
    artifact(() => doc.moveTo(box.left, y).lineTo(box.left + box.width, y).lineWidth(0.5).strokeColor(RULE).stroke());
  }
  return y;
}
