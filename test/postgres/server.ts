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

