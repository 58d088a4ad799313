import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { at, beforeAllWithFolders, clinicWorkspace, repoRoot, setUp, txplan } from '../helpers.js';
import { axeViolations, horizontalOverflow, serious, startChromium, type ChromiumSession } from './chromium.js';

/**
 * The practice report's web page (`txplan report --html`) in headless
 * Chromium, on a phone (360 px) and a desktop (1280 px): nothing scrolls
 * sideways, nothing is fetched, no console error, each chart is there with its
 * text alternative, and axe-core finds no serious or critical violation. The
 * screenshots are the README's (docs/report-phone.png, docs/report-desktop.png).
 *
 * The history: three glow-membership plans and one moderate-acne-program plan
 * from 2031-01-15 at clinic "main"; one card declined on 02-01 and recovered by
 * the retry; the acne plan cancelled. Report on 2031-04-10 for 2031-01-01 to 2031-06-30.
 */
let ws: string;
let file: string;
let chromium: ChromiumSession;

beforeAllWithFolders(() => {
  ws = clinicWorkspace(4);
  const on = (now: string, ...commands: string[][]) => setUp(ws, commands, now);
  const apply = (patient: string, template: string) => ['plan', 'apply', patient, template, '--mode', 'start', '--clinic', 'main', '--start', '2031-01-15', '--payment-method', 'pm_card_visa', '--yes'];
  on('2031-01-15T09:00:00Z', apply('P-1', 'glow-membership'), apply('P-2', 'glow-membership'), apply('P-3', 'glow-membership'), apply('P-4', 'moderate-acne-program'));
  on('2031-01-25T09:00:00Z', ['plan', 'cancel', '4', '--reason', 'Moved away', '--yes'], ['plan', 'payment', '2', '--payment-method', 'pm_card_chargeDeclined', '--yes']);
  expect(txplan(['billing', 'run', '--yes'], { cwd: ws, env: at('2031-02-01T09:00:00Z') }).code).toBe(3);
  on('2031-02-02T09:00:00Z', ['plan', 'payment', '2', '--payment-method', 'pm_card_visa', '--yes']);
  on('2031-03-01T09:00:00Z', ['billing', 'run', '--yes']);
  on('2031-04-01T09:00:00Z', ['billing', 'run', '--yes']);
  file = join(ws, 'report.html');
  const result = txplan(['report', '--from', '2031-01-01', '--to', '2031-06-30', '--html', file], { cwd: ws, env: at('2031-04-10T09:00:00Z') });
  if (result.code !== 0) throw new Error(result.stderr);
}, 180_000);

beforeAll(async () => {
  chromium = await startChromium();
}, 60_000);

afterAll(async () => {
  await chromium?.close();
});

const CHARTS = ['Revenue by month, USD', 'Completion funnel by template', 'Payment recovery by template'];

describe.each([
  { name: 'phone', width: 360, height: 780, screenshot: 'docs/report-phone.png' },
  { name: 'desktop', width: 1280, height: 900, screenshot: 'docs/report-desktop.png' },
])('the report page on a $name ($width px)', ({ width, height, screenshot }) => {
  it('fits, fetches nothing, logs no error, shows every chart with its text alternative and passes axe', async () => {
    const { page, errors, requests } = await chromium.open(file, { width, height });
    expect(await horizontalOverflow(page)).toBe(0);
    const charts = await page.locator('svg[role="img"]').evaluateAll((svgs) =>
      svgs.map((svg) => {
        const box = (svg as unknown as { getBoundingClientRect(): { width: number; height: number } }).getBoundingClientRect();
        const el = svg as unknown as { getAttribute(name: string): string | null; querySelector(s: string): { textContent: string | null } | null };
        return { label: el.getAttribute('aria-label'), desc: el.querySelector('desc')?.textContent ?? '', width: box.width, height: box.height };
      }),
    );
    expect(charts.map((c) => c.label)).toEqual(CHARTS);
    for (const chart of charts) {
      expect(chart.desc.length).toBeGreaterThan(20);
      // Drawn, and no wider than the viewport.
      expect(chart.width).toBeGreaterThan(200);
      expect(chart.width).toBeLessThanOrEqual(width);
      expect(chart.height).toBeGreaterThan(50);
    }
    // Each chart's figures, as a table, in the accessibility tree.
    expect(await page.getByRole('table', { name: 'Revenue by month, USD: the figures' }).count()).toBe(1);
    expect(await page.getByRole('img', { name: 'Payment recovery by template' }).count()).toBe(1);
    expect(serious(await axeViolations(page))).toEqual([]);
    await page.screenshot({ path: resolve(repoRoot, screenshot) });
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
  });
});
