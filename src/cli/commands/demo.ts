import { mkdtemp, mkdir, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Context } from '../context.js';
import { FailedError } from '../../errors.js';
import { createWorkspace } from '../../registry/starter.js';
import { initRepository } from '../../registry/git.js';
import { validateWorkspace } from '../../registry/validate.js';
import { countBySeverity } from '../../registry/diagnostics.js';
import { loadTemplates } from '../../registry/registry.js';
import { workspaceAt } from '../../registry/workspace.js';

/**
 * A guided run on sample data in a fresh folder: each step runs the real
 * command against the demo workspace and prints what a user would see.
 */
export async function run(ctx: Context, opts: { dir?: string }): Promise<number> {
  const root = opts.dir !== undefined ? await emptyFolder(resolve(ctx.cwd, opts.dir)) : await mkdtemp(join(tmpdir(), 'txplan-demo-'));
  const workspace = workspaceAt(root);
  const created = await createWorkspace(root);
  const git = await initRepository(root);
  // The demo is read by people even when its output is captured: always aligned tables.
  const demo: Context = { ...ctx, cwd: root, tty: true, options: { ...ctx.options, workspace: root } };

  if (ctx.options.json) {
    const report = await validateWorkspace({ workspace, paths: [], cwd: root });
    const { templates } = await loadTemplates(workspace);
    ctx.json({ id: root, workspace: root, git, validation: { files: report.files.length, ...countBySeverity(report.diagnostics) }, templates: templates.map((t) => ({ id: t.template.id, name: t.template.name, type: t.template.type, status: t.template.status })) });
    return 0;
  }

  const { color } = ctx;
  const step = (n: number, title: string, command: string) => ctx.out(`\n${color.bold.cyan(`${n}.`)} ${color.bold(title)}\n   ${color.dim(`$ ${command}`)}\n`);
  ctx.out(color.bold('txplan demo: a clinic workspace from scratch, on sample data.'));

  step(1, 'Create a workspace with the starter library', `txplan init ${root}`);
  ctx.out(`   ${created.templates} templates, catalog.yaml, txplan.yaml and the JSON Schemas copied; .txplan/ git-ignored${git === 'created' ? '; git repository initialised' : ''}.`);

  step(2, 'Validate every template against the schema, the catalog and the business rules', 'txplan template validate');
  const validation = await (await import('./template/validate.js')).run(demo, [], { format: 'stylish' });
  if (validation !== 0) throw new FailedError('The starter library did not validate; this is a bug in the installed txplan', 'demo_failed');

  step(3, 'List the active templates', 'txplan template list');
  await (await import('./template/list.js')).run(demo, {});

  step(4, 'Look at one of them in detail', 'txplan template show comprehensive-acne-resolution');
  await (await import('./template/show.js')).run(demo, 'comprehensive-acne-resolution', {});

  ctx.out(`\n${color.green('✔')} Demo workspace: ${color.bold(root)}\n   Try: txplan --workspace ${root} template list --all`);
  return 0;
}

async function emptyFolder(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const entries = await readdir(dir);
  if (entries.length > 0) throw new FailedError(`${dir} is not empty; give --dir a new or empty folder, or leave it out to use a temporary one`, 'exists');
  return dir;
}
