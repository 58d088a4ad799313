import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { binary, databaseEnv, engine, query, setUp, tempDir, txplan, workspace, repoRoot } from '../helpers.js';

/**
 * Temporary files have random names and are created exclusively, so a
 * symlink planted where one was expected is never followed; folders and files
 * txplan makes have their modes whatever the umask; the workspace's
 * .gitignore covers where txplan writes patient data by default. On
 * PostgreSQL no database file, journal or ledger is written into the
 * workspace at all (only the high-water mark, private, in .txplan), and
 * `db backup` refuses before it touches the disk.
 */

const ACNE = 'comprehensive-acne-resolution';

/** Runs txplan through a shell that first runs `before` (with $$ the pid txplan will have, as exec keeps it). */
function shell(cwd: string, before: string, args: readonly string[]): { code: number; stdout: string; stderr: string } {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TXPLAN_')));
  const quoted = args.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const result = spawnSync('/bin/sh', ['-c', `${before}; exec '${process.execPath}' '${binary}' ${quoted}`], { cwd, env: { ...env, TXPLAN_ACTOR: 'test', ...databaseEnv(cwd, args) }, encoding: 'utf8' });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

function started(): string {
  const ws = workspace();
  setUp(ws, [
    ['clinic', 'add', 'main', '--name', 'Main Street', '--timezone', 'UTC'],
    ['patient', 'add', '--first', 'Ada', '--last', 'Lovelace', '--mrn', 'P-1'],
    ['plan', 'apply', 'P-1', ACNE, '--mode', 'start', '--yes', '--clinic', 'main', '--payment-method', 'pm_card_visa', '--yes'],
  ]);
  return ws;
}

const mode = (path: string) => statSync(path).mode & 0o777;

/** Every file under `root` (relative paths), links included. */
function filesUnder(root: string): string[] {
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((entry) => !entry.isDirectory())
    .map((entry) => relative(root, join(entry.parentPath, entry.name)))
    .sort();
}

/** PostgreSQL: nothing of the database is in the workspace — no database file, journal, WAL, shared memory or sandbox ledger. */
function noDatabaseFiles(ws: string): void {
  expect(filesUnder(ws).filter((f) => /\.db($|-)|-journal$|-wal$|-shm$/.test(f))).toEqual([]);
  expect(existsSync(join(ws, '.txplan', 'txplan.db'))).toBe(false);
}

describe('temporary files', () => {
  it.each([
    ['a handout', 'plan-1.pdf', ['handout', '1', '-o', 'plan-1.pdf'], 'tmp'],
    ['a calendar', 'cal.ics', ['plan', 'schedule', '1', '--ics', 'cal.ics'], 'tmp'],
  ] as const)('%s never follows a symlink planted at the old predictable temporary name', (_what, name, args, suffix) => {
    const ws = started();
    const victim = join(tempDir(), 'victim.txt');
    writeFileSync(victim, 'untouched\n');
    const result = shell(ws, `ln -s '${victim}' ".${name}.$$.${suffix}"`, args);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(readFileSync(victim, 'utf8').slice(0, 12)).toBe('untouched\n');
    expect(lstatSync(join(ws, name)).isFile()).toBe(true);
    expect(mode(join(ws, name))).toBe(0o600);
    // No temporary file is left behind (the planted link is txplan's to ignore, not to remove).
    expect(readdirSync(ws).filter((f) => f.startsWith(`.${name}.`) && !lstatSync(join(ws, f)).isSymbolicLink())).toEqual([]);
    if (engine === 'postgres') noDatabaseFiles(ws);
  });
});

describe('backups', () => {
  it('a backup never writes through a symlink planted at its folder, and its own files are private (PostgreSQL: refused before any file is written)', () => {
    const ws = started();
    const victim = tempDir();
    const planted = shell(ws, `ln -s '${victim}' backup-here`, ['db', 'backup', 'backup-here']);
    expect(planted.code).toBe(1);
    expect(planted.stderr).toMatch(/^txplan: .+\n$/);
    expect(readdirSync(victim)).toEqual([]);
    if (engine === 'postgres') {
      expect(planted.stderr).toContain('pg_dump');
      const refused = shell(ws, 'true', ['db', 'backup', 'backup-folder']);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/^txplan: "txplan db backup" works on a SQLite database file, .*pg_dump.*\n$/);
      expect(existsSync(join(ws, 'backup-folder'))).toBe(false);
      noDatabaseFiles(ws);
      return;
    }
    const made = shell(ws, 'true', ['db', 'backup', 'backup-folder']);
    expect(made.code).toBe(0);
    expect(mode(join(ws, 'backup-folder'))).toBe(0o700);
    for (const file of readdirSync(join(ws, 'backup-folder')).filter((f) => f !== 'attachments')) expect(mode(join(ws, 'backup-folder', file))).toBe(0o600);
  });
});

