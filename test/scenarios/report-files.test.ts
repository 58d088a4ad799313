import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse, type DefaultTreeAdapterMap } from 'parse5';
import { describe, expect, it } from 'vitest';
import { at, beforeAllWithFolders, clinicWorkspace, engine, repoRoot, setUp, txplan } from '../helpers.js';
import type { Report } from '../../src/domain/report.js';

/**
 * `txplan report --pdf FILE --html FILE` through the built binary, on either
 * engine, over a small history on the rehearsal clock (clinic "main", USD):
 * - plan 1, glow-membership (12 × $169.00) from 2031-01-15: installment 2
 *   declined on 02-01, paid by the retry on 02-04 after a new card; installment 3 paid.
 * - plan 2, moderate-acne-program (4 × $199.00) from 2031-01-15: installment 1
 *   paid, cancelled on 01-25 "Moved away".
 * The report runs on 2031-03-10 for 2031-01-01 to 2031-04-30: January
 * collects $169.00 + $199.00 = $368.00.
 */
const TODAY = '2031-03-10T09:00:00Z';
const PERIOD = ['--from', '2031-01-01', '--to', '2031-04-30'];

let ws: string;
const report = (...args: string[]) => txplan(['report', ...PERIOD, ...args], { cwd: ws, env: at(TODAY) });

type Element = DefaultTreeAdapterMap['element'];
function elements(node: DefaultTreeAdapterMap['parentNode'], found: Element[] = []): Element[] {
  for (const child of node.childNodes) {
    if ('tagName' in child) {
      found.push(child);
      elements(child, found);
    }
  }
  return found;
}
const attr = (el: Element, name: string) => el.attrs.find((a) => a.name === name)?.value;
const textOf = (el: Element): string => el.childNodes.map((c) => ('value' in c && c.nodeName === '#text' ? c.value : 'tagName' in c ? textOf(c) : '')).join('');

beforeAllWithFolders(() => {
  ws = clinicWorkspace(2);
  const on = (now: string, ...commands: string[][]) => setUp(ws, commands, now);
  const apply = (patient: string, template: string) => ['plan', 'apply', patient, template, '--mode', 'start', '--clinic', 'main', '--start', '2031-01-15', '--payment-method', 'pm_card_visa', '--yes'];
  on('2031-01-15T09:00:00Z', apply('P-1', 'glow-membership'), apply('P-2', 'moderate-acne-program'));
  on('2031-01-25T09:00:00Z', ['plan', 'cancel', '2', '--reason', 'Moved away', '--yes'], ['plan', 'payment', '1', '--payment-method', 'pm_card_chargeDeclined', '--yes']);
  // Exit 3: plan 1's installment is declined.
  expect(txplan(['billing', 'run', '--yes'], { cwd: ws, env: at('2031-02-01T09:00:00Z') }).code).toBe(3);
  on('2031-02-02T09:00:00Z', ['plan', 'payment', '1', '--payment-method', 'pm_card_visa', '--yes']);
  on('2031-02-04T09:00:00Z', ['billing', 'run', '--yes']);
  on('2031-03-01T09:00:00Z', ['billing', 'run', '--yes']);
}, 120_000);

