import { FailedError } from '../errors.js';
import { billingHold } from '../store/database-info.js';
import type { Store } from '../store/store.js';

/**
 * After a restore the processor may hold charges the database does not know:
 * no money moves until an operator has run `billing reconcile` and accepted
 * what it showed.
 */
export function assertBillingOpen(store: Store): void {
  if (!billingHold(store)) return;
  throw new FailedError(
    'The database is behind what the payment processor has seen (it was restored from an older copy), so no charge is made until that is reconciled; run "txplan billing reconcile" to see what the processor holds, then "txplan billing reconcile --accept"',
    'reconcile_required',
  );
}
