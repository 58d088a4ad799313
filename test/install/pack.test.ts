import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { beforeAllWithFolders, repoRoot, tempDir } from '../helpers.js';

/**
 * The packed tarball, installed as the README's "Installing txplan" section
 * says, into a temporary global prefix, then run from that prefix's bin with a
 * minimal PATH. The commands are read from the section's sh block, so the
 * README cannot drift from what is tested. This file is in the sqlite project
 * only (test/install/ is not a scenario folder): it runs once per suite.
 */

const version = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;

/** The README's install section's sh block, as paragraphs: the comment that opens each, and its commands split into words. */
function installParagraphs(): Array<{ title: string; commands: string[][] }> {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const section = readme.split(/^## /m).find((s) => s.startsWith('Installing txplan\n'));
  const block = section?.match(/^```sh\n([\s\S]*?)^```$/m)?.[1];
  if (!block) throw new Error('README.md has no "## Installing txplan" section with a ```sh block');
  return block
    .trim()
    .split(/\n\s*\n/)
    .map((paragraph) => {
      const lines = paragraph.split('\n').map((l) => l.trim());
      return {
        title: lines.filter((l) => l.startsWith('#')).join(' '),
        commands: lines.filter((l) => l && !l.startsWith('#')).map((l) => l.split(/\s+/)),
      };
    });
}

function paragraph(title: string): string[][] {
  const found = installParagraphs().find((p) => p.title.startsWith(`# ${title}`));
  if (!found) throw new Error(`the README's install block has no paragraph "# ${title}…"`);
  return found.commands;
}

/** npm's own settings from `npm test`'s environment that would redirect an install: the install names its prefix itself. */
function npmEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const name of Object.keys(env)) {
    if (/^npm_(lifecycle_|package_)/i.test(name) || /^npm_config_(global|location|prefix|allow_scripts|dry_run|ignore_scripts)$/i.test(name)) delete env[name];
  }
  return env;
}

/** A failed command's output for the assertion message, with the home folder shortened. */
function output(result: SpawnSyncReturns<string>): string {
  return `${result.stdout}\n${result.stderr}`.split(homedir()).join('~').slice(-4000);
}

/**
 * better-sqlite3's install script fetches a prebuilt binary from GitHub and
 * compiles from source without one (minutes, and a network beyond the npm
 * registry). The test hands it the binary the checkout already has, as a local
 * prebuild of the same version (npm_config_<package>_local_prebuilds, read by
 * prebuild-install): the install script still runs and unpacks it. Should npm
 * pick another version of better-sqlite3, the name does not match and the
 * script compiles, as on a machine without a prebuilt binary.
 */
function localPrebuild(dir: string): Record<string, string> {
  const module = join(repoRoot, 'node_modules', 'better-sqlite3');
  const binary = join(module, 'build', 'Release', 'better_sqlite3.node');
  if (!existsSync(binary)) return {};
  const { version: v } = JSON.parse(readFileSync(join(module, 'package.json'), 'utf8')) as { version: string };
  const glibc = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header?.glibcVersionRuntime;
  const libc = process.platform === 'linux' && !glibc ? 'musl' : '';
  const prebuilds = join(dir, 'prebuilds');
  mkdirSync(prebuilds);
  const name = `better-sqlite3-v${v}-node-v${process.versions.modules}-${process.platform}${libc}-${process.arch}.tar.gz`;
  const tar = spawnSync('tar', ['-czf', join(prebuilds, name), '-C', module, 'build/Release/better_sqlite3.node'], { encoding: 'utf8' });
  if (tar.status !== 0) throw new Error(`tar failed: ${tar.stderr}`);
  return { npm_config_better_sqlite3_local_prebuilds: prebuilds };
}

let dir = '';
let prefix = '';
let packed: { filename: string; files: Array<{ path: string }> };
let tarballName = '';

/** The installed txplan, run from the prefix's bin with only that, node's folder and /usr/bin:/bin on the PATH. */
function installed(args: string[], cwd: string): SpawnSyncReturns<string> {
  const env = { PATH: [join(prefix, 'bin'), dirname(process.execPath), '/usr/bin', '/bin'].join(':'), HOME: join(dir, 'home') };
  return spawnSync('txplan', args, { cwd, env, encoding: 'utf8', timeout: 120_000 });
}

