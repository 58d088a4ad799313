import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { txplan } from '../helpers.js';
import { demoWorkspace, TROUBLESOME_NOW, TROUBLESOME_PATIENTS, troublesomeWorkspace } from '../receivers.js';

/**
 * Handouts as their readers take them: poppler's pdftotext (what copy and
 * search see, right-to-left text included) and pdf.js (the glyphs drawn, the
 * structure tree screen readers walk, the document's language and title),
 * over the demo's plans and over patients named in Arabic, Hebrew,
 * Devanagari, Chinese, Japanese, Korean and emoji.
 */

type PdfJs = typeof import('pdfjs-dist/legacy/build/pdf.mjs');
type Pdf = Awaited<ReturnType<PdfJs['getDocument']>['promise']>;
interface StructNode {
  role?: string;
  type?: string;
  id?: string;
  children?: StructNode[];
}

let pdfjs: PdfJs;

beforeAll(async () => {
  pdfjs = await import('pdfjs-dist/legacy/build/pdf.mjs');
});

/** The troublesome workspace's handouts, by plan id, and what txplan printed on stderr making them. */
function troubleHandouts(): { files: Map<number, string>; stderr: string } {
  const ws = troublesomeWorkspace();
  const env = { TXPLAN_NOW: TROUBLESOME_NOW };
  const active = txplan(['handout', '--status', 'active', '--out-dir', 'out'], { cwd: ws, env });
  expect(active.code, active.stderr).toBe(0);
  const last = TROUBLESOME_PATIENTS.length;
  const cancelled = txplan(['handout', String(last), '-o', join('out', `plan-${last}.pdf`)], { cwd: ws, env });
  expect(cancelled.code, cancelled.stderr).toBe(0);
  const files = new Map(readdirSync(join(ws, 'out')).map((f) => [Number(/plan-(\d+)\.pdf/.exec(f)![1]), join(ws, 'out', f)] as const));
  expect(files.size).toBe(last);
  return { files, stderr: active.stderr + cancelled.stderr };
}

/** The first few of the demo's active plans' handouts. */
function demoHandouts(): string[] {
  const dir = demoWorkspace();
  // The demo keeps its own SQLite database in its workspace, on either engine.
  const printed = txplan(['handout', '--status', 'active', '--out-dir', 'out'], { cwd: dir, testDatabase: false });
  expect(printed.code, printed.stderr).toBe(0);
  return readdirSync(join(dir, 'out'))
    .sort()
    .slice(0, 3)
    .map((f) => join(dir, 'out', f));
}

function pdftotext(file: string): string {
  const result = spawnSync('pdftotext', ['-enc', 'UTF-8', file, '-'], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`pdftotext failed: ${result.stderr}`);
  return result.stdout;
}

async function open(file: string): Promise<Pdf> {
  return pdfjs.getDocument({ data: new Uint8Array(readFileSync(file)), useSystemFonts: false, isEvalSupported: false, verbosity: 0 }).promise;
}

/** Glyphs drawn with code 0, the font's .notdef (the empty box), on every page. pdfkit embeds fonts with Identity-H, so a code is a glyph id. */
async function notdefs(pdf: Pdf): Promise<string[]> {
  const found: string[] = [];
  for (let n = 1; n <= pdf.numPages; n++) {
    const ops = await (await pdf.getPage(n)).getOperatorList();
    ops.fnArray.forEach((fn, i) => {
      if (fn !== pdfjs.OPS.showText) return;
      for (const glyph of ops.argsArray[i]![0] as Array<{ originalCharCode?: number; unicode?: string } | number | null>) {
        if (glyph && typeof glyph === 'object' && glyph.originalCharCode === 0) found.push(`page ${n}: ${JSON.stringify(glyph.unicode)}`);
      }
    });
  }
  return found;
}

/** A page's structure tree, each element with the text of its marked content, and the text drawn outside any tag or artifact. */
async function structure(pdf: Pdf, n: number): Promise<{ tree: StructNode; text: (node: StructNode) => string; untagged: string[] }> {
  const page = await pdf.getPage(n);
  const content = await page.getTextContent({ includeMarkedContent: true });
  const byId = new Map<string, string>();
  const untagged: string[] = [];
  const open: Array<{ id?: string; tag?: string }> = [];
  for (const item of content.items as Array<{ type?: string; id?: string; tag?: string; str?: string }>) {
    if (item.type === 'beginMarkedContentProps' || item.type === 'beginMarkedContent') open.push({ id: item.id, tag: item.tag });
    else if (item.type === 'endMarkedContent') open.pop();
    else if (item.str !== undefined && item.str.trim() !== '') {
      const owner = [...open].reverse().find((m) => m.id !== undefined || m.tag === 'Artifact');
      if (!owner) untagged.push(item.str);
      else if (owner.id) byId.set(owner.id, `${byId.get(owner.id) ?? ''}${item.str}`);
    }
  }
  const tree = (await page.getStructTree()) as StructNode;
  const text = (node: StructNode): string => (node.type === 'content' ? (byId.get(node.id!) ?? '') : (node.children ?? []).map(text).filter(Boolean).join(' '));
  return { tree, text, untagged };
}

function all(node: StructNode, role: string): StructNode[] {
  return [...(node.role === role ? [node] : []), ...(node.children ?? []).flatMap((c) => all(c, role))];
}

