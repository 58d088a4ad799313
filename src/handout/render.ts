import PDFDocument from 'pdfkit';
import { fallbackFont, handoutFonts, type FontName } from './fonts.js';
import { pieces, type Piece } from './script.js';
import { ellipsize, wrap, type Measure } from './lines.js';
import type { Handout, StepMark } from './view.js';
import { ACCENT, ACCENT_TINT, AMBER, AMBER_TINT, DONE, FAINT, HEADER_FILL, INK, MUTED, PAPER_SIZES, RED, RED_TINT, RULE } from './ink.js';

/**
 * Lays a handout out on paper with pdfkit. Everything the patient reads comes
 * from the view model; this file only decides fonts, colours and positions.
 *
 * Text is wrapped here (lines.ts) rather than by pdfkit, so that every block
 * is measured before it is drawn: rows move whole to the next page, a table
 * repeats its header there, a heading never ends a page, and a cell taller
 * than a page continues on the next one instead of being clipped. pdfkit only
 * ever sets single lines (`lineBreak: false`), so its own line wrapper, slow
 * on a long word, never runs.
 */

export type Paper = 'letter' | 'a4';

export interface RenderedHandout {
  bytes: Buffer;
  pages: number;
}


/** Noto Sans: ascent 1069, descent 293 per 1000 units; used to centre a line in its leading. */
const LINE_BOX = 1.362;

interface Style {
  font: FontName;
  size: number;
  leading: number;
  color: string;
  tracking?: number;
  /** Lowercase set in the font's own small capitals (smcp): the page shows capitals, text extraction the real words ("Treatment plan"). */
  smallCaps?: boolean;
}

const S = {
  clinic: { font: 'semibold', size: 13, leading: 17, color: ACCENT },
  clinicDetail: { font: 'regular', size: 8.5, leading: 12, color: MUTED },
  eyebrow: { font: 'semibold', size: 8.6, leading: 10, color: FAINT, tracking: 0.6, smallCaps: true },
  patient: { font: 'semibold', size: 14, leading: 19, color: INK },
  title: { font: 'bold', size: 24, leading: 29, color: INK },
  pill: { font: 'semibold', size: 8.6, leading: 10, color: ACCENT, tracking: 0.5, smallCaps: true },
  lede: { font: 'regular', size: 12.5, leading: 18, color: INK },
  body: { font: 'regular', size: 9.8, leading: 14.5, color: INK },
  bodyMuted: { font: 'regular', size: 9.8, leading: 14.5, color: MUTED },
  factValue: { font: 'semibold', size: 10.5, leading: 14, color: INK },
  h2: { font: 'semibold', size: 13, leading: 18, color: ACCENT },
  h3: { font: 'semibold', size: 10, leading: 14, color: INK },
  continued: { font: 'italic', size: 8, leading: 12, color: FAINT },
  th: { font: 'semibold', size: 8, leading: 9, color: MUTED, tracking: 0.7, smallCaps: true },
  cell: { font: 'regular', size: 8.8, leading: 12.2, color: INK },
  cellStrong: { font: 'semibold', size: 8.8, leading: 12.2, color: INK },
  cellMuted: { font: 'regular', size: 8.2, leading: 11.4, color: MUTED },
  cellFaint: { font: 'regular', size: 8.8, leading: 12.2, color: FAINT },
  cellAside: { font: 'italic', size: 8.2, leading: 11.4, color: MUTED },
  number: { font: 'semibold', size: 9, leading: 13.5, color: ACCENT },
  itemName: { font: 'semibold', size: 9.6, leading: 13.5, color: INK },
  itemText: { font: 'regular', size: 9.4, leading: 13.5, color: INK },
  defLabel: { font: 'regular', size: 9.4, leading: 13.5, color: MUTED },
  defValue: { font: 'semibold', size: 9.6, leading: 13.5, color: INK },
  defDetail: { font: 'regular', size: 8.4, leading: 12, color: MUTED },
  sign: { font: 'regular', size: 8, leading: 11, color: MUTED },
  running: { font: 'semibold', size: 8, leading: 11, color: ACCENT },
  runningDetail: { font: 'regular', size: 8, leading: 11, color: FAINT },
  footer: { font: 'regular', size: 7.5, leading: 10, color: FAINT },
} satisfies Record<string, Style>;

interface Run {
  text: string;
  style: Style;
  /** Space above this run, when it is not the first in its cell. */
  gap?: number;
  align?: 'left' | 'right';
}

interface Line {
  text: string;
  style: Style;
  dx: number;
  gap: number;
}

interface Column {
  title: string;
  /** Share of the content width. */
  share: number;
  align?: 'left' | 'right';
}

interface Cell {
  runs: Run[];
  mark?: StepMark;
}

