import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

/**
 * Headless Chromium (Debian's `chromium` package, which .ci/run installs)
 * driven by playwright-core, for the pages txplan writes: a page is opened
 * from its file, at a viewport width, with nothing allowed to leave the
 * machine, and checked the way a reader's browser would show it.
 */

export const CHROMIUM = process.env.TXPLAN_TEST_CHROMIUM ?? '/usr/bin/chromium';

/** Flags that keep Chromium from calling home: the test machine has no network, and a page must not need one. */
const QUIET = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-default-apps'];

export interface OpenedPage {
  page: Page;
  /** Console messages of type error, and uncaught page errors, in order. */
  errors: string[];
  /** Requests to anything other than the page's own file (a self-contained page makes none). */
  requests: string[];
}

export interface ChromiumSession {
  browser: Browser;
  open(file: string, viewport: { width: number; height: number }, options?: { colorScheme?: 'light' | 'dark'; media?: 'screen' | 'print' }): Promise<OpenedPage>;
  close(): Promise<void>;
}

export async function startChromium(): Promise<ChromiumSession> {
  // playwright gives the browser a fresh profile of its own, removed when it closes.
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: QUIET });
  const pages: Page[] = [];
  return {
    browser,
    async open(file, viewport, options = {}) {
      // bypassCSP lets the tests inject axe-core into a page whose policy forbids every script.
      const context = await browser.newContext({ viewport, bypassCSP: true, colorScheme: options.colorScheme ?? 'light', javaScriptEnabled: true, offline: true });
      const page = await context.newPage();
      pages.push(page);
      const errors: string[] = [];
      const requests: string[] = [];
      const own = pathToFileURL(file).href;
      page.on('console', (message) => {
        if (message.type() === 'error') errors.push(message.text());
      });
      page.on('pageerror', (error) => errors.push(error.message));
      page.on('request', (request) => {
        if (request.url() !== own && !request.url().startsWith('data:')) requests.push(request.url());
      });
      if (options.media) await page.emulateMedia({ media: options.media });
      await page.goto(own, { waitUntil: 'load' });
      return { page, errors, requests };
    },
    async close() {
      for (const page of pages) await page.context().close();
      await browser.close();
    },
  };
}

interface PageDocument {
  documentElement: { scrollWidth: number; clientWidth: number };
  body: { scrollWidth: number };
}

/** How much wider than the viewport the page's content is (0 when nothing scrolls sideways). */
export async function horizontalOverflow(page: Page): Promise<number> {
  return page.evaluate(() => {
    // Runs in the page (this project's type library has no DOM).
    const { documentElement, body } = (globalThis as unknown as { document: PageDocument }).document;
    return Math.max(documentElement.scrollWidth, body.scrollWidth) - documentElement.clientWidth;
  });
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  /** The elements at fault, as CSS selectors, with axe's reason for the first. */
  nodes: string[];
  why: string;
}

/** axe-core's accessibility checks of the page as it stands (WCAG 2.1 A and AA rules and best practices). */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  const require = createRequire(import.meta.url);
  const source = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  await page.addScriptTag({ content: source });
  const result = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(context: unknown, options: unknown): Promise<{ violations: Array<{ id: string; impact: string | null; help: string; nodes: Array<{ target: unknown[]; failureSummary?: string }> }> }> } }).axe;
    return axe.run((globalThis as unknown as { document: PageDocument }).document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } });
  });
  return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')), why: v.nodes[0]?.failureSummary ?? '' }));
}

/** The violations a reader would be hurt by: axe's serious and critical ones. */
export function serious(violations: readonly AxeViolation[]): AxeViolation[] {
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}
