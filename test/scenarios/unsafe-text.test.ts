import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { databaseBytes, databaseFile, engine, query, testDatabase, txplan, workspace } from '../helpers.js';
import { formatters } from '../../src/cli/output/diagnostics.js';
import { Chalk } from 'chalk';
import type { Diagnostic } from '../../src/registry/diagnostics.js';

const DOTTED = '4111.1111.1111.1111';
const NBSP = '4111\u00a01111\u00a01111\u00a01111';
const FULLWIDTH = '４１１１１１１１１１１１１１１１';
/** Every digit of the test card, in order, whatever came between them. */
const hasCardDigits = (text: string) => /4\D{0,3}1\D{0,3}1\D{0,3}1\D{0,3}1\D{0,3}1\D{0,3}1\D{0,3}1\D{0,3}1\D{0,3}1\D{0,3}1\D{0,3}1/.test(text.normalize('NFKC'));
// eslint-disable-next-line no-control-regex
const TRAP = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

describe('card numbers in any form, in any field', () => {
  it('refuses them in flags nobody checked before, in --actor and TXPLAN_ACTOR, and never echoes them', () => {
    const ws = workspace();
    const attempts = [
      { args: ['clinic', 'add', 'downtown', '--name', 'Downtown', '--timezone', 'UTC', '--address', `Paid ${NBSP}`] },
      { args: ['patient', 'add', '--first', 'Ann', '--last', 'Lee', '--actor', DOTTED] },
      { args: ['patient', 'add', '--first', 'Ann', '--last', 'Lee'], env: { TXPLAN_ACTOR: FULLWIDTH } },
      { args: ['patient', 'list', '--search', NBSP] },
      { args: ['patient', 'show', DOTTED] },
      { args: ['patient', 'list', `--${FULLWIDTH}`] },
      { args: ['patient', DOTTED] },
    ];
    for (const { args, env } of attempts) {
      const result = txplan(args, { cwd: ws, ...(env ? { env } : {}) });
      expect(result.code, args.join(' ')).toBeGreaterThan(0);
      expect(hasCardDigits(result.stdout + result.stderr), `${args.join(' ')}: ${result.stderr}`).toBe(false);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    }
    // The stored bytes, read byte by byte and as UTF-8 text (so digits in any script are seen as digits).
    const bytes = databaseBytes(ws);
    expect(hasCardDigits(bytes)).toBe(false);
    expect(hasCardDigits(Buffer.from(bytes, 'latin1').toString('utf8'))).toBe(false);
  });

  it('db check reports where a card number sits (table, column, row), never the number', () => {
    const ws = workspace();
    expect(txplan(['patient', 'add', '--first', 'Ann', '--last', 'Lee'], { cwd: ws }).code).toBe(0);
    const db = testDatabase(ws);
    db.prepare('UPDATE patients SET last_name = ? WHERE id = 1').run(`Lee ${NBSP}`);
    db.close();
    const result = txplan(['db', 'check'], { cwd: ws });
    expect(result.code).toBe(1);
    expect(result.stdout + result.stderr).toMatch(/patients.*last_name.*1/);
    expect(hasCardDigits(result.stdout + result.stderr)).toBe(false);
  });
});

describe('text that cannot become a trap', () => {
  it('refuses control characters and bidi overrides in single-line fields, naming the field', () => {
    const ws = workspace();
    for (const [flag, value] of [['--name', 'Down\u001b[2Jtown'], ['--address', 'Main St\u202e1'], ['--name', 'Two\nlines']] as const) {
      const result = txplan(['clinic', 'add', 'downtown', '--name', 'Downtown', '--timezone', 'UTC', flag, value], { cwd: ws });
      expect(result.code, value).toBe(2);
      expect(result.stderr).toContain(flag);
      expect(result.stderr).not.toMatch(TRAP);
    }
    // Nothing written: on SQLite maybe not even the database file; a PostgreSQL database is there from the start.
    expect(engine === 'postgres' || existsSync(databaseFile(ws)) ? query(ws, 'SELECT * FROM clinics') : []).toEqual([]);
  });

  it('piped tables escape tabs, newlines and backslashes and neutralise formula cells; --raw keeps formulas', () => {
    const ws = workspace();
    expect(txplan(['patient', 'add', '--first', 'Ann', '--last', '@Lee', '--phone', '+1 555 0100', '--mrn', '-12'], { cwd: ws }).code).toBe(0);
    const line = txplan(['patient', 'list'], { cwd: ws }).stdout.trim().split('\n')[0]!;
    const cells = line.split('\t');
    expect(cells).toContain("'+1 555 0100");
    expect(cells).toContain("'-12");
    expect(cells.some((c) => c.startsWith("'@Lee"))).toBe(true);
    const raw = txplan(['patient', 'list', '--raw'], { cwd: ws }).stdout.trim().split('\t');
    expect(raw).toContain('+1 555 0100');
  });

  it('neutralises escape sequences already in the database in every output', () => {
    const ws = workspace();
    expect(txplan(['patient', 'add', '--first', 'Ann', '--last', 'Lee'], { cwd: ws }).code).toBe(0);
    const db = testDatabase(ws);
    db.prepare('UPDATE patients SET last_name = ? WHERE id = 1').run('Lee\u001b]8;;http://evil\u0007x\u001b]8;;\u0007\t\u202eevil\nnext');
    db.close();
    for (const args of [['patient', 'list'], ['patient', 'show', '1'], ['patient', 'list', '--json'], ['audit']]) {
      const result = txplan(args, { cwd: ws });
      expect(result.stdout + result.stderr, args.join(' ')).not.toMatch(TRAP);
    }
    const cells = txplan(['patient', 'list'], { cwd: ws }).stdout.trim().split('\n');
    expect(cells).toHaveLength(1);
    expect(cells[0]).toContain('\\t');
    expect(cells[0]).toContain('\\n');
  });
});

describe('validation output formats', () => {
  const evil: Diagnostic = { file: 'templates/a\n::error::x.yaml', line: 2, column: 1, endLine: 2, endColumn: 3, path: 'name', code: 'schema-type', severity: 'error', message: 'bad\r\n::warning file=x::owned \u001b[31mred\u202e' };
  it('github: no line starts a workflow command txplan did not mean, and properties are escaped', () => {
    const out = formatters.github({ files: ["x"], diagnostics: [evil] });
    const lines = out.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^::error file=templates\/a%0A%3A%3Aerror%3A%3Ax\.yaml,line=2,/);
    expect(lines[0]).toContain('bad%0D%0A::warning');
    expect(out).not.toMatch(TRAP);
  });
  it('stylish: control characters are neutralised', () => {
    const out = formatters.stylish({ files: ['x'], diagnostics: [evil] }, new Chalk({ level: 0 }));
    expect(out).not.toMatch(TRAP);
    expect(out.split('\n').some((l) => l.startsWith('::'))).toBe(false);
  });
});
