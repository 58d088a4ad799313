import { chmod, copyFile, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { packageRoot } from '../paths.js';
import { FailedError } from '../errors.js';
import { makeFolder } from '../files.js';
import { CATALOG_FILE, DATA_DIR, SETTINGS_FILE, TEMPLATES_DIR } from './workspace.js';

export interface InitResult {
  root: string;
  files: string[];
  templates: number;
  gitignore: 'created' | 'updated' | 'unchanged';
}

/**
 * Copies the starter library (settings, catalog, templates and the schemas the
 * files point their editors at) into `root`. Checks every destination first so
 * a refusal leaves nothing half-written.
 */
export async function createWorkspace(root: string): Promise<InitResult> {
  const templateNames = (await readdir(join(packageRoot, TEMPLATES_DIR))).filter((n) => n.endsWith('.yaml')).sort();
  const schemaNames = (await readdir(join(packageRoot, 'schemas'))).filter((n) => n.endsWith('.schema.json')).sort();
  const files = [SETTINGS_FILE, CATALOG_FILE, ...templateNames.map((n) => `${TEMPLATES_DIR}/${n}`), ...schemaNames.map((n) => `schemas/${n}`)];

  if (await exists(join(root, SETTINGS_FILE))) {
    throw new FailedError(`${root} is already a txplan workspace (it has ${SETTINGS_FILE}); use it as it is, or choose another folder`, 'exists');
  }
  const clashes = [];
  for (const file of files) if (await exists(join(root, file))) clashes.push(file);
  if (clashes.length > 0) {
    throw new FailedError(`${root} already has ${clashes.slice(0, 3).join(', ')}${clashes.length > 3 ? ` and ${clashes.length - 3} more` : ''}; move them away or choose an empty folder`, 'exists');
  }

  // Shared through git: readable by all, writable by the owner only, whatever the umask.
  makeFolder(join(root, TEMPLATES_DIR), 0o755);
  makeFolder(join(root, 'schemas'), 0o755);
  for (const file of files) {
    await copyFile(join(packageRoot, file), join(root, file));
    await chmod(join(root, file), 0o644);
  }
  const gitignore = await ensureIgnored(join(root, '.gitignore'), IGNORED);
  return { root, files, templates: templateNames.length, gitignore };
}

/**
 * Where txplan writes patient data by default, never to be committed: the
 * database, ledger and attachments; handouts (plan-<id>.pdf in the current
 * folder, and the README's handouts/ and backups/ folders); and the temporary
 * files of a write that was interrupted.
 */
const IGNORED = [`${DATA_DIR}/`, 'plan-*.pdf', 'plan-*.html', 'handouts/', 'backups/', '.*.tmp'];

async function ensureIgnored(file: string, entries: readonly string[]): Promise<InitResult['gitignore']> {
  let current: string | undefined;
  try {
    current = await readFile(file, 'utf8');
  } catch {
    await writeFile(file, `# txplan's patient data: database, gateway ledger, attachments, handouts, backups, interrupted writes\n${entries.join('\n')}\n`, { mode: 0o644 });
    await chmod(file, 0o644);
    return 'created';
  }
  const lines = new Set(current.split(/\r?\n/).map((line) => line.trim()));
  const missing = entries.filter((entry) => !lines.has(entry) && !lines.has(entry.replace(/\/$/, '')));
  if (missing.length === 0) return 'unchanged';
  await writeFile(file, `${current}${current.endsWith('\n') || current === '' ? '' : '\n'}${missing.join('\n')}\n`);
  return 'updated';
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
