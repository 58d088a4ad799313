import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Every scenario file (test/scenarios/) runs on both engines: in the `sqlite`
 * project, and in the `postgres` project, where each test folder gets a
 * database of its own and the `txplan()` helper points the binary at it
 * (TXPLAN_DB).
 *
 * Files whose SQLite tests are about the database file branch on `engine` and
 * prove the PostgreSQL counterpart there: backup-restore (`db backup` / `db
 * restore` refuse, naming pg_dump / pg_restore; a database put back from a dump
 * is caught by the high-water mark), failures (a schema changed by hand, a
 * read-only database, a user without write rights, txplan's write lock held by
 * another session, the server going away), temp-files (nothing of the database
 * is written into the workspace), restore-keys (an older copy put back with
 * pg_restore or CREATE DATABASE … TEMPLATE).
 *
 * database-location tests where the database is named (--db, TXPLAN_DB, txplan.yaml): its
 * commands that must find the database as a user's would run with `txplan(…, { testDatabase:
 * false })`, and it names another test folder's database on purpose. fuzz-free-text runs its
 * thousands of in-process commands on one PostgreSQL connection, which a process reuses from
 * store to store.
 */
const SCENARIOS = 'test/scenarios/**/*.test.ts';

export default defineConfig({
  test: {
    // Scenario tests spawn the built binary; give slow shared machines room.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'sqlite',
          include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
          // The checks of the PostgreSQL test set-up itself run in the postgres project.
          exclude: [...configDefaults.exclude, 'test/postgres/**'],
        },
      },
      {
        extends: true,
        test: {
          name: 'postgres',
          include: [SCENARIOS, 'test/postgres/**/*.test.ts'],
          env: { TXPLAN_TEST_ENGINE: 'postgres' },
          // Starts a throwaway server unless TXPLAN_TEST_POSTGRES_URL names one; makes the template database.
          globalSetup: ['test/postgres-setup.ts'],
        },
      },
    ],
  },
});
