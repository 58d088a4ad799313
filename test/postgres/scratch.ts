import { postgresTestUrl } from './server.js';
import { randomBytes } from 'node:crypto';
import { PostgresConnection } from '../../src/store/postgres/connection.js';
import { PostgresEngine } from '../../src/store/postgres/engine.js';
import { Store } from '../../src/store/store.js';
import { migratePostgres } from '../../src/store/postgres/migrate.js';
import { POSTGRES_LATEST } from '../../src/store/postgres/migrations/index.js';

/** The same URL with another database name. */
export function withDatabase(url: string, name: string): string {
  const match = /^(postgres(?:ql)?:\/\/[^/?]*)(\/[^?]*)?(\?.*)?$/.exec(url);
  if (!match) throw new Error(`Not a postgres:// URL: ${url}`);
  return `${match[1]}/${name}${match[3] ?? ''}`;
}

export interface ScratchDatabase {
  url: string;
  /** A new store (its own connection) on the database. */
  store(): Store;
  drop(): void;
}

/**
 * A new, empty database on the test server. `icuLocale` gives it a
 * language's collation (PostgreSQL 15 or later, built with ICU), as a
 * clinic's database may have, where text sorts unlike SQLite's byte order.
 */
export function scratchDatabase(prefix: string, options: { icuLocale?: string } = {}): ScratchDatabase {
  const server = postgresTestUrl();
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const admin = PostgresConnection.connect({ url: server });
  try {
    admin.query(`CREATE DATABASE ${name}${options.icuLocale ? ` TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE '${options.icuLocale}' LOCALE 'C.UTF-8'` : ''}`);
  } finally {
    admin.close();
  }
  const url = withDatabase(server, name);
  const opened: Store[] = [];
  return {
    url,
    store() {
      const store = new Store(new PostgresEngine(PostgresConnection.connect({ url }), name, false));
      opened.push(store);
      return store;
    },
    drop() {
      for (const store of opened) store.close();
      const connection = PostgresConnection.connect({ url: server });
      try {
        connection.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        connection.close();
      }
    },
  };
}

/** Builds txplan's schema in the store's (empty) database, with the product's own migrations. */
export function migrateScratch(store: Store): void {
  migratePostgres((store.engine as PostgresEngine).connection, POSTGRES_LATEST, new Date().toISOString());
}