interface TableSpec {
  columns: Column[];
  rows: Cell[][];
  header: boolean;
  /** Printed above the repeated header on a following page. */
  continued?: string;
  rules: boolean;
  padY: number;
  padX: number;
  /** Leading columns whose first line is repeated, faint, where a tall row continues on a new page ("3 Week 3"). */
  repeat?: number;
  /** In the structure tree: a table (the default), a table whose first column heads its row, or a numbered list. */
  kind?: 'table' | 'rows' | 'list';
}

interface LaidRow {
  cells: Line[][];
  marks: Array<StepMark | undefined>;
  height: number;
}

interface LaidTable {
  spec: TableSpec;
  widths: number[];
  headerHeight: number;
  rows: LaidRow[];
  /** Height below a repeated header on a page: a row taller than this cannot move whole, and continues instead. */
  usable: number;
}

const SMALL_CAPS = ['smcp'] as PDFKit.Mixins.OpenTypeFeatures[];

/**
 * Where drawn text goes in the document's structure: a structure element
 * (a heading, a paragraph, a table cell), or an artifact a screen reader
 * skips (the running head, the footer, a table header repeated on a new page).
 */
interface Node {
  el: PDFKit.PDFStructureElement;
  tag: string;
}
type Target = Node | 'artifact';

const MARK_WIDTH = 13;
/** Scripts of India and South-East Asia, whose vowel signs are drawn in another order than they are written. */
const REORDERED = /[\u0900-\u0dff\u1000-\u109f\u1780-\u17ff]/u;
/** Room enough to start a row taller than a page; with less left, it starts on the next. */
const TALL_ROW_START = 80;

// Word widths at 1 pt, per font, shared by every document of the process (the fonts are too).
const widthCache = new Map<string, number>();

export async function renderHandout(handout: Handout, paper: Paper): Promise<RenderedHandout> {
  const [width, height] = PAPER_SIZES[paper];
  const { creationDate, title, author, subject, id } = handout.metadata;
  const doc = new PDFDocument({
    autoFirstPage: false,
    bufferPages: true,
    // No default Helvetica: every glyph comes from the embedded Noto Sans.
    font: null as unknown as string,
    info: { Title: title, Author: author, Subject: subject, Creator: 'txplan', Producer: 'txplan with PDFKit', CreationDate: creationDate, ModDate: creationDate },
    displayTitle: true,
    // The handout's own words are English (in the clinic's region); a name or note in another script keeps its characters, not a language tag.
    lang: handout.language,
    tagged: true,
  });
  // pdfkit derives the file identifier from the metadata; one derived from the content tells two plans' handouts apart.
  const internals = doc as unknown as { _id?: unknown };
  if (internals._id instanceof Uint8Array && internals._id.length === 16) internals._id = Uint8Array.from(Buffer.from(id, 'hex'));
  const fonts = handoutFonts();
  for (const [name, font] of Object.entries(fonts)) doc.registerFont(name, font as unknown as Uint8Array);

  const chunks: Buffer[] = [];
  doc.on('data', (chunk: Buffer) => chunks.push(chunk));
  const ended = new Promise<void>((resolve, reject) => {
    doc.on('end', resolve);
    doc.on('error', reject);
  });

  const writer = new Writer(doc, handout, width, height);
  writer.render();
  const pages = writer.finish();
  doc.end();
  await ended;
  return { bytes: Buffer.concat(chunks), pages };
}

class Writer {
  private readonly left = 56;
  private readonly contentWidth: number;
  private readonly firstTop = 46;
  private readonly top = 70;
  private readonly bottom: number;
  private y = 0;
  private pages = 0;
  private readonly registered = new Set<string>(['regular', 'italic', 'semibold', 'bold']);
  private root!: Node;

  constructor(
    private readonly doc: PDFKit.PDFDocument,
    private readonly h: Handout,
    private readonly width: number,
    private readonly height: number,
  ) {
    this.contentWidth = width - 2 * this.left;
    this.bottom = height - 64;
  }

  render(): void {
    const root = this.doc.struct('Document');
    this.doc.addStructure(root);
    this.root = { el: root, tag: 'Document' };
    this.newPage();
    this.header();
    this.intro();
    this.schedule();
    this.homeCare();
    this.timed('Expected milestones', this.h.milestones);
    this.timed('Follow-up recommendations', this.h.followUp);
    this.payment();
    this.agreement();
  }

