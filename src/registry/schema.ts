import { readFileSync } from 'node:fs';
import { join, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import type { Finding, PathSegment } from './diagnostics.js';
import { formatPath } from './diagnostics.js';
import type { SourceKind } from './source.js';
import { closest } from '../domain/text.js';
import { packageRoot } from '../paths.js';

const SCHEMA_FILES: Record<SourceKind, string> = {
  template: 'template.schema.json',
  catalog: 'catalog.schema.json',
  settings: 'settings.schema.json',
};

export const schemaDirectory = pathToFileURL(join(packageRoot, 'schemas') + sep);

let ajv: Ajv2020 | undefined;
const validators = new Map<SourceKind, ValidateFunction>();

/** The compiled validator for one kind of file, built on first use. */
export function validatorFor(kind: SourceKind): ValidateFunction {
  let validate = validators.get(kind);
  if (!validate) {
    ajv ??= new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true, verbose: true });
    const schema = JSON.parse(readFileSync(new URL(SCHEMA_FILES[kind], schemaDirectory), 'utf8'));
    validate = ajv.compile(schema);
    validators.set(kind, validate);
  }
  return validate;
}

/** Schema errors of `data`, as findings a clinic admin can act on. */
export function checkSchema(kind: SourceKind, data: unknown): Finding[] {
  const validate = validatorFor(kind);
  if (validate(data)) return [];
  return describeErrors(validate.errors ?? [], data, ROOT_NAMES[kind]);
}

const ROOT_NAMES: Record<SourceKind, string> = { template: 'the template', catalog: 'the catalog', settings: 'the settings' };

/**
 * ajv reports every failed keyword; people want one sentence per problem. An
 * `anyOf` (money) swallows the errors of its branches, and errors under the
 * same path are reported once.
 */
export function describeErrors(errors: readonly ErrorObject[], data: unknown, rootName = 'the document'): Finding[] {
  const anyOfPaths = new Set(errors.filter((e) => e.keyword === 'anyOf').map((e) => e.instancePath));
  // Amounts by currency: a bad amount inside is reported where it is, not as the whole map.
  const inner = (path: string) => [...anyOfPaths].some((p) => p.startsWith(`${path}/`));
  const findings: Finding[] = [];
  const seen = new Set<string>();
  for (const error of errors) {
    if (error.keyword !== 'anyOf' && anyOfPaths.has(error.instancePath)) continue;
    if (error.keyword === 'anyOf' && inner(error.instancePath)) continue;
    const finding = describe(error, data, rootName);
    const key = `${finding.code} ${formatPath(finding.path)}`;
    if (seen.has(key)) continue;
    seen.add(key);
    findings.push(finding);
  }
  return findings;
}