describe('modes whatever the umask', () => {
  it('under umask 000, the workspace and templates are not world-writable and patient data is private', () => {
    const root = tempDir();
    const umask = 'umask 000';
    expect(shell(root, umask, ['init', 'ws']).code).toBe(0);
    const ws = join(root, 'ws');
    expect(mode(ws)).toBe(0o755);
    expect(mode(join(ws, 'templates'))).toBe(0o755);
    expect(mode(join(ws, 'txplan.yaml'))).toBe(0o644);
    expect(mode(join(ws, 'templates', `${ACNE}.yaml`))).toBe(0o644);
    expect(mode(join(ws, '.gitignore'))).toBe(0o644);

    for (const args of [
      ['clinic', 'add', 'main', '--name', 'Main Street', '--timezone', 'UTC'],
      ['patient', 'add', '--first', 'Ada', '--last', 'Lovelace', '--mrn', 'P-1'],
      ['plan', 'apply', 'P-1', ACNE, '--mode', 'start', '--yes', '--clinic', 'main', '--payment-method', 'pm_card_visa', '--yes'],
      ['handout', '--status', 'active', '--out-dir', 'out/handouts'],
      ['plan', 'schedule', '1', '--ics', 'cal.ics'],
      ['template', 'new', 'my-program', '--from', ACNE, '--name', 'My program'],
    ]) {
      const result = shell(ws, umask, args);
      expect(result.stderr, args.join(' ')).toBe('');
      expect(result.code, args.join(' ')).toBe(0);
    }
    expect(mode(join(ws, '.txplan'))).toBe(0o700);
    if (engine === 'sqlite') expect(mode(join(ws, '.txplan', 'txplan.db'))).toBe(0o600);
    else {
      expect(query(ws, 'SELECT count(*) AS n FROM plans')).toEqual([{ n: 1 }]);
      noDatabaseFiles(ws);
    }
    // The mark of the ids the processor may have seen is patient-free, but private like all of .txplan.
    expect(mode(join(ws, '.txplan', 'high-water.json'))).toBe(0o600);
    // Every folder --out-dir created is private: handouts are about patients.
    expect(mode(join(ws, 'out'))).toBe(0o700);
    expect(mode(join(ws, 'out', 'handouts'))).toBe(0o700);
    expect(mode(join(ws, 'out', 'handouts', 'plan-1.pdf'))).toBe(0o600);
    expect(mode(join(ws, 'cal.ics'))).toBe(0o600);
    expect(mode(join(ws, 'templates', 'my-program.yaml'))).toBe(0o644);
  });
});

describe('the workspace .gitignore', () => {
  it('covers every place txplan writes patient data by default', () => {
    const ws = started();
    expect(txplan(['handout', '1'], { cwd: ws }).code).toBe(0);
    const paths = ['.txplan/txplan.db', '.txplan/txplan.db-wal', '.txplan/attachments/x.jpg', '.txplan/sandbox-gateway.db', 'plan-1.pdf', 'plan-12-a4.pdf', 'plan-1.html', 'handouts/plan-1.pdf', 'backups/txplan-2031-01-01.db', '.plan-1.pdf.3f2a9c.tmp'];
    // A workspace made by init, and this repository (a workspace too, where the README's examples run).
    for (const root of [ws, repoRoot]) {
      const result = spawnSync('git', ['check-ignore', '--no-index', '-v', ...paths], { cwd: root, encoding: 'utf8' });
      const ignored = result.stdout.trim().split('\n').map((line) => line.split('\t')[1]);
      expect(ignored).toEqual(paths);
      // What the clinic shares is not ignored.
      expect(spawnSync('git', ['check-ignore', '--no-index', 'txplan.yaml', `templates/${ACNE}.yaml`, 'catalog.yaml'], { cwd: root }).status).toBe(1);
    }
    // On PostgreSQL the patient data the .gitignore must cover is on the server: no database file in the workspace at all.
    if (engine === 'postgres') noDatabaseFiles(ws);
  });
});