/** Marked, titled, in English, and every word drawn either in the structure tree (under one Document) or an artifact. */
async function expectTagged(file: string): Promise<void> {
  const pdf = await open(file);
  expect(await pdf.getMarkInfo(), file).toMatchObject({ Marked: true });
  const { info } = (await pdf.getMetadata()) as unknown as { info: { Title?: string; Language?: string } };
  expect(info.Language).toBe('en-US');
  expect(info.Title).toMatch(/\S: treatment plan$/);
  for (let n = 1; n <= pdf.numPages; n++) {
    const { tree, untagged } = await structure(pdf, n);
    expect(tree.children?.map((c) => c.role), `${file} page ${n}`).toEqual(['Document']);
    expect(untagged, `${file} page ${n}`).toEqual([]);
  }
  expect(await notdefs(pdf), file).toEqual([]);
  await pdf.destroy();
}

describe('handout PDFs as readers take them', () => {
  it('prints every patient of the troublesome workspace: other scripts as written, or transliterated with a warning, never an empty box', async () => {
    const { files, stderr } = troubleHandouts();
    // Arabic, Hebrew and Devanagari from the fallback fonts, in reading order for pdftotext.
    const names: Record<number, string> = { 1: 'محمد العلي', 2: 'דוד כהן', 6: 'प्रिया शर्मा' };
    for (const [id, name] of Object.entries(names)) expect(pdftotext(files.get(Number(id))!), `plan ${id}`).toContain(name);

    // Chinese, Japanese, Korean and emoji: a warning naming the field and the characters.
    const warning = (plan: number, field: string, text: string, characters: string[]) =>
      expect(stderr).toContain(`warning: plan ${plan}: the ${field} "${text}" has characters the handout's fonts cannot print: ${characters.join(', ')}; printed as`);
    warning(1, 'plan name', 'Acne plan, phase 1; "clear" \\ skin — ✨ خطة', ['✨ (U+2728)']);
    warning(3, 'patient name', '小明 王', ['小 (U+5C0F)', '明 (U+660E)', '王 (U+738B)']);
    warning(4, 'patient name', '太郎 山田', ['太 (U+592A)', '郎 (U+90CE)', '山 (U+5C71)', '田 (U+7530)']);
    warning(5, 'patient name', '민준 김', ['민 (U+BBFC)', '준 (U+C900)', '김 (U+AE40)']);
    warning(7, 'patient name', 'Zoë 🌸 Ångström', ['🌸 (U+1F338)']);
    expect(stderr).not.toMatch(/plan [268]: the patient name/);
    // What prints instead is the transliteration, and the warning says so.
    expect(stderr).toContain('printed as "XiaoMing Wang"');
    expect(pdftotext(files.get(3)!)).toContain('XiaoMing Wang');
    expect(pdftotext(files.get(4)!)).toContain('TaiLang ShanTian');
    expect(pdftotext(files.get(5)!)).toContain('MinJun Gim');
    expect(pdftotext(files.get(7)!)).toContain('Zoë :cherry_blossom: Ångström');

    // No glyph is the empty box, and every handout is tagged.
    for (const file of files.values()) await expectTagged(file);
  });

  it("tags the demo's handouts: title, headings, tables with header cells, lists, small capitals read as words", async () => {
    const demo = demoHandouts();
    for (const file of demo) await expectTagged(file);

    const pdf = await open(demo[0]!);
    const pages = await Promise.all(Array.from({ length: pdf.numPages }, (_, i) => structure(pdf, i + 1)));
    const first = pages[0]!;
    const h1 = all(first.tree, 'H1');
    expect(h1).toHaveLength(1);
    const { info } = (await pdf.getMetadata()) as unknown as { info: { Title: string } };
    expect(`${first.text(h1[0]!)}: treatment plan`).toBe(info.Title);
    const headings = pages.flatMap((p) => all(p.tree, 'H2').map(p.text));
    expect(headings[0]).toBe('Treatment schedule');
    expect(headings).toContain('Payment summary');
    // The facts band: its labels are the header cells of the values under them.
    const tables = all(first.tree, 'Table');
    expect(all(tables[0]!, 'TH').map(first.text)).toEqual(['Duration', 'Starts', 'Ends', 'Price']);
    expect(all(tables[0]!, 'TD')).toHaveLength(4);
    // The schedule: a header row, then one row per visit.
    expect(all(tables[1]!, 'TH').map(first.text)).toEqual(['#', 'Recommended', 'Booked', 'Services', 'Notes', 'Status']);
    expect(first.text(all(tables[1]!, 'TR')[1]!)).toMatch(/^1 /);
    // Home care is a list of numbered items.
    const lists = pages.flatMap((p) => all(p.tree, 'L').map((l) => ({ l, p })));
    expect(lists.length).toBeGreaterThan(0);
    const { l, p } = lists[0]!;
    const item = all(l, 'LI')[0]!;
    expect(item.children?.map((c) => c.role)).toEqual(['Lbl', 'LBody']);
    expect(p.text(all(item, 'Lbl')[0]!)).toBe('1');
    await pdf.destroy();

    // Labels set in small capitals extract as their words, not in capitals.
    const text = pdftotext(demo[0]!);
    for (const label of ['Treatment plan', 'Prepared for', 'Duration', 'Recommended', 'Status']) expect(text).toContain(label);
    expect(text).not.toMatch(/TREATMENT PLAN|PREPARED FOR|DURATION|RECOMMENDED/);
  });
});