  /** Writes the footer on every page now that the page count is known. */
  finish(): number {
    const { doc } = this;
    const range = doc.bufferedPageRange();
    const { plan, provenance, generated } = this.h.footer;
    for (let i = 0; i < range.count; i++) {
      doc.switchToPage(range.start + i);
      const y = this.height - 44;
      this.rule(this.left, y, this.contentWidth, RULE, 0.5);
      const pageText = `Page ${i + 1} of ${range.count}`;
      const room = this.contentWidth - this.measure(S.footer, pageText) - 16;
      const oneLine = `${plan}  ·  ${provenance}  ·  ${generated}`;
      // A long template id takes the date to a second line rather than running into the page number.
      const lines = this.measure(S.footer, oneLine) <= room ? [oneLine] : [`${plan}  ·  ${provenance}`, generated];
      lines.forEach((text, k) => this.line({ text, style: S.footer, dx: 0, gap: 0 }, this.left, y + 7 + k * S.footer.leading, 'artifact'));
      this.line({ text: pageText, style: S.footer, dx: this.contentWidth - this.measure(S.footer, pageText), gap: 0 }, this.left, y + 7, 'artifact');
    }
    return range.count;
  }

  // ---------------------------------------------------------------------------
  // Sections, in the order the patient reads them

  private header(): void {
    const { h, left, contentWidth: cw } = this;
    const rightWidth = 150;
    const clinic = this.lines([{ text: h.clinic.name, style: S.clinic }, ...(h.clinic.details.length ? [{ text: h.clinic.details.join('  ·  '), style: S.clinicDetail, gap: 2 }] : [])], cw - rightWidth - 20);
    const right = this.lines([
      { text: 'Treatment plan', style: S.eyebrow, align: 'right' },
      { text: `Plan ${h.planId}`, style: S.clinicDetail, gap: 3, align: 'right' },
    ], rightWidth);
    const top = this.y;
    this.drawLines(clinic, left, top, this.node('P'));
    this.drawLines(right, left + cw - rightWidth, top + 3, this.node('P'));
    this.y = top + Math.max(height(clinic), height(right) + 3) + 10;
    this.rule(left, this.y, cw, ACCENT, 1.2);
    this.y += 26;

    const prepared = this.node('P');
    this.drawLines(this.lines([{ text: 'Prepared for', style: S.eyebrow }], cw), left, this.y, prepared);
    this.y += S.eyebrow.leading + 2;
    this.paragraph([{ text: h.patient, style: S.patient }], left, cw, prepared);
    this.y += 2;
    this.paragraph([{ text: h.title, style: S.title }], left, cw, this.node('H1'));
    this.y += 8;
    this.pill(h.status.code, h.status.label);
    this.y += 18;
  }

  private pill(code: Handout['status']['code'], label: string): void {
    const [fill, color] = code === 'past_due' || code === 'cancelled' ? [RED_TINT, RED] : code === 'prescribed' || code === 'paused' ? [AMBER_TINT, AMBER] : [ACCENT_TINT, ACCENT];
    const style = { ...S.pill, color };
    const text = label;
    const w = this.measure(style, text) + 16;
    this.artifact(() => this.doc.roundedRect(this.left, this.y, w, 16, 8).fill(fill));
    this.line({ text, style, dx: 8, gap: 0 }, this.left, this.y + 3, this.node('P'));
    this.y += 16;
  }

  private intro(): void {
    const { h, left, contentWidth: cw } = this;
    this.paragraph([{ text: h.goal, style: S.lede }], left, cw * 0.92, this.node('P'));
    if (h.description) {
      this.y += 8;
      this.paragraph([{ text: h.description, style: S.bodyMuted }], left, cw * 0.92, this.node('P'));
    }
    this.y += 18;
    this.facts();
    if (h.notice) this.notice(h.notice);
  }

  /** Duration, start, end and price at a glance, in a tinted band. */
  private facts(): void {
    const { h, left, contentWidth: cw } = this;
    const facts: Array<[string, string]> = [
      ['Duration', capitalize(h.duration.length)],
      ['Starts', h.duration.starts ?? 'When you start'],
      ['Ends', h.duration.ends ?? `${capitalize(h.duration.length)} later`],
      ['Price', h.payment.headline],
    ];
    const pad = 12;
    const cellWidth = (cw - 2 * pad) / facts.length;
    const cells = facts.map(([label, value]) => ({ label: this.lines([{ text: label, style: S.eyebrow }], cellWidth - 12), value: this.lines([{ text: value, style: S.factValue }], cellWidth - 12) }));
    const boxHeight = Math.max(...cells.map((c) => height(c.label) + 3 + height(c.value))) + 2 * pad;
    this.ensure(boxHeight);
    this.artifact(() => this.doc.roundedRect(left, this.y, cw, boxHeight, 6).fill(HEADER_FILL));
    // A table of one header row (the labels) and one row of values, so each value is read with its label.
    const table = this.node('Table');
    const labels = this.node('TR', table);
    const values = this.node('TR', table);
    cells.forEach((cell, i) => {
      const x = left + pad + i * cellWidth;
      if (i > 0) this.rule(x - 6, this.y + pad, 0, RULE, 0.6, boxHeight - 2 * pad);
      this.drawLines(cell.label, x, this.y + pad, this.node('TH', labels, { scope: 'Column' }));
      this.drawLines(cell.value, x, this.y + pad + height(cell.label) + 3, this.node('TD', values));
    });
    this.y += boxHeight;
  }

