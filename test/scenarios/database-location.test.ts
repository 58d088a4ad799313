import { appendFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { databaseEnv, engine, query, tempDir, txplan, workspace } from '../helpers.js';

/**
 * Where the database is: --db, TXPLAN_DB or txplan.yaml name a SQLite file or
 * a postgres:// URL. A URL is never taken for a file name, another kind of
 * URL is refused, and a password written in txplan.yaml is refused without
 * being repeated.
 *
 * On PostgreSQL the txplan() helper names the test folder's database itself
 * (TXPLAN_DB); here, where that choice is what is tested, commands that must
 * find their database as a user's would run with `testDatabase: false`, and a
 * database named on purpose is a PostgreSQL one: another test folder's.
 */

/** Where a database named on purpose lives: a SQLite file in a folder of its own, or that folder's PostgreSQL database. */
function namedDatabase(file: string): { name: string; folder: string } {
  const folder = tempDir();
  return { name: engine === 'sqlite' ? join(folder, file) : databaseEnv(folder).TXPLAN_DB!, folder };
}

/** The MRNs of the patients in the database named by namedDatabase(). */
function mrns(database: { name: string; folder: string }): string[] {
  if (engine === 'sqlite') {
    expect(existsSync(database.name)).toBe(true);
    const db = new Database(database.name, { readonly: true });
    try {
      return db.prepare<[], { mrn: string }>('SELECT mrn FROM patients ORDER BY id').all().map((r) => r.mrn);
    } finally {
      db.close();
    }
  }
  return query<{ mrn: string }>(database.folder, 'SELECT mrn FROM patients ORDER BY id').map((r) => r.mrn);
}

/** Every file and folder under `dir`, relative to it. */
function tree(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((entry) => relative(dir, join(dir, entry)))
    .sort();
}

/** One line on stderr, no stack trace. */
function oneSentence(stderr: string): void {
  expect(stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(stderr).toMatch(/^txplan: /);
  expect(stderr).not.toMatch(/Unexpected error|\n\s+at /);
}

describe('the database named in txplan.yaml', () => {
  it('holding a password in plain text is refused in one sentence that never shows it', () => {
    const ws = workspace();
    appendFileSync(join(ws, 'txplan.yaml'), 'database: postgres://clinic:Hunter2-Secret@db.example.org/txplan\n');
    const before = tree(ws);
    for (const args of [['plan', 'list'], ['patient', 'add', '--first', 'Ada', '--last', 'Lovelace', '--mrn', 'P-1'], ['db', 'check']]) {
      const result = txplan(args, { cwd: ws, testDatabase: false });
      expect(result.code, args.join(' ')).toBe(1);
      oneSentence(result.stderr);
      expect(result.stderr).toBe(`txplan: ${join(ws, 'txplan.yaml')} holds a database password in plain text; put it in an environment variable (database: postgres://USER:\${PGPASSWORD}@HOST/DATABASE) or leave it out and use PGPASSWORD or ~/.pgpass\n`);
      expect(result.stdout + result.stderr).not.toContain('Hunter2');
    }
    const json = txplan(['plan', 'list', '--json'], { cwd: ws, testDatabase: false });
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stderr)).toMatchObject({ error: { code: 'database_setting' } });
    expect(json.stdout + json.stderr).not.toContain('Hunter2');

    // template validate points at the line, without the password either.
    const validate = txplan(['template', 'validate'], { cwd: ws, testDatabase: false });
    expect(validate.code).toBe(1);
    expect(validate.stdout + validate.stderr).toMatch(/txplan\.yaml:\d+:\d+ +error +txplan\.yaml holds a database password in plain text/);
    expect(validate.stdout + validate.stderr).not.toContain('Hunter2');

    // Nothing was created: no SQLite file in place of the server.
    expect(tree(ws)).toEqual(before);
  });

  it('is not read when TXPLAN_DB or --db names the database', () => {
    const ws = workspace();
    appendFileSync(join(ws, 'txplan.yaml'), 'database: postgres://clinic:Hunter2-Secret@db.example.org/txplan\n');
    const database = namedDatabase('clinic.db');
    expect(txplan(['patient', 'add', '--first', 'Ada', '--last', 'Lovelace', '--mrn', 'P-1'], { cwd: ws, env: { TXPLAN_DB: database.name } })).toMatchObject({ code: 0, stderr: '' });
    const listed = txplan(['--db', database.name, 'patient', 'list'], { cwd: ws });
    expect(listed).toMatchObject({ code: 0, stderr: '' });
    expect(listed.stdout).toContain('P-1');
    expect(mrns(database)).toEqual(['P-1']);
    expect(existsSync(join(ws, '.txplan', 'txplan.db'))).toBe(false);
  });

  it('with ${VAR} left unset names the variable and the file', () => {
    const ws = workspace();
    const yaml = join(ws, 'txplan.yaml');
    appendFileSync(yaml, 'database: ${TXPLAN_TEST_CLINIC_DB}\n');
    const unset = txplan(['patient', 'list'], { cwd: ws, testDatabase: false });
    expect(unset.code).toBe(1);
    oneSentence(unset.stderr);
    expect(unset.stderr).toContain(`${yaml} names the database with \${TXPLAN_TEST_CLINIC_DB}, but TXPLAN_TEST_CLINIC_DB is not set`);

    // Set, it names a SQLite file relative to the workspace, or a PostgreSQL database by its URL.
    const database = engine === 'sqlite' ? { name: join(ws, 'data', 'clinic.db'), folder: ws } : namedDatabase('');
    const value = engine === 'sqlite' ? 'data/clinic.db' : database.name;
    const set = txplan(['patient', 'add', '--first', 'Ada', '--last', 'Lovelace', '--mrn', 'P-1'], { cwd: ws, env: { TXPLAN_TEST_CLINIC_DB: value }, testDatabase: false });
    expect(set).toMatchObject({ code: 0, stderr: '' });
    expect(mrns(database)).toEqual(['P-1']);
    expect(existsSync(join(ws, '.txplan', 'txplan.db'))).toBe(false);

    if (engine === 'postgres') {
      // The password alone in a variable, as the refusal of a written one advises: used, never shown.
      const url = new URL(database.name);
      const password = decodeURIComponent(url.password);
      expect(password).not.toBe('');
      url.password = '';
      const written = url.toString().replace(`${url.username}@`, `${url.username}:\${TXPLAN_TEST_CLINIC_PASSWORD}@`);
      writeFileSync(yaml, readFileSync(yaml, 'utf8').replace('database: ${TXPLAN_TEST_CLINIC_DB}', `database: ${written}`));
      const listed = txplan(['patient', 'list'], { cwd: ws, env: { TXPLAN_TEST_CLINIC_PASSWORD: password }, testDatabase: false });
      expect(listed).toMatchObject({ code: 0, stderr: '' });
      expect(listed.stdout).toContain('P-1');
      const wrong = txplan(['patient', 'list'], { cwd: ws, env: { TXPLAN_TEST_CLINIC_PASSWORD: 'Wrong-Hunter2' }, testDatabase: false });
      expect(wrong.code).toBe(1);
      oneSentence(wrong.stderr);
      expect(wrong.stdout + wrong.stderr).not.toContain('Hunter2');
    }
  });
});

