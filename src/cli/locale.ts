import type { Context } from './context.js';
import { resolveWorkspace } from './workspace.js';
import { readSettings } from '../registry/settings.js';
import { DEFAULT_SETTINGS } from '../registry/workspace.js';

/** The workspace's locale for money (txplan.yaml locale), or en-US when the database is used without a workspace (--db). */
export function workspaceLocale(ctx: Context): string {
  try {
    return readSettings(resolveWorkspace(ctx)).locale;
  } catch {
    return DEFAULT_SETTINGS.locale;
  }
}