  private notice(text: string): void {
    const { left, contentWidth: cw } = this;
    const code = this.h.status.code;
    const [fill, bar] = code === 'past_due' || code === 'cancelled' ? [RED_TINT, RED] : code === 'completed' ? [ACCENT_TINT, ACCENT] : [AMBER_TINT, AMBER];
    const lines = this.lines([{ text, style: S.body }], cw - 32);
    const boxHeight = height(lines) + 20;
    this.y += 12;
    this.ensure(boxHeight);
    this.artifact(() => {
      this.doc.rect(left, this.y, cw, boxHeight).fill(fill);
      this.doc.rect(left, this.y, 3, boxHeight).fill(bar);
    });
    this.drawLines(lines, left + 18, this.y + 10, this.node('P'));
    this.y += boxHeight;
  }

  private schedule(): void {
    const { h } = this;
    const rows: Cell[][] = h.schedule.map((step) => [
      { runs: [{ text: String(step.n), style: S.cellStrong }] },
      { runs: [{ text: step.when, style: S.cellStrong }, ...(step.date ? [{ text: step.date, style: S.cellMuted, gap: 1 }] : [])] },
      { runs: step.booked ? [{ text: step.booked.date, style: S.cell }, { text: step.booked.time, style: S.cellMuted, gap: 1 }] : [{ text: '—', style: S.cellFaint }] },
      {
        runs: [
          ...step.services.map((name, i) => ({ text: name, style: S.cell, gap: i ? 2 : 0 })),
          ...(step.alternatives.length ? [{ text: `or ${step.alternatives.join(', ')}`, style: S.cellAside, gap: 3 }] : []),
          ...(step.performed ? [{ text: `Done at this visit: ${step.performed.join(', ')}`, style: S.cell, gap: 4 }] : []),
        ],
      },
      {
        runs: [
          ...(step.note ? [{ text: step.note, style: S.cell }] : []),
          ...(step.visitNote ? [{ text: `Visit note: ${step.visitNote}`, style: S.cell, gap: 4 }] : []),
          ...(step.outcome ? [{ text: `Outcome: ${step.outcome}`, style: S.cellAside, gap: 3 }] : []),
          ...(!step.note && !step.visitNote && !step.outcome ? [{ text: '—', style: S.cellFaint }] : []),
        ],
      },
      {
        mark: step.mark,
        runs: [
          { text: step.markLabel, style: { ...S.cellStrong, color: step.mark === 'done' ? DONE : step.mark === 'pending' ? INK : MUTED } },
          ...(step.markDate ? [{ text: step.markDate, style: S.cellMuted, gap: 1 }] : []),
        ],
      },
    ]);
    const table = this.layoutTable({
      columns: [
        { title: '#', share: 0.045 },
        { title: 'Recommended', share: 0.145 },
        { title: 'Booked', share: 0.135 },
        { title: 'Services', share: 0.235 },
        { title: 'Notes', share: 0.28 },
        { title: 'Status', share: 0.16 },
      ],
      rows,
      header: true,
      continued: 'Treatment schedule, continued',
      rules: true,
      padY: 6,
      padX: 5,
      repeat: 2,
    });
    const intro = this.h.duration.starts
      ? 'Recommended dates for each visit; book them with the front desk.'
      : 'Each visit is counted from the day you start; the dates are set then.';
    const introLines = this.lines([{ text: intro, style: S.bodyMuted }], this.contentWidth);
    this.heading('Treatment schedule', height(introLines) + 8 + table.headerHeight + firstRow(table));
    this.drawLines(introLines, this.left, this.y, this.node('P'));
    this.y += height(introLines) + 8;
    this.drawTable(table);
  }

  private homeCare(): void {
    const groups = this.h.homeCare;
    if (groups.length === 0) return;
    const laid = groups.map((group) => ({
      title: this.lines([{ text: group.title, style: S.h3 }], this.contentWidth),
      table: this.layoutTable({
        columns: [
          { title: '', share: 0.05 },
          { title: '', share: 0.95 },
        ],
        rows: group.items.map((item, i) => [
          { runs: [{ text: `${i + 1}`, style: S.number }] },
          { runs: [...(item.product ? [{ text: item.product, style: S.itemName }] : []), { text: item.instructions, style: S.itemText, gap: 1 }] },
        ]),
        header: false,
        rules: false,
        padY: 3,
        padX: 0,
        kind: 'list',
      }),
    }));
    const first = laid[0]!;
    this.heading('Home care', height(first.title) + 4 + firstRow(first.table));
    laid.forEach((group, i) => {
      if (i > 0) this.y += 8;
      this.ensure(height(group.title) + 4 + firstRow(group.table));
      this.artifact(() => this.doc.circle(this.left + 3, this.y + S.h3.leading / 2, 3).fill(ACCENT));
      this.drawLines(group.title, this.left + 12, this.y, this.node('H3'));
      this.y += height(group.title) + 4;
      this.drawTable(group.table);
    });
  }

