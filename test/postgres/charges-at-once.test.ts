import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertPendingCharges, settleCharges } from '../../src/store/charges.js';
import type { NewCharge, Settlement } from '../../src/domain/records.js';
import type { Store } from '../../src/store/store.js';
import { migrateScratch, scratchDatabase, type ScratchDatabase } from './scratch.js';

/**
 * A billing run writes its chunk's new charges, and later their answers, in
 * one statement each on PostgreSQL. Each row must land on the right charge,
 * in the order given, and an answer for a charge settled meanwhile must leave
 * it alone.
 */

let db: ScratchDatabase;
let store: Store;
beforeAll(() => {
  db = scratchDatabase('charges_at_once');
  store = db.store();
  migrateScratch(store);
});
afterAll(() => db?.drop());

const at = '2031-01-01T09:00:00.000Z';
const charge = (planId: number, installment: number, amount: number): NewCharge => ({
  plan_id: planId,
  kind: 'installment',
  installment,
  step_n: null,
  idempotency_key: `k-${planId}-${installment}`,
  due_date: '2031-01-01',
  amount_minor: amount,
  currency: 'USD',
  retries_allowed: 3,
  gateway: 'sandbox',
  payment_token: `pm_${planId}`,
  created_at: at,
  updated_at: at,
});
const paid = (id: string): Settlement => ({ status: 'succeeded', gatewayChargeId: id, declineCode: null, declineMessage: null, hardDecline: false, nextAttemptOn: null });

describe('a chunk of charges written at once on PostgreSQL', () => {
  it('inserts them in the order given, each id with its own row', () => {
    // Plan ids out of order, so an id matched by position of a sorted answer would be caught.
    const created = store.transaction(() => insertPendingCharges(store, [charge(7, 2, 700), charge(3, 2, 300), charge(5, 2, 500), charge(3, 3, 301)]));
    const rows = store.statement<[], { id: number; idempotency_key: string; amount_minor: number; status: string; note: string | null }>('SELECT id, idempotency_key, amount_minor, status, note FROM charges ORDER BY id').all();
    expect(rows.map((r) => r.idempotency_key)).toEqual(['k-7-2', 'k-3-2', 'k-5-2', 'k-3-3']);
    for (const c of created) {
      const row = rows.find((r) => r.id === c.id)!;
      expect(row).toEqual({ id: c.id, idempotency_key: c.idempotency_key, amount_minor: c.amount_minor, status: 'pending', note: null });
      expect(c.status).toBe('pending');
    }
  });

  it('is all or nothing: a key taken already refuses the whole chunk', () => {
    const before = store.statement<[], { n: number }>('SELECT count(*) AS n FROM charges').get()!.n;
    expect(() => store.transaction(() => insertPendingCharges(store, [charge(9, 2, 900), charge(7, 2, 700)]))).toThrow();
    expect(store.statement<[], { n: number }>('SELECT count(*) AS n FROM charges').get()!.n).toBe(before);
  });

  it('settles only the charges still pending, and says which', () => {
    const rows = store.statement<[], { id: number; idempotency_key: string }>('SELECT id, idempotency_key FROM charges ORDER BY id').all();
    const id = (key: string) => rows.find((r) => r.idempotency_key === key)!.id;
    // One settled meanwhile (by another run): its answer must not be written over it.
    store.transaction(() => settleCharges(store, [{ id: id('k-3-2'), settlement: paid('ch_other') }], at));
    const declined: Settlement = { status: 'failed', gatewayChargeId: 'ch_d', declineCode: 'card_declined', declineMessage: 'Declined.', hardDecline: true, nextAttemptOn: null };
    const changed = store.transaction(() =>
      settleCharges(store, [{ id: id('k-7-2'), settlement: paid('ch_7') }, { id: id('k-3-2'), settlement: paid('ch_mine') }, { id: id('k-5-2'), settlement: declined }], '2031-01-02T00:00:00.000Z'),
    );
    expect([...changed].sort((a, b) => a - b)).toEqual([id('k-7-2'), id('k-5-2')].sort((a, b) => a - b));
    const after = store.statement<[], Record<string, unknown>>('SELECT idempotency_key, status, gateway_charge_id, decline_code, decline_message, hard_decline, updated_at FROM charges ORDER BY idempotency_key').all();
    expect(after).toEqual([
      { idempotency_key: 'k-3-2', status: 'succeeded', gateway_charge_id: 'ch_other', decline_code: null, decline_message: null, hard_decline: 0, updated_at: at },
      { idempotency_key: 'k-3-3', status: 'pending', gateway_charge_id: null, decline_code: null, decline_message: null, hard_decline: 0, updated_at: at },
      { idempotency_key: 'k-5-2', status: 'failed', gateway_charge_id: 'ch_d', decline_code: 'card_declined', decline_message: 'Declined.', hard_decline: 1, updated_at: '2031-01-02T00:00:00.000Z' },
      { idempotency_key: 'k-7-2', status: 'succeeded', gateway_charge_id: 'ch_7', decline_code: null, decline_message: null, hard_decline: 0, updated_at: '2031-01-02T00:00:00.000Z' },
    ]);
  });
});
