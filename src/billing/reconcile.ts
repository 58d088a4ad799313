import type { Store } from '../store/store.js';
import { formatMoney } from '../domain/money.js';
import { attemptsInKeyOrder } from '../store/charges.js';
import { refundsInKeyOrder } from '../store/refunds.js';
import { recordAudit } from '../store/audit.js';
import { acknowledge, acknowledgedKeys, billingHold, databaseId, setBillingHold } from '../store/database-info.js';
import type { Gateway } from './gateway.js';

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
  const acknowledged = acknowledgedKeys(store);
  for await (const { mine, ledger } of byKey(attemptsInKeyOrder(store), gateway.ledger())) {
    if (mine && !ledger) {
      const sent = mine.outcome !== 'pending';
      differences.push({
        idempotency_key: mine.idempotency_key,
        plan_id: mine.plan_id,
        problem: sent ? 'missing_at_processor' : 'unsettled',
        txplan: { outcome: mine.outcome, amount_minor: mine.amount_minor, currency: mine.currency },
        processor: null,
        message: sent ? `txplan recorded ${mine.outcome}, but the processor has no such charge` : 'pending in txplan and never reached the processor; the next billing run sends it',
      });
    } else if (ledger && !mine) {
      // Seen and accepted by an operator after a restore (`billing reconcile --accept`).
      if (acknowledged.has(ledger.idempotencyKey)) continue;
      differences.push({
        idempotency_key: ledger.idempotencyKey,
        plan_id: null,
        problem: 'unknown_to_txplan',
        txplan: null,
        processor: { status: ledger.status, amount_minor: ledger.amountMinor, currency: ledger.currency, id: ledger.id },
        message: `the processor ${ledger.status === 'succeeded' ? 'charged' : 'declined'} a charge txplan has no record of (${formatMoney(ledger.amountMinor, ledger.currency)})`,
      });
    } else if (mine && ledger) {
      const expected = ledger.status === 'succeeded' ? 'succeeded' : 'declined';
      const base = { idempotency_key: mine.idempotency_key, plan_id: mine.plan_id, txplan: { outcome: mine.outcome, amount_minor: mine.amount_minor, currency: mine.currency }, processor: { status: ledger.status, amount_minor: ledger.amountMinor, currency: ledger.currency, id: ledger.id } };
      if (mine.amount_minor !== ledger.amountMinor || mine.currency !== ledger.currency) {
        differences.push({ ...base, problem: 'amount', message: `txplan has ${formatMoney(mine.amount_minor, mine.currency)}, the processor ${formatMoney(ledger.amountMinor, ledger.currency)}` });
      } else if (mine.outcome === 'pending') {
        differences.push({ ...base, problem: 'unsettled', message: `the processor ${ledger.status} it, but txplan has not recorded the answer yet; the next billing run does` });
      } else if (mine.outcome !== expected) {
        differences.push({ ...base, problem: 'status', message: `txplan recorded ${mine.outcome}, the processor ${ledger.status}` });
      }
    }
  }
  differences.push(...(await reconcileRefunds(store, gateway, acknowledged)));
  return differences;
}

/**
 * The same comparison for refunds: txplan's refunds against the processor's
 * refund records, both read in key order, each side's extras reported.
 */
async function reconcileRefunds(store: Store, gateway: Gateway, acknowledged: ReadonlySet<string>): Promise<Difference[]> {
  const differences: Difference[] = [];
  for await (const { mine, ledger } of byKey(refundsInKeyOrder(store), gateway.refunds())) {
    const txplan = mine && { outcome: mine.status, amount_minor: mine.amount_minor, currency: mine.currency };
    // The processor's status as it gives it: `reconcile --accept` records it, and a later refund counts an accepted succeeded refund.
    const processor = ledger && { status: ledger.status, amount_minor: ledger.amountMinor, currency: ledger.currency, id: ledger.id };
    if (mine && !ledger) {
      const sent = mine.status !== 'pending';
      differences.push({
        idempotency_key: mine.idempotency_key,
        plan_id: mine.plan_id,
        problem: sent ? 'missing_at_processor' : 'unsettled',
        txplan: txplan!,
        processor: null,
        message: sent ? `txplan recorded a ${mine.status} refund, but the processor has no such refund` : 'a refund pending in txplan that never reached the processor; rerun "txplan billing refund", or the next billing run, to send it under the same key',
      });
    } else if (ledger && !mine) {
      if (!acknowledged.has(ledger.idempotencyKey)) {
        differences.push({
          idempotency_key: ledger.idempotencyKey,
          plan_id: null,
          problem: 'unknown_to_txplan',
          txplan: null,
          processor: processor!,
          message: `the processor ${ledger.status === 'succeeded' ? 'refunded' : 'refused'} a refund txplan has no record of`,
        });
      }
    } else if (mine && ledger) {
      const base = { idempotency_key: mine.idempotency_key, plan_id: mine.plan_id, txplan: txplan!, processor: processor! };
      if (mine.amount_minor !== ledger.amountMinor || mine.currency !== ledger.currency) {
        differences.push({ ...base, problem: 'amount', message: `txplan refunded ${formatMoney(mine.amount_minor, mine.currency)}, the processor ${formatMoney(ledger.amountMinor, ledger.currency)}` });
      } else if (mine.status === 'pending') {
        differences.push({ ...base, problem: 'unsettled', message: `the processor's refund ${ledger.status}, but txplan has not recorded the answer yet; the next billing run does` });
      } else if (mine.status !== ledger.status) {
        differences.push({ ...base, problem: 'status', message: `txplan recorded the refund ${mine.status}, the processor ${ledger.status}` });
      }
    }
  }
  return differences;
}