  private timed(title: string, notes: Handout['milestones']): void {
    if (notes.length === 0) return;
    const table = this.layoutTable({
      columns: [
        { title: '', share: 0.24 },
        { title: '', share: 0.76 },
      ],
      rows: notes.map((note) => [
        { runs: [{ text: note.when, style: S.itemName }, ...(note.date ? [{ text: `around ${note.date}`, style: S.defDetail, gap: 1 }] : [])] },
        { runs: [{ text: note.text, style: S.itemText }] },
      ]),
      header: false,
      rules: true,
      padY: 7,
      padX: 0,
      kind: 'rows',
    });
    this.heading(title, firstRow(table));
    this.drawTable(table);
  }

  private payment(): void {
    const { payment } = this.h;
    const table = this.layoutTable({
      columns: [
        { title: '', share: 0.24 },
        { title: '', share: 0.76 },
      ],
      rows: payment.rows.map((row) => [
        { runs: [{ text: row.label, style: S.defLabel }] },
        { runs: [{ text: row.value, style: row.amount ? S.defValue : S.itemText }, ...(row.detail ? [{ text: row.detail, style: S.defDetail, gap: 1 }] : [])] },
      ]),
      header: false,
      rules: true,
      padY: 7,
      padX: 0,
      kind: 'rows',
    });
    this.heading('Payment summary', firstRow(table));
    this.drawTable(table);
    if (!payment.visits || payment.visits.length === 0) return;
    const visits = this.layoutTable({
      columns: [
        { title: 'Visit', share: 0.08 },
        { title: 'When', share: 0.25 },
        { title: 'Services', share: 0.47 },
        { title: 'Price', share: 0.2, align: 'right' },
      ],
      rows: payment.visits.map((v) => [
        { runs: [{ text: String(v.n), style: S.cellStrong }] },
        { runs: [{ text: v.when, style: S.cell }] },
        { runs: [{ text: v.services, style: S.cell }] },
        { runs: [{ text: v.price, style: v.price === 'Complimentary' ? S.cellMuted : S.cellStrong, align: 'right' }] },
      ]),
      header: true,
      continued: 'Price per visit, continued',
      rules: true,
      padY: 6,
      padX: 5,
    });
    const title = this.lines([{ text: 'Price per visit', style: S.h3 }], this.contentWidth);
    this.y += 14;
    this.ensure(height(title) + 6 + visits.headerHeight + firstRow(visits));
    this.drawLines(title, this.left, this.y, this.node('H3'));
    this.y += height(title) + 6;
    this.drawTable(visits);
  }

  /**
   * Cancellation terms and the signature block, kept on one page together:
   * the signature agrees to the terms printed above it.
   */
  private agreement(): void {
    const { h, left, contentWidth: cw } = this;
    if (!h.cancellation) return;
    const terms = this.lines(h.cancellation.terms.map((text, i) => ({ text, style: S.body, gap: i ? 5 : 0 })), cw);
    const statement = h.agreement ? this.lines([{ text: h.agreement.statement, style: S.body }], cw) : [];
    const signatureRow = 28 + 6 + S.sign.leading;
    const block = this.headingHeight() + height(terms) + (h.agreement ? this.headingHeight() + height(statement) + 10 + 2 * signatureRow : 0);
    this.heading('Cancellation terms', block - this.headingHeight());
    this.drawLines(terms, left, this.y, this.node('P'));
    this.y += height(terms);
    if (!h.agreement) return;
    this.heading('Patient agreement', height(statement) + 10 + 2 * signatureRow);
    this.drawLines(statement, left, this.y, this.node('P'));
    this.y += height(statement) + 10;
    const dateWidth = cw * 0.3;
    const nameWidth = cw - dateWidth - 28;
    for (const signer of [`Patient signature  ·  ${h.agreement.signer}`, 'Clinic representative']) {
      this.y += 28;
      this.rule(left, this.y, nameWidth, INK, 0.6);
      this.rule(left + nameWidth + 28, this.y, dateWidth, INK, 0.6);
      const line = this.node('P');
      this.drawLines(this.lines([{ text: signer, style: S.sign }], nameWidth), left, this.y + 4, line);
      this.drawLines(this.lines([{ text: 'Date', style: S.sign }], dateWidth), left + nameWidth + 28, this.y + 4, line);
      this.y += 6 + S.sign.leading;
    }
  }

  // ---------------------------------------------------------------------------
  // Pages, headings and paragraphs

