import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The domain is the bottom layer: its rules and record types are what the
 * store, the billing run, the plan commands and the CLI build on, so nothing
 * under src/domain/ may reach up into any of them.
 */

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');
const DOMAIN = join(SRC, 'domain');
const ABOVE = ['store', 'cli', 'billing', 'plans', 'handout', 'registry'];

/** Every module specifier a file names: static imports and re-exports (type-only ones too) and dynamic imports. */
function specifiers(source: string): string[] {
  const found: string[] = [];
  const patterns = [/\b(?:import|export)\s[^'";]*?\bfrom\s*['"]([^'"]+)['"]/g, /\bimport\s*['"]([^'"]+)['"]/g, /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g];
  for (const pattern of patterns) for (const match of source.matchAll(pattern)) found.push(match[1]!);
  return found;
}

/** The layers above the domain that a file at `file` reaches through its relative imports. */
function upwardImports(file: string, source: string): string[] {
  return specifiers(source).filter((specifier) => {
    if (!specifier.startsWith('.')) return false;
    const target = relative(SRC, resolve(dirname(file), specifier));
    return ABOVE.includes(target.split(sep)[0]!);
  });
}

function domainFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return domainFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

describe('layering', () => {
  it('finds an upward import however it is written', () => {
    const file = join(DOMAIN, 'records', 'example.ts');
    const source = [
      "import type { PlanRow } from '../../store/plans.js';",
      "import {\n  chargesOfPlan,\n} from '../../billing/summary.js';",
      "export { program } from '../../cli/program.js';",
      "const lazy = await import('../../registry/registry.js');",
      "import '../../handout/fonts.js';",
      "import { addDays } from '../dates.js';",
      "import { parse } from 'csv-parse/sync';",
    ].join('\n');
    expect(upwardImports(file, source)).toEqual(['../../store/plans.js', '../../billing/summary.js', '../../cli/program.js', '../../handout/fonts.js', '../../registry/registry.js']);
  });

  it('src/domain imports nothing from the store, billing, plans, handout, registry or CLI', () => {
    const files = domainFiles(DOMAIN);
    expect(files.length).toBeGreaterThan(0);
    const offending = files.flatMap((file) => upwardImports(file, readFileSync(file, 'utf8')).map((specifier) => `${relative(SRC, file)} imports ${specifier}`));
    expect(offending).toEqual([]);
  });
});
