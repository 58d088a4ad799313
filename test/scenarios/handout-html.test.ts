import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, type DefaultTreeAdapterMap } from 'parse5';
import { describe, expect, it } from 'vitest';
import { beforeAllWithFolders, runner, setUp, workspace, type RunResult } from '../helpers.js';

/**
 * The handout as a web page (`txplan handout --format html`), read back with
 * a spec-compliant HTML parser (parse5) rather than by pattern matching:
 * language, landmarks, one h1, table headers with scope, no script and no
 * remote address anywhere, the patient's note but never the clinical one,
 * a hostile name shown as text, NOK written the Norwegian way, and one page
 * per plan in batch mode, private to its owner.
 */

type Node = DefaultTreeAdapterMap['node'];
type Element = DefaultTreeAdapterMap['element'];

const ACNE = 'comprehensive-acne-resolution'; // monthly, 6 × 249.00
const RECOVERY = 'post-procedure-recovery';
const NOW = '2026-12-01T10:00:00Z';
const HOSTILE_FIRST = '<script>alert("x")</script>Zoë';
const HOSTILE_LAST = `O'Brien & "Sons" <img src=x onerror=alert(1)>`;
const ARABIC = { first: 'محمد', last: 'العلي' };
/** 249.00 NOK as Intl writes it for nb-NO ("249,00 kr", with a no-break space). */
const FEE = new Intl.NumberFormat('nb-NO', { style: 'currency', currency: 'NOK' }).format(249);

let ws: string;
let run: (...args: string[]) => RunResult;

beforeAllWithFolders(() => {
  ws = workspace();
  // A Norwegian practice: its templates and catalog are priced in NOK.
  writeFileSync(join(ws, 'txplan.yaml'), readFileSync(join(ws, 'txplan.yaml'), 'utf8').replace(/^currency: .*$/m, 'currency: NOK'));
  ({ run } = runner(ws, { now: NOW }));
  setUp(
    ws,
    [
      ['clinic', 'add', 'oslo', '--name', 'Lumen Oslo', '--currency', 'NOK', '--locale', 'nb-NO', '--timezone', 'Europe/Oslo'],
      ['patient', 'add', '--first', HOSTILE_FIRST, '--last', HOSTILE_LAST, '--mrn', 'P-1'],
      ['patient', 'add', '--first', ARABIC.first, '--last', ARABIC.last, '--mrn', 'P-2'],
      ['plan', 'apply', 'P-1', ACNE, '--mode', 'start', '--clinic', 'oslo', '--payment-method', 'pm_card_visa', '--yes'],
      ['plan', 'book', '1', '2', '--at', '2027-01-05 16:30'],
      ['plan', 'step', '--yes', '1', '1', '--done', '--note', 'Internal: mild erythema, lot 4471', '--patient-note', 'Baseline photos taken; see you next month'],
      ['plan', 'apply', 'P-2', RECOVERY, '--mode', 'start', '--clinic', 'oslo', '--payment-method', 'pm_card_visa', '--yes'],
    ],
    NOW,
  );
}, 60_000);

function elements(node: Node, out: Element[] = []): Element[] {
  if ('tagName' in node) out.push(node);
  const children = 'childNodes' in node ? node.childNodes : [];
  for (const child of children) elements(child, out);
  if ('content' in node && node.nodeName === 'template') elements(node.content, out);
  return out;
}

function textOf(node: Node): string {
  if (node.nodeName === '#text') return (node as DefaultTreeAdapterMap['textNode']).value;
  return ('childNodes' in node ? node.childNodes : []).map(textOf).join('');
}

const attr = (el: Element, name: string) => el.attrs.find((a) => a.name === name)?.value;

function page(file: string) {
  const source = readFileSync(file, 'utf8');
  const document = parse(source);
  const all = elements(document);
  const byTag = (tag: string) => all.filter((el) => el.tagName === tag);
  const body = byTag('body')[0]!;
  return { source, all, byTag, text: textOf(body).replace(/[ \t\r\n]+/g, ' ') };
}

