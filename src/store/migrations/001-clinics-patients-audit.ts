import type { Migration } from './index.js';

/** Clinics, patients, and the append-only audit log. */
export const migration: Migration = {
  version: 1,
  name: 'clinics, patients and the audit log',
  up: (db) => {
    db.exec(`
      CREATE TABLE clinics (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        timezone TEXT NOT NULL,
        address TEXT,
        phone TEXT,
        created_at TEXT NOT NULL
      ) STRICT;

      CREATE TABLE patients (
        id INTEGER PRIMARY KEY,
        mrn TEXT UNIQUE,
        first_name TEXT NOT NULL,
        last_name TEXT NOT NULL,
        dob TEXT,
        email TEXT,
        phone TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      ) STRICT;
      CREATE INDEX patients_name ON patients (last_name COLLATE NOCASE, first_name COLLATE NOCASE);

      CREATE TABLE audit (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        entity TEXT NOT NULL,
        entity_id TEXT NOT NULL,
        before TEXT,
        after TEXT
      ) STRICT;
      CREATE INDEX audit_entity ON audit (entity, entity_id, id);
      CREATE INDEX audit_at ON audit (at);
      -- Entries are evidence: the database itself refuses to change or remove them.
      CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
      CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
    `);
  },
};