  private newPage(): void {
    this.doc.addPage({ size: [this.width, this.height], margins: { top: 0, bottom: 0, left: 0, right: 0 } });
    this.pages++;
    if (this.pages === 1) {
      this.y = this.firstTop;
      return;
    }
    // A running head, so a loose page still says whose plan it is.
    const { left, contentWidth: cw, h } = this;
    const y = 34;
    const name = this.fit(h.clinic.name, S.running, cw * 0.45);
    const who = this.fit(`${h.patient}  ·  ${h.title}`, S.runningDetail, cw * 0.53);
    this.line({ text: name, style: S.running, dx: 0, gap: 0 }, left, y, 'artifact');
    this.line({ text: who, style: S.runningDetail, dx: cw * 0.53 - this.measure(S.runningDetail, who), gap: 0 }, left + cw * 0.47, y, 'artifact');
    this.rule(left, y + 16, cw, RULE, 0.5);
    this.y = this.top;
  }

  private ensure(space: number): void {
    if (this.y + space > this.bottom) this.newPage();
  }

  private headingHeight(): number {
    return 22 + S.h2.leading + 3 + 9;
  }

  /** A section heading, moved to the next page with `follow` points of what comes after it, so it never ends a page. */
  private heading(title: string, follow: number): void {
    const lines = this.lines([{ text: title, style: S.h2 }], this.contentWidth);
    const space = 22;
    const own = height(lines) + 12;
    const usable = this.bottom - this.top;
    if (this.y + space + own + Math.min(follow, usable - own) > this.bottom) this.newPage();
    else if (this.y > this.top) this.y += space;
    this.drawLines(lines, this.left, this.y, this.node('H2'));
    this.y += height(lines) + 3;
    this.rule(this.left, this.y, this.contentWidth, RULE, 0.6);
    this.y += 9;
  }

  private paragraph(runs: Run[], x: number, width: number, into: Target): void {
    this.paragraphLines(this.lines(runs, width), x, into);
  }

  /** Lines that may break across pages, never leaving a single line behind. */
  private paragraphLines(lines: Line[], x: number, into: Target): void {
    lines.forEach((line, i) => {
      const need = line.gap + line.style.leading + (i === 0 && lines.length > 1 ? lines[1]!.gap + lines[1]!.style.leading : 0);
      this.ensure(need);
      this.y += line.gap;
      this.line(line, x, this.y, into);
      this.y += line.style.leading;
    });
  }

  // ---------------------------------------------------------------------------
  // Tables

  private layoutTable(spec: TableSpec): LaidTable {
    const widths = spec.columns.map((c) => c.share * this.contentWidth);
    const rows = spec.rows.map((cells) => {
      const laid = cells.map((cell, i) => this.lines(cell.runs.map((r) => ({ ...r, align: r.align ?? spec.columns[i]!.align })), widths[i]! - 2 * spec.padX - (cell.mark ? MARK_WIDTH : 0)));
      return { cells: laid, marks: cells.map((c) => c.mark), height: Math.max(...laid.map(height)) + 2 * spec.padY };
    });
    const headerHeight = spec.header ? 22 : 0;
    return { spec, widths, headerHeight, rows, usable: this.bottom - this.top - headerHeight - 14 };
  }

  /**
   * A table, tagged as one: a Table of TR rows with TH header cells (Scope
   * Column for a header row, Scope Row for a first column that names its
   * row), or for a numbered list an L of LI items, each a Lbl and an LBody.
   */
  private drawTable(table: LaidTable): void {
    const { spec, usable } = table;
    const list = spec.kind === 'list';
    const node = this.node(list ? 'L' : 'Table');
    if (spec.header) {
      this.ensure(table.headerHeight + firstRow(table));
      const header = this.node('TR', node);
      this.tableHeader(table, spec.columns.map(() => this.node('TH', header, { scope: 'Column' })));
    }
    for (const row of table.rows) {
      // A row that fits a page moves whole; one taller than a page starts here unless only a sliver is left.
      if (this.y + row.height > this.bottom && (row.height <= usable || this.bottom - this.y < TALL_ROW_START)) this.continueTable(table);
      const tr = this.node(list ? 'LI' : 'TR', node);
      const cells = row.cells.map((_, i) => (list ? this.node(i === 0 ? 'Lbl' : 'LBody', tr) : i === 0 && spec.kind === 'rows' ? this.node('TH', tr, { scope: 'Row' }) : this.node('TD', tr)));
      this.drawRow(table, row, cells);
    }
  }

  /** A new page for a table that goes on: its title and header again, as artifacts (they repeat what was read). */
  private continueTable(table: LaidTable): void {
    this.newPage();
    if (table.spec.continued) {
      this.drawLines(this.lines([{ text: table.spec.continued, style: S.continued }], this.contentWidth), this.left, this.y, 'artifact');
      this.y += S.continued.leading + 2;
    }
    if (table.spec.header) this.tableHeader(table, table.spec.columns.map(() => 'artifact'));
  }

