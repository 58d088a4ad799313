import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot, tempDir, txplan } from '../helpers.js';

const version = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;

describe('txplan (global behaviour)', () => {
  it('prints its version with --version and -V', () => {
    for (const flag of ['--version', '-V']) {
      const result = txplan([flag]);
      expect(result).toEqual({ stdout: `${version}\n`, stderr: '', code: 0 });
    }
  });

  it('prints help with examples and exits 0', () => {
    const result = txplan(['template', 'validate', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Usage: txplan template validate');
    expect(result.stdout).toContain('Examples:');
    expect(result.stdout).toContain('--workspace <dir>');
  });

  it('exits 2 with one sentence and a suggestion on an unknown command', () => {
    const result = txplan(['template', 'lst']);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^txplan: Unknown command 'lst' \(Did you mean list\?\)/);
    expect(result.stderr).toContain('Run "txplan template --help" for usage.');
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('exits 2 on an unknown flag and on a bad --format', () => {
    expect(txplan(['template', 'list', '--colour']).code).toBe(2);
    const bad = txplan(['template', 'validate', '--format', 'xml']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('stylish, json, github, junit');
  });

  it('exits 2 when a command group is given without a verb', () => {
    const result = txplan(['template']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('Usage: txplan template');
  });

  it('writes errors as JSON on stderr with --json', () => {
    const result = txplan(['--json', 'template', 'show', 'no-such-template']);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    const error = JSON.parse(result.stderr) as { error: { code: string; message: string } };
    expect(error.error.code).toBe('not_found');
    expect(error.error.message).toContain('no-such-template');
  });

  it('writes usage errors as JSON too', () => {
    const result = txplan(['template', 'lst', '--json']);
    expect(result.code).toBe(2);
    expect(JSON.parse(result.stderr)).toMatchObject({ error: { code: 'usage' } });
  });

  it('says how to make a workspace when there is none', () => {
    const dir = tempDir();
    const result = txplan(['template', 'list'], { cwd: dir });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^txplan: No txplan workspace here: .* run "txplan init" or pass --workspace DIR\n$/);
  });

  it('finds the workspace from TXPLAN_WORKSPACE, and --workspace wins over it', () => {
    const dir = tempDir();
    const fromEnv = txplan(['template', 'list', '--json'], { cwd: dir, env: { TXPLAN_WORKSPACE: repoRoot } });
    expect(fromEnv.code).toBe(0);
    const wrong = txplan(['template', 'list', '--workspace', dir], { cwd: dir, env: { TXPLAN_WORKSPACE: repoRoot } });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('(from --workspace) is not a txplan workspace');
  });

  it('finds the workspace from a subfolder', () => {
    const result = txplan(['template', 'list', '--json'], { cwd: join(repoRoot, 'templates') });
    expect(result.code).toBe(0);
  });

  it('never prints a stack trace without --debug, and prints one with it', () => {
    const plain = txplan(['--workspace', '/nonexistent/ws', 'template', 'list']);
    expect(plain.stderr).not.toMatch(/^\s+at /m);
    const debug = txplan(['--debug', '--workspace', '/nonexistent/ws', 'template', 'list']);
    expect(debug.stderr).toMatch(/^\s+at /m);
  });
});

describe('txplan in a pipeline', () => {
  it('stops quietly when the reader closes the pipe early', () => {
    // `true` exits without reading, so every write txplan makes meets a closed pipe.
    const script = `"${process.execPath}" "${join(repoRoot, 'bin/txplan')}" catalog list | true; echo "status \${PIPESTATUS[0]}"`;
    const result = spawnSync('bash', ['-c', script], { cwd: repoRoot, encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('status 0\n');
  });
});
