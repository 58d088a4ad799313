import type { Store } from '../store/store.js';
import { attemptsInKeyOrder } from '../store/charges.js';
import type { Gateway, LedgerEntry } from './gateway.js';

export interface Difference {
  idempotency_key: string;
  plan_id: number | null;
  problem: 'missing_at_processor' | 'unknown_to_txplan' | 'status' | 'amount' | 'unsettled';
  txplan: { outcome: string; amount_minor: number; currency: string } | null;
  processor: { status: string; amount_minor: number; currency: string; id: string } | null;
  message: string;
}

/**
 * Every difference between txplan's record of its attempts and the
 * processor's own ledger, matched on the idempotency key. Both sides are read
 * in key order and merged, so neither is held in memory whole.
 */
export async function reconcile(store: Store, gateway: Gateway): Promise<Difference[]> {
  const differences: Difference[] = [];
  const ours = attemptsInKeyOrder(store);
  const theirs = gateway.ledger()[Symbol.asyncIterator]();
  let a = ours.next();
  let b = await theirs.next();
  while (!a.done || !b.done) {
    const mine = a.done ? undefined : a.value;
    const ledger: LedgerEntry | undefined = b.done ? undefined : b.value;
    if (mine && (!ledger || mine.idempotency_key < ledger.idempotencyKey)) {
      const sent = mine.outcome !== 'pending';
      differences.push({
        idempotency_key: mine.idempotency_key,
        plan_id: mine.plan_id,
        problem: sent ? 'missing_at_processor' : 'unsettled',
        txplan: { outcome: mine.outcome, amount_minor: mine.amount_minor, currency: mine.currency },
        processor: null,
        message: sent ? `txplan recorded ${mine.outcome}, but the processor has no such charge` : 'pending in txplan and never reached the processor; the next billing run sends it',
      });
      a = ours.next();
    } else if (ledger && (!mine || ledger.idempotencyKey < mine.idempotency_key)) {
      differences.push({
        idempotency_key: ledger.idempotencyKey,
        plan_id: null,
        problem: 'unknown_to_txplan',
        txplan: null,
        processor: { status: ledger.status, amount_minor: ledger.amountMinor, currency: ledger.currency, id: ledger.id },
        message: `the processor ${ledger.status === 'succeeded' ? 'charged' : 'declined'} a charge txplan has no record of`,
      });
      b = await theirs.next();
    } else if (mine && ledger) {
      const expected = ledger.status === 'succeeded' ? 'succeeded' : 'declined';
      const base = { idempotency_key: mine.idempotency_key, plan_id: mine.plan_id, txplan: { outcome: mine.outcome, amount_minor: mine.amount_minor, currency: mine.currency }, processor: { status: ledger.status, amount_minor: ledger.amountMinor, currency: ledger.currency, id: ledger.id } };
      if (mine.amount_minor !== ledger.amountMinor || mine.currency !== ledger.currency) {
        differences.push({ ...base, problem: 'amount', message: `txplan has ${mine.amount_minor} ${mine.currency}, the processor ${ledger.amountMinor} ${ledger.currency}` });
      } else if (mine.outcome === 'pending') {
        differences.push({ ...base, problem: 'unsettled', message: `the processor ${ledger.status} it, but txplan has not recorded the answer yet; the next billing run does` });
      } else if (mine.outcome !== expected) {
        differences.push({ ...base, problem: 'status', message: `txplan recorded ${mine.outcome}, the processor ${ledger.status}` });
      }
      a = ours.next();
      b = await theirs.next();
    }
  }
  return differences;
}
