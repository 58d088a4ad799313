import { readdir, stat } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import { parse } from 'yaml';
import type { Catalog, Settings, Template } from '../generated/schema-types.js';
import { UsageError } from '../errors.js';
import { canonicalJson } from '../domain/plan.js';
import type { Diagnostic, Finding } from './diagnostics.js';
import { compareDiagnostics } from './diagnostics.js';
import { gitTopLevel, pathInRepository, readAtCommit, resolveCommit } from './git.js';
import { cardNumberFindings, checkCatalog, checkSettings, checkTemplate, indexCatalog, type CatalogIndex } from './rules.js';
import { checkSchema } from './schema.js';
import { displayPath, readSource, type Source, type SourceKind } from './source.js';
import { CATALOG_FILE, DEFAULT_SETTINGS, SETTINGS_FILE, type Workspace } from './workspace.js';

export interface ValidateOptions {
  workspace: Workspace;
  /** Files or folders to check; empty means the whole workspace. */
  paths: readonly string[];
  cwd: string;
  /** With a git revision: templates changed since it must carry a higher version. */
  base?: string | undefined;
  /** Called after each file, for progress. */
  onFile?: (done: number, total: number) => void;
  /** Milliseconds from any origin, to time each file (JUnit reports carry durations); none means 0. */
  stopwatch?: () => number;
}

export interface ValidationReport {
  files: string[];
  diagnostics: Diagnostic[];
  /** Seconds spent reading and checking each of `files`, in the same order. */
  seconds: number[];
  /** Seconds for the whole validation, registry-wide rules included. */
  totalSeconds: number;
  /** How many templates passed the schema (the semantic rules may still object). */
  templates: number;
}

/**
 * What registry-wide rules need of a schema-valid template. The parsed YAML
 * document is not kept: with thousands of files it would only feed the GC.
 */
interface CheckedTemplate {
  file: string;
  absolute: string;
  template: Template;
  at(field: 'id' | 'version', code: string, message: string): Diagnostic;
}

function checkedTemplate(source: Source, template: Template): CheckedTemplate {
  const anchors = {
    id: source.locate({ path: ['id'], code: '', message: '' }),
    version: source.locate({ path: ['version'], code: '', message: '' }),
  };
  return { file: source.file, absolute: source.absolute, template, at: (field, code, message) => ({ ...anchors[field], code, message }) };
}

/**
 * The validation pipeline: find files → parse with positions → schema →
 * semantic rules → registry rules (unique ids, version bumps). No console I/O.
 */