function describe(error: ErrorObject, data: unknown, rootName: string): Finding {
  const path = pointerToPath(error.instancePath);
  const where = formatPath(path) || rootName;
  const value = valueAt(data, path);
  const params = error.params as Record<string, unknown>;
  const description = (error.parentSchema as { description?: string } | undefined)?.description;
  switch (error.keyword) {
    case 'required': {
      const field = String(params.missingProperty);
      return { path, code: 'schema-required', message: `${where} is missing the required field "${field}"; add it${hint(error, field)}` };
    }
    case 'additionalProperties': {
      const field = String(params.additionalProperty);
      const known = Object.keys((error.parentSchema as { properties?: object })?.properties ?? {});
      const guess = closest(field, known);
      const fix = guess ? `did you mean "${guess}"?` : `remove it (known fields: ${known.join(', ')})`;
      return { path: [...path, field], atKey: true, code: 'schema-unknown-field', message: `${where} has an unknown field "${field}"; ${fix}` };
    }
    case 'type':
      return { path, code: 'schema-type', message: `${where} must be ${article(String(params.type))}, not ${describeValue(value)}` };
    case 'enum': {
      const allowed = (params.allowedValues as unknown[]).map(String);
      const guess = typeof value === 'string' ? closest(value, allowed) : undefined;
      return { path, code: 'schema-enum', message: `${where} is ${describeValue(value)}, expected one of ${allowed.join(', ')}${guess ? ` (did you mean "${guess}"?)` : ''}` };
    }
    case 'pattern':
      return { path, code: 'schema-pattern', message: `${where} is ${describeValue(value)}; ${patternHint(String(params.pattern), value, description)}` };
    case 'minimum':
    case 'exclusiveMinimum':
      return { path, code: 'schema-range', message: `${where} is ${describeValue(value)}, but must be at least ${String(params.limit)}` };
    case 'maximum':
    case 'exclusiveMaximum':
      return { path, code: 'schema-range', message: `${where} is ${describeValue(value)}, but must be at most ${String(params.limit)}` };
    case 'minLength':
      return { path, code: 'schema-length', message: params.limit === 1 ? `${where} is empty; write something here` : `${where} is shorter than ${String(params.limit)} characters` };
    case 'maxLength':
      return { path, code: 'schema-length', message: `${where} is longer than ${String(params.limit)} characters; shorten it` };
    case 'minItems':
      return { path, code: 'schema-items', message: `${where} needs at least ${String(params.limit)} entr${params.limit === 1 ? 'y' : 'ies'}` };
    case 'maxItems':
      return { path, code: 'schema-items', message: `${where} has more than ${String(params.limit)} entries` };
    case 'uniqueItems': {
      // ajv names the two equal items i and j, in no promised order: the repeat is the later one.
      const repeat = Math.max(Number(params.i), Number(params.j));
      return { path: [...path, repeat], code: 'schema-unique', message: `${where} lists ${describeValue(valueAt(data, [...path, repeat]))} twice; remove the repeat` };
    }
    case 'minProperties':
    case 'maxProperties': {
      const fields = Object.keys((error.parentSchema as { properties?: object })?.properties ?? {});
      return { path, code: 'schema-one-of', message: `${where} must have exactly one of ${fields.join(' or ')}, e.g. {${fields[0]}: 2}` };
    }
    case 'anyOf':
      return { path, code: 'schema-money', message: `${where} is ${describeValue(value)}, but must be an amount like "249.00", or amounts by currency like {USD: "249.00", NOK: "2490.00"}` };
    default:
      return { path, code: `schema-${error.keyword.toLowerCase()}`, message: `${where} ${error.message ?? 'is invalid'}` };
  }
}

const SLUG_PATTERN = '^[a-z0-9]+(-[a-z0-9]+)*$';

function patternHint(pattern: string, value: unknown, description: string | undefined): string {
  if (pattern === SLUG_PATTERN) {
    const slug = typeof value === 'string' ? value.toLowerCase().normalize('NFKD').replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') : '';
    return `use lowercase letters, digits and dashes${slug ? `, e.g. "${slug}"` : ''}`;
  }
  if (pattern === '^[A-Z]{3}$') return 'use a three-letter ISO 4217 code such as USD';
  return description ? `expected ${lowerFirst(description.replace(/\.$/, ''))}` : `it must match ${pattern}`;
}

function hint(error: ErrorObject, field: string): string {
  const schema = (error.parentSchema as { properties?: Record<string, { description?: string }> })?.properties?.[field];
  return schema?.description ? ` (${lowerFirst(schema.description.replace(/\.$/, '').split('. ')[0]!)})` : '';
}

export function pointerToPath(pointer: string): PathSegment[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((part) => (/^(0|[1-9]\d*)$/.test(part) ? Number(part) : part));
}

function valueAt(data: unknown, path: readonly PathSegment[]): unknown {
  let node = data;
  for (const segment of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = Object.hasOwn(node, segment) ? (node as Record<string | number, unknown>)[segment] : undefined;
  }
  return node;
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return String(value);
}

function article(type: string): string {
  const words: Record<string, string> = { integer: 'a whole number', number: 'a number', string: 'text', boolean: 'true or false', array: 'a list', object: 'a mapping', null: 'null' };
  return type.split(',').map((t) => words[t] ?? t).join(' or ');
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}
