import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { PostgresConnection } from '../src/store/postgres/connection.js';
import { ClusterError, startCluster, stopCluster, stopWhenGone, type ClusterInfo } from '../scripts/test-postgres.mjs';
import { ident, runPrefix, TEMPLATE_DATABASE, withDatabase } from './postgres.js';

const repoRoot = resolve(fileURLToPath(new URL('..', import.meta.url)));

/**
 * Global set-up of the `postgres` vitest project. The server: the one
 * TXPLAN_TEST_POSTGRES_URL names (a role with CREATEDB, e.g. the one
 * `scripts/test-postgres.mjs start` or `.ci/run` made), else a throwaway
 * cluster started here and stopped at the end (also if this process dies).
 * Then the template database every test database is cloned from.
 */

/**
 * Builds the schema in the template database once per run (txplan migrates a
 * database on first open), so each test database is a ready copy of it.
 */
export function prepareTemplate(url: string): void {
  const result = spawnSync(process.execPath, [join(repoRoot, 'bin', 'txplan'), 'db', 'check', '--db', url], { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, TXPLAN_ACTOR: 'test' } });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`txplan db check on the template database failed (exit ${result.status}): ${result.stderr.trim()}`);
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let cluster: ClusterInfo | undefined;
  let url = process.env.TXPLAN_TEST_POSTGRES_URL;
  if (!url) {
    try {
      cluster = await startCluster();
    } catch (error) {
      // One sentence (how to get PostgreSQL) rather than a stack: the suite runs on both engines.
      throw error instanceof ClusterError ? new Error(error.message) : error;
    }
    stopWhenGone(cluster);
    url = cluster.url;
  }
  const run = randomBytes(3).toString('hex');
  let admin: PostgresConnection;
  try {
    admin = PostgresConnection.connect({ url, applicationName: 'txplan-tests' });
  } catch (error) {
    if (cluster) stopCluster(cluster);
    throw new Error(`The test PostgreSQL server at ${new URL(url).host} could not be reached (${(error as Error).message}): check TXPLAN_TEST_POSTGRES_URL, or unset it to let the tests start their own server.`);
  }
  admin.query(`DROP DATABASE IF EXISTS ${ident(TEMPLATE_DATABASE)}`);
  admin.query(`CREATE DATABASE ${ident(TEMPLATE_DATABASE)}`);
  // Migrated once here, so each test database is a ready copy of it.
  prepareTemplate(withDatabase(url, TEMPLATE_DATABASE));

  process.env.TXPLAN_TEST_POSTGRES_URL = url;
  process.env.TXPLAN_TEST_POSTGRES_RUN = run;
  project.provide('txplanPostgres', { url, run });

  return async () => {
    try {
      // Whatever this run's tests left behind (a folder not made by tempDir(), an interrupted test).
      const left = admin.query<{ datname: string }>('SELECT datname FROM pg_database WHERE starts_with(datname, $1)', [runPrefix(run)]).rows;
      for (const { datname } of left) admin.query(`DROP DATABASE IF EXISTS ${ident(datname)} WITH (FORCE)`);
      admin.query(`DROP DATABASE IF EXISTS ${ident(TEMPLATE_DATABASE)} WITH (FORCE)`);
    } finally {
      admin.close();
      if (cluster) stopCluster(cluster);
    }
  };
}
