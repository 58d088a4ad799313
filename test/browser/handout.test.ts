import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { beforeAllWithFolders, clinicWorkspace, repoRoot, setUp } from '../helpers.js';
import { axeViolations, horizontalOverflow, serious, startChromium, type ChromiumSession } from './chromium.js';

/**
 * The patient's plan as a web page, read the way a patient reads it: in
 * headless Chromium, on a 360-pixel phone and on a desktop. Nothing scrolls
 * sideways, the page logs no error and asks for nothing from outside, axe-core
 * finds no serious or critical accessibility problem, and printing it keeps
 * the content. The phone and desktop screenshots are the README's pictures.
 */

const NOW = '2026-12-01T10:00:00Z';
/** A word with no break in it, as people paste links and codes: it must wrap inside its column, not widen the page. */
const LONG_WORD = 'Apply-the-ceramide-cream-morning-and-evening-and-after-every-wash-' + 'x'.repeat(120);

let ws: string;
let chromium: ChromiumSession;

beforeAllWithFolders(() => {
  ws = clinicWorkspace(0);
  setUp(
    ws,
    [
      ['patient', 'add', '--first', 'Zoë', '--last', 'Okonkwo-Lindqvist', '--mrn', 'P-1'],
      ['patient', 'add', '--first', 'محمد', '--last', 'العلي', '--mrn', 'P-2'],
      ['plan', 'apply', 'P-1', 'comprehensive-acne-resolution', '--mode', 'start', '--clinic', 'main', '--payment-method', 'pm_card_visa', '--yes'],
      ['plan', 'book', '1', '2', '--at', '2027-01-05 16:30'],
      ['plan', 'step', '--yes', '1', '1', '--done', '--note', 'Internal: lot 4471', '--patient-note', `Baseline photos taken. ${LONG_WORD}`],
      ['plan', 'apply', 'P-2', 'post-procedure-recovery', '--mode', 'start', '--clinic', 'main', '--payment-method', 'pm_card_visa', '--yes'],
      ['handout', '1', '--format', 'html', '-o', 'plan-1.html'],
      ['handout', '2', '--format', 'html', '-o', 'plan-2.html'],
    ],
    NOW,
  );
}, 120_000);

beforeAll(async () => {
  chromium = await startChromium();
}, 60_000);

afterAll(async () => {
  await chromium?.close();
});

describe('the handout web page in Chromium', () => {
  for (const [name, viewport] of [
    ['phone', { width: 360, height: 740 }],
    ['desktop', { width: 1280, height: 900 }],
  ] as const) {
    it(`on a ${viewport.width}-pixel ${name}: no sideways scrolling, no errors, nothing fetched, no serious accessibility problem`, async () => {
      for (const plan of ['plan-1.html', 'plan-2.html']) {
        const { page, errors, requests } = await chromium.open(join(ws, plan), viewport);
        expect(await horizontalOverflow(page), `${plan} at ${viewport.width}px`).toBe(0);
        expect(errors, plan).toEqual([]);
        expect(requests, plan).toEqual([]);
        expect(serious(await axeViolations(page)), plan).toEqual([]);
        // What a patient reads: their name, the plan's title and their own note, and never the clinical one.
        const text = await page.innerText('body');
        expect(text).not.toContain('lot 4471');
        if (plan === 'plan-1.html') {
          expect(text).toContain('Okonkwo-Lindqvist');
          expect(text).toContain('Baseline photos taken.');
          await page.screenshot({ path: join(repoRoot, 'docs', `handout-${name}.png`) });
        }
      }
    });
  }

  it('prints with the same content as on screen', async () => {
    const screen = await chromium.open(join(ws, 'plan-1.html'), { width: 1280, height: 900 });
    const print = await chromium.open(join(ws, 'plan-1.html'), { width: 1280, height: 900 }, { media: 'print' });
    const words = (text: string) => text.replace(/\s+/g, ' ').trim();
    expect(words(await print.page.innerText('main'))).toBe(words(await screen.page.innerText('main')));
    const pdf = await print.page.pdf({ format: 'A4' });
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
  });
});
