import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { Template } from '../generated/schema-types.js';
import { FailedError, UsageError } from '../errors.js';
import { writeFileAtomically } from '../files.js';
import { parseSource } from './source.js';
import { templateErrors, type Registry } from './registry.js';

export const TEMPLATE_ID = /^[a-z0-9]+(-[a-z0-9]+)*$/;
export const TEMPLATE_HEADER = '# yaml-language-server: $schema=../schemas/template.schema.json\n';

/** YAML text of a template as the registry keeps it: schema line first, fields in schema order. */
export function templateText(template: Template): string {
  return `${TEMPLATE_HEADER}${stringify(template, { lineWidth: 0 })}`;
}

/** Refuses, before any other work, an id that is malformed or already taken. */
export function checkNewTemplateId(registry: Registry, id: string): void {
  if (!TEMPLATE_ID.test(id)) throw new UsageError(`"${id}" is not a valid template id; use lowercase letters, digits and dashes, e.g. severe-acne-program`);
  if (existsSync(join(registry.workspace.templatesDir, `${id}.yaml`))) throw new FailedError(`Refusing to overwrite templates/${id}.yaml; choose another id`, 'exists');
}

/**
 * Writes templates/<id>.yaml after checking it as `template validate` would;
 * never overwrites. Returns the file's path.
 */
export async function writeNewTemplate(registry: Registry, id: string, text: string): Promise<string> {
  checkNewTemplateId(registry, id);
  const source = parseSource(`templates/${id}.yaml`, '', Buffer.from(text));
  const problems = source.data ? templateErrors(source.data, registry, id) : source.problems.map((p) => p.message);
  if (problems.length > 0) throw new FailedError(`The new template would be invalid: ${problems[0]}. Nothing was written`, 'invalid_template');
  const file = join(registry.workspace.templatesDir, `${id}.yaml`);
  try {
    // Templates are shared through git, so readable by all (0644), never world-writable.
    writeFileAtomically(file, text, false, 0o644);
  } catch (error) {
    if (error instanceof FailedError && error.code === 'file_exists') throw new FailedError(`Refusing to overwrite templates/${id}.yaml; choose another id`, 'exists');
    throw error;
  }
  return file;
}

/** A plan's customised content as a new template: its own id, version 1, active. */
export function asNewTemplate(snapshot: Template, id: string, name?: string): Template {
  const { id: _old, version: _version, status: _status, ...rest } = snapshot;
  return { id, version: 1, ...rest, status: 'active', ...(name !== undefined ? { name } : {}) } as Template;
}
