import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { repoRoot, tempDir, txplan, workspace } from '../helpers.js';

interface ListedTemplate {
  id: string;
  name: string;
  type: string;
  status: string;
  version: number;
  price: { type: string; monthly_fee_minor?: number; total_minor: number; currency: string };
}

const starter = readdirSync(join(repoRoot, 'templates')).map((n) => parse(readFileSync(join(repoRoot, 'templates', n), 'utf8')) as { id: string; status: string; name: string });

describe('txplan template list', () => {
  it('lists active templates as tab-separated lines when piped', () => {
    const result = txplan(['template', 'list']);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    const lines = result.stdout.trim().split('\n');
    const active = starter.filter((t) => t.status === 'active').map((t) => t.id).sort();
    expect(lines.map((l) => l.split('\t')[0])).toEqual(active);
    const acne = lines.find((l) => l.startsWith('comprehensive-acne-resolution\t'))!.split('\t');
    expect(acne).toEqual(['comprehensive-acne-resolution', 'Comprehensive Acne Resolution', 'monthly', '6 months', expect.stringMatching(/^\$\d+\.\d\d\/month$/), expect.stringMatching(/^v\d+$/)]);
  });

  it('includes retired templates with --all, and gives JSON with ids and minor units', () => {
    const result = txplan(['template', 'list', '--all', '--json']);
    expect(result.code).toBe(0);
    const list = JSON.parse(result.stdout) as ListedTemplate[];
    expect(list.map((t) => t.id).sort()).toEqual(starter.map((t) => t.id).sort());
    expect(list.some((t) => t.status === 'retired')).toBe(true);
    const acne = list.find((t) => t.id === 'comprehensive-acne-resolution')!;
    expect(acne.price).toMatchObject({ type: 'monthly', currency: 'USD' });
    expect(Number.isInteger(acne.price.monthly_fee_minor)).toBe(true);
    expect(acne.price.total_minor).toBe(acne.price.monthly_fee_minor! * 6);
  });

  it('warns about invalid files on stderr and lists the rest', () => {
    const ws = workspace();
    writeFileSync(join(ws, 'templates', 'broken.yaml'), 'id: broken\n');
    const result = txplan(['template', 'list'], { cwd: ws });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('comprehensive-acne-resolution');
    expect(result.stderr).toContain('1 template file is invalid and not listed (templates/broken.yaml); run "txplan template validate" to see why.');
  });
});

