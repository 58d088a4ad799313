import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/store/database.js';
import { sqliteDrift } from '../../src/store/sqlite/drift.js';
import { tempDir } from '../helpers.js';

describe('SQLite schema drift', () => {
  it('is empty for a database txplan migrated, at the latest version and at an earlier one', () => {
    const db = openDatabase(join(tempDir(), 'txplan.db'));
    expect(sqliteDrift(db)).toEqual([]);
    db.close();
    const old = openDatabase(join(tempDir(), 'old.db'), { targetVersion: 6 });
    expect(sqliteDrift(old)).toEqual([]);
    old.close();
  });

  it('lists each change made behind txplan’s back', () => {
    const db = openDatabase(join(tempDir(), 'txplan.db'));
    db.exec(`
      DROP INDEX plans_patient;
      ALTER TABLE plans ADD COLUMN colour TEXT;
      DROP TRIGGER audit_no_delete;
      CREATE TABLE notes (id INTEGER);
      DROP INDEX charges_installment;
      CREATE UNIQUE INDEX charges_installment ON charges (plan_id, installment);
    `);
    expect(sqliteDrift(db)).toEqual([
      'index charges_installment is "CREATE UNIQUE INDEX charges_installment ON charges (plan_id, installment)", expected "CREATE UNIQUE INDEX charges_installment ON charges (plan_id, installment) WHERE kind = \'installment\'"',
      'index plans_patient is missing',
      'column plans.colour is not part of txplan',
      'trigger audit_no_delete is missing',
      'table notes is not part of txplan',
    ]);
    db.close();
  });

  it('names a column whose type changed', () => {
    const db = openDatabase(join(tempDir(), 'txplan.db'));
    // Rebuilding a table is how a column's type changes in SQLite.
    db.exec(`
      PRAGMA foreign_keys = OFF;
      CREATE TABLE billing_lock_new (id INTEGER PRIMARY KEY CHECK (id = 1), pid TEXT NOT NULL, started_at TEXT NOT NULL, host TEXT, boot_id TEXT, start_ticks INTEGER) STRICT;
      DROP TABLE billing_lock;
      ALTER TABLE billing_lock_new RENAME TO billing_lock;
    `);
    expect(sqliteDrift(db)).toEqual(['column billing_lock.pid is TEXT, expected INTEGER']);
    db.close();
  });
});
