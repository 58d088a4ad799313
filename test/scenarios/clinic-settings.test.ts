import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { beforeAllWithFolders, query, runner, setUp, workspace, type RunResult } from '../helpers.js';
import { pdfText } from '../pdf-text.js';

/**
 * A clinic's own settings: currency and locale (an Oslo clinic selling in NOK,
 * written the Norwegian way), editing (audited, a time-zone change refused
 * while visits are booked), archiving; and the words every command shares:
 * template versions as v3, audit --limit/--reverse, one exit-code table.
 */

const ACNE = 'comprehensive-acne-resolution'; // monthly, 6 × 249.00, version 3
const NOW = '2026-12-01T10:00:00Z';
/** Text as pdf.js and a terminal table both give it: any run of spaces (nb-NO writes no-break spaces) as one. */
const spaced = (text: string) => text.replace(/\s+/g, ' ');
/** 249.00 NOK as Intl writes it for nb-NO ("249,00 kr"). */
const FEE = spaced(new Intl.NumberFormat('nb-NO', { style: 'currency', currency: 'NOK' }).format(249));
const TOTAL = spaced(new Intl.NumberFormat('nb-NO', { style: 'currency', currency: 'NOK' }).format(1494));

let ws: string;
let run: (...args: string[]) => RunResult;
let json: <T = unknown>(...args: string[]) => T;

beforeAllWithFolders(() => {
  ws = workspace();
  // A Norwegian practice: its templates and catalog are priced in NOK.
  writeFileSync(join(ws, 'txplan.yaml'), readFileSync(join(ws, 'txplan.yaml'), 'utf8').replace(/^currency: .*$/m, 'currency: NOK'));
  ({ run, json } = runner(ws, { now: NOW }));
  setUp(
    ws,
    [
      ['clinic', 'add', 'oslo', '--name', 'Lumen Oslo', '--currency', 'NOK', '--locale', 'nb-NO', '--timezone', 'Europe/Oslo'],
      ['clinic', 'add', 'nyc', '--name', 'Lumen New York', '--currency', 'usd', '--timezone', 'America/New_York'],
      ['patient', 'add', '--first', 'Ingrid', '--last', 'Berg', '--mrn', 'P-1'],
      ['patient', 'add', '--first', 'Ola', '--last', 'Nordmann', '--mrn', 'P-2'],
      ['plan', 'apply', 'P-1', ACNE, '--mode', 'start', '--clinic', 'oslo', '--payment-method', 'pm_card_visa', '--yes'],
      ['plan', 'book', '1', '2', '--at', '2027-01-05 10:00'],
      ['plan', 'apply', 'P-2', ACNE, '--mode', 'prescribe'],
    ],
    NOW,
  );
}, 60_000);

describe('a clinic with its own currency and locale', () => {
  it('sells the Oslo plan in NOK and writes its money for nb-NO: handout, plan show, the charge', async () => {
    expect(query(ws, "SELECT currency, locale, archived_at FROM clinics WHERE id = 'oslo'")).toEqual([{ currency: 'NOK', locale: 'nb-NO', archived_at: null }]);
    expect(query(ws, 'SELECT currency FROM plans WHERE id = 1')).toEqual([{ currency: 'NOK' }]);

    expect(run('handout', '1', '-o', 'oslo.pdf').code).toBe(0);
    const pdf = spaced((await pdfText(join(ws, 'oslo.pdf'))).text);
    expect(pdf).toContain(`${FEE} × 6 months`);
    expect(pdf).toContain(`${TOTAL} in total`);
    expect(pdf).not.toContain('$');

    const show = spaced(run('plan', 'show', '1').stdout);
    expect(show).toContain(`Price ${FEE}/month × 6`);
    expect(show).toContain(`Paid ${FEE}`);

    expect(json<Array<{ currency: string; amount_minor: number; status: string }>>('billing', 'charges')).toEqual([expect.objectContaining({ currency: 'NOK', amount_minor: 24900, status: 'succeeded' })]);
    expect(spaced(run('billing', 'charges').stdout)).toContain(` ${FEE} succeeded`);
  });

  it('refuses a priced plan at a clinic selling in another currency than the templates are priced in', () => {
    const refused = run('plan', 'apply', 'P-2', ACNE, '--mode', 'start', '--clinic', 'nyc', '--payment-method', 'pm_card_visa', '--yes', '--allow-duplicate');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`Clinic "nyc" sells in USD, but "${ACNE}" is priced in NOK (the currency in txplan.yaml) and prices are never converted`);
    expect(query(ws, 'SELECT count(*) AS n FROM plans')).toEqual([{ n: 2 }]);
  });

  it('refuses a currency or locale that is not one (exit 2), writing nothing', () => {
    expect(run('clinic', 'add', 'bergen', '--name', 'Bergen', '--currency', 'KRONE')).toMatchObject({ code: 2, stderr: expect.stringContaining('--currency "KRONE" is not an ISO 4217 currency code') });
    expect(run('clinic', 'edit', 'oslo', '--locale', 'not a locale!')).toMatchObject({ code: 2, stderr: expect.stringContaining('--locale "not a locale!" is not a locale') });
    expect(query(ws, "SELECT count(*) AS n FROM clinics WHERE id = 'bergen'")).toEqual([{ n: 0 }]);
  });
});

