import { relative } from 'node:path';
import type { Context } from '../../context.js';
import { resolveWorkspace } from '../../workspace.js';
import { loadRegistry } from '../../../registry/registry.js';
import { changeTemplateStatus, type TemplateStatus } from '../../../registry/write.js';

export async function run(ctx: Context, id: string, status: TemplateStatus): Promise<number> {
  const registry = await loadRegistry(resolveWorkspace(ctx));
  const change = await changeTemplateStatus(registry, id, status);
  const shown = relative(ctx.cwd, change.file) || change.file;
  if (ctx.options.json) {
    ctx.json({ id, file: shown, status: change.to, previous_status: change.from, version: change.versionAfter, previous_version: change.versionBefore, changed: change.changed });
    return 0;
  }
  if (!change.changed) {
    ctx.out(`Template ${id} is already ${status} (v${change.versionBefore}); nothing was changed.`);
    return 0;
  }
  const bumped = change.versionAfter !== change.versionBefore ? `v${change.versionBefore} → v${change.versionAfter}` : `v${change.versionAfter}, a version not yet committed`;
  const meaning = status === 'active' ? 'staff can apply it' : 'it starts no new plans; running plans go on';
  ctx.out(`${ctx.color.green('✔')} Template ${ctx.color.bold(id)} is now ${status} (${bumped}) in ${shown}: ${meaning}. Commit the file so every desk gets it.`);
  return 0;
}
