import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { binary, engine, testDatabase, txplan, type RunResult } from '../helpers.js';
import { pdfText } from '../pdf-text.js';

/**
 * Money and moments as people read them: every amount in the text output is
 * money ("$249.00"), never minor units with a code ("24900 USD"); every
 * date-time is in the clinic's (or the workspace's) zone, with the zone named.
 */

const ACNE = 'comprehensive-acne-resolution';
// The workspace's zone is America/New_York (txplan.yaml); the clinic's is Europe/Paris.
const STARTED = '2027-01-10T09:00:00Z'; // 10:00 in Paris, 04:00 in New York
const CANCELLED = '2027-01-12T16:30:00Z'; // 17:30 in Paris, 11:30 in New York
const MINOR_UNITS = /\b\d+ [A-Z]{3}\b/;

let ws: string;
const at = (now: string) => (...args: string[]): RunResult => txplan(args, { cwd: ws, env: { TXPLAN_NOW: now } });
const later = at(CANCELLED);

// One workspace for the whole file, made before the first test and removed after the last.
const root = mkdtempSync(join(tmpdir(), 'txplan-money-words-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

beforeAll(() => {
  ws = join(root, 'clinic');
  if (txplan(['init', ws]).code !== 0) throw new Error('txplan init failed');
  // Three plans of one template for one patient, on purpose: --allow-duplicate.
  const start = ['plan', 'apply', 'P-1', ACNE, '--mode', 'start', '--clinic', 'paris', '--payment-method', 'pm_card_visa', '--yes', '--allow-duplicate'];
  for (const [now, args] of [
    [STARTED, ['clinic', 'add', 'paris', '--name', 'Lumen Paris', '--timezone', 'Europe/Paris']],
    [STARTED, ['patient', 'add', '--first', 'Ada', '--last', 'Lovelace', '--mrn', 'P-1']],
    [STARTED, start], // plan 1
    [STARTED, start], // plan 2
    [STARTED, start], // plan 3, edited while someone pauses it
    [CANCELLED, ['plan', 'cancel', '1', '--reason', 'Moving away', '--yes']],
    [CANCELLED, ['plan', 'cancel', '2', '--reason', 'Goodwill', '--waive-fee', '--yes']],
  ] as const) {
    const result = txplan(args, { cwd: ws, env: { TXPLAN_NOW: now } });
    if (result.code !== 0) throw new Error(`setup ${args.join(' ')}: ${result.stderr}`);
  }
});

describe('money in the right words', () => {
  it('prints amounts as money, never minor units, in every command that shows one', () => {
    const outputs: Record<string, RunResult> = {
      'plan list': later('plan', 'list', '--status', 'cancelled'),
      'billing charges': later('billing', 'charges'),
      'billing run': later('billing', 'run', '--date', '2027-01-12'),
      'billing forecast': later('billing', 'forecast'),
      'template show': later('template', 'show', ACNE),
      'catalog list': later('catalog', 'list'),
    };
    for (const [command, result] of Object.entries(outputs)) {
      expect(result.code, `${command}: ${result.stderr}`).toBe(0);
      expect(result.stdout, command).not.toMatch(MINOR_UNITS);
    }
    expect(outputs['billing charges']!.stdout).toContain('$150.00');
    expect(outputs['template show']!.stdout).toContain('$249.00');

    // An amount the processor disagrees with is told in money on both sides.
    // The sandbox processor's ledger: its own file beside a SQLite database, its tables in a PostgreSQL one.
    const ledger = engine === 'postgres' ? testDatabase(ws) : new Database(join(ws, '.txplan', 'sandbox-gateway.db'));
    const table = engine === 'postgres' ? 'sandbox_charges' : 'charges';
    expect(ledger.prepare(`UPDATE ${table} SET amount_minor = 25000 WHERE idempotency_key LIKE '%plan-1-installment-1'`).run().changes).toBe(1);
    ledger.close();
    const reconcile = later('billing', 'reconcile');
    expect(reconcile.code).toBe(1);
    expect(reconcile.stdout).toContain('txplan has $249.00, the processor $250.00');
    expect(reconcile.stdout).not.toMatch(MINOR_UNITS);
    const json = JSON.parse(later('billing', 'reconcile', '--json').stdout) as { differences: Array<{ txplan: { amount_minor: number; currency: string } }> };
    expect(json.differences[0]!.txplan).toMatchObject({ amount_minor: 24900, currency: 'USD' });
  });

  it("itemises a cancelled plan's payments in plan show and the handout: installments, the early fee charged or waived", async () => {
    const charged = later('plan', 'show', '1');
    expect(charged.code).toBe(0);
    expect(charged.stdout).toContain('Installment 1 of 6, due 2027-01-10: $249.00 paid');
    expect(charged.stdout).toContain('Early cancellation fee, due 2027-01-12: $150.00 paid');
    expect(charged.stdout).not.toMatch(MINOR_UNITS);
    const waived = later('plan', 'show', '2');
    expect(waived.stdout).toContain('Installment 1 of 6, due 2027-01-10: $249.00 paid');
    expect(waived.stdout).toContain('Early cancellation fee: $150.00 waived');

    const handout = later('handout', '1', '-o', 'plan-1.pdf');
    expect(handout.code, handout.stderr).toBe(0);
    const pdf = await pdfText(join(ws, 'plan-1.pdf'));
    expect(pdf.text).toContain('Installment 1 of 6');
    expect(pdf.text).toContain('Early cancellation fee');
    expect(pdf.text).toMatch(/Early cancellation fee \$150\.00 Paid, due Jan 12, 2027/);
    expect(pdf.text).not.toMatch(MINOR_UNITS);
  });

  it("shows times in the clinic's zone (plan show) or the workspace's (audit, patient show), with the zone named", () => {
    const show = later('plan', 'show', '1');
    expect(show.stdout).toMatch(/Added\s+2027-01-10 10:00 Europe\/Paris/);
    expect(show.stdout).toMatch(/Cancelled\s+2027-01-12 17:30 Europe\/Paris by test: Moving away/);
    expect(JSON.parse(later('plan', 'show', '1', '--json').stdout)).toMatchObject({ created_at: '2027-01-10T09:00:00.000Z' });

    const audit = later('audit', '--entity', 'plan', '--id', '1');
    expect(audit.code).toBe(0);
    expect(audit.stdout).toContain('2027-01-12 11:30 America/New_York');
    expect(audit.stdout).not.toMatch(/\d{2}:\d{2}(:\d{2})?Z\b/);

    const charges = later('audit', '--entity', 'charge');
    expect(charges.stdout).toContain('"amount":"$150.00"');
    expect(charges.stdout).not.toContain('amount_minor');

    expect(later('patient', 'show', 'P-1').stdout).toMatch(/Added\s+2027-01-10 04:00 America\/New_York/);

    // A change made meanwhile is told in the plan's clinic's zone: an $EDITOR that has "ana" pause the plan, then saves.
    const editor = join(root, 'editor.sh');
    writeFileSync(editor, `#!/bin/sh\nTXPLAN_ACTOR=ana "${process.execPath}" "${binary}" plan pause 3 >/dev/null 2>&1\nsed -i "s/^goal: .*/goal: Edited meanwhile/" "$1"\n`);
    chmodSync(editor, 0o755);
    const edit = txplan(['plan', 'edit', '3', '--edit'], { cwd: ws, env: { TXPLAN_NOW: CANCELLED, EDITOR: editor } });
    expect(edit.code).toBe(1);
    expect(edit.stderr).toContain('txplan: Plan 3 was paused by ana at 2027-01-12 17:30 Europe/Paris while you were editing; nothing was saved');
  });
});