describe('txplan clinic edit', () => {
  it('writes only the fields given, audited before and after', () => {
    const edited = run('clinic', 'edit', 'oslo', '--phone', '+47 22 00 00 00', '--address', 'Karl Johans gate 1');
    expect(edited.code).toBe(0);
    expect(edited.stdout).toContain('Changed clinic oslo: address (none) → "Karl Johans gate 1", phone (none) → "+47 22 00 00 00".');
    const [entry] = query<{ before: string; after: string }>(ws, "SELECT before, after FROM audit WHERE action = 'clinic.edit' ORDER BY id DESC LIMIT 1");
    expect(JSON.parse(entry!.before)).toEqual({ address: null, phone: null });
    expect(JSON.parse(entry!.after)).toEqual({ address: 'Karl Johans gate 1', phone: '+47 22 00 00 00' });
    expect(run('clinic', 'edit', 'oslo', '--phone', '+47 22 00 00 00').stdout).toContain('nothing changed');
    expect(json<{ id: string; name: string; currency: string }>('clinic', 'edit', 'oslo', '--name', 'Lumen Oslo Sentrum')).toMatchObject({ id: 'oslo', name: 'Lumen Oslo Sentrum', currency: 'NOK' });
  });

  it('refuses a time-zone change while visits are booked ahead, and with --yes says they keep their local time', () => {
    const refused = run('clinic', 'edit', 'oslo', '--timezone', 'Europe/London');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('Clinic oslo has 1 booked visit from now on; a booking keeps its local time');
    expect(query(ws, "SELECT timezone FROM clinics WHERE id = 'oslo'")).toEqual([{ timezone: 'Europe/Oslo' }]);

    const moved = run('clinic', 'edit', 'oslo', '--timezone', 'Europe/London', '--yes');
    expect(moved.code).toBe(0);
    expect(moved.stdout).toContain('1 booked visit keeps its local time and now falls in Europe/London');
    expect(query(ws, "SELECT timezone FROM clinics WHERE id = 'oslo'")).toEqual([{ timezone: 'Europe/London' }]);
    expect(query(ws, 'SELECT booked_at FROM steps WHERE plan_id = 1 AND n = 2')).toEqual([{ booked_at: '2027-01-05 10:00' }]);
    expect(run('clinic', 'edit', 'oslo', '--timezone', 'Europe/Oslo', '--yes').code).toBe(0);
  });

  it("leaves a plan in the currency it was sold in when the clinic's currency changes", () => {
    const changed = run('clinic', 'edit', 'oslo', '--currency', 'EUR');
    expect(changed.stdout).toContain('1 running plan keeps the currency it was sold in; new plans are sold in EUR.');
    expect(json<{ currency: string }>('plan', 'show', '1').currency).toBe('NOK');
    expect(spaced(run('plan', 'show', '1').stdout)).toContain(`Price ${FEE}/month × 6`);
    expect(run('clinic', 'edit', 'oslo', '--currency', 'NOK').code).toBe(0);
  });
});

describe('txplan clinic archive', () => {
  it('hides a clinic from the list and from new plans, refuses one with running plans unless --yes, and brings it back', () => {
    const busy = run('clinic', 'archive', 'oslo');
    expect(busy.code).toBe(1);
    expect(busy.stderr).toContain('Clinic oslo still has 1 running plan');

    expect(run('clinic', 'archive', 'nyc').code).toBe(0);
    expect(json<Array<{ id: string }>>('clinic', 'list').map((c) => c.id)).toEqual(['oslo']);
    expect(json<Array<{ id: string; archived_at: string | null }>>('clinic', 'list', '--all').map((c) => [c.id, c.archived_at !== null])).toEqual([['nyc', true], ['oslo', false]]);
    const closed = run('plan', 'apply', 'P-2', ACNE, '--mode', 'prescribe', '--clinic', 'nyc', '--allow-duplicate');
    expect(closed.code).toBe(1);
    expect(closed.stderr).toContain('Clinic "nyc" is archived and takes no new plans');

    expect(run('clinic', 'unarchive', 'nyc').code).toBe(0);
    expect(json<Array<{ id: string }>>('clinic', 'list').map((c) => c.id)).toEqual(['nyc', 'oslo']);
    expect(query<{ action: string }>(ws, "SELECT action FROM audit WHERE entity = 'clinic' AND action LIKE 'clinic.%archive' ORDER BY id").map((e) => e.action)).toEqual(['clinic.archive', 'clinic.unarchive']);
  });
});

