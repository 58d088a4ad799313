import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tooOld } from '../../src/store/postgres/open.js';
import { postgresProblem } from '../../src/store/postgres/errors.js';
import { PostgresError } from '../../src/store/postgres/connection.js';
import { databaseUrlFor } from '../postgres.js';
import { tempDir, txplan } from '../helpers.js';

/**
 * Pointing txplan at a PostgreSQL server: every way the connection can fail
 * is one sentence and exit 1, never a stack trace and never the password;
 * libpq's variables and ${VAR} in txplan.yaml work as users expect.
 */

/** The test database's URL in parts: the role has a password and logs in over 127.0.0.1. */
function parts(url: string) {
  const u = new URL(url);
  return { user: decodeURIComponent(u.username), password: decodeURIComponent(u.password), host: u.hostname, port: u.port, database: u.pathname.slice(1) };
}

function withPassword(url: string, password: string): string {
  const u = new URL(url);
  u.password = password;
  return u.toString();
}

/** Runs txplan against `url` (given as TXPLAN_DB) from an empty folder, with `env` besides. */
function against(url: string, args: string[], env: Record<string, string> = {}) {
  return txplan(args, { cwd: tempDir(), env: { TXPLAN_DB: url, ...env } });
}

function refusedPlainly(result: ReturnType<typeof txplan>, sentence: RegExp, secret: string) {
  expect(result.code).toBe(1);
  expect(result.stderr).toMatch(sentence);
  expect(result.stderr).not.toMatch(/\n\s+at /); // no stack
  expect(result.stderr.trim().split('\n')).toHaveLength(1);
  expect(result.stdout + result.stderr).not.toContain(secret);
}

describe('connecting to PostgreSQL', () => {
  it('says the server cannot be reached, naming the URL without its password', () => {
    const result = against('postgres://clinic:s3cret-pw@127.0.0.1:1/txplan', ['patient', 'list']);
    refusedPlainly(result, /^txplan: Cannot reach the PostgreSQL server for postgres:\/\/clinic:\*\*\*@127\.0\.0\.1:1\/txplan \(connection refused\): check that the server is running/, 's3cret-pw');
  });

  it('says the password was refused', () => {
    const url = databaseUrlFor(tempDir());
    const result = against(withPassword(url, 'not-the-password'), ['patient', 'list']);
    refusedPlainly(result, new RegExp(`refused the password of user "${parts(url).user}": check the password given in PGPASSWORD`), 'not-the-password');
  });

  it('says the database does not exist, and how to create it', () => {
    const url = new URL(databaseUrlFor(tempDir()));
    url.pathname = '/txplan_no_such_database';
    const result = against(url.toString(), ['patient', 'list']);
    refusedPlainly(result, /There is no database "txplan_no_such_database" on the PostgreSQL server .*: create it first \(createdb txplan_no_such_database\)/, parts(url.toString()).password);
  });

  it('refuses a server older than PostgreSQL 13', () => {
    expect(tooOld(150018, 'db')).toBeUndefined();
    expect(tooOld(130000, 'db')).toBeUndefined();
    expect(tooOld(120005, 'postgres://x@h/db')?.message).toBe('The PostgreSQL server for postgres://x@h/db runs version 12; txplan needs PostgreSQL 13 or newer: upgrade the server or point txplan at a newer one; nothing was changed');
    expect(tooOld(90624, 'db')?.message).toMatch(/runs version 9\.6;/);
  });

  it('explains a unique value another terminal saved at the same moment', () => {
    const mrn = postgresProblem(new PostgresError('duplicate key value violates unique constraint "patients_mrn_key"', '23505', undefined, 'patients_mrn_key'), 'postgres://x@h/db');
    expect(mrn?.message).toBe('Another terminal saved a patient with the same MRN on postgres://x@h/db at the same moment; nothing was changed: look at what is there now, and run the command again if it is still needed');
    // A table gone is the schema changed by hand; a problem of txplan's own (division by zero) stays unexplained.
    expect(postgresProblem(new PostgresError('relation "plans" does not exist', '42P01', undefined, undefined), 'db')?.code).toBe('db_drift');
    expect(postgresProblem(new PostgresError('boom', '22012', undefined, undefined), 'db')).toBeUndefined();
  });

  it('takes what the URL leaves out from libpq variables (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE)', () => {
    const p = parts(databaseUrlFor(tempDir()));
    const bare = against('postgres://', ['patient', 'list'], { PGHOST: p.host, PGPORT: p.port, PGUSER: p.user, PGPASSWORD: p.password, PGDATABASE: p.database });
    expect(bare.stderr).toMatch(/^No patients yet/);
    expect(bare.code).toBe(0);
    const password = against(`postgres://${p.user}@${p.host}:${p.port}/${p.database}`, ['patient', 'list'], { PGPASSWORD: p.password });
    expect(password.code).toBe(0);
  });

  it('reads database: from txplan.yaml with the password from the environment', () => {
    const ws = tempDir();
    const p = parts(databaseUrlFor(ws));
    expect(txplan(['init', ws]).code).toBe(0);
    writeFileSync(join(ws, 'txplan.yaml'), `${'database'}: postgres://${p.user}:\${CLINIC_DB_PASSWORD}@${p.host}:${p.port}/${p.database}\n`, { flag: 'a' });
    const env = { TXPLAN_DB: '', CLINIC_DB_PASSWORD: p.password };
    const added = txplan(['patient', 'add', '--first', 'Ana', '--last', 'Ruiz', '--mrn', 'A-1'], { cwd: ws, env });
    expect(added.stderr).toBe('');
    expect(added.code).toBe(0);
    const listed = txplan(['patient', 'list', '--json'], { cwd: ws, env });
    expect(JSON.parse(listed.stdout)).toMatchObject([{ mrn: 'A-1', first_name: 'Ana' }]);
  });
});