describe('--db', () => {
  it('refuses a mysql:// URL in one sentence naming what it takes (exit 2), creating nothing', () => {
    const cwd = tempDir();
    const result = txplan(['--db', 'mysql://x', 'patient', 'list'], { cwd });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('txplan: --db names a mysql:// database, which txplan cannot use; give a SQLite file path or a postgres:// (or postgresql://) URL\n');
    expect(tree(cwd)).toEqual([]);
  });

  it('given a postgres:// URL no longer creates a file anywhere', () => {
    const ws = workspace();
    const cwd = tempDir();
    const before = { ws: tree(ws), cwd: tree(cwd) };
    const url = 'postgres://clinic:Hunter2-Secret@/txplan_nowhere?host=/nonexistent-txplan-socket-folder';
    for (const args of [['patient', 'list'], ['--workspace', ws, 'patient', 'add', '--first', 'Ada', '--last', 'Lovelace', '--mrn', 'P-1'], ['--workspace', ws, 'db', 'check']]) {
      const result = txplan(['--db', url, ...args], { cwd });
      expect(result.code, args.join(' ')).toBe(1);
      oneSentence(result.stderr);
      expect(result.stdout + result.stderr).not.toContain('Hunter2');
    }
    expect(txplan(['patient', 'list'], { cwd: ws, env: { TXPLAN_DB: url } }).code).toBe(1);
    expect({ ws: tree(ws), cwd: tree(cwd) }).toEqual(before);
  });

  it('a malformed postgres:// URL is one sentence (exit 2) that does not echo its password', () => {
    const cwd = tempDir();
    const result = txplan(['--db', 'postgres://clinic:Hunter2/Secret@db.example.org/txplan', 'patient', 'list'], { cwd });
    expect(result.code).toBe(2);
    oneSentence(result.stderr);
    expect(result.stderr).toMatch(/^txplan: --db is not a usable PostgreSQL URL/);
    expect(result.stderr).not.toContain('Hunter2');
    expect(tree(cwd)).toEqual([]);
  });
});