describe('the packed tarball, installed globally as the README says', () => {
  beforeAllWithFolders(() => {
    dir = tempDir('txplan-pack-');
    prefix = join(dir, 'prefix');
    mkdirSync(prefix);
    mkdirSync(join(dir, 'home'));

    const [pack, install, ...rest] = paragraph('From a tarball');
    expect(rest).toEqual([]);
    expect(pack).toEqual(['npm', 'pack']);
    expect(install!.slice(0, 3)).toEqual(['npm', 'install', '--global']);
    tarballName = install!.at(-1)!;

    // `npm test` has just built dist/; npm pack's `prepare` would build it again and replace
    // dist/bundle/ under the other test files running the binary at the same time.
    const packing = spawnSync(pack![0]!, [...pack!.slice(1), '--pack-destination', dir, '--ignore-scripts', '--json'], { cwd: repoRoot, env: npmEnv({}), encoding: 'utf8' });
    expect(packing.status, output(packing)).toBe(0);
    [packed] = JSON.parse(packing.stdout) as [typeof packed];

    // As typed after npm pack, in the folder that holds the tarball; with the prefix named, npm's cache
    // preferred to the registry, and no audit or funding notices.
    const installing = spawnSync(install![0]!, [...install!.slice(1), '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund'], {
      cwd: dir,
      env: npmEnv(localPrebuild(dir)),
      encoding: 'utf8',
      timeout: 540_000,
    });
    expect(installing.status, output(installing)).toBe(0);
  }, 600_000);

  it('is named as in the README, for this version', () => {
    expect(tarballName).toBe(`./txplan-${version}.tgz`);
    expect(packed.filename).toBe(basename(tarballName));
    expect(paragraph('From the repository')).toEqual([
      ['npm', 'pack', `github:YOUR-ORG/txplan#v${version}`],
      paragraph('From a tarball')[1],
    ]);
  });

  it('holds the start-up bundle and what init copies, and nothing of development', () => {
    const files = packed.files.map((f) => f.path);
    const bundle = readdirSync(join(repoRoot, 'dist', 'bundle')).map((f) => `dist/bundle/${f}`);
    expect(bundle).toEqual(expect.arrayContaining(['dist/bundle/txplan.cjs', 'dist/bundle/txplan.cjs.cache', 'dist/bundle/connection.cjs', 'dist/bundle/postgres-client.cjs.cache']));
    const templates = readdirSync(join(repoRoot, 'templates')).map((f) => `templates/${f}`);
    const schemas = readdirSync(join(repoRoot, 'schemas')).map((f) => `schemas/${f}`);
    expect(files).toEqual(
      expect.arrayContaining(['package.json', 'README.md', 'bin/txplan', 'bin/load-bundle.cjs', 'catalog.yaml', 'txplan.yaml', 'examples/patients.csv', ...bundle, ...templates, ...schemas]),
    );
    expect(files.filter((f) => /^(src|test|bench|scripts|\.ci|node_modules|coverage)\/|\.map$|\.test\.|tsconfig|vitest|^dist\/(?!bundle\/)/.test(f))).toEqual([]);
  });

  it('installs better-sqlite3 with its native module', () => {
    expect(existsSync(join(prefix, 'lib', 'node_modules', 'txplan', 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node'))).toBe(true);
  });

  it('runs txplan --version, init and template validate from the prefix on a minimal PATH', () => {
    const shown = installed(['--version'], dir);
    expect(shown.status, output(shown)).toBe(0);
    expect(shown.stdout.trim()).toBe(version);

    const ws = join(dir, 'ws');
    const init = installed(['init', ws], dir);
    expect(init.status, output(init)).toBe(0);
    expect(existsSync(join(ws, 'txplan.yaml'))).toBe(true);
    const validate = installed(['template', 'validate'], ws);
    expect(validate.status, output(validate)).toBe(0);
    expect(validate.stdout).toContain('no problems');
  });

  it('runs the demo, whose handout finds the fonts installed beside txplan', () => {
    const demo = join(dir, 'demo');
    const run = installed(['demo', '--dir', demo], dir);
    expect(run.status, output(run)).toBe(0);
    const pdfs = readdirSync(join(demo, '.txplan')).filter((f) => f.endsWith('.pdf'));
    expect(pdfs.length).toBeGreaterThan(0);
    expect(readFileSync(join(demo, '.txplan', pdfs[0]!)).subarray(0, 5).toString()).toBe('%PDF-');
  });
});
