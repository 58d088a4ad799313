import { statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { migrate, openDatabase } from '../../src/store/database.js';
import { LATEST_VERSION, migrations } from '../../src/store/migrations/index.js';
import { tempDir } from '../helpers.js';

describe('database migrations', () => {
  it('are numbered upwards from 1, the last one the latest', () => {
    const versions = migrations.map((m) => m.version);
    expect(versions[0]).toBe(1);
    expect(versions).toEqual([...versions].sort((a, b) => a - b).filter((v, i, all) => all.indexOf(v) === i));
    expect(LATEST_VERSION).toBe(versions.at(-1));
  });

  it('move the charge of a start whose first installment was declined, and whose plan was removed, to declined_starts (10)', () => {
    const file = join(tempDir(), 'txplan.db');
    const old = openDatabase(file, { targetVersion: 6 });
    old.prepare("INSERT INTO patients (mrn, first_name, last_name, created_at, updated_at) VALUES ('A-1', 'Zoë', 'Ødegård', 'x', 'x')").run();
    const charge = old.prepare(
      `INSERT INTO charges (plan_id, kind, installment, idempotency_key, due_date, amount_minor, currency, status, attempts, gateway, payment_token, decline_code, created_at, updated_at)
       VALUES (?, 'installment', 1, ?, '2027-01-04', 24900, 'USD', 'failed', 1, 'sandbox', 'pm_card_chargeDeclined', 'card_declined', '2027-01-04T09:00:00Z', '2027-01-04T09:00:01Z')`,
    );
    // Plan 7 was removed after its decline, its start audited; plan 8's start left no audit to name its patient.
    charge.run(7, 'txp_db_p7_i1');
    charge.run(8, 'txp_db_p8_i1');
    old.prepare("INSERT INTO audit (at, actor, action, entity, entity_id, before, after) VALUES ('x', 'test', 'plan.start', 'plan', '7', NULL, ?)").run(JSON.stringify({ patient_id: 1, template: 'acne@3' }));
    old.close();

    const upgraded = openDatabase(file);
    expect(upgraded.prepare('SELECT patient_id, removed_plan_id, template, installment, idempotency_key, amount_minor, decline_code FROM declined_starts').all()).toEqual([
      { patient_id: 1, removed_plan_id: 7, template: 'acne@3', installment: 1, idempotency_key: 'txp_db_p7_i1', amount_minor: 24900, decline_code: 'card_declined' },
    ]);
    expect(upgraded.prepare('SELECT plan_id FROM charges').all()).toEqual([{ plan_id: 8 }]);
    // Only a charge whose copy is in declined_starts may leave the table.
    expect(() => upgraded.prepare('DELETE FROM charges').run()).toThrow('never deleted');
    upgraded.close();
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

  it('008 records what done steps performed: their planned services, nothing for pending or skipped ones', () => {
    const file = join(tempDir(), 'txplan.db');
    const old = openDatabase(file, { targetVersion: 6 });
    old.prepare("INSERT INTO patients (mrn, first_name, last_name, created_at, updated_at) VALUES ('A-1', 'Ada', 'Lovelace', 'x', 'x')").run();
    old.prepare(
      "INSERT INTO plans (patient_id, template_id, template_version, template_hash, name, type, status, snapshot, currency, created_at, updated_at) VALUES (1, 't', 1, 'h', 'T', 'pay-as-you-go', 'active', '{}', 'USD', 'x', 'x')",
    ).run();
    const step = old.prepare("INSERT INTO steps (plan_id, n, when_unit, when_value, services, alternatives, status) VALUES (1, ?, 'week', ?, ?, ?, ?)");
    step.run(1, 1, '["laser-patch-test"]', null, 'done');
    step.run(2, 2, '["laser-hair-medium"]', '["laser-hair-small"]', 'skipped');
    step.run(3, 8, '["laser-hair-medium"]', '["laser-hair-small"]', 'pending');
    old.close();

    const upgraded = openDatabase(file);
    expect(upgraded.prepare('SELECT n, status, performed FROM steps ORDER BY n').all()).toEqual([
      { n: 1, status: 'done', performed: '["laser-patch-test"]' },
      { n: 2, status: 'skipped', performed: null },
      { n: 3, status: 'pending', performed: null },
    ]);
    expect(upgraded.prepare("SELECT count(*) AS n FROM pragma_table_info('charges') WHERE name = 'note'").get()).toEqual({ n: 1 });
    upgraded.close();
  });

  it('012 counts a visit booked before it as booked once, for its calendar event\'s SEQUENCE', () => {
    const file = join(tempDir(), 'txplan.db');
    const old = openDatabase(file, { targetVersion: 11 });
    old.prepare("INSERT INTO patients (mrn, first_name, last_name, created_at, updated_at) VALUES ('A-1', 'Ada', 'Lovelace', 'x', 'x')").run();
    old.prepare(
      "INSERT INTO plans (patient_id, template_id, template_version, template_hash, name, type, status, snapshot, currency, created_at, updated_at) VALUES (1, 't', 1, 'h', 'T', 'pay-as-you-go', 'active', '{}', 'USD', 'x', 'x')",
    ).run();
    const step = old.prepare("INSERT INTO steps (plan_id, n, when_unit, when_value, services, booked_at) VALUES (1, ?, 'week', ?, '[\"facial\"]', ?)");
    step.run(1, 1, '2027-01-04 10:00');
    step.run(2, 2, null);
    old.close();

    const upgraded = openDatabase(file);
    expect(upgraded.prepare('SELECT n, booking_sequence, booking_changed_at FROM steps ORDER BY n').all()).toEqual([
      { n: 1, booking_sequence: 1, booking_changed_at: null },
      { n: 2, booking_sequence: 0, booking_changed_at: null },
    ]);
    upgraded.close();
  });

  it('013 folds the patients already there into the search columns, as the store folds new ones', () => {
    const file = join(tempDir(), 'txplan.db');
    const old = openDatabase(file, { targetVersion: 12 });
    old.prepare("INSERT INTO patients (mrn, first_name, last_name, email, phone, created_at, updated_at) VALUES ('A-1', 'Zoë', 'Ødegård', 'Zoe@Example.org', '+47 400 00 101', 'x', 'x')").run();
    old.prepare("INSERT INTO patients (first_name, last_name, created_at, updated_at) VALUES ('José', 'Núñez', 'x', 'x')").run();
    old.close();

    const upgraded = openDatabase(file);
    expect(upgraded.prepare('SELECT search_text, search_phone, archived_at, merged_into FROM patients ORDER BY id').all()).toEqual([
      { search_text: 'zoe odegard a-1 zoe@example.org', search_phone: '4740000101', archived_at: null, merged_into: null },
      { search_text: 'jose nunez', search_phone: null, archived_at: null, merged_into: null },
    ]);
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
