import { accessSync, constants, existsSync } from 'node:fs';
import { join } from 'node:path';

/** One line of `txplan doctor`: a failed check makes it exit 1, a warning does not. */
export interface Check {
  name: string;
  status: 'ok' | 'warn' | 'fail';
  message: string;
  /** What to do about it; empty when nothing needs doing. */
  fix: string;
}

export const ok = (name: string, message: string): Check => ({ name, status: 'ok', message, fix: '' });
export const warn = (name: string, message: string, fix: string): Check => ({ name, status: 'warn', message, fix });
export const fail = (name: string, message: string, fix: string): Check => ({ name, status: 'fail', message, fix });

/**
 * Whether `version` (such as "20.11.1") meets a package.json engines range made
 * of ">=", ">", "<", "<=" or "^" comparators (all must hold; "||" between
 * alternatives); undefined for a range this cannot read.
 */
export function satisfiesRange(version: string, range: string): boolean | undefined {
  const have = parts(version);
  if (!have) return undefined;
  const alternatives = range.split('||').map((alternative) =>
    alternative
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map((comparator) => {
        const match = /^(>=|<=|>|<|\^|=)?v?(\d+(?:\.\d+){0,2})(?:\.x)?$/.exec(comparator);
        if (!match) return undefined;
        const want = parts(match[2]!)!;
        const order = compare(have, want);
        switch (match[1] ?? '=') {
          case '>=': return order >= 0;
          case '>': return order > 0;
          case '<': return order < 0;
          case '<=': return order <= 0;
          case '^': return order >= 0 && have[0] === want[0];
          default: return match[2]!.split('.').every((part, i) => Number(part) === have[i]);
        }
      }),
  );
  if (alternatives.some((alternative) => alternative.length === 0 || alternative.includes(undefined))) return undefined;
  return alternatives.some((alternative) => alternative.every(Boolean));
}

function parts(version: string): [number, number, number] | undefined {
  const match = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(version);
  return match ? [Number(match[1]), Number(match[2] ?? 0), Number(match[3] ?? 0)] : undefined;
}

function compare(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

export function nodeCheck(version: string, range: string | undefined): Check {
  if (range === undefined) return ok('node', `Node ${version}`);
  const fits = satisfiesRange(version, range);
  if (fits === undefined) return warn('node', `Node ${version}; cannot read the required range "${range}"`, `check by hand that Node ${version} meets "${range}"`);
  if (!fits) return fail('node', `Node ${version} does not meet txplan's requirement "${range}"`, `install a Node version that meets "${range}" (for example the current LTS from nodejs.org or your package manager)`);
  return ok('node', `Node ${version} (txplan needs ${range})`);
}

/**
 * The handout's font files: each looked up in its package's folder
 * (`packageRoot` throws for a package that is not installed).
 */
export function fontsCheck(files: ReadonlyArray<{ pkg: string; file: string }>, packageRoot: (pkg: string) => string): Check {
  const missing: string[] = [];
  for (const { pkg, file } of files) {
    let root: string;
    try {
      root = packageRoot(pkg);
    } catch {
      missing.push(`${pkg} (not installed)`);
      continue;
    }
    if (!existsSync(join(root, file))) missing.push(`${pkg}/${file}`);
  }
  const unique = [...new Set(missing)];
  if (unique.length > 0) {
    return fail('fonts', `handout fonts missing: ${unique.slice(0, 3).join(', ')}${unique.length > 3 ? ` and ${unique.length - 3} more` : ''}`, 'reinstall txplan (npm install --global <txplan package>, or npm ci in a checkout) so its font packages are complete');
  }
  return ok('fonts', `${files.length} handout font files present`);
}

/**
 * Whether `txplan` (and the `node` its start-up line runs) resolve on cron's
 * minimal PATH. `binary` is how this txplan was started, for the fix.
 */
export function cronPathCheck(path: readonly string[], binary: string, nodeDir: string, executable: (file: string) => boolean = isExecutable): Check {
  const shown = path.join(':');
  const txplan = path.some((dir) => executable(join(dir, 'txplan')));
  const node = path.some((dir) => executable(join(dir, 'node')));
  const fix = `in the crontab, call txplan by its absolute path (${binary}), or put a line PATH=${[...new Set([dirnameOf(binary), nodeDir, ...path])].join(':')} above the jobs (see examples/cron/)`;
  if (!txplan) return warn('cron-path', `txplan is not found on cron's PATH (${shown}): a crontab line "txplan billing run" would exit 127`, fix);
  if (!node) return warn('cron-path', `txplan is on cron's PATH (${shown}) but node is not: it would fail to start`, fix);
  return ok('cron-path', `txplan and node resolve on cron's PATH (${shown})`);
}

function dirnameOf(file: string): string {
  const at = file.lastIndexOf('/');
  return at > 0 ? file.slice(0, at) : '/';
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
