import { randomBytes } from 'node:crypto';
import { PostgresConnection } from '../../src/store/postgres/connection.js';
import { ident, runPrefix, withDatabase } from '../postgres.js';

/**
 * The PostgreSQL server the tests use: TXPLAN_TEST_POSTGRES_URL, which the
 * suite's set-up points at a throwaway cluster it starts (or at a server the
 * developer names).
 */
export function postgresTestUrl(): string {
  const url = process.env.TXPLAN_TEST_POSTGRES_URL;
  if (!url) throw new Error('TXPLAN_TEST_POSTGRES_URL is not set: run the file through "vitest --project postgres", whose set-up starts a PostgreSQL cluster');
  return url;
}

/** A new, empty database of this run (the run's teardown drops it), and its URL. */
export function scratchDatabase(label: string): string {
  const run = process.env.TXPLAN_TEST_POSTGRES_RUN ?? 'x';
  const name = `${runPrefix(run)}${label}_${randomBytes(4).toString('hex')}`;
  const admin = PostgresConnection.connect({ url: postgresTestUrl(), applicationName: 'txplan-tests' });
  try {
    admin.query(`CREATE DATABASE ${ident(name)}`);
  } finally {
    admin.close();
  }
  return withDatabase(postgresTestUrl(), name);
}