  private tableHeader(table: LaidTable, cells: Target[]): void {
    const { spec, widths } = table;
    this.artifact(() => this.doc.rect(this.left, this.y, this.contentWidth, table.headerHeight).fill(HEADER_FILL));
    let x = this.left;
    spec.columns.forEach((column, i) => {
      const text = column.title;
      const dx = column.align === 'right' ? widths[i]! - 2 * spec.padX - this.measure(S.th, text) : 0;
      this.line({ text, style: S.th, dx, gap: 0 }, x + spec.padX, this.y + (table.headerHeight - S.th.leading) / 2, cells[i]!);
      x += widths[i]!;
    });
    this.y += table.headerHeight;
  }

  /** One row; a row taller than a whole page continues on the next, its lines never clipped. */
  private drawRow(table: LaidTable, row: LaidRow, cells: Node[]): void {
    const { spec, widths } = table;
    const next = row.cells.map(() => 0);
    let first = true;
    for (;;) {
      const room = this.bottom - this.y - 2 * spec.padY;
      const slices = row.cells.map((lines, i) => {
        let used = 0;
        let end = next[i]!;
        while (end < lines.length) {
          const line = lines[end]!;
          const h = (end === next[i] ? 0 : line.gap) + line.style.leading;
          if (used + h > room) break;
          used += h;
          end++;
        }
        return { from: next[i]!, end, used };
      });
      // A cell with lines left that cannot place one here continues the whole row on the next page.
      if (slices.some((s, i) => s.end === s.from && s.from < row.cells[i]!.length)) {
        this.continueTable(table);
        continue;
      }
      let x = this.left;
      slices.forEach((slice, i) => {
        const mark = row.marks[i];
        if (mark && first) this.mark(mark, x + spec.padX + 4.5, this.y + spec.padY + S.cell.leading / 2);
        let y = this.y + spec.padY;
        const label = row.cells[i]![0];
        if (!first && i < (spec.repeat ?? 0) && label && slice.from >= row.cells[i]!.length) {
          this.line({ ...label, style: { ...label.style, color: FAINT } }, x + spec.padX, y, 'artifact');
        }
        for (let k = slice.from; k < slice.end; k++) {
          const line = row.cells[i]![k]!;
          if (k > slice.from) y += line.gap;
          this.line(line, x + spec.padX + (mark ? MARK_WIDTH : 0), y, cells[i]!);
          y += line.style.leading;
        }
        next[i] = slice.end;
        x += widths[i]!;
      });
      this.y += Math.max(...slices.map((s) => s.used)) + 2 * spec.padY;
      if (spec.rules) this.rule(this.left, this.y, this.contentWidth, RULE, 0.5);
      first = false;
      if (next.every((n, i) => n >= row.cells[i]!.length)) return;
      this.continueTable(table);
    }
  }

  /** The done / skipped / upcoming mark: drawn, since the font has no check mark glyph. */
  private mark(mark: StepMark, cx: number, cy: number): void {
    // The status is also written beside the mark, so the drawing is an artifact.
    this.artifact(() => this.drawMark(mark, cx, cy));
  }

  private drawMark(mark: StepMark, cx: number, cy: number): void {
    const { doc } = this;
    const r = 4.5;
    if (mark === 'done') {
      doc.circle(cx, cy, r).fill(DONE);
      doc.save().moveTo(cx - 2.1, cy + 0.1).lineTo(cx - 0.5, cy + 1.8).lineTo(cx + 2.3, cy - 1.6).lineWidth(1.1).lineCap('round').lineJoin('round').stroke('#ffffff').restore();
    } else if (mark === 'skipped' || mark === 'cancelled') {
      doc.circle(cx, cy, r).fill('#b4bcc6');
      doc.save().moveTo(cx - 2, cy).lineTo(cx + 2, cy).lineWidth(1.1).lineCap('round').stroke('#ffffff').restore();
    } else {
      doc.save().circle(cx, cy, r - 0.4).lineWidth(0.9).stroke(ACCENT).restore();
    }
  }

  // ---------------------------------------------------------------------------
  // Text

  private rule(x: number, y: number, w: number, color: string, weight: number, h = 0): void {
    this.artifact(() => this.doc.save().moveTo(x, y).lineTo(x + w, y + h).lineWidth(weight).stroke(color).restore());
  }

  /** A new structure element, in reading order under `parent` (the document by default). */
  private node(tag: string, parent: Node = this.root, options: PDFKit.Mixins.StructureElementOptions & { scope?: 'Column' | 'Row' } = {}): Node {
    const el = this.doc.struct(tag, options);
    parent.el.add(el);
    return { el, tag };
  }

  /** Drawing that only decorates (rules, fills, marks): an artifact, skipped by screen readers. */
  private artifact(draw: () => void): void {
    this.doc.markContent('Artifact', { type: 'Layout' });
    draw();
    this.doc.endMarkedContent();
  }

