import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { isScalar, parse, parseDocument, stringify } from 'yaml';
import type { Template } from '../generated/schema-types.js';
import { FailedError, UsageError } from '../errors.js';
import { writeFileAtomically } from '../files.js';
import { parseSource } from './source.js';
import { getTemplate, templateErrors, type Registry } from './registry.js';
import { gitTopLevel, pathInRepository, readAtCommit, resolveCommit } from './git.js';

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

export type TemplateStatus = Template['status'];

/**
 * Why a status change makes no sense, or undefined when it does: a draft
 * becomes active once it is ready, active and retired swap back and forth.
 * Nothing goes back to draft (plans may name that version already), and a
 * draft that was never used is abandoned by deleting its file, not retired.
 */
export function statusChangeProblem(id: string, from: TemplateStatus, to: TemplateStatus): string | undefined {
  if (from === to || (from === 'draft' && to === 'active') || (from !== 'draft' && to !== 'draft')) return undefined;
  if (to === 'draft') return `Template "${id}" is ${from} and cannot go back to draft; copy it into a new draft with "txplan template new NEW-ID --from ${id}"`;
  return `Template "${id}" is a draft that was never applied, so there is nothing to retire; make it active with "txplan template status ${id} active", or delete templates/${id}.yaml`;
}

export interface StatusChange {
  file: string;
  from: TemplateStatus;
  to: TemplateStatus;
  versionBefore: number;
  versionAfter: number;
  /** False when the template already had that status: nothing was written. */
  changed: boolean;
}

/**
 * Sets a template's status and bumps its version in one write, keeping the
 * file's comments and layout (the yaml Document API edits two scalars). The
 * result is checked as `template validate` would before it replaces the file,
 * and only if the file still holds what was read.
 */
export async function changeTemplateStatus(registry: Registry, id: string, to: TemplateStatus): Promise<StatusChange> {
  const loaded = await getTemplate(registry.workspace, id);
  const { file, text, template } = loaded;
  const from = template.status;
  const unchanged = { file, from, to, versionBefore: template.version, versionAfter: template.version };
  if (from === to) return { ...unchanged, changed: false };
  const problem = statusChangeProblem(id, from, to);
  if (problem) throw new FailedError(problem, 'status_change');

  const version = await nextVersion(file, template.version);
  const next = replaceScalars(text, { status: to, version: String(version) });
  const source = parseSource(`templates/${id}.yaml`, file, Buffer.from(next));
  const problems = source.data ? templateErrors(source.data, registry, id) : source.problems.map((p) => p.message);
  if (problems.length > 0) throw new FailedError(`Making "${id}" ${to} would leave templates/${id}.yaml invalid: ${problems[0]}. Nothing was written; fix the file first`, 'invalid_template');
  // Conditional on what was read: an edit saved meanwhile is never overwritten.
  if (readFileSync(file, 'utf8') !== text) throw new FailedError(`templates/${id}.yaml changed while its status was being set; nothing was written, run the command again`, 'conflict');
  writeFileAtomically(file, next, true, statSync(file).mode & 0o777);
  return { ...unchanged, versionAfter: version, changed: true };
}

/**
 * The text with top-level scalar values replaced where they stand: the yaml
 * Document finds each value's range, and only those characters change, so
 * every comment, blank line and quoting choice elsewhere stays as written.
 */
function replaceScalars(text: string, values: Record<string, string>): string {
  const doc = parseDocument(text);
  const spans = Object.entries(values).map(([key, value]) => {
    const node = doc.get(key, true);
    if (!isScalar(node) || !node.range) throw new FailedError(`${key} in this template is not a plain value; fix the file first`, 'invalid_template');
    return { start: node.range[0], end: node.range[1], value };
  });
  let next = text;
  for (const span of spans.sort((x, y) => y.start - x.start)) next = next.slice(0, span.start) + span.value + next.slice(span.end);
  return next;
}

/**
 * The version a status change gives the file: one above the version last
 * committed, so `template validate --base` sees the change bumped. A working
 * copy already bumped since that commit keeps its version (one change, one
 * version), and a file git has never recorded stays where it is (new files
 * start at version 1). Outside git: one above the current version.
 */
async function nextVersion(file: string, current: number): Promise<number> {
  const top = await gitTopLevel(dirname(file));
  if (!top) return current + 1;
  const path = await pathInRepository(top, file);
  const head = await resolveCommit(top, 'HEAD');
  if (path === undefined || !head) return path === undefined ? current + 1 : current;
  const committed = (await readAtCommit(top, head, [path])).get(path);
  if (committed === undefined) return current;
  let previous: unknown;
  try {
    previous = (parse(committed.toString('utf8')) as { version?: unknown } | null)?.version;
  } catch {
    return current + 1;
  }
  return typeof previous === 'number' ? Math.max(current, previous + 1) : current + 1;
}