export async function validateWorkspace(options: ValidateOptions): Promise<ValidationReport> {
  const { workspace, cwd } = options;
  const clock = options.stopwatch ?? (() => 0);
  const started = clock();
  const targets = options.paths.length > 0 ? await expandPaths(options.paths, cwd) : await workspaceFiles(workspace);
  const display = (absolute: string) => displayPath(absolute, cwd);
  const read = (absolute: string, kind: SourceKind) => readSource(absolute, { root: workspace.root, display: display(absolute), kind });

  // Settings and catalog first: templates are checked against them.
  const settingsTarget = targets.find((t) => t.kind === 'settings' && resolve(t.path) === workspace.settingsFile);
  const catalogTarget = targets.find((t) => t.kind === 'catalog' && resolve(t.path) === workspace.catalogFile);
  let mark = clock();
  const lap = () => {
    const now = clock();
    const seconds = (now - mark) / 1000;
    mark = now;
    return seconds;
  };
  const settingsSource = read(workspace.settingsFile, 'settings');
  const settings = checkDocument<Settings>(settingsSource, 'settings', (s) => checkSettings(s));
  const settingsSeconds = lap();
  const currency = settings.data?.currency ?? DEFAULT_SETTINGS.currency;
  const catalogSource = read(workspace.catalogFile, 'catalog');
  const catalog = checkDocument<Catalog>(catalogSource, 'catalog', (c) => checkCatalog(c, currency));
  const catalogSeconds = lap();
  const catalogIndex: CatalogIndex | undefined = catalog.data ? indexCatalog(catalog.data) : undefined;

  const diagnostics: Diagnostic[] = [];
  const files: string[] = [];
  const seconds: number[] = [];
  if (settingsTarget) {
    files.push(settingsSource.file);
    seconds.push(settingsSeconds);
    diagnostics.push(...settings.diagnostics);
  }
  if (catalogTarget) {
    files.push(catalogSource.file);
    seconds.push(catalogSeconds);
    diagnostics.push(...catalog.diagnostics);
  }

  const templateTargets = targets.filter((t) => t !== settingsTarget && t !== catalogTarget);
  if (!catalogIndex && templateTargets.some((t) => t.kind === 'template')) {
    diagnostics.push({ file: catalogSource.file, line: 1, column: 1, endLine: 1, endColumn: 1, path: '', code: 'inventory-unchecked', severity: 'warning', message: `${catalogSource.file} could not be read, so service and product references were not checked; fix the catalog first` });
  }

  const valid: CheckedTemplate[] = [];
  const total = templateTargets.length;
  for (let i = 0; i < total; i++) {
    const target = templateTargets[i]!;
    lap();
    const source = read(target.path, target.kind);
    files.push(source.file);
    if (target.kind === 'template') {
      const fileId = basename(target.path, extname(target.path));
      const checked = checkDocument<Template>(source, 'template', (t) => checkTemplate(t, { fileId, currency, catalog: catalogIndex }));
      diagnostics.push(...checked.diagnostics);
      if (checked.data) valid.push(checkedTemplate(source, checked.data));
    } else {
      // A second catalog or settings file named explicitly (e.g. from a fixture folder).
      const checked = target.kind === 'catalog'
        ? checkDocument<Catalog>(source, 'catalog', (c) => checkCatalog(c, currency))
        : checkDocument<Settings>(source, 'settings', (s) => checkSettings(s));
      diagnostics.push(...checked.diagnostics);
    }
    seconds.push(lap());
    options.onFile?.(i + 1, total);
  }

  diagnostics.push(...duplicateIds(valid));
  if (options.base !== undefined) diagnostics.push(...(await versionBumps(workspace, options.base, valid)));
  diagnostics.sort(compareDiagnostics);
  return { files, diagnostics, seconds, totalSeconds: (clock() - started) / 1000, templates: valid.length };
}

/** Parse problems, then schema findings, then (only on a schema-valid document) semantic rules. */
/**
 * The errors in the workspace's txplan.yaml, if any. Everyday commands read
 * settings leniently; a command that takes money does not: a broken
 * `payments` section must never fall back to another processor.
 */
export function settingsErrors(workspace: Workspace, cwd: string): Diagnostic[] {
  const source = readSource(workspace.settingsFile, { root: workspace.root, display: displayPath(workspace.settingsFile, cwd), kind: 'settings' });
  return checkDocument<Settings>(source, 'settings', (s) => checkSettings(s)).diagnostics.filter((d) => d.severity === 'error');
}

function checkDocument<T>(source: Source, kind: SourceKind, rules: (data: T) => Finding[]): { data: T | undefined; diagnostics: Diagnostic[] } {
  if (!source.data) return { data: undefined, diagnostics: source.problems };
  // A card number is reported whatever else is wrong, and keeps the file from being used.
  const cards = cardNumberFindings(source.data).map(source.locate);
  const schemaFindings = checkSchema(kind, source.data);
  if (schemaFindings.length > 0) return { data: undefined, diagnostics: [...cards, ...schemaFindings.map(source.locate)] };
  const data = source.data as T;
  return { data: cards.length > 0 ? undefined : data, diagnostics: [...cards, ...rules(data).map(source.locate)] };
}

function duplicateIds(templates: readonly CheckedTemplate[]): Diagnostic[] {
  const byId = new Map<string, CheckedTemplate>();
  const diagnostics: Diagnostic[] = [];
  for (const checked of templates) {
    const { id } = checked.template;
    const first = byId.get(id);
    if (first) diagnostics.push(checked.at('id', 'id-duplicate', `id "${id}" is already used by ${first.file}; template ids must be unique across the registry`));
    else byId.set(id, checked);
  }
  return diagnostics;
}

