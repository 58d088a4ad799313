import { findWorkspace, type Workspace } from '../registry/workspace.js';
import { readSettings } from '../registry/settings.js';
import type { Context } from './context.js';

export function resolveWorkspace(ctx: Context): Workspace {
  return findWorkspace({ flag: ctx.options.workspace, env: ctx.env.workspace, cwd: ctx.cwd });
}

/** The workspace's time zone (txplan.yaml), for times shown to people; UTC when the database is used without a workspace (--db). */
export function workspaceZone(ctx: Context): string {
  let workspace;
  try {
    workspace = resolveWorkspace(ctx);
  } catch {
    return 'UTC';
  }
  return readSettings(workspace).timezone;
}
