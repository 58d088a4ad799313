import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { PostgresConnection } from '../../src/store/postgres/connection.js';
import { databaseBytes, databaseEnv, databaseFile, engine, ledgerRows, query, repoRoot, tempDir } from '../helpers.js';
import { databaseNameFor } from '../postgres.js';

/** The test helpers on PostgreSQL: each test folder gets its own database, and the helpers read it. */

/** Runs statements against `url` on a connection of its own. */
function exec(url: string, ...statements: string[]): void {
  const db = PostgresConnection.connect({ url });
  try {
    for (const sql of statements) db.query(sql);
  } finally {
    db.close();
  }
}

const server = () => PostgresConnection.connect({ url: inject('txplanPostgres').url });
let droppedLater: string | undefined;

describe('test databases on PostgreSQL', () => {
  it('runs in the postgres project, with the server the global set-up provides', () => {
    expect(engine).toBe('postgres');
    expect(inject('txplanPostgres').url).toBe(process.env.TXPLAN_TEST_POSTGRES_URL);
  });

  it('gives a test folder its own database, cloned from the template, which query() reads', () => {
    const dir = tempDir();
    const ws = join(dir, 'clinic');
    const url = databaseEnv(ws).TXPLAN_DB!;
    expect(new URL(url).pathname).toBe(`/${databaseNameFor(dir)}`);
    // The template is migrated: the clone has txplan's tables, empty.
    exec(url, "INSERT INTO patients (id, mrn, first_name, last_name, created_at, updated_at) VALUES (1, 'P-1', 'A', 'B', 'x', 'x'), (2, 'P-2', 'C', 'D', 'x', 'x')");
    expect(query(ws, 'SELECT mrn FROM patients WHERE id = ?', 2)).toEqual([{ mrn: 'P-2' }]);
    expect(query(ws, 'SELECT id FROM patients WHERE mrn = @mrn', { mrn: 'P-1' })).toEqual([{ id: 1 }]);
    // Another folder, another database: none of these patients.
    const other = tempDir();
    expect(query(other, 'SELECT * FROM patients')).toEqual([]);
    droppedLater = databaseNameFor(dir);
  });

  it('drops the database when the test that made its folder finishes', () => {
    expect(droppedLater).toBeDefined();
    const db = server();
    try {
      expect(db.query('SELECT datname FROM pg_database WHERE datname = $1', [droppedLater]).rows).toEqual([]);
    } finally {
      db.close();
    }
  });

  it('points txplan at the folder of its working directory or path argument, unless the command names a database', () => {
    const dir = tempDir();
    const url = databaseEnv(dir).TXPLAN_DB;
    expect(url).toMatch(/^postgres:\/\/txplan:.+@127\.0\.0\.1:\d+\/txplan_t/);
    expect(databaseEnv(join(dir, 'clinic', 'templates'))).toEqual({ TXPLAN_DB: url });
    expect(databaseEnv(repoRoot, ['init', join(dir, 'clinic')])).toEqual({ TXPLAN_DB: url });
    expect(databaseEnv(repoRoot, ['validate'])).toEqual({});
    expect(databaseEnv(dir, ['plan', 'list', '--db', 'elsewhere.db'])).toEqual({});
    expect(databaseEnv(dir, [], { TXPLAN_DB: 'elsewhere.db' })).toEqual({});
  });

  it("reads the sandbox ledger from the workspace's database, and its values through pg_dump", () => {
    const ws = tempDir();
    expect(ledgerRows(ws, 'SELECT * FROM charges')).toEqual([]);
    exec(databaseEnv(ws).TXPLAN_DB!, "INSERT INTO sandbox_charges (id, idempotency_key, amount_minor, currency, token, status, hard, created_at) VALUES ('ch_1', 'k-1', 24900, 'USD', 'pm_card_visa', 'succeeded', 0, 'x')");
    expect(ledgerRows(ws, 'SELECT idempotency_key, amount_minor FROM charges')).toEqual([{ idempotency_key: 'k-1', amount_minor: 24900 }]);
    const bytes = databaseBytes(ws);
    expect(bytes).toContain('k-1\t24900');
    expect(bytes).not.toContain('k-2');
  });

  it("refuses SQLite's database file, naming the reason", () => {
    expect(() => databaseFile(tempDir())).toThrow(/runs on PostgreSQL/);
  });
});
