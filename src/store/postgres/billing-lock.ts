import type { Store } from '../store.js';
import { LOCK_CLASS, LOCKS } from './engine.js';

/**
 * On PostgreSQL the billing lock is a session-level advisory lock: the server
 * releases it when the run's connection ends, whether the run finished, was
 * killed or lost its computer, so it can never be left behind. The
 * billing_lock row beside it only says who holds it.
 */
export function tryAdvisoryBillingLock(store: Store): boolean {
  return store.statement<[number, number], { ok: boolean }>('SELECT pg_try_advisory_lock(?, ?) AS ok').get(LOCK_CLASS, LOCKS.billing)!.ok;
}

export function releaseAdvisoryBillingLock(store: Store): void {
  store.statement<[number, number], { ok: boolean }>('SELECT pg_advisory_unlock(?, ?) AS ok').get(LOCK_CLASS, LOCKS.billing);
}

/** Whether a session (another run, or this process) holds the billing lock now. */
export function advisoryBillingLockHeld(store: Store): boolean {
  return (
    store
      .statement<[number, number], { n: number }>(
        "SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND classid = ? AND objid = ? AND objsubid = 2 AND granted",
      )
      .get(LOCK_CLASS, LOCKS.billing)!.n > 0
  );
}
