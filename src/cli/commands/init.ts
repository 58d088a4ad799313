import { relative, resolve } from 'node:path';
import type { Context } from '../context.js';
import { createWorkspace } from '../../registry/starter.js';
import { initRepository } from '../../registry/git.js';
import { makeFolder } from '../../files.js';

export async function run(ctx: Context, opts: { dir: string }): Promise<number> {
  const root = resolve(ctx.cwd, opts.dir);
  // Readable by the team, writable only by its owner, whatever the umask; .txplan/ inside is private.
  makeFolder(root, 0o755);
  const result = await createWorkspace(root);
  const git = await initRepository(root);
  if (ctx.options.json) {
    ctx.json({ id: root, root, templates: result.templates, files: result.files, gitignore: result.gitignore, git });
    return 0;
  }
  const shown = relative(ctx.cwd, root) || '.';
  const { color } = ctx;
  ctx.out(`${color.green('✔')} Created a txplan workspace in ${color.bold(shown)} with ${result.templates} starter templates.`);
  const gitLine = { created: 'Initialised a git repository: commit the templates to version them.', 'inside-repository': 'The folder is inside a git repository already; commit the new files there.', 'no-git': color.yellow('git is not installed: install it to version the templates (txplan template validate --base needs it).') }[git];
  ctx.out(`  ${gitLine}`);
  ctx.out(`  .txplan/ (the patient database and attachments), handouts and backups are git-ignored.`);
  ctx.out(`\nNext:\n${shown === '.' ? '' : `  cd ${shown}\n`}  txplan template list\n  txplan template validate`);
  return 0;
}
