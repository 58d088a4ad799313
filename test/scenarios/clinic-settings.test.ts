import { readFileSync, rmSync, writeFileSync } from 'node:fs';
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

const ACNE = 'comprehensive-acne-resolution'; // monthly, 6 × 249.00 (2490.00 in NOK here), version 3
const USD_ONLY = 'moderate-acne-program'; // monthly, priced in USD only
const NOW = '2026-12-01T10:00:00Z';
/** Text as pdf.js and a terminal table both give it: any run of spaces (nb-NO writes no-break spaces) as one. */
const spaced = (text: string) => text.replace(/\s+/g, ' ');
/** 2490.00 NOK as Intl writes it for nb-NO ("2 490,00 kr"). */
const FEE = spaced(new Intl.NumberFormat('nb-NO', { style: 'currency', currency: 'NOK' }).format(2490));
const TOTAL = spaced(new Intl.NumberFormat('nb-NO', { style: 'currency', currency: 'NOK' }).format(14940));
const EARLY_FEE = spaced(new Intl.NumberFormat('nb-NO', { style: 'currency', currency: 'NOK' }).format(1500));

let ws: string;
let run: (...args: string[]) => RunResult;
let json: <T = unknown>(...args: string[]) => T;

beforeAllWithFolders(() => {
  ws = workspace();
  // A US group (txplan.yaml says USD) whose Oslo clinic sells in NOK: one template priced in both.
  expect(readFileSync(join(ws, 'txplan.yaml'), 'utf8')).toMatch(/^currency: USD$/m);
  const file = join(ws, 'templates', `${ACNE}.yaml`);
  const text = readFileSync(file, 'utf8').replace('monthly_fee: "249.00"', 'monthly_fee: { USD: "249.00", NOK: "2490.00" }').replace('early_fee: "150.00"', 'early_fee: { USD: "150.00", NOK: "1500.00" }');
  expect(text).toContain('NOK: "1500.00"');
  writeFileSync(file, text);
  const catalog = join(ws, 'catalog.yaml');
  const priced = readFileSync(catalog, 'utf8').replace('name: Progress Assessment\n    price: "50.00"', 'name: Progress Assessment\n    price: { USD: "50.00", NOK: "500.00" }');
  expect(priced).toContain('NOK: "500.00"');
  writeFileSync(catalog, priced);
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
      ['plan', 'apply', 'P-2', ACNE, '--mode', 'start', '--clinic', 'nyc', '--payment-method', 'pm_card_visa', '--yes', '--allow-duplicate'],
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

    expect(pdf).toContain(`an early cancellation fee of ${EARLY_FEE}`);

    const charges = json<Array<{ plan_id: number; currency: string; amount_minor: number; status: string }>>('billing', 'charges');
    expect(charges.filter((c) => c.plan_id === 1)).toEqual([expect.objectContaining({ currency: 'NOK', amount_minor: 249000, status: 'succeeded' })]);
    expect(spaced(run('billing', 'charges', '--plan', '1').stdout)).toContain(` ${FEE} succeeded`);
  });

  it('sells the same template at the New York clinic in USD, the workspace currency', async () => {
    expect(query(ws, 'SELECT currency FROM plans WHERE id = 3')).toEqual([{ currency: 'USD' }]);
    const charges = json<Array<{ plan_id: number; currency: string; amount_minor: number }>>('billing', 'charges');
    expect(charges.filter((c) => c.plan_id === 3)).toEqual([expect.objectContaining({ currency: 'USD', amount_minor: 24900 })]);
    expect(spaced(run('plan', 'show', '3').stdout)).toContain('Price $249.00/month × 6');
    expect(run('handout', '3', '-o', 'nyc.pdf').code).toBe(0);
    const pdf = spaced((await pdfText(join(ws, 'nyc.pdf'))).text);
    expect(pdf).toContain('$249.00 × 6 months');
    expect(pdf).not.toContain('kr');

    // Dollars and kroner are never added up: the forecast gives each currency its own.
    type Part = { currency: string; installments_remaining_minor: number };
    const forecast = json<Part & { other_currencies?: Part[] }>('billing', 'forecast');
    expect(forecast).toMatchObject({ currency: 'USD', installments_remaining_minor: 5 * 24900 });
    expect(forecast.other_currencies).toEqual([expect.objectContaining({ currency: 'NOK', installments_remaining_minor: 5 * 249000 })]);
  });

  it("refuses a template with no price in the clinic's currency, naming the template, clinic, currency and fix", () => {
    const refused = run('plan', 'apply', 'P-2', USD_ONLY, '--mode', 'start', '--clinic', 'oslo', '--payment-method', 'pm_card_visa', '--yes');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`Template "${USD_ONLY}" has no NOK price for the monthly fee`);
    expect(refused.stderr).toContain('cannot be sold at clinic "oslo", which sells in NOK');
    expect(refused.stderr).toContain('add NOK prices beside the USD ones');
    expect(refused.stderr).not.toMatch(/\n\s+at /);
    expect(query(ws, 'SELECT count(*) AS n FROM plans')).toEqual([{ n: 3 }]);
  });

  it('rolls a new version out only to the plans it has a price for: a NOK plan is skipped when v4 lacks NOK', () => {
    const file = join(ws, 'templates', `${ACNE}.yaml`);
    const v3 = readFileSync(file, 'utf8');
    writeFileSync(file, v3.replace(/^version: 3$/m, 'version: 4').replace('monthly_fee: { USD: "249.00", NOK: "2490.00" }', 'monthly_fee: "259.00"'));
    try {
      const rollout = run('template', 'rollout', ACNE, '--dry-run', '--allow-duplicate');
      expect(rollout.code).toBe(0);
      expect(rollout.stdout).toContain('skip plan 1 (v3): was sold in NOK, but v4 has no NOK price for the monthly fee and prices are never converted; add NOK prices beside the USD ones');
      expect(rollout.stdout).toContain('plan 3: v3 → v4');
      expect(rollout.stdout).toContain('price from installment 2: $249.00 → $259.00');
    } finally {
      writeFileSync(file, v3);
    }
  });

  it("lists templates and the catalog at a clinic in its currency and locale, saying what has no price there", () => {
    const list = json<Array<{ id: string; price: { monthly_fee_minor?: number; currency: string } | null }>>('template', 'list', '--clinic', 'oslo');
    expect(list.find((t) => t.id === ACNE)?.price).toMatchObject({ monthly_fee_minor: 249000, currency: 'NOK' });
    expect(list.find((t) => t.id === USD_ONLY)?.price).toBeNull();
    const table = spaced(run('template', 'list', '--clinic', 'oslo').stdout);
    expect(table).toContain(`${FEE}/month`);
    expect(table).toContain('no NOK price');

    const show = spaced(run('template', 'show', ACNE, '--clinic', 'oslo').stdout);
    expect(show).toContain(`${FEE}/month × 6 = ${TOTAL}`);
    expect(show).toContain(`early fee ${EARLY_FEE}`);
    expect(spaced(run('template', 'show', ACNE).stdout)).toContain('$249.00/month × 6 = $1,494.00');

    const catalog = json<{ currency: string; services: Array<{ id: string; price: { amount_minor: number; currency: string } | null }> }>('catalog', 'list', '--clinic', 'oslo');
    expect(catalog.currency).toBe('NOK');
    expect(catalog.services.filter((s) => s.price !== null)).toEqual([expect.objectContaining({ id: 'progress-assessment', price: { amount_minor: 50000, currency: 'NOK' } })]);
    expect(run('template', 'list', '--clinic', 'nowhere')).toMatchObject({ code: 1, stderr: expect.stringContaining('No clinic "nowhere"') });
  });

  it('validates prices by currency: a known code, its own decimals, the workspace currency among them', () => {
    const file = join(ws, 'templates', 'priced-badly.yaml');
    writeFileSync(file, readFileSync(join(ws, 'templates', `${USD_ONLY}.yaml`), 'utf8').replace(/^id: .*$/m, 'id: priced-badly').replace(/monthly_fee: .*$/m, 'monthly_fee: { NOK: "2490.00", KRONE: "10", JPY: "370.5" }'));
    try {
      const checked = run('template', 'validate', 'templates/priced-badly.yaml');
      expect(checked.code).toBe(1);
      expect(checked.stdout).toContain('pricing.monthly_fee is priced in NOK, KRONE, JPY but not in USD, the workspace currency (txplan.yaml); add USD: "…"');
      expect(checked.stdout).toContain('pricing.monthly_fee has "KRONE", which is not an ISO 4217 currency code');
      expect(checked.stdout).toContain('pricing.monthly_fee.JPY "370.5" has decimals, but JPY has no minor unit');
    } finally {
      rmSync(file);
    }
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

    expect(run('clinic', 'archive', 'nyc', '--yes').code).toBe(0);
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
    expect(json<Array<{ template_version: number }>>('plan', 'list').map((p) => p.template_version)).toEqual([3, 3, 3]);
    expect(json<Array<{ id: string; version: number }>>('template', 'list').find((t) => t.id === ACNE)!.version).toBe(3);
  });

  it('exits 1 for an unknown clinic and 2 for a bad flag, whichever command', () => {
    const plansBefore = query(ws, 'SELECT count(*) AS n FROM plans');
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
    // Refused before anything was written: no plan was added.
    expect(query(ws, 'SELECT count(*) AS n FROM plans')).toEqual(plansBefore);
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