/**
 * Walks txplan's records and the processor's, both in idempotency-key order,
 * as one merge: each key once, with the side or sides that hold it. Neither
 * side is held in memory whole.
 */
async function* byKey<M extends { idempotency_key: string }, L extends { idempotencyKey: string }>(ours: Iterable<M>, theirs: AsyncIterable<L>): AsyncGenerator<{ mine?: M; ledger?: L }> {
  const mineIt = ours[Symbol.iterator]();
  const ledgerIt = theirs[Symbol.asyncIterator]();
  let a = mineIt.next();
  let b = await ledgerIt.next();
  while (!a.done || !b.done) {
    const mine = a.done ? undefined : a.value;
    const ledger = b.done ? undefined : b.value;
    if (mine && (!ledger || mine.idempotency_key < ledger.idempotencyKey)) {
      yield { mine };
      a = mineIt.next();
    } else if (ledger && (!mine || ledger.idempotencyKey < mine.idempotency_key)) {
      yield { ledger };
      b = await ledgerIt.next();
    } else {
      yield { mine, ledger };
      a = mineIt.next();
      b = await ledgerIt.next();
    }
  }
}

export interface Acceptance {
  acknowledged: string[];
  /** Differences --accept does not settle (a billing run or a person does). */
  remaining: Difference[];
  wasHeld: boolean;
}

/**
 * `billing reconcile --accept`: the operator has seen what the processor holds
 * that this database does not. Those charges are recorded as acknowledged (and
 * no longer reported), the hold a restore put on billing is lifted, and the
 * audit says who accepted what.
 */
export function acceptDifferences(store: Store, differences: readonly Difference[], who: { actor: string; now: Date }): Acceptance {
  const at = who.now.toISOString();
  const unknown = differences.filter((d) => d.problem === 'unknown_to_txplan' && d.processor !== null);
  return store.transaction(() => {
    for (const d of unknown) {
      acknowledge(store, { idempotency_key: d.idempotency_key, processor_id: d.processor!.id, status: d.processor!.status, amount_minor: d.processor!.amount_minor, currency: d.processor!.currency, acknowledged_at: at, actor: who.actor });
    }
    const wasHeld = billingHold(store) !== undefined;
    setBillingHold(store, undefined);
    const remaining = differences.filter((d) => !unknown.includes(d));
    recordAudit(store, { at, actor: who.actor, action: 'billing.reconcile_accept', entity: 'billing', entityId: databaseId(store), after: { acknowledged: unknown.map((d) => d.idempotency_key), remaining: remaining.length, hold_lifted: wasHeld } });
    return { acknowledged: unknown.map((d) => d.idempotency_key), remaining, wasHeld };
  });
}

/** A reconcile that found nothing the processor holds beyond this database lifts a restore's hold by itself. */
export function liftHoldIfClean(store: Store, differences: readonly Difference[], who: { actor: string; now: Date }): boolean {
  if (differences.some((d) => d.problem === 'unknown_to_txplan') || !billingHold(store)) return false;
  store.transaction(() => {
    setBillingHold(store, undefined);
    recordAudit(store, { at: who.now.toISOString(), actor: who.actor, action: 'billing.reconcile_clear', entity: 'billing', entityId: databaseId(store), after: { differences: differences.length } });
  });
  return true;
}
