import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';

/**
 * better-sqlite3, loaded the first time a SQLite database is opened: a
 * command on a PostgreSQL database never loads it (a native module, and one
 * of the larger ones txplan starts with). The package is CommonJS, so this
 * is the same module an `import … from 'better-sqlite3'` elsewhere gets.
 */
const require = createRequire(import.meta.url);
let driver: typeof BetterSqlite3 | undefined;

export function sqliteDriver(): typeof BetterSqlite3 {
  return (driver ??= require('better-sqlite3') as typeof BetterSqlite3);
}

/** Whether `error` is one better-sqlite3 threw (false when it was never loaded, here or by an import elsewhere). */
export function isSqliteError(error: unknown): error is InstanceType<typeof BetterSqlite3.SqliteError> {
  if (!driver) {
    const loaded = require.cache[require.resolve('better-sqlite3')];
    if (!loaded) return false;
    driver = loaded.exports as typeof BetterSqlite3;
  }
  return error instanceof driver.SqliteError;
}