async function versionBumps(workspace: Workspace, base: string, templates: readonly CheckedTemplate[]): Promise<Diagnostic[]> {
  const top = await gitTopLevel(workspace.root);
  if (!top) throw new UsageError(`--base needs a git repository, but ${workspace.root} is not in one; run validation inside the clinic's repository or leave out --base`);
  const commit = await resolveCommit(top, base);
  if (!commit) throw new UsageError(`--base "${base}" is not a commit in this repository; check the name, or fetch it first (git fetch origin ${base})`);
  const paths = new Map<CheckedTemplate, string>();
  for (const checked of templates) {
    const path = await pathInRepository(top, checked.absolute);
    if (path !== undefined) paths.set(checked, path);
  }
  const before = await readAtCommit(top, commit, [...paths.values()]);
  const diagnostics: Diagnostic[] = [];
  for (const checked of templates) {
    const { template } = checked;
    const path = paths.get(checked);
    if (path === undefined) continue;
    const old = before.get(path);
    if (old === undefined) {
      if (template.version !== 1) {
        diagnostics.push(checked.at('version', 'version-new', `${checked.file} is new since ${base}, so its version starts at 1 (it is ${template.version}); set version: 1`));
      }
      continue;
    }
    let previous: Partial<Template> | undefined;
    try {
      previous = parse(old.toString('utf8')) as Partial<Template>;
    } catch {
      continue; // The old file was broken; nothing sensible to compare with.
    }
    if (!previous || typeof previous.version !== 'number') continue;
    // Content compared by value: key order, comments and formatting do not count as changes.
    if (canonicalJson(previous) !== canonicalJson(template) && template.version <= previous.version) {
      diagnostics.push(checked.at('version', 'version-not-bumped', `the template changed since ${base} but version is still ${template.version}; set version: ${previous.version + 1}`));
    }
  }
  return diagnostics;
}


interface Target {
  path: string;
  kind: SourceKind;
}

function kindOf(path: string): SourceKind {
  const name = basename(path);
  return name === CATALOG_FILE ? 'catalog' : name === SETTINGS_FILE ? 'settings' : 'template';
}

const isYaml = (name: string) => name.endsWith('.yaml') || name.endsWith('.yml');

async function workspaceFiles(workspace: Workspace): Promise<Target[]> {
  const targets: Target[] = [
    { path: workspace.settingsFile, kind: 'settings' },
    { path: workspace.catalogFile, kind: 'catalog' },
  ];
  let names: string[] = [];
  try {
    names = await readdir(workspace.templatesDir);
  } catch {
    // No templates folder yet: nothing to check there.
  }
  for (const name of names.filter(isYaml).sort()) targets.push({ path: join(workspace.templatesDir, name), kind: 'template' });
  return targets;
}

async function expandPaths(paths: readonly string[], cwd: string): Promise<Target[]> {
  const targets: Target[] = [];
  const seen = new Set<string>();
  const add = (path: string) => {
    if (seen.has(path)) return;
    seen.add(path);
    targets.push({ path, kind: kindOf(path) });
  };
  for (const given of paths) {
    const path = resolve(cwd, given);
    let info;
    try {
      info = await stat(path);
    } catch {
      throw new UsageError(`${given} does not exist; name template files or folders that hold them`);
    }
    if (!info.isDirectory()) {
      add(path);
      continue;
    }
    const entries = await readdir(path, { recursive: true, withFileTypes: true });
    const files = entries
      .filter((e) => (e.isFile() || e.isSymbolicLink()) && isYaml(e.name))
      .map((e) => join(e.parentPath ?? (e as unknown as { path: string }).path, e.name))
      .filter((p) => !/(^|[\\/])(node_modules|\.git|\.txplan)([\\/]|$)/.test(p.slice(path.length)))
      .sort();
    files.forEach(add);
  }
  return targets;
}
