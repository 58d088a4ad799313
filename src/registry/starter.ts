import { copyFile, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { packageRoot } from '../paths.js';
import { FailedError } from '../errors.js';
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

  await mkdir(join(root, TEMPLATES_DIR), { recursive: true });
  await mkdir(join(root, 'schemas'), { recursive: true });
  for (const file of files) await copyFile(join(packageRoot, file), join(root, file));
  const gitignore = await ensureIgnored(join(root, '.gitignore'), `${DATA_DIR}/`);
  return { root, files, templates: templateNames.length, gitignore };
}

/** Local data (database, attachments) must never be committed. */
async function ensureIgnored(file: string, entry: string): Promise<InitResult['gitignore']> {
  let current: string | undefined;
  try {
    current = await readFile(file, 'utf8');
  } catch {
    await writeFile(file, `# txplan's local data: patient database, gateway ledger, attachments\n${entry}\n`);
    return 'created';
  }
  if (current.split(/\r?\n/).some((line) => line.trim() === entry || line.trim() === entry.replace(/\/$/, ''))) return 'unchanged';
  await writeFile(file, `${current}${current.endsWith('\n') || current === '' ? '' : '\n'}${entry}\n`);
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
