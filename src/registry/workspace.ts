import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Settings } from '../generated/schema-types.js';
import { FailedError } from '../errors.js';

/** A txplan workspace: the folder holding txplan.yaml, catalog.yaml and templates/. */
export interface Workspace {
  root: string;
  settingsFile: string;
  catalogFile: string;
  templatesDir: string;
  dataDir: string;
}

export const SETTINGS_FILE = 'txplan.yaml';
export const CATALOG_FILE = 'catalog.yaml';
export const TEMPLATES_DIR = 'templates';
export const DATA_DIR = '.txplan';

export const DEFAULT_SETTINGS: Required<Pick<Settings, 'currency' | 'locale' | 'timezone' | 'paper'>> & { payments: { gateway: 'sandbox' | 'stripe' }; billing: { retry_days: number[] } } = {
  currency: 'USD',
  locale: 'en-US',
  timezone: 'UTC',
  paper: 'letter',
  payments: { gateway: 'sandbox' },
  billing: { retry_days: [3, 5, 7] },
};

export function workspaceAt(root: string): Workspace {
  return {
    root,
    settingsFile: join(root, SETTINGS_FILE),
    catalogFile: join(root, CATALOG_FILE),
    templatesDir: join(root, TEMPLATES_DIR),
    dataDir: join(root, DATA_DIR),
  };
}

/**
 * SPEC §2: --workspace, else TXPLAN_WORKSPACE, else the nearest folder at or
 * above `cwd` holding txplan.yaml.
 */
export function findWorkspace(options: { flag?: string | undefined; env?: string | undefined; cwd: string }): Workspace {
  const explicit = options.flag ?? options.env;
  if (explicit !== undefined) {
    const root = resolve(options.cwd, explicit);
    if (!existsSync(join(root, SETTINGS_FILE))) {
      const source = options.flag !== undefined ? '--workspace' : 'TXPLAN_WORKSPACE';
      throw new FailedError(`${root} (from ${source}) is not a txplan workspace: it has no ${SETTINGS_FILE}; run "txplan init ${explicit}" to create one`, 'no_workspace');
    }
    return workspaceAt(root);
  }
  let dir = resolve(options.cwd);
  for (;;) {
    if (existsSync(join(dir, SETTINGS_FILE))) return workspaceAt(dir);
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new FailedError(`No txplan workspace here: no ${SETTINGS_FILE} in ${resolve(options.cwd)} or above it; run "txplan init" or pass --workspace DIR`, 'no_workspace');
}

