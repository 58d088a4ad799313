import { statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { migrate, openDatabase } from '../../src/store/database.js';
import { LATEST_VERSION, migrations } from '../../src/store/migrations/index.js';
import { tempDir } from '../helpers.js';

describe('database migrations', () => {
  it('are numbered 1, 2, 3… with no gaps', () => {
    expect(migrations.map((m) => m.version)).toEqual(migrations.map((_, i) => i + 1));
    expect(LATEST_VERSION).toBe(migrations.length);
  });

  it.each(migrations.slice(0, -1).map((m) => [m.version] as const))('upgrade a database built at version %i, keeping its rows', (version) => {
    const file = join(tempDir(), 'txplan.db');
    const old = openDatabase(file, { targetVersion: version });
    expect(old.pragma('user_version', { simple: true })).toBe(version);
    old.prepare("INSERT INTO clinics (id, name, timezone, created_at) VALUES ('downtown', 'Downtown', 'America/New_York', '2026-01-01T00:00:00Z')").run();
    old.prepare("INSERT INTO patients (mrn, first_name, last_name, created_at, updated_at) VALUES ('A-1', 'Zoë', 'Ødegård', 'x', 'x')").run();
    old.prepare("INSERT INTO audit (at, actor, action, entity, entity_id) VALUES ('x', 'test', 'patient.add', 'patient', '1')").run();
    old.close();

    const upgraded = openDatabase(file);
    expect(upgraded.pragma('user_version', { simple: true })).toBe(LATEST_VERSION);
    expect(upgraded.prepare('SELECT first_name, last_name, mrn FROM patients').all()).toEqual([{ first_name: 'Zoë', last_name: 'Ødegård', mrn: 'A-1' }]);
    expect(upgraded.prepare('SELECT count(*) AS n FROM audit').get()).toEqual({ n: 1 });
    // Every database has its own random id once migrated, carried by its idempotency keys.
    expect((upgraded.prepare('SELECT id FROM database_info').get() as { id: string }).id).toMatch(/^[a-z]{24}$/);
    expect(upgraded.pragma('foreign_key_check')).toEqual([]);
    expect(upgraded.pragma('integrity_check', { simple: true })).toBe('ok');
    upgraded.close();
  });

  it('007: plans cancelled before it keep the old rule (dues waived); other plans owe what falls due', () => {
    const file = join(tempDir(), 'txplan.db');
    const old = openDatabase(file, { targetVersion: 6 });
    old.prepare("INSERT INTO patients (mrn, first_name, last_name, created_at, updated_at) VALUES ('A-1', 'A', 'B', 'x', 'x')").run();
    const plan = old.prepare("INSERT INTO plans (patient_id, template_id, template_version, template_hash, name, type, status, snapshot, currency, created_at, updated_at) VALUES (1, 't', 1, 'h', 'T', 'monthly', ?, '{}', 'USD', 'x', 'x')");
    plan.run('cancelled');
    plan.run('active');
    old.close();
    const upgraded = openDatabase(file);
    expect(upgraded.prepare('SELECT status, dues_waived FROM plans ORDER BY id').all()).toEqual([{ status: 'cancelled', dues_waived: 1 }, { status: 'active', dues_waived: 0 }]);
    upgraded.close();
  });

  it('apply each migration in its own transaction: a failing one leaves the last good version', () => {
    const db = new Database(':memory:');
    const broken = [...migrations.slice(0, 1), { version: 2, name: 'broken', up: (d: Database.Database) => d.exec('CREATE TABLE half (x); SELECT no_such_function();') }];
    expect(() => migrate(db, 2, broken)).toThrow();
    expect(db.pragma('user_version', { simple: true })).toBe(1);
    expect(db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'half'").get()).toEqual({ n: 0 });
  });

  it('create the database private, in a private folder, with WAL and foreign keys on', () => {
    const dir = join(tempDir(), '.txplan');
    const db = openDatabase(join(dir, 'txplan.db'));
    expect(statSync(join(dir, 'txplan.db')).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.pragma('synchronous', { simple: true })).toBe(2);
    db.prepare("INSERT INTO audit (at, actor, action, entity, entity_id) VALUES ('x', 'a', 'b', 'c', 'd')").run();
    expect(() => db.prepare("UPDATE audit SET actor = 'someone else'").run()).toThrow('append-only');
    expect(() => db.prepare('DELETE FROM audit').run()).toThrow('append-only');
    db.close();
  });

  it('refuse a database from a newer txplan', () => {
    const file = join(tempDir(), 'txplan.db');
    const db = openDatabase(file);
    db.pragma(`user_version = ${LATEST_VERSION + 1}`);
    db.close();
    expect(() => openDatabase(file)).toThrow(/newer txplan/);
  });
});
