import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresConnection, PostgresError, prewarmPostgres } from '../../src/store/postgres/connection.js';
import { plainTarget } from '../../src/store/postgres/direct.js';
import { postgresProblem } from '../../src/store/postgres/errors.js';
import { postgresTestUrl } from './server.js';

/**
 * The session a command starts as it launches (prewarmPostgres): logged in
 * without blocking, then read and written with blocking calls on the calling
 * thread. Each test takes a connection that way and checks it is that kind.
 * What both kinds of connection must do alike (values, errors, the server
 * version) is in connection.test.ts, which runs its checks on each.
 */
async function onThisThread(url = postgresTestUrl()): Promise<PostgresConnection> {
  await prewarmPostgres(url);
  const connection = PostgresConnection.connect({ url });
  expect(connection.onCallingThread).toBe(true);
  return connection;
}

/** A connection of the worker thread's kind, for a second session beside the one under test. */
function observer(): PostgresConnection {
  const connection = PostgresConnection.connect({ url: postgresTestUrl(), applicationName: 'txplan-observer' });
  expect(connection.onCallingThread).toBe(false);
  return connection;
}

function pid(connection: PostgresConnection): number {
  return connection.query<{ pid: number }>('SELECT pg_backend_pid() AS pid').rows[0]!.pid;
}

