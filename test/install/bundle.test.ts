import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot, tempDir } from '../helpers.js';

/**
 * The start-up bundle (scripts/bundle.mjs) and its loader (bin/load-bundle.cjs):
 * every command runs from it, so the scenario tests run it throughout; these
 * check what they would not notice: a code cache V8 refuses only costs time.
 */

interface Loader {
  compile(file: string): { cachedDataRejected?: boolean };
  bundle(name: string): Record<string, unknown>;
  folder: string;
}
const loader = createRequire(import.meta.url)(join(repoRoot, 'bin', 'load-bundle.cjs')) as Loader;

describe('the start-up bundle', () => {
  it.each(['txplan.cjs', 'connection.cjs', 'postgres-wire.cjs', 'postgres-client.cjs'])('compiles %s with the code cache made beside it', (name) => {
    const script = loader.compile(join(loader.folder, name));
    // undefined would mean no cache was given at all
    expect(script.cachedDataRejected).toBe(false);
  });

  it('shares one connection module between bin/txplan and the command line', () => {
    const connection = loader.bundle('connection.cjs');
    expect(typeof connection.prewarmPostgres).toBe('function');
    // The command line's own PostgreSQL store requires "./connection.cjs" and gets these very exports.
    const source = readFileSync(join(loader.folder, 'txplan.cjs'), 'utf8');
    expect(source).toContain('require("./connection.cjs")');
    expect(source).not.toMatch(/class PostgresConnection\b/);
    expect(typeof loader.bundle('txplan.cjs').main).toBe('function');
  });

  it('calls no import() of its own: packages are imported through the loader', () => {
    const source = readFileSync(join(loader.folder, 'txplan.cjs'), 'utf8');
    expect(source).not.toMatch(/\bimport\(/);
    expect(source).toContain('require("./load-bundle.cjs")');
  });

  it('says in one sentence how to build it when it is missing', () => {
    const copy = tempDir('txplan-unbuilt-');
    mkdirSync(join(copy, 'bin'));
    for (const file of ['txplan', 'load-bundle.cjs']) copyFileSync(join(repoRoot, 'bin', file), join(copy, 'bin', file));
    copyFileSync(join(repoRoot, 'package.json'), join(copy, 'package.json'));
    const run = spawnSync(process.execPath, [join(copy, 'bin', 'txplan'), 'plan', 'list'], { encoding: 'utf8' });
    expect(run.status).toBe(1);
    expect(run.stderr).toBe('txplan: the build output is missing; run "npm install" (or "npm run build") in the txplan folder.\n');
    expect(run.stdout).toBe('');
  });
});