  private measure(style: Style, text: string): number {
    const key = `${style.font}${style.smallCaps ? ':sc' : ''}\u0000${text}`;
    let unit = widthCache.get(key);
    if (unit === undefined) {
      unit = 0;
      for (const piece of pieces(text, style.font)) unit += this.pieceWidth(piece, style.smallCaps);
      widthCache.set(key, unit);
    }
    return unit * style.size + (style.tracking ?? 0) * Math.max(0, text.length - 1);
  }

  /** A piece's width at 1 pt (measure() keeps whole texts' widths; pieces are measured once each there). */
  private pieceWidth(piece: Piece, smallCaps = false): number {
    return this.face(piece.font).fontSize(1000).widthOfString(piece.text, smallCaps ? { features: SMALL_CAPS } : {}) / 1000;
  }

  /** Selects a registered font, registering a fallback face the first time this document uses it. */
  private face(name: string): PDFKit.PDFDocument {
    if (!this.registered.has(name)) {
      this.doc.registerFont(name, fallbackFont(name) as unknown as Uint8Array);
      this.registered.add(name);
    }
    return this.doc.font(name);
  }

  /** One line of at most `width`, shortened with an ellipsis: only for the running head, which repeats what page 1 says in full. */
  private fit(text: string, style: Style, width: number): string {
    return ellipsize(text, width, this.measurer(style));
  }

  /** Wraps runs of text to a width (see lines.ts), each run on lines of its own. */
  private lines(runs: Run[], width: number): Line[] {
    const out: Line[] = [];
    for (const run of runs) {
      const { style } = run;
      const start = out.length;
      for (const line of wrap(run.text, width, this.measurer(style))) {
        out.push({ text: line.text, style, dx: run.align === 'right' ? Math.max(0, width - line.width) : 0, gap: 0 });
      }
      if (out[start] && start > 0) out[start]!.gap = run.gap ?? 0;
    }
    return out;
  }

  private measurer(style: Style): Measure {
    return { width: (text) => this.measure(style, text), tracking: style.tracking ?? 0 };
  }

  private drawLines(lines: readonly Line[], x: number, y: number, into: Target): void {
    lines.forEach((line, i) => {
      if (i > 0) y += line.gap;
      this.line(line, x, y, into);
      y += line.style.leading;
    });
  }

  /**
   * One line, piece by piece in visual order. A right-to-left piece is set
   * word by word, so text extraction sees its spaces and words; a
   * left-to-right line in a fallback face (Devanagari, whose vowel signs are
   * drawn before the consonant they follow) carries its text as written
   * (ActualText), so it copies and reads aloud in logical order.
   */
  private line(line: Line, x: number, y: number, into: Target): void {
    if (line.text === '') return;
    if (into === 'artifact') this.doc.markContent('Artifact', { type: 'Pagination' });
    else into.el.add(this.doc.markStructureContent(into.tag));
    this.setLine(line, x, y);
    this.doc.endMarkedContent();
  }

  private setLine(line: Line, x: number, y: number): void {
    const { style } = line;
    const { doc } = this;
    const parts = pieces(line.text, style.font);
    // Poppler reads ActualText in a right-to-left line as visual order and reverses it: such lines rely on word-by-word setting instead.
    const complex = (REORDERED.test(line.text) || parts.some((p) => p.font !== style.font)) && !parts.some((p) => p.rtl);
    const top = y + (style.leading - style.size * LINE_BOX) / 2;
    const tracking = style.tracking ?? 0;
    if (complex) doc.markContent('Span', { actual: line.text });
    doc.fontSize(style.size).fillColor(style.color);
    let at = x + line.dx;
    parts.forEach((piece, p) => {
      const words = piece.rtl ? piece.text.split(' ').reverse() : [piece.text];
      words.forEach((text, i) => {
        // The pen moves on only when something follows on the line (most lines are one piece of one face).
        const last = p === parts.length - 1 && i === words.length - 1;
        if (text !== '') {
          this.face(piece.font).fontSize(style.size).text(text, at, top, { lineBreak: false, characterSpacing: tracking, ...(style.smallCaps ? { features: SMALL_CAPS } : {}) });
          if (!last) at += this.pieceWidth({ ...piece, text }, style.smallCaps) * style.size + tracking * text.length;
        }
        if (i < words.length - 1) at += this.pieceWidth({ ...piece, text: ' ' }, style.smallCaps) * style.size + tracking;
      });
    });
    if (complex) doc.endMarkedContent();
  }
}

function height(lines: readonly Line[]): number {
  return lines.reduce((sum, line, i) => sum + (i ? line.gap : 0) + line.style.leading, 0);
}

/** The room the first row needs where the table starts: all of it, or the start of a row taller than a page. */
function firstRow(table: LaidTable): number {
  const row = table.rows[0];
  if (!row) return 0;
  return row.height <= table.usable ? row.height : TALL_ROW_START;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
