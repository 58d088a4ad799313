import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Settings } from '../generated/schema-types.js';
import { DEFAULT_SETTINGS, type Workspace } from './workspace.js';
import { FailedError } from '../errors.js';

/**
 * The YAML parser, loaded the first time a file is parsed: most commands
 * never read txplan.yaml (a database named by --db or TXPLAN_DB), and the
 * parser is the largest module they would load. It is the same module an
 * `import … from 'yaml'` elsewhere gets (the package is CommonJS).
 */
function parse(text: string): unknown {
  return (createRequire(import.meta.url)('yaml') as typeof import('yaml')).parse(text);
}

export type ResolvedSettings = typeof DEFAULT_SETTINGS & Settings;

/**
 * Settings with defaults filled in. Commands other than validate read them
 * leniently: a broken txplan.yaml falls back to defaults here and is reported
 * by `txplan template validate`.
 */
export function readSettings(workspace: Workspace): ResolvedSettings {
  let raw: Settings = {};
  try {
    const parsed = parse(readFileSync(workspace.settingsFile, 'utf8'));
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) raw = parsed as Settings;
  } catch {
    // Reported by validation; defaults keep read-only commands usable.
  }
  return mergeSettings(raw);
}

export function mergeSettings(raw: Settings): ResolvedSettings {
  return {
    ...DEFAULT_SETTINGS,
    ...raw,
    payments: { ...DEFAULT_SETTINGS.payments, ...raw.payments },
    billing: { ...DEFAULT_SETTINGS.billing, ...raw.billing },
  };
}

/**
 * txplan.yaml's `database:`, read strictly: where the data lives must never
 * fall back to another database because the file is broken. A file that does
 * not mention it outside a comment is not parsed at all.
 */
export function settingsDatabase(workspace: Workspace): string | undefined {
  let text: string;
  try {
    text = readFileSync(workspace.settingsFile, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw new FailedError(`${workspace.settingsFile} cannot be read (${code ?? 'unknown error'}), so the database it may name is unknown; make it readable, or pass --db`, 'settings_unreadable');
  }
  if (!/^(?!\s*#).*database['"]?\s*:/m.test(text)) return undefined;
  let parsed: unknown;
  try {
    parsed = parse(text);
  } catch {
    throw new FailedError(`${workspace.settingsFile} cannot be read, and it names the database; fix it ("txplan template validate" shows where), or pass --db`, 'settings_invalid');
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed) || !('database' in parsed)) return undefined;
  const value = (parsed as { database: unknown }).database;
  if (typeof value === 'string' && value.trim() !== '') return value;
  throw new FailedError(`database: in ${workspace.settingsFile} must be a SQLite file path or a postgres:// URL; write one, or remove the line to use .txplan/txplan.db`, 'settings_invalid');
}
