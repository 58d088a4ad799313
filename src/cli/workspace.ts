import { findWorkspace, type Workspace } from '../registry/workspace.js';
import type { Context } from './context.js';

export function resolveWorkspace(ctx: Context): Workspace {
  return findWorkspace({ flag: ctx.options.workspace, env: ctx.env.workspace, cwd: ctx.cwd });
}
