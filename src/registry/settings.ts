import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import type { Settings } from '../generated/schema-types.js';
import { DEFAULT_SETTINGS, type Workspace } from './workspace.js';

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
