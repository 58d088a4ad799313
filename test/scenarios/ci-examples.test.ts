import { spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseJunit, type TestSuites } from 'junit2json';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { beforeAllWithFolders, binary, git, repoRoot, tempDir, workspace } from '../helpers.js';

const ACNE = 'templates/comprehensive-acne-resolution.yaml';

interface GithubStep {
  name?: string;
  uses?: string;
  run?: string;
}
interface GithubWorkflow {
  env: Record<string, string>;
  jobs: { validate: { steps: GithubStep[] } };
}
interface GitlabJob {
  variables: Record<string, string | number>;
  before_script: string[];
  script: string[];
  artifacts: { when: string; reports: { junit: string } };
}

const github = parse(readFileSync(join(repoRoot, 'examples', 'ci', 'validate-templates.yml'), 'utf8')) as GithubWorkflow;
const gitlab = (parse(readFileSync(join(repoRoot, 'examples', 'ci', 'gitlab-ci.yml'), 'utf8')) as Record<string, GitlabJob>)['validate-templates']!;
const githubSteps = github.jobs.validate.steps;
const install = githubSteps.find((s) => s.name === 'Install txplan')!;
/** The workflow's shell steps after the install, as GitHub runs them for a pull request into main. */
const githubCommands = githubSteps
  .filter((s) => s.run !== undefined && s !== install)
  .map((s) => s.run!.replaceAll('${{ github.base_ref }}', 'main'));

let shim: string;
let clone: string;

/** Runs shell commands as the CI runner would (bash -e), in the clone, with `txplan` the built one. */
function sh(commands: string, env: Record<string, string>): { status: number; stdout: string; stderr: string } {
  const result = spawnSync('bash', ['-e', '-o', 'pipefail', '-c', commands], {
    cwd: clone,
    encoding: 'utf8',
    env: { HOME: process.env.HOME ?? clone, PATH: `${shim}:${process.env.PATH}`, ...env },
  });
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** A branch off origin/main whose one commit sets the acne template's goal, and its version if given. */
function change(branch: string, goal: string, version?: number): void {
  git(clone, 'checkout', '-q', '-b', branch, 'origin/main');
  let text = readFileSync(join(clone, ACNE), 'utf8').replace(/^goal: .*$/m, `goal: ${goal}`);
  if (version !== undefined) text = text.replace(/^version: \d+$/m, `version: ${version}`);
  writeFileSync(join(clone, ACNE), text);
  git(clone, 'commit', '-qam', goal);
}

beforeAllWithFolders(() => {
  shim = tempDir();
  writeFileSync(join(shim, 'txplan'), `#!/bin/sh\nexec "${process.execPath}" "${binary}" "$@"\n`);
  chmodSync(join(shim, 'txplan'), 0o755);
  // The template repository on the server (main), and the runner's full clone of it.
  const upstream = workspace();
  git(upstream, 'add', '-A');
  git(upstream, 'commit', '-qm', 'starter library');
  git(upstream, 'branch', '-M', 'main');
  clone = join(tempDir(), 'checkout');
  git(repoRoot, 'clone', '-q', upstream, clone);
  change('bumped', 'Clear active acne within 6 months', 4);
  change('unbumped', 'Clear active acne in six months');
});

describe('examples/ci', () => {
  it('installs txplan from something npm can install without a registry package, the same in both', () => {
    expect(githubCommands).toHaveLength(2);
    // Packed first: a one-step global install from git fails on npm 10 and 11 (the README's install section).
    const commands = ['npm pack "$TXPLAN_PACKAGE"', 'npm install --global --allow-scripts=better-sqlite3 ./txplan-*.tgz'];
    expect(install.run!.trim().split('\n')).toEqual(commands);
    expect(gitlab.before_script).toEqual(commands);
    const spec = github.env.TXPLAN_PACKAGE!;
    expect(gitlab.variables.TXPLAN_PACKAGE).toBe(spec);
    // A git repository at a tag (npm pack runs its prepare script, which builds dist/), not the unpublished name.
    expect(spec).toMatch(/^github:[\w.-]+\/[\w.-]+#v\d+\.\d+\.\d+$/);
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string; bin: Record<string, string>; files: string[]; scripts: Record<string, string> };
    expect(spec.endsWith(`#v${pkg.version}`)).toBe(true);
    expect(pkg.bin.txplan).toBe('bin/txplan');
    expect(pkg.files).toEqual(expect.arrayContaining(['bin', 'dist/bundle', 'schemas']));
    expect(pkg.scripts.prepare).toBe('npm run build');
    // --base compares against the full history of the target branch.
    expect(githubSteps[0]).toMatchObject({ uses: 'actions/checkout@v4', with: { 'fetch-depth': 0 } });
    expect(gitlab.variables.GIT_DEPTH).toBe(0);
    expect(gitlab.artifacts).toEqual({ when: 'always', reports: { junit: 'txplan-validate.xml' } });
  });

  it('GitHub: a bumped change passes; an unbumped one fails with an annotation on its version line', () => {
    git(clone, 'checkout', '-q', 'bumped');
    const good = sh(githubCommands.join('\n'), {});
    expect(good.status, good.stderr).toBe(0);
    expect(good.stdout).not.toContain('::error');

    git(clone, 'checkout', '-q', 'unbumped');
    const [validate, junit] = githubCommands;
    const bad = sh(validate!, {});
    expect(bad.status).toBe(1);
    expect(bad.stdout).toMatch(new RegExp(`^::error file=${ACNE},line=3,col=\\d+,.*title=version-not-bumped::`, 'm'));
    // The report step never fails the job on its own, and writes the report for the summary.
    expect(sh(junit!, {}).status).toBe(0);
    expect(readFileSync(join(clone, 'txplan-validate.xml'), 'utf8')).toContain('version-not-bumped');
  });

  it('GitLab: a bumped change passes; an unbumped one fails with a JUnit failure in the report artifact', async () => {
    const env = { CI_MERGE_REQUEST_TARGET_BRANCH_NAME: 'main' };
    const report = async (): Promise<string[]> => {
      const suites = (await parseJunit(readFileSync(join(clone, gitlab.artifacts.reports.junit), 'utf8'))) as TestSuites;
      return (suites.testsuite ?? []).flatMap((s) => s.testcase ?? []).flatMap((c) => (c.failure ?? []).map((f) => `${c.classname}: ${f.message ?? ''}`));
    };
    git(clone, 'checkout', '-q', 'bumped');
    const good = sh(gitlab.script.join('\n'), env);
    expect(good.status, good.stderr).toBe(0);
    expect(await report()).toEqual([]);

    git(clone, 'checkout', '-q', 'unbumped');
    const bad = sh(gitlab.script.join('\n'), env);
    expect(bad.status).toBe(1);
    const failures = await report();
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatch(/^templates\.comprehensive-acne-resolution: .*version/);
  });
});