describe('consistent words', () => {
  it('audit lists newest first, --limit N gives the newest N, --reverse prints them oldest first', () => {
    const stored = query<{ id: number }>(ws, 'SELECT id FROM audit ORDER BY id').map((e) => Number(e.id));
    expect(stored.length).toBeGreaterThan(3);
    const ids = (...args: string[]) => json<Array<{ id: number }>>('audit', ...args).map((e) => e.id);
    expect(ids()).toEqual([...stored].reverse());
    expect(ids('--reverse')).toEqual(stored);
    expect(ids('--limit', '3')).toEqual(stored.slice(-3).reverse());
    expect(ids('--limit', '3', '--reverse')).toEqual(stored.slice(-3));
    // The table (tab-separated when piped) in the same order: the ID column.
    const rows = (...args: string[]) => run('audit', ...args).stdout.trim().split('\n').map((line) => Number(line.split('\t')[0]));
    expect(rows('--limit', '3')).toEqual(stored.slice(-3).reverse());
    expect(rows('--limit', '3', '--reverse')).toEqual(stored.slice(-3));
  });

  it('shows a template version as v3 wherever people read it, and keeps it a number in JSON', async () => {
    expect(run('template', 'list').stdout).toMatch(new RegExp(`^${ACNE}\t.*\tv3$`, 'm'));
    expect(run('template', 'show', ACNE).stdout).toContain(`${ACNE} v3`);
    expect(run('plan', 'list').stdout).toContain(`${ACNE} v3`);
    expect(run('plan', 'show', '1').stdout).toContain(`template ${ACNE} v3`);
    expect(run('patient', 'show', 'P-1').stdout).toContain(`${ACNE} v3`);
    // The audit stores the plan's template as "id@3" (its JSON keeps that); its table writes it v3.
    const audit = run('audit', '--entity', 'plan', '--id', '1');
    expect(audit.stdout).toContain(`"template":"${ACNE} v3"`);
    expect(audit.stdout).not.toContain(`${ACNE}@`);
    expect(json<Array<{ action: string; after: { template?: string } }>>('audit', '--entity', 'plan', '--id', '1').find((e) => e.action === 'plan.start')!.after.template).toBe(`${ACNE}@3`);
    expect(run('handout', '1', '-o', 'versions.pdf').code).toBe(0);
    expect(spaced((await pdfText(join(ws, 'versions.pdf'))).text)).toContain(`Template ${ACNE} v3`);
    expect(json<Array<{ template_version: number }>>('plan', 'list').map((p) => p.template_version)).toEqual([3, 3]);
    expect(json<Array<{ id: string; version: number }>>('template', 'list').find((t) => t.id === ACNE)!.version).toBe(3);
  });

  it('exits 1 for an unknown clinic and 2 for a bad flag, whichever command', () => {
    const unknownClinic = [
      ['plan', 'apply', 'P-2', ACNE, '--mode', 'prescribe', '--clinic', 'nowhere', '--allow-duplicate'],
      ['plan', 'apply', 'P-2', ACNE, '--mode', 'start', '--clinic', 'nowhere', '--payment-method', 'pm_card_visa', '--yes', '--allow-duplicate'],
      ['plan', 'list', '--clinic', 'nowhere'],
      ['plan', 'start', '2', '--clinic', 'nowhere', '--yes'],
      ['clinic', 'edit', 'nowhere', '--name', 'Nowhere'],
      ['clinic', 'archive', 'nowhere'],
      ['clinic', 'unarchive', 'nowhere'],
      ['billing', 'run', '--clinic', 'nowhere', '--dry-run'],
    ];
    for (const args of unknownClinic) {
      const result = run(...args);
      expect([args.join(' '), result.code, result.stderr]).toEqual([args.join(' '), 1, expect.stringContaining('No clinic "nowhere"')]);
    }
    const asJson = run('plan', 'list', '--clinic', 'nowhere', '--json');
    expect([asJson.code, JSON.parse(asJson.stderr.slice(asJson.stderr.indexOf('{')))]).toEqual([1, { error: { code: 'not_found', message: expect.stringContaining('No clinic "nowhere"') } }]);
    expect(query(ws, 'SELECT count(*) AS n FROM plans')).toEqual([{ n: 2 }]);
    const badFlag = [
      ['clinic', 'edit', 'oslo', '--colour', 'blue'],
      ['clinic', 'edit', 'oslo'],
      ['clinic', 'add', 'bergen', '--name', 'Bergen', '--locale', '%%'],
      ['plan', 'list', '--status', 'sleeping'],
      ['plan', 'list', '--clinic'],
      ['audit', '--limit', '0'],
      ['audit', '--reverse', 'newest'],
      ['billing', 'run', '--date', 'tomorrow'],
    ];
    for (const args of badFlag) expect([args.join(' '), run(...args).code]).toEqual([args.join(' '), 2]);
  });
});