describe('the session on the calling thread', () => {
  let connection: PostgresConnection;
  beforeAll(async () => {
    connection = await onThisThread();
  });
  afterAll(() => connection.close());

  it('gives values as the worker thread does: int8 and numeric as numbers, json parsed, bytea as a Buffer, null as null', () => {
    const sql = `SELECT CAST(9007199254740991 AS bigint) AS n, sum(x) AS s, CAST($1 AS text) AS t, CAST('{"a":[1,2]}' AS jsonb) AS j,
                        CAST($2 AS bytea) AS b, CAST(NULL AS text) AS z, true AS yes, CAST(1.5 AS float8) AS f
                 FROM (VALUES (CAST(2 AS bigint)), (3)) v(x)`;
    const params = ['hé ✓', Buffer.from([0, 1, 254, 255])];
    const direct = connection.query(sql, params).rows;
    const other = observer();
    try {
      // The worker's rows cross threads by structured clone, which makes a Buffer a plain Uint8Array.
      const across = other.query<Record<string, unknown>>(sql, params).rows.map((row) => ({ ...row, b: Buffer.from(row.b as Uint8Array) }));
      expect(direct).toEqual(across);
    } finally {
      other.close();
    }
    expect(direct).toEqual([{ n: 9007199254740991, s: 5, t: 'hé ✓', j: { a: [1, 2] }, b: Buffer.from([0, 1, 254, 255]), z: null, yes: true, f: 1.5 }]);
  });

  it('counts the rows a statement changed', () => {
    connection.query('CREATE TEMPORARY TABLE direct_probe (id int)');
    expect(connection.query('INSERT INTO direct_probe SELECT g FROM generate_series(1, 5) g').rowCount).toBe(5);
    expect(connection.query('UPDATE direct_probe SET id = id + 1 WHERE id > $1', [2]).rowCount).toBe(3);
    expect(connection.query('DROP TABLE direct_probe').rowCount).toBe(0);
  });

  it('prepares a named statement once, refuses another text under the same name, and runs several statements in one', () => {
    const before = connection.query<{ n: number }>('SELECT count(*) AS n FROM pg_prepared_statements').rows[0]!.n;
    for (let i = 0; i < 3; i++) expect(connection.query<{ v: number }>('SELECT CAST($1 AS int) * 2 AS v', [i], 'direct_double').rows[0]!.v).toBe(i * 2);
    expect(connection.query<{ n: number }>('SELECT count(*) AS n FROM pg_prepared_statements').rows[0]!.n).toBe(before + 1);
    expect(() => connection.query('SELECT 2', [], 'direct_double')).toThrow(/used for a different statement/);
    const last = connection.query<{ b: number }>('SELECT 1 AS a; SELECT 2 AS b');
    expect(last.rows).toEqual([{ b: 2 }]);
  });

  it('sends and receives more than a socket buffer holds', () => {
    const big = randomBytes(6 * 1024 * 1024);
    const text = 'x'.repeat(3 * 1024 * 1024);
    const { rows } = connection.query<{ b: Buffer; l: number }>('SELECT CAST($1 AS bytea) AS b, length($2) AS l', [big, text]);
    expect(Buffer.compare(rows[0]!.b, big)).toBe(0);
    expect(rows[0]!.l).toBe(text.length);
    const many = connection.query<{ g: number }>('SELECT g FROM generate_series(1, 200000) g').rows;
    expect(many).toHaveLength(200000);
    expect(many[199999]!.g).toBe(200000);
  });

  it('is given back clean: the transaction rolled back, the advisory lock and the prepared statements gone', () => {
    const url = postgresTestUrl();
    const session = pid(connection);
    connection.query('BEGIN');
    connection.query('SELECT pg_advisory_lock(4242)');
    connection.query('SELECT CAST($1 AS int) AS v', [1], 'direct_kept');
    connection.close();
    connection = PostgresConnection.connect({ url });
    expect(pid(connection)).toBe(session);
    expect(connection.onCallingThread).toBe(true);
    expect(connection.query<{ n: number }>("SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()").rows[0]!.n).toBe(0);
    expect(connection.query<{ n: number }>('SELECT count(*) AS n FROM pg_prepared_statements').rows[0]!.n).toBe(0);
    expect(connection.query<{ v: number }>('SELECT CAST($1 AS int) + 1 AS v', [1], 'direct_kept').rows[0]!.v).toBe(2);
  });

  it('says the connection was lost when the server ends the session, and is never handed out again', () => {
    const session = pid(connection);
    const killer = observer();
    try {
      expect(killer.query<{ ok: boolean }>('SELECT pg_terminate_backend($1) AS ok', [session]).rows[0]!.ok).toBe(true);
    } finally {
      killer.close();
    }
    let caught: unknown;
    try {
      connection.query('SELECT 1');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(PostgresError);
    expect(postgresProblem(caught, 'postgres://db')?.message).toMatch(/^The connection to the PostgreSQL server for postgres:\/\/db was lost/);
    expect(() => connection.query('SELECT 1')).toThrow(PostgresError);
    connection.close();
    const next = PostgresConnection.connect({ url: postgresTestUrl() });
    try {
      expect(pid(next)).not.toBe(session);
    } finally {
      next.close();
    }
    connection = observer();
  });
});

describe('which connections are made on the calling thread', () => {
  const url = 'postgres://clinic:secret@db.example:6543/txplan';

  it('takes the plain case: host, port, user, password and database, from the URL or PGHOST…', () => {
    expect(plainTarget(url, {})).toEqual({ host: 'db.example', port: 6543, user: 'clinic', database: 'txplan', password: 'secret' });
    expect(plainTarget('postgres:///txplan', { PGHOST: '/run/postgresql', PGPORT: '5433', PGUSER: 'me', PGPASSWORD: 'pw' })).toEqual({
      path: '/run/postgresql/.s.PGSQL.5433',
      user: 'me',
      database: 'txplan',
      password: 'pw',
    });
    // pg's defaults: localhost:5432, the login's user name, a database named after the user.
    expect(plainTarget('postgres://', { USER: 'frontdesk' })).toEqual({ host: 'localhost', port: 5432, user: 'frontdesk', database: 'frontdesk' });
    expect(plainTarget(`${url}?sslmode=disable`, {})).toMatchObject({ host: 'db.example' });
  });

  it('leaves TLS, other libpq settings and URL options to the worker thread', () => {
    expect(plainTarget(`${url}?sslmode=require`, {})).toBeUndefined();
    expect(plainTarget(`${url}?ssl=true`, {})).toBeUndefined();
    expect(plainTarget(url, { PGSSLMODE: 'require' })).toBeUndefined();
    expect(plainTarget(url, { PGOPTIONS: '-c search_path=clinic' })).toBeUndefined();
    expect(plainTarget(`${url}?options=-c%20statement_timeout%3D5s`, {})).toBeUndefined();
    expect(plainTarget(`${url}?application_name=other`, {})).toBeUndefined();
    expect(plainTarget('postgres://', {})).toBeUndefined();
  });

  it('falls back to the worker thread when the login fails, which then says why', async () => {
    const wrong = new URL(postgresTestUrl());
    wrong.password = 'not-the-password';
    await prewarmPostgres(wrong.toString());
    let caught: unknown;
    try {
      PostgresConnection.connect({ url: wrong.toString() });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(PostgresError);
    expect((caught as PostgresError).code).toBe('28P01');
  });

  it('lets a login under way go when a connection is asked for before it is done', () => {
    const url = postgresTestUrl();
    void prewarmPostgres(url);
    const connection = PostgresConnection.connect({ url });
    try {
      expect(connection.onCallingThread).toBe(false);
      expect(connection.query<{ one: number }>('SELECT 1 AS one').rows[0]!.one).toBe(1);
    } finally {
      connection.close();
    }
  });
});
