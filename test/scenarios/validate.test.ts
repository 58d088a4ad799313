import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { git, tempDir, txplan, workspace } from '../helpers.js';

const ACNE = 'templates/comprehensive-acne-resolution.yaml';

interface JsonReport {
  ok: boolean;
  files: number;
  errors: number;
  warnings: number;
  diagnostics: Array<{ file: string; line: number; column: number; path: string; code: string; severity: string; message: string }>;
}

/** Replaces one line of a workspace file, failing loudly if the line is not there. */
function edit(file: string, from: RegExp, to: string): number {
  const lines = readFileSync(file, 'utf8').split('\n');
  const index = lines.findIndex((line) => from.test(line));
  if (index === -1) throw new Error(`no line matching ${from} in ${file}`);
  lines[index] = lines[index]!.replace(from, to);
  writeFileSync(file, lines.join('\n'));
  return index + 1;
}

describe('txplan template validate', () => {
  it('passes on the repository itself', () => {
    const result = txplan(['template', 'validate']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/✔ \d+ files checked, no problems/);
  });

  it('reports a semantic error with file:line:column, path and rule in every format', () => {
    const ws = workspace();
    const line = edit(join(ws, ACNE), /^(\s+- when: \{ ?month: )6( ?\})/, '$17$2');

    const stylish = txplan(['template', 'validate'], { cwd: ws });
    expect(stylish.code).toBe(1);
    expect(stylish.stdout).not.toMatch(/\u001b\[/);
    expect(stylish.stdout).toMatch(new RegExp(`${ACNE}:${line}:\\d+  error  schedule\\[\\d+\\]\\.when\\.month is 7, but the plan lasts 6 months; .*when-outside-duration`));
    expect(stylish.stdout).toMatch(/✖ 1 problem \(1 error, 0 warnings\) in \d+ files/);

    const json = txplan(['template', 'validate', '--format', 'json'], { cwd: ws });
    expect(json.code).toBe(1);
    const report = JSON.parse(json.stdout) as JsonReport;
    expect(report.ok).toBe(false);
    expect(report.errors).toBe(1);
    expect(report.diagnostics[0]).toMatchObject({ file: ACNE, line, code: 'when-outside-duration', severity: 'error' });
    expect(report.diagnostics[0]!.path).toMatch(/^schedule\[\d+\]\.when\.month$/);
    // --json selects the json format too.
    expect(JSON.parse(txplan(['template', 'validate', '--json'], { cwd: ws }).stdout)).toEqual(report);

    const github = txplan(['template', 'validate', '--format', 'github'], { cwd: ws });
    expect(github.code).toBe(1);
    expect(github.stdout).toMatch(new RegExp(`^::error file=${ACNE},line=${line},col=\\d+,endLine=\\d+,endColumn=\\d+,title=when-outside-duration::schedule\\[\\d+\\]\\.when\\.month is 7`, 'm'));

    const junit = txplan(['template', 'validate', '--format', 'junit'], { cwd: ws });
    expect(junit.code).toBe(1);
    expect(junit.stdout).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites /);
    expect(junit.stdout).toMatch(new RegExp(`<testcase classname="templates\\.comprehensive-acne-resolution" name="${ACNE.replace(/\./g, '\\.')}" time="\\d+\\.\\d+">`));
    expect(junit.stdout).toMatch(/<failure message="schedule\[\d+\]\.when\.month is 7[^"]*" type="when-outside-duration">/);
    expect(junit.stdout.match(/<failure /g)).toHaveLength(1);
    expect(junit.stdout.trim().endsWith('</testsuites>')).toBe(true);
  });

  it('checks the inventory: a service missing from the catalog names the closest one', () => {
    const ws = workspace();
    const catalog = readFileSync(join(ws, 'catalog.yaml'), 'utf8');
    const template = readFileSync(join(ws, ACNE), 'utf8');
    const service = /services: \[([a-z0-9-]+)/.exec(template)?.[1];
    expect(service).toBeDefined();
    expect(catalog).toContain(`id: ${service}`);
    writeFileSync(join(ws, 'catalog.yaml'), catalog.replace(`id: ${service}`, `id: ${service}-x`));
    const result = txplan(['template', 'validate', '--json'], { cwd: ws });
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as JsonReport;
    const hit = report.diagnostics.find((d) => d.file === ACNE && d.code === 'unknown-service');
    expect(hit?.message).toContain(`"${service}" is not a service in the catalog; did you mean "${service}-x"?`);
  });

  it('validates only the paths given, and exits 2 for a path that does not exist', () => {
    const ws = workspace();
    const one = txplan(['template', 'validate', '--json', ACNE], { cwd: ws });
    expect(one.code).toBe(0);
    expect((JSON.parse(one.stdout) as JsonReport).files).toBe(1);
    const missing = txplan(['template', 'validate', 'templates/nope.yaml'], { cwd: ws });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe('txplan: templates/nope.yaml does not exist; name template files or folders that hold them\n');
  });

  it('never hangs on a FIFO or a loop of links named like a template', () => {
    const ws = workspace();
    spawnSync('mkfifo', [join(ws, 'templates', 'pipe.yaml')]);
    symlinkSync('loop.yaml', join(ws, 'templates', 'loop.yaml'));
    const result = txplan(['template', 'validate', '--json'], { cwd: ws });
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as JsonReport;
    expect(report.diagnostics.map((d) => [d.file, d.code])).toEqual([
      ['templates/loop.yaml', 'file-unreadable'],
      ['templates/pipe.yaml', 'file-unreadable'],
    ]);
    expect(report.diagnostics[1]!.message).toContain('is not a regular file');
  });

  it('reports a broken catalog, and templates are then not checked against it', () => {
    const ws = workspace();
    writeFileSync(join(ws, 'catalog.yaml'), 'services: [\n');
    const result = txplan(['template', 'validate', '--json'], { cwd: ws });
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as JsonReport;
    expect(report.diagnostics.map((d) => d.code)).toEqual(expect.arrayContaining(['yaml-syntax', 'inventory-unchecked']));
  });
});

describe('txplan template validate --base', () => {
  function repository(): string {
    const ws = workspace();
    git(ws, 'add', '-A');
    git(ws, 'commit', '-qm', 'starter library');
    git(ws, 'branch', '-M', 'main');
    git(ws, 'checkout', '-qb', 'change');
    return ws;
  }

  it('passes when nothing changed, and when only comments or layout changed', () => {
    const ws = repository();
    expect(txplan(['template', 'validate', '--base', 'main'], { cwd: ws }).code).toBe(0);
    const file = join(ws, ACNE);
    writeFileSync(file, readFileSync(file, 'utf8').replace(/\n/, '\n# reviewed by the medical director\n'));
    expect(txplan(['template', 'validate', '--base', 'main'], { cwd: ws }).code).toBe(0);
  });

  it('requires a higher version when the content changed', () => {
    const ws = repository();
    const file = join(ws, ACNE);
    edit(file, /^goal: .*/, 'goal: Clear active acne within 6 months');
    const versionLine = readFileSync(file, 'utf8').split('\n').findIndex((l) => l.startsWith('version:')) + 1;
    const version = Number(/^version: (\d+)/m.exec(readFileSync(file, 'utf8'))![1]);

    const result = txplan(['template', 'validate', '--base', 'main', '--json'], { cwd: ws });
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as JsonReport;
    expect(report.diagnostics).toEqual([
      expect.objectContaining({ file: ACNE, line: versionLine, code: 'version-not-bumped', path: 'version', message: `the template changed since main but version is still ${version}; set version: ${version + 1}` }),
    ]);

    edit(file, /^version: \d+/, `version: ${version + 1}`);
    expect(txplan(['template', 'validate', '--base', 'main'], { cwd: ws }).code).toBe(0);
    // Committed on the branch, the comparison is still against main.
    git(ws, 'commit', '-qam', 'shorter goal');
    expect(txplan(['template', 'validate', '--base', 'main'], { cwd: ws }).code).toBe(0);
    expect(txplan(['template', 'validate', '--base', 'HEAD'], { cwd: ws }).code).toBe(0);
  });

  it('requires a new template to start at version 1', () => {
    const ws = repository();
    const text = readFileSync(join(ws, ACNE), 'utf8').replace(/^id: .*$/m, 'id: severe-acne-program').replace(/^version: \d+$/m, 'version: 2');
    writeFileSync(join(ws, 'templates/severe-acne-program.yaml'), text);
    const result = txplan(['template', 'validate', '--base', 'main', '--format', 'github'], { cwd: ws });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^::error file=templates\/severe-acne-program\.yaml,line=\d+,col=\d+,.*title=version-new::templates\/severe-acne-program\.yaml is new since main, so its version starts at 1 \(it is 2\)/m);
    writeFileSync(join(ws, 'templates/severe-acne-program.yaml'), text.replace(/^version: 2$/m, 'version: 1'));
    expect(txplan(['template', 'validate', '--base', 'main'], { cwd: ws }).code).toBe(0);
  });

  it('exits 2 for an unknown revision and outside a git repository', () => {
    const ws = repository();
    const unknown = txplan(['template', 'validate', '--base', 'origin/nope'], { cwd: ws });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('--base "origin/nope" is not a commit in this repository');

    const plain = join(tempDir(), 'plain');
    expect(txplan(['init', plain]).code).toBe(0);
    rmSync(join(plain, '.git'), { recursive: true, force: true });
    const outside = txplan(['template', 'validate', '--base', 'main'], { cwd: plain });
    expect(outside.code).toBe(2);
    expect(outside.stderr).toContain('--base needs a git repository');
  });

  it('uses the repository root when the workspace is a subfolder', () => {
    const top = tempDir();
    git(top, 'init', '-q');
    const ws = join(top, 'registry');
    expect(txplan(['init', ws]).code).toBe(0);
    git(top, 'add', '-A');
    git(top, 'commit', '-qm', 'registry');
    edit(join(ws, ACNE), /^goal: .*/, 'goal: Changed');
    const result = txplan(['template', 'validate', '--base', 'HEAD', '--json'], { cwd: ws });
    expect((JSON.parse(result.stdout) as JsonReport).diagnostics.map((d) => d.code)).toEqual(['version-not-bumped']);
  });
});
