import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { query, setUp, txplan, type RunResult } from '../helpers.js';
import { pdfText } from '../pdf-text.js';

/**
 * Issue 9, item 2: a visit records the services actually performed, and a
 * pay-as-you-go visit is charged for them. The laser hair series offers a
 * medium area with small and large as alternatives at every session.
 */

const NOW = '2027-03-01T09:00:00Z';
const LASER = 'laser-hair-reduction'; // pay-as-you-go: patch test (complimentary), then sessions of laser-hair-medium, or small or large
const ACNE = 'comprehensive-acne-resolution'; // monthly; step 4: mandelic-peel, or salicylic-peel or jessners-peel

interface StepJson {
  n: number;
  status: string;
  services: string[];
  alternatives: string[];
  performed: string[] | null;
}
interface ChargeJson {
  plan_id: number;
  step_n: number | null;
  amount_minor: number;
  status: string;
  note: string | null;
}
interface CarePlan {
  contained?: Array<{ resourceType: string; id: string; status: string; code: { coding: Array<{ system: string; code: string; display?: string }>; text: string } }>;
  activity: Array<{ detail: { code: { text: string }; status: string }; outcomeReference?: Array<{ reference: string }> }>;
}

let ws: string;
const run = (...args: string[]): RunResult => txplan(args, { cwd: ws, env: { TXPLAN_NOW: NOW } });
const json = <T,>(...args: string[]): T => {
  const result = run(...args, '--json');
  if (result.code !== 0) throw new Error(`txplan ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
};
const steps = (plan: number) => json<{ steps: StepJson[] }>('plan', 'show', String(plan)).steps;
const writes = () => query<{ n: number }>(ws, "SELECT count(*) AS n FROM audit WHERE action IN ('plan.step', 'charge.created')")[0]!.n;

describe('services performed at a visit', () => {
  let refusedNoChoice: RunResult;
  let refusedUnknown: RunResult;
  let refusedOutside: RunResult;
  let refusedWrites: number;
  let chargesAfterRefusals: number;
  let alternative: RunResult;
  let outside: RunResult;

  let dir: string;
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  beforeAll(() => {
    // One workspace for the whole story (the helpers' temporary folders belong to a single test).
    dir = mkdtempSync(join(tmpdir(), 'txplan-test-'));
    ws = join(dir, 'clinic');
    if (txplan(['init', ws]).code !== 0) throw new Error('txplan init');
    setUp(ws, [
      ['clinic', 'add', 'main', '--name', 'Main Street', '--timezone', 'UTC'],
      ['patient', 'add', '--first', 'Ada', '--last', 'Lovelace', '--mrn', 'P-1'],
      ['patient', 'add', '--first', 'Grace', '--last', 'Hopper', '--mrn', 'P-2'],
    ]);
    const applied = run('plan', 'apply', 'P-1', LASER, '--mode', 'start', '--clinic', 'main', '--start', '2027-01-04', '--payment-method', 'pm_card_visa', '--yes');
    if (applied.code !== 0) throw new Error(applied.stderr);
    // The catalog raises the small area from $125.00 to $135.00 after the plan was applied: the plan keeps $125.00.
    const catalog = join(ws, 'catalog.yaml');
    const before = readFileSync(catalog, 'utf8');
    const after = before.replace(/(- id: laser-hair-small\n(?:.*\n)*?\s+price: )"125\.00"/, '$1"135.00"');
    if (after === before) throw new Error('laser-hair-small price not found in catalog.yaml');
    writeFileSync(catalog, after);
    if (run('plan', 'step', '1', '1', '--done', '--date', '2027-01-04', '--yes').code !== 0) throw new Error('step 1');

    const already = writes();
    refusedNoChoice = run('plan', 'step', '1', '2', '--done', '--date', '2027-01-11', '--yes');
    refusedUnknown = run('plan', 'step', '1', '2', '--done', '--date', '2027-01-11', '--yes', '--service', 'laser-hair-smal');
    refusedOutside = run('plan', 'step', '1', '2', '--done', '--date', '2027-01-11', '--yes', '--service', 'laser-genesis');
    refusedWrites = writes() - already;
    chargesAfterRefusals = query<{ n: number }>(ws, 'SELECT count(*) AS n FROM charges')[0]!.n;

    alternative = run('plan', 'step', '1', '2', '--done', '--date', '2027-01-11', '--yes', '--service', 'laser-hair-small');
    outside = run('plan', 'step', '1', '3', '--done', '--date', '2027-02-22', '--yes', '--service', 'laser-hair-medium', '--service', 'dermaplaning');
  });

  it('refuses a visit with alternatives recorded without saying which was performed, naming the choices and the flag', () => {
    expect(refusedNoChoice.code).toBe(2);
    expect(refusedNoChoice.stderr).toContain('Step 2 of plan 1 offers laser-hair-medium (as planned), or instead laser-hair-small or laser-hair-large');
    expect(refusedNoChoice.stderr).toContain('--service');
  });

  it('refuses an unknown service and one outside the step\'s choices, writing nothing', () => {
    expect(refusedUnknown.code).toBe(2);
    expect(refusedUnknown.stderr).toContain('"laser-hair-smal" is not a service in the catalog; the closest are "laser-hair-small"');
    expect(refusedOutside.code).toBe(2);
    expect(refusedOutside.stderr).toContain('Step 2 of plan 1 offers laser-hair-medium (as planned), or instead laser-hair-small or laser-hair-large; "laser-genesis" is none of these');
    for (const r of [refusedNoChoice, refusedUnknown, refusedOutside]) expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(refusedWrites).toBe(0);
    expect(chargesAfterRefusals).toBe(0);
  });

  it('charges an alternative performed at its own price, frozen in the plan', () => {
    expect(alternative.code).toBe(0);
    expect(alternative.stdout).toContain('; charged $125.00.');
    const step2 = steps(1)[1]!;
    expect(step2.status).toBe('done');
    expect(step2.services).toEqual(['laser-hair-medium']);
    expect(step2.performed).toEqual(['laser-hair-small']);
  });

  it('charges a service outside the plan at the catalog price, with a note on the charge', () => {
    expect(outside.code).toBe(0);
    expect(outside.stdout).toContain('; charged $335.00.'); // medium $225.00 (plan) + dermaplaning $110.00 (catalog)
    const charges = json<ChargeJson[]>('billing', 'charges', '--plan', '1');
    expect(charges.map((c) => [c.step_n, c.amount_minor, c.status, c.note])).toEqual([
      [2, 12500, 'succeeded', null],
      [3, 33500, 'succeeded', 'Not in the plan, charged at the catalog price: Dermaplaning Facial $110.00'],
    ]);
    expect(run('billing', 'charges', '--plan', '1').stdout).toContain('Not in the plan, charged at the catalog price: Dermaplaning Facial $110.00');
  });

  it('shows what was performed in plan show, the audit, the handout and the FHIR export', async () => {
    const shown = run('plan', 'show', '1').stdout;
    expect(shown).toContain('performed: Laser Hair Reduction, Small Area');
    expect(shown).toContain('performed: Laser Hair Reduction, Medium Area + Dermaplaning Facial');
    expect(shown).toContain('Not in the plan, charged at the catalog price: Dermaplaning Facial $110.00');

    const audit = query<{ after: string }>(ws, "SELECT after FROM audit WHERE action = 'plan.step' ORDER BY id");
    expect(audit.map((a) => (JSON.parse(a.after) as { performed: string[] }).performed)).toEqual([['laser-patch-test'], ['laser-hair-small'], ['laser-hair-medium', 'dermaplaning']]);

    expect(run('handout', '1', '-o', 'plan-1.pdf').code).toBe(0);
    const pdf = await pdfText(join(ws, 'plan-1.pdf'));
    expect(pdf.text).toContain('Done at this visit: Laser Hair Reduction, Small Area');
    expect(pdf.text).toContain('Done at this visit: Laser Hair Reduction, Medium Area, Dermaplaning Facial');
    // The payment table prices a done visit at what it was charged, for the services performed.
    expect(pdf.text).toContain('Laser Hair Reduction, Small Area $125.00');
    expect(pdf.text).toContain('Laser Hair Reduction, Medium Area, Dermaplaning Facial $335.00');

    const fhir = json<CarePlan>('plan', 'export', '1', '--format', 'fhir', '--resource', 'careplan');
    expect(fhir.activity[1]!.detail.code.text).toBe('Laser Hair Reduction, Medium Area');
    expect(fhir.activity[1]!.outcomeReference).toEqual([{ reference: '#step-2-performed' }]);
    const procedure = fhir.contained!.find((r) => r.id === 'step-2-performed')!;
    expect(procedure.resourceType).toBe('Procedure');
    expect(procedure.status).toBe('completed');
    expect(procedure.code.coding).toEqual([{ system: 'urn:txplan:service', code: 'laser-hair-small', display: 'Laser Hair Reduction, Small Area' }]);
    expect(fhir.activity[3]!.outcomeReference).toBeUndefined(); // step 4 is still pending
  });

  it('records a monthly visit with alternatives as planned when no --service is given off a terminal', () => {
    const applied = run('plan', 'apply', 'P-2', ACNE, '--mode', 'start', '--clinic', 'main', '--start', '2026-10-05', '--payment-method', 'pm_card_visa', '--yes');
    expect(applied.code).toBe(0);
    expect(run('plan', 'step', '2', '4', '--done', '--date', '2027-02-05').code).toBe(0);
    expect(steps(2)[3]!.performed).toEqual(['mandelic-peel']);
  });
});
