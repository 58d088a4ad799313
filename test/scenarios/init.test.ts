import { existsSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { git, repoRoot, tempDir, txplan } from '../helpers.js';

describe('txplan init', () => {
  it('copies the starter library, ignores .txplan/ and makes a git repository', () => {
    const dir = join(tempDir(), 'new-clinic');
    const result = txplan(['init', dir]);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain('Created a txplan workspace');
    const starter = readdirSync(join(repoRoot, 'templates')).sort();
    expect(readdirSync(join(dir, 'templates')).sort()).toEqual(starter);
    for (const file of ['txplan.yaml', 'catalog.yaml', 'schemas/template.schema.json', 'schemas/catalog.schema.json', 'schemas/settings.schema.json']) {
      expect(readFileSync(join(dir, file), 'utf8')).toBe(readFileSync(join(repoRoot, file), 'utf8'));
    }
    expect(readFileSync(join(dir, '.gitignore'), 'utf8')).toMatch(/^\.txplan\/$/m);
    expect(existsSync(join(dir, '.git'))).toBe(true);
    expect(git(dir, 'check-ignore', '.txplan/txplan.db').trim()).toBe('.txplan/txplan.db');

    const validate = txplan(['template', 'validate'], { cwd: dir });
    expect(validate.code).toBe(0);
  });

  it('initialises the current folder by default and reports JSON', () => {
    const dir = tempDir();
    const result = txplan(['init', '--json'], { cwd: dir });
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as { root: string; templates: number; git: string };
    expect(report.templates).toBe(readdirSync(join(repoRoot, 'templates')).length);
    expect(report.git).toBe('created');
  });

  it('refuses a folder that is already a workspace', () => {
    const dir = tempDir();
    expect(txplan(['init', dir]).code).toBe(0);
    const again = txplan(['init', dir]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('is already a txplan workspace');
  });

  it('refuses to overwrite existing template files and writes nothing', () => {
    const dir = tempDir();
    const first = readdirSync(join(repoRoot, 'templates'))[0]!;
    mkdirSync(join(dir, 'templates'));
    writeFileSync(join(dir, 'templates', first), 'mine\n');
    const result = txplan(['init', dir]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`already has templates/${first}`);
    expect(readFileSync(join(dir, 'templates', first), 'utf8')).toBe('mine\n');
    expect(existsSync(join(dir, 'txplan.yaml'))).toBe(false);
    expect(existsSync(join(dir, 'catalog.yaml'))).toBe(false);
  });

  it('adds what txplan writes to an existing .gitignore once, inside an existing repository', () => {
    const dir = tempDir();
    git(dir, 'init', '-q');
    writeFileSync(join(dir, '.gitignore'), 'node_modules/');
    const result = txplan(['init', '--json'], { cwd: dir });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ git: 'inside-repository', gitignore: 'updated' });
    expect(readFileSync(join(dir, '.gitignore'), 'utf8')).toBe('node_modules/\n.txplan/\nplan-*.pdf\nplan-*.html\nhandouts/\nbackups/\n.*.tmp\n');

    const nested = join(dir, 'second');
    const second = txplan(['init', '--json', nested]);
    expect(JSON.parse(second.stdout)).toMatchObject({ git: 'inside-repository', gitignore: 'created' });
    expect(existsSync(join(nested, '.git'))).toBe(false);
  });
});