describe('txplan report --pdf / --html', () => {
  it('writes both files, private, whole, and the same bytes again for the same data and clock', () => {
    const result = report('--pdf', 'report.pdf', '--html', 'out/report.html');
    // The folder of an output is not created: the write says so and nothing is left behind.
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe(`txplan: Could not write ${join(ws, 'out', 'report.html')}: the folder ${join(ws, 'out')} does not exist; create it or choose another path`);
    expect(existsSync(join(ws, 'report.pdf'))).toBe(false);
    const twice = report('--pdf', 'same', '--html', './same');
    expect([twice.code, twice.stderr.trim()]).toEqual([2, 'txplan: --pdf and --html name the same file; give each its own']);
    mkdirSync(join(ws, 'out'));
    const written = report('--pdf', 'report.pdf', '--html', 'out/report.html');
    expect(written.stderr).toBe('');
    expect(written.code).toBe(0);
    expect(written.stdout).toContain(`Wrote the report 2031-01-01 to 2031-04-30 (web page) to ${join(ws, 'out', 'report.html')}`);
    expect(written.stdout).toMatch(/Wrote the report 2031-01-01 to 2031-04-30 \(PDF, \d+ pages?\) to .*report\.pdf/);
    for (const file of ['report.pdf', 'out/report.html']) expect(statSync(join(ws, file)).mode & 0o777).toBe(0o600);
    const [pdf, html] = [readFileSync(join(ws, 'report.pdf')), readFileSync(join(ws, 'out/report.html'), 'utf8')];
    if (engine === 'sqlite') {
      // The PDF's first page as poppler draws it: the README's picture of the report (one engine writes it).
      const page = spawnSync('pdftoppm', ['-png', '-r', '60', '-f', '1', '-l', '1', '-singlefile', join(ws, 'report.pdf'), join(repoRoot, 'docs', 'report-pdf')], { encoding: 'utf8' });
      expect(page.status, page.stderr).toBe(0);
      expect(readFileSync(join(repoRoot, 'docs', 'report-pdf.png')).subarray(1, 4).toString()).toBe('PNG');
    }

    // An existing file is refused without --force, before anything is drawn; a folder always.
    const again = report('--html', 'out/report.html');
    expect([again.code, again.stderr.trim()]).toEqual([1, `txplan: ${join(ws, 'out', 'report.html')} already exists; choose another file or add --force to replace it`]);
    const folder = report('--pdf', 'out');
    expect([folder.code, folder.stderr.trim()]).toEqual([1, `txplan: ${join(ws, 'out')} is a folder; give --pdf a file name such as ${join(ws, 'out', 'report.pdf')}`]);
    const same = report('--pdf', 'report.pdf', '--html', 'out/report.html', '--force', '--json');
    expect(same.code).toBe(0);
    const json = JSON.parse(same.stdout) as Report & { files: Array<{ format: string; file: string }> };
    expect(json.files.map((f) => f.format)).toEqual(['html', 'pdf']);
    expect(json.totals.payments).toMatchObject({ declined: 1, recovered: 1 });
    expect(readFileSync(join(ws, 'report.pdf')).equals(pdf)).toBe(true);
    expect(readFileSync(join(ws, 'out/report.html'), 'utf8')).toBe(html);
  });

  it('the PDF reads as text: the headings and the figures', () => {
    const file = join(ws, 'report.pdf');
    const result = spawnSync('pdftotext', ['-enc', 'UTF-8', '-layout', file, '-'], { encoding: 'utf8' });
    expect(result.status).toBe(0);
    const text = result.stdout;
    for (const heading of ['Practice report 2031-01-01 to 2031-04-30', 'Revenue by month, USD', 'Completion funnel by template', 'Payment recovery by template', 'Revenue by template', 'Visits by template']) {
      expect(text).toContain(heading);
    }
    expect(text).toMatch(/2031-01\s+\$368\.00\s+\$0\.00\s+\$0\.00/);
    expect(text).toMatch(/glow-membership\s+3\s+1\s+33\.3%\s+1\s+100\.0%/);
    // Tagged for screen readers: one figure per chart, with its description as alternative text.
    const raw = readFileSync(file).toString('latin1');
    expect(raw).toContain('/StructTreeRoot');
    expect(raw.match(/\/S \/Figure/g)).toHaveLength(3);
    expect(raw.match(/\/Alt /g)).toHaveLength(3);
  });

  it('the web page: language, one h1, each chart an image with a label, figures in tables, no script, nothing fetched', () => {
    const html = readFileSync(join(ws, 'out/report.html'), 'utf8');
    const all = elements(parse(html));
    expect(attr(all.find((el) => el.tagName === 'html')!, 'lang')).toBe('en');
    expect(all.filter((el) => el.tagName === 'h1').map(textOf)).toEqual(['Practice report 2031-01-01 to 2031-04-30']);
    expect(all.filter((el) => ['header', 'main', 'footer'].includes(el.tagName)).map((el) => el.tagName)).toEqual(['header', 'main', 'footer']);
    const svgs = all.filter((el) => el.tagName === 'svg');
    expect(svgs.map((svg) => [attr(svg, 'role'), attr(svg, 'aria-label')])).toEqual([
      ['img', 'Revenue by month, USD'],
      ['img', 'Completion funnel by template'],
      ['img', 'Payment recovery by template'],
    ]);
    for (const svg of svgs) {
      const inside = elements(svg);
      expect(textOf(inside.find((el) => el.tagName === 'title')!)).toBe(attr(svg, 'aria-label'));
      expect(textOf(inside.find((el) => el.tagName === 'desc')!).length).toBeGreaterThan(20);
    }
    expect(all.some((el) => el.tagName === 'script')).toBe(false);
    expect(all.some((el) => el.attrs.some((a) => a.name.startsWith('on')))).toBe(false);
    const policy = all.find((el) => el.tagName === 'meta' && attr(el, 'http-equiv') === 'Content-Security-Policy');
    expect(attr(policy!, 'content')).toContain("default-src 'none'");
    const urls = [...html.matchAll(/https?:\/\/[^\s"'<>)]+/g)].map((m) => m[0]);
    expect(new Set(urls)).toEqual(new Set(['http://www.w3.org/2000/svg']));
    // The revenue chart's figures as a table a screen reader can walk.
    const rows = all.filter((el) => el.tagName === 'tr').map((tr) => elements(tr).filter((c) => c.tagName === 'th' || c.tagName === 'td').map(textOf));
    expect(rows).toContainEqual(['2031-01', '$368.00', '$0.00', '$0.00']);
    expect(rows).toContainEqual(['glow-membership', '3', '1', '33.3%', '1', '100.0%']);
  });
});