describe('txplan template show', () => {
  it('shows the schedule with catalog names, home care, milestones and price', () => {
    const result = txplan(['template', 'show', 'comprehensive-acne-resolution']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Comprehensive Acne Resolution {2}comprehensive-acne-resolution v\d+\nmonthly · 6 months · \$249\.00\/month × 6 = \$1,494\.00/);
    for (const heading of ['Goal', 'Schedule', 'Home care', 'Milestones', 'Follow-up']) expect(result.stdout).toContain(heading);
    expect(result.stdout).toMatch(/1\. Month 1 +Deep Cleansing Facial/);
    expect(result.stdout).toMatch(/6\. Month 6 /);
  });

  it('prices each visit of a pay-as-you-go plan and marks complimentary services', () => {
    const result = txplan(['template', 'show', 'post-procedure-recovery']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('(complimentary)');
    expect(result.stdout).toMatch(/1\. Week 1 .* visit \$0\.00/);
    expect(result.stdout).toMatch(/pay per visit, \$[\d,]+\.\d\d for the whole schedule/);
  });

  it('prints the file as written with --yaml, and the data with --json', () => {
    const file = readFileSync(join(repoRoot, 'templates', 'comprehensive-skin-tightening.yaml'), 'utf8');
    expect(txplan(['template', 'show', 'comprehensive-skin-tightening', '--yaml']).stdout).toBe(file);
    const json = JSON.parse(txplan(['template', 'show', 'comprehensive-skin-tightening', '--json']).stdout) as { id: string; schedule: Array<{ alternatives?: string[] }>; price: { type: string } };
    expect(json.id).toBe('comprehensive-skin-tightening');
    expect(json.schedule.some((s) => (s.alternatives ?? []).length > 0)).toBe(true);
    expect(json.price.type).toBe('monthly');
  });

  it('suggests close ids for a typo, and refuses an invalid template', () => {
    const miss = txplan(['template', 'show', 'comprehensive-acne']);
    expect(miss.code).toBe(1);
    expect(miss.stderr).toContain('No template "comprehensive-acne"');
    expect(miss.stderr).toContain('did you mean "comprehensive-acne-resolution"');
    const ws = workspace();
    writeFileSync(join(ws, 'templates', 'broken.yaml'), 'id: broken\n');
    const invalid = txplan(['template', 'show', 'broken'], { cwd: ws });
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toBe('txplan: Template "broken" is invalid; run "txplan template validate templates/broken.yaml" to see why\n');
  });
});

describe('txplan template new', () => {
  it('scaffolds a valid pay-as-you-go template without a terminal', () => {
    const ws = workspace();
    const result = txplan(['template', 'new', 'brow-lamination', '--weeks', '6', '--name', 'Brow Lamination', '--goal', 'Fuller, tidier brows'], { cwd: ws });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Created templates/brow-lamination.yaml (v1)');
    const text = readFileSync(join(ws, 'templates', 'brow-lamination.yaml'), 'utf8');
    expect(text.startsWith('# yaml-language-server: $schema=../schemas/template.schema.json\n')).toBe(true);
    // A new template is a draft: it validates, but cannot be applied until "template status … active".
    expect(parse(text)).toMatchObject({ id: 'brow-lamination', version: 1, name: 'Brow Lamination', type: 'pay-as-you-go', status: 'draft', goal: 'Fuller, tidier brows', duration: { weeks: 6 } });
    expect(txplan(['template', 'validate', 'templates/brow-lamination.yaml'], { cwd: ws }).code).toBe(0);
  });

  it('needs a fee for a monthly template and writes nothing without one', () => {
    const ws = workspace();
    const missing = txplan(['template', 'new', 'glow-club', '--type', 'monthly', '--months', '12'], { cwd: ws });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('A monthly template needs its fee; add --fee AMOUNT');
    expect(existsSync(join(ws, 'templates', 'glow-club.yaml'))).toBe(false);
    const bad = txplan(['template', 'new', 'glow-club', '--type', 'monthly', '--fee', '149.999'], { cwd: ws });
    expect(bad.code).toBe(2);
    const ok = txplan(['template', 'new', 'glow-club', '--type', 'monthly', '--months', '12', '--fee', '149.00', '--json'], { cwd: ws });
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toEqual({ id: 'glow-club', file: 'templates/glow-club.yaml', version: 1, status: 'draft' });
    expect(parse(readFileSync(join(ws, 'templates', 'glow-club.yaml'), 'utf8'))).toMatchObject({ type: 'monthly', duration: { months: 12 }, pricing: { monthly_fee: '149.00' } });
  });

  it('refuses a monthly template shorter than 3 months before writing it', () => {
    const ws = workspace();
    const result = txplan(['template', 'new', 'short', '--type', 'monthly', '--months', '2', '--fee', '99.00'], { cwd: ws });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('The new template would be invalid: duration.months is 2, but monthly plans last at least 3 months');
    expect(existsSync(join(ws, 'templates', 'short.yaml'))).toBe(false);
  });

  it('copies a template with --from, keeping its comments, at version 1', () => {
    const ws = workspace();
    const result = txplan(['template', 'new', 'severe-acne-program', '--from', 'comprehensive-acne-resolution', '--name', 'Severe Acne Program'], { cwd: ws });
    expect(result.code).toBe(0);
    const copy = readFileSync(join(ws, 'templates', 'severe-acne-program.yaml'), 'utf8');
    const original = parse(readFileSync(join(ws, 'templates', 'comprehensive-acne-resolution.yaml'), 'utf8')) as Record<string, unknown>;
    expect(copy.split('\n')[0]).toBe('# yaml-language-server: $schema=../schemas/template.schema.json');
    expect(parse(copy)).toEqual({ ...original, id: 'severe-acne-program', version: 1, name: 'Severe Acne Program', status: 'draft' });
    expect(txplan(['template', 'validate'], { cwd: ws }).code).toBe(0);
  });

  it('refuses to overwrite, a bad id, and a missing id without a terminal', () => {
    const ws = workspace();
    const before = readFileSync(join(ws, 'templates', 'pre-event-glow.yaml'), 'utf8');
    const overwrite = txplan(['template', 'new', 'pre-event-glow'], { cwd: ws });
    expect(overwrite.code).toBe(1);
    expect(overwrite.stderr).toContain('Refusing to overwrite');
    expect(readFileSync(join(ws, 'templates', 'pre-event-glow.yaml'), 'utf8')).toBe(before);
    const badId = txplan(['template', 'new', 'Bad Id'], { cwd: ws });
    expect(badId.code).toBe(2);
    expect(badId.stderr).toContain('"Bad Id" is not a valid template id');
    const noId = txplan(['template', 'new'], { cwd: ws });
    expect(noId.code).toBe(2);
    expect(noId.stderr).toContain('Missing the new template id');
    const unknownFrom = txplan(['template', 'new', 'x', '--from', 'nope'], { cwd: ws });
    expect(unknownFrom.code).toBe(1);
  });
});

describe('txplan catalog list', () => {
  it('lists services and products, in JSON with minor units', () => {
    const piped = txplan(['catalog', 'list']);
    expect(piped.code).toBe(0);
    const kinds = new Set(piped.stdout.trim().split('\n').map((l) => l.split('\t')[0]));
    expect(kinds).toEqual(new Set(['service', 'product']));
    const json = JSON.parse(txplan(['catalog', 'list', '--json']).stdout) as { currency: string; services: Array<{ id: string; complimentary: boolean; price: { amount_minor: number } }>; products: Array<{ id: string }> };
    expect(json.currency).toBe('USD');
    expect(json.services.length).toBeGreaterThan(10);
    expect(json.services.every((s) => Number.isInteger(s.price.amount_minor))).toBe(true);
    expect(json.services.some((s) => s.complimentary)).toBe(true);
    expect(json.products.every((p) => typeof p.id === 'string')).toBe(true);
  });
});

describe('txplan demo', () => {
  it('makes a fresh workspace, validates it and lists its templates', () => {
    const dir = join(tempDir(), 'demo');
    const result = txplan(['demo', '--dir', dir]);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain('✔ 16 files checked, no problems');
    expect(result.stdout).toMatch(/comprehensive-acne-resolution {2,}Comprehensive Acne Resolution {2,}monthly/);
    expect(result.stdout).toContain(`Demo workspace: ${dir}`);
    // Patients, plans, a recorded visit, and billing across simulated months with a decline and its retry.
    expect(result.stdout).toContain('added 12 (ids 1–12)');
    expect(result.stdout).toMatch(/Started plan 1: Comprehensive Acne Resolution for Zoë Ødegård/);
    expect(result.stdout).toMatch(/declined txp_[a-z]{24}_plan-3-installment-2 \$199\.00: insufficient_funds, retry on \d{4}-\d\d-\d\d/);
    expect(result.stdout).toMatch(/billing run \d{4}-\d\d-\d\d: charged 1 \(\$199\.00\), failed 0/);
    // Its months pass on a simulated clock: each run on its own day, never a --date ahead of it.
    expect(result.stdout).toContain('Months pass on a simulated clock (as TXPLAN_NOW sets it)');
    expect(result.stdout).not.toContain('billing run --date');
    // A goodwill refund, reconciled with the processor like the charges.
    expect(result.stdout).toMatch(/Refunded \$50\.00 of charge 3 \(plan 1, installment 2, \$249\.00 due \d{4}-\d\d-\d\d\); \$199\.00 remains refundable/);
    expect(result.stdout).toContain("Every charge matches the sandbox processor's records.");
    expect(existsSync(join(dir, 'txplan.yaml'))).toBe(true);
    // It ends with the patient's plan as a web page and the practice report of its simulated months, charts and all.
    const page = readFileSync(join(dir, '.txplan', 'plan-1.html'), 'utf8');
    expect(page).toContain('Comprehensive Acne Resolution');
    expect(page).not.toMatch(/<script/i);
    const report = readFileSync(join(dir, '.txplan', 'report.html'), 'utf8');
    expect(report.match(/<svg[^>]*role="img"/g)?.length).toBeGreaterThanOrEqual(3);
    expect(report).toContain('comprehensive-acne-resolution');
    expect(readFileSync(join(dir, '.txplan', 'report.pdf')).subarray(0, 5).toString()).toBe('%PDF-');
    expect(result.stdout).toMatch(/Wrote the report \d{4}-\d\d-\d\d to \d{4}-\d\d-\d\d \(PDF, \d+ pages?\)/);
    // It ends naming the tours of each user's job (test/scenarios/demo-tours.test.ts).
    expect(result.stdout).toContain("Each user's job on its own: txplan demo --tour admin|front-desk|billing|ci");
  });

  it('reports JSON, and refuses a folder that is not empty', () => {
    const dir = join(tempDir(), 'demo');
    const json = JSON.parse(txplan(['demo', '--dir', dir, '--json']).stdout) as { workspace: string; validation: { errors: number }; templates: unknown[] };
    expect(json.workspace).toBe(dir);
    expect(json.validation.errors).toBe(0);
    expect(json.templates.length).toBe(starter.length);
    const again = txplan(['demo', '--dir', dir]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('is not empty');
  });
});

describe('txplan template export', () => {
  it('gives a FHIR R4 PlanDefinition with one action per visit, timed from the start', () => {
    const result = txplan(['template', 'export', 'comprehensive-skin-tightening', '--format', 'fhir']);
    expect(result.code).toBe(0);
    const plan = JSON.parse(result.stdout) as { resourceType: string; id: string; version: string; status: string; title: string; action: Array<{ title: string; timingDuration?: { value: number; code: string }; selectionBehavior?: string }> };
    expect(plan).toMatchObject({ resourceType: 'PlanDefinition', id: 'comprehensive-skin-tightening', status: 'active', title: 'Comprehensive Skin Tightening' });
    const visits = plan.action.filter((a) => a.timingDuration?.code === 'mo');
    expect(visits.map((a) => a.timingDuration!.value)).toEqual(expect.arrayContaining([0, 1, 2, 3, 4, 5]));
    expect(plan.action.some((a) => a.selectionBehavior === 'exactly-one')).toBe(true);
    const weekly = JSON.parse(txplan(['template', 'export', 'post-procedure-recovery', '--format', 'fhir']).stdout) as { action: Array<{ timingDuration?: { value: number; code: string } }> };
    expect(weekly.action.slice(0, 4).map((a) => a.timingDuration)).toEqual([0, 7, 14, 21].map((value) => expect.objectContaining({ value, code: 'd' })));
    expect(txplan(['template', 'export', 'comprehensive-skin-tightening', '--format', 'csv']).code).toBe(2);
    expect(txplan(['template', 'export', 'nope', '--format', 'fhir']).code).toBe(1);
  });
});