describe('txplan handout --format html', () => {
  it('writes one self-contained, escaped, accessible page in the clinic\'s language and currency, with the patient\'s notes only', () => {
    const result = run('handout', '1', '--format', 'html', '-o', 'plan-1.html');
    expect(result.stderr.replace(/^txplan: warning: TXPLAN_NOW.*\n/m, '')).toBe('');
    expect(result.code).toBe(0);
    const file = join(ws, 'plan-1.html');
    expect(result.stdout).toBe(`✔ Wrote the handout of plan 1 as a web page to ${file}\n`);
    // Health data: private to its owner, like the PDF.
    expect(statSync(file).mode & 0o777).toBe(0o600);

    const { all, byTag, text, source } = page(file);
    // Language: English words in the clinic's region.
    expect(attr(byTag('html')[0]!, 'lang')).toBe('en-NO');
    // Landmarks, one h1, headings in order (no level skipped).
    for (const tag of ['header', 'main', 'footer']) expect(byTag(tag)).toHaveLength(1);
    expect(byTag('h1')).toHaveLength(1);
    expect(textOf(byTag('h1')[0]!)).toBe('Comprehensive Acne Resolution');
    const levels = all.filter((el) => /^h[1-6]$/.test(el.tagName)).map((el) => Number(el.tagName[1]));
    levels.forEach((level, i) => i > 0 && expect(level).toBeLessThanOrEqual(levels[i - 1]! + 1));
    // Every table header says what it heads.
    const headers = byTag('th');
    expect(headers.length).toBeGreaterThan(6);
    for (const th of headers) expect(['col', 'row']).toContain(attr(th, 'scope'));
    expect(headers.filter((th) => attr(th, 'scope') === 'col').map(textOf)).toEqual(['#', 'Recommended', 'Booked', 'Services', 'Notes', 'Status']);

    // No script, no event handler, nothing fetched from anywhere: no http(s) address in src, href or url().
    expect(byTag('script')).toHaveLength(0);
    for (const el of all) {
      for (const a of el.attrs) {
        expect(a.name.startsWith('on'), `${el.tagName} ${a.name}`).toBe(false);
        if (['src', 'href', 'srcset', 'action', 'poster', 'data'].includes(a.name)) expect(a.value).not.toMatch(/^\s*(https?:)?\/\//i);
      }
    }
    const styles = byTag('style').map(textOf).join('\n');
    const urls = [...styles.matchAll(/url\(\s*['"]?([^'")]*)/g)].map((m) => m[1]!);
    expect(urls.length).toBeGreaterThanOrEqual(4); // the four Noto Sans faces
    for (const url of urls) expect(url).toMatch(/^data:font\/ttf;base64,/);
    expect(source).not.toMatch(/(src|href)\s*=\s*["']?\s*https?:/i);
    const csp = byTag('meta').find((m) => attr(m, 'http-equiv') === 'Content-Security-Policy');
    expect(attr(csp!, 'content')).toContain("default-src 'none'");

    // The hostile name is text on the page, not markup.
    expect(text).toContain(`${HOSTILE_FIRST} ${HOSTILE_LAST}`);
    expect(byTag('img')).toHaveLength(0);
    expect(source).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;Zoë');

    // The patient's note is there; the clinical note never is.
    expect(text).toContain('Visit note: Baseline photos taken; see you next month');
    expect(source).not.toContain('mild erythema');
    expect(source).not.toContain('4471');

    // Money as the Oslo clinic writes it, in NOK; dates and times the way Norway writes them, in English.
    expect(text).toContain(`${FEE} × 6 months`);
    expect(text).not.toContain('$');
    const facts = byTag('dd').slice(0, 4).map(textOf);
    expect(facts).toEqual(['6 months', '1 Dec 2026', '1 Jun 2027', `${FEE} × 6 months`]);
    const booked = all.filter((el) => attr(el, 'data-label') === 'Booked').map((cell) => elements(cell).filter((el) => el.tagName === 'p').map(textOf));
    expect(booked[1]).toEqual(['5 Jan 2027', '16:30']);
  });

  it('writes one page per plan with --status, and refuses to overwrite one without --force', () => {
    const result = run('handout', '--status', 'active', '--format', 'html', '--out-dir', 'pages', '--json');
    expect(result.code).toBe(0);
    const dir = join(ws, 'pages');
    const out = JSON.parse(result.stdout) as { format: string; handouts: Array<{ id: number; file: string }> };
    expect(out.format).toBe('html');
    expect(out.handouts).toEqual([
      { id: 1, file: join(dir, 'plan-1.html') },
      { id: 2, file: join(dir, 'plan-2.html') },
    ]);
    expect(readdirSync(dir).sort()).toEqual(['plan-1.html', 'plan-2.html']);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    for (const name of readdirSync(dir)) expect(statSync(join(dir, name)).mode & 0o777).toBe(0o600);

    // An Arabic name reads right to left in its own element, with the Arabic face inlined.
    const second = page(join(dir, 'plan-2.html'));
    const patient = second.all.find((el) => attr(el, 'class') === 'patient')!;
    expect(textOf(patient)).toBe(`${ARABIC.first} ${ARABIC.last}`);
    expect(attr(patient, 'dir')).toBe('auto');
    expect(second.byTag('style').map(textOf).join('')).toContain("font-family: 'Noto Sans Arabic'");

    const before = readFileSync(join(dir, 'plan-1.html'), 'utf8');
    const again = run('handout', '1', '--format', 'html', '-o', join('pages', 'plan-1.html'));
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`${join(dir, 'plan-1.html')} already exists; choose another file or add --force to replace it`);
    expect(readFileSync(join(dir, 'plan-1.html'), 'utf8')).toBe(before);

    const paper = run('handout', '1', '--format', 'html', '--paper', 'a4', '-o', 'a4.html');
    expect(paper.code).toBe(2);
    expect(paper.stderr).toContain('--paper sizes the PDF');
  });
});
