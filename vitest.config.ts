import { configDefaults, defineConfig } from 'vitest/config';

/**
 * The scenario files that also run on PostgreSQL (test/scenarios/<name>.test.ts),
 * in the `postgres` project. Each test folder gets a database of its own there;
 * the `txplan()` helper points the binary at it (TXPLAN_DB).
 *
 * SQLite only, by nature:
 * - backup-restore: `db backup` / `db restore` copy the SQLite file and its sidecars.
 * - failures: a full or read-only disk under the database file, a locked file.
 * - temp-files: the journal and temporary files SQLite leaves beside the database.
 * - restore-keys: puts an older copy of the database file back (high-water mark on the file).
 * - fuzz-free-text: engine-neutral, but each of its thousands of in-process commands opens a
 *   PostgreSQL connection (a worker thread, ~0.2 s), far beyond its time limit there.
 * - clock, confirm-in-process: not yet made engine-neutral (they fail on PostgreSQL as they
 *   stand); add them here once they are.
 */
export const POSTGRES_SCENARIOS = [
  'plans',
  'patients',
  'billing-rules',
  'billing',
  'never-twice',
  'handout',
  'audit-story',
  'lost-updates',
  'steps',
  'refunds',
  'clinics',
  'bulk-start',
  'services-performed',
  'money-words',
  'cron',
  'billing-lock',
  'db-copy',
  'stripe',
  'unsafe-text',
  'confirm',
  'terminal',
  'init',
  'template',
  'validate',
  'cli',
  'fixtures',
  'refunds-never-twice',
  'store-batches',
] as const;

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
          include: [...POSTGRES_SCENARIOS.map((name) => `test/scenarios/${name}.test.ts`), 'test/postgres/**/*.test.ts'],
          env: { TXPLAN_TEST_ENGINE: 'postgres' },
          // Starts a throwaway server unless TXPLAN_TEST_POSTGRES_URL names one; makes the template database.
          globalSetup: ['test/postgres-setup.ts'],
        },
      },
    ],
  },
});
