import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { makeFolder } from '../files.js';
import { join } from 'node:path';
import type { Context } from './context.js';
import { UsageError, FailedError } from '../errors.js';
import type { Template } from '../generated/schema-types.js';
import type { Registry } from '../registry/registry.js';
import { parseSource } from '../registry/source.js';
import { templateText } from '../registry/write.js';
import { checkSnapshot } from '../plans/snapshot.js';

/**
 * Opens $VISUAL/$EDITOR on `text` and returns what was saved. The file lives
 * in the workspace's private data folder, not /tmp: plans are health data.
 */
export function editText(ctx: Context, text: string, privateDir: string, name: string): string {
  const editor = ctx.env.editor;
  if (!editor) throw new UsageError('--edit needs an editor; set VISUAL or EDITOR (e.g. export EDITOR=nano)');
  makeFolder(privateDir, 0o700);
  // mkdtemp: a fresh folder with a random name, 0700; the file in it is created exclusively.
  const dir = mkdtempSync(join(privateDir, 'edit-'));
  const file = join(dir, name);
  try {
    writeFileSync(file, text, { mode: 0o600, flag: 'wx' });
    // Through the shell, as git does, so EDITOR may carry arguments ("code --wait").
    const result = spawnSync('/bin/sh', ['-c', `${editor} "$1"`, editor, file], { stdio: 'inherit' });
    if (result.error || result.status !== 0) throw new FailedError(`The editor (${editor}) exited with ${result.status ?? result.error?.message}; nothing was saved`, 'editor_failed');
    return readFileSync(file, 'utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A plan's content edited in $EDITOR: read back as YAML and checked as a
 * template would be. The id stays its template's; nothing is saved otherwise.
 */
export function editSnapshot(ctx: Context, registry: Registry, snapshot: Template, fileName: string, currency = registry.settings.currency): Template {
  const text = editText(ctx, templateText(snapshot), registry.workspace.dataDir, fileName);
  const source = parseSource('the edited plan', '', Buffer.from(text));
  if (!source.data) throw new FailedError(`The edited plan is not valid YAML (${source.problems[0]?.message ?? 'unreadable'}); nothing was saved`, 'invalid_plan');
  const id = (source.data as { id?: unknown }).id;
  if (id !== snapshot.id) throw new FailedError(`The edit changed the plan's id to "${String(id)}"; a plan keeps its template's id (save a new template with --save-as-template or plan save-template). Nothing was saved`, 'invalid_plan');
  return checkSnapshot(source.data, registry, 'The edit', currency);
}
