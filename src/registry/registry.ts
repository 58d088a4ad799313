import { readdir } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import type { Catalog, Service, Product, Template } from '../generated/schema-types.js';
import { NotFoundError, FailedError } from '../errors.js';
import { suggestions } from '../domain/text.js';
import { checkSchema } from './schema.js';
import { checkTemplate, indexCatalog } from './rules.js';
import { readSource } from './source.js';
import type { Workspace } from './workspace.js';
import { readSettings, type ResolvedSettings } from './settings.js';

/**
 * The registry as everyday commands read it: settings, catalog and the
 * templates that pass the schema. Commands that change plans refuse invalid
 * templates; `template validate` says why they are invalid.
 */
export interface Registry {
  workspace: Workspace;
  settings: ResolvedSettings;
  catalog: Catalog;
  services: ReadonlyMap<string, Service>;
  products: ReadonlyMap<string, Product>;
}

export interface LoadedTemplate {
  template: Template;
  file: string;
  text: string;
}

export async function loadRegistry(workspace: Workspace): Promise<Registry> {
  const settings = readSettings(workspace);
  const source = readSource(workspace.catalogFile, { root: workspace.root, display: 'catalog.yaml', kind: 'catalog' });
  if (!source.data || checkSchema('catalog', source.data).length > 0) {
    throw new FailedError(`The catalog (${workspace.catalogFile}) is invalid; run "txplan template validate" to see why`, 'invalid_catalog');
  }
  const catalog = source.data as unknown as Catalog;
  return {
    workspace,
    settings,
    catalog,
    services: new Map(catalog.services.map((s) => [s.id, s])),
    products: new Map(catalog.products.map((p) => [p.sku, p])),
  };
}

/** Template ids in the registry, from file names. */
export async function templateIds(workspace: Workspace): Promise<string[]> {
  let names: string[] = [];
  try {
    names = await readdir(workspace.templatesDir);
  } catch {
    return [];
  }
  return names.filter((n) => n.endsWith('.yaml')).map((n) => basename(n, extname(n))).sort();
}

/** Every template that passes the schema, and the files that do not. */
export async function loadTemplates(workspace: Workspace): Promise<{ templates: LoadedTemplate[]; invalid: string[] }> {
  const templates: LoadedTemplate[] = [];
  const invalid: string[] = [];
  for (const id of await templateIds(workspace)) {
    const loaded = readTemplate(workspace, id);
    if (loaded) templates.push(loaded);
    else invalid.push(`templates/${id}.yaml`);
  }
  return { templates, invalid };
}

function readTemplate(workspace: Workspace, id: string): LoadedTemplate | undefined {
  const file = join(workspace.templatesDir, `${id}.yaml`);
  const source = readSource(file, { root: workspace.root, display: `templates/${id}.yaml`, kind: 'template' });
  if (!source.data || checkSchema('template', source.data).length > 0) return undefined;
  return { template: source.data as unknown as Template, file, text: source.text };
}

/** One template by id; a miss names close ids, an invalid file says how to find out why. */
export async function getTemplate(workspace: Workspace, id: string): Promise<LoadedTemplate> {
  const ids = await templateIds(workspace);
  if (!ids.includes(id)) {
    const near = suggestions(id, ids);
    throw new NotFoundError(`No template "${id}" in ${workspace.templatesDir}${near.length ? `; did you mean ${near.map((n) => `"${n}"`).join(' or ')}?` : '; run "txplan template list --all" to see the ids'}`);
  }
  const loaded = readTemplate(workspace, id);
  if (!loaded) throw new FailedError(`Template "${id}" is invalid; run "txplan template validate templates/${id}.yaml" to see why`, 'invalid_template');
  return loaded;
}


/**
 * The errors (not warnings) that keep content from being used as a template
 * named `fileId`: the schema first, then — once it holds — the business rules
 * against the catalog. Shared by new templates and customised plans; a plan's
 * single amounts are in the currency it is sold in (`currency`).
 */
export function templateErrors(data: unknown, registry: Registry, fileId: string, currency = registry.settings.currency): string[] {
  const schema = checkSchema('template', data).map((f) => f.message);
  if (schema.length > 0) return schema;
  return checkTemplate(data as Template, { fileId, currency, catalog: indexCatalog(registry.catalog) })
    .filter((f) => f.severity !== 'warning')
    .map((f) => f.message);
}
