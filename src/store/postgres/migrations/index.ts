import { migration as m011 } from './011-schema.js';
import { migration as m012 } from './012-booking-revisions.js';
import { migration as m013 } from './013-patient-records.js';
import { migration as m014 } from './014-patient-notes.js';
import { migration as m015 } from './015-clinic-money-archive.js';

/** One PostgreSQL migration: DDL run in one transaction, recorded in schema_migrations. */
export interface PostgresMigration {
  /** Shared with SQLite's numbering: version N is the same schema on both engines. */
  version: number;
  name: string;
  sql: string;
}

/** Forward-only, numbered; the first builds SQLite's version 11 whole. */
export const postgresMigrations: readonly PostgresMigration[] = [m011, m012, m013, m014, m015];

export const POSTGRES_LATEST = postgresMigrations[postgresMigrations.length - 1]!.version;

/** Where the applied versions are recorded; made before the first migration runs. */
export const SCHEMA_MIGRATIONS_TABLE = `
  CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY,
    name text COLLATE "C" NOT NULL,
    applied_at text COLLATE "C" NOT NULL
  )`;
