import { describe, expect, it } from 'vitest';
import { clinicWorkspace, databaseFile } from '../helpers.js';
import { onPostgres, postgresStore } from '../postgres.js';
import { openDatabase } from '../../src/store/database.js';
import { Store } from '../../src/store/store.js';
import { getPrices, getSteps, insertPlans, insertPrice, insertSteps } from '../../src/store/plans.js';
import { listAudit, recordAudit } from '../../src/store/audit.js';
import type { NewPlan, NewStep } from '../../src/domain/records.js';

/**
 * The store's batch writes (a bulk apply's): several plans in one call, and
 * rows the engine holds and sends together. PostgreSQL sends them as one
 * statement; what comes back and what is stored must match each row given.
 */

function openStore(ws: string): Store {
  return onPostgres ? postgresStore(ws) : new Store(openDatabase(databaseFile(ws)));
}

function plan(patientId: number, name: string, extra: Partial<NewPlan> = {}): NewPlan {
  return {
    patient_id: patientId,
    clinic_id: 'main',
    template_id: 'post-procedure-recovery',
    template_version: 1,
    template_hash: 'h'.repeat(64),
    template_commit: null,
    template_dirty: null,
    name,
    type: 'pay-as-you-go',
    status: 'prescribed',
    snapshot: JSON.stringify({ id: 'post-procedure-recovery', note: 'the same for every plan of the batch' }),
    currency: 'USD',
    start_date: null,
    end_date: null,
    paused_on: null,
    pause_until: null,
    cancelled_on: null,
    cancel_reason: null,
    payment_method_id: null,
    service_prices: '{}',
    created_at: '2026-11-02T10:00:00.000Z',
    updated_at: '2026-11-02T10:00:00.000Z',
    ...extra,
  };
}

function step(n: number, note: string | null): NewStep {
  return { n, when_unit: 'week', when_value: n * 2, services: '["hydrafacial"]', alternatives: null, note, recommended_date: null, booked_at: null, status: 'pending', completed_on: null, completion_note: null, outcome: null, performed: null };
}

describe('batch writes of the store', () => {
  it('insertPlans returns each plan its own id, in the order given', () => {
    const ws = clinicWorkspace(3);
    const store = openStore(ws);
    try {
      // Patients out of order, one patient twice, and columns that differ from plan to plan or not at all.
      const given = [plan(3, 'Third'), plan(1, 'First', { start_date: '2026-12-01', template_dirty: 1 }), plan(2, 'Second'), plan(3, 'Third again', { status: 'active', snapshot: '{"id":"own"}' })];
      const ids = store.transaction(() => insertPlans(store, given), { bulk: true });
      expect(ids).toHaveLength(4);
      expect([...ids].sort((a, b) => a - b)).toEqual(ids);
      const rows = ids.map((id) => store.statement<[number], Record<string, unknown>>('SELECT patient_id, name, status, start_date, template_dirty, snapshot, version FROM plans WHERE id = ?').get(id));
      expect(rows).toEqual(
        given.map((p) => ({ patient_id: p.patient_id, name: p.name, status: p.status, start_date: p.start_date, template_dirty: p.template_dirty, snapshot: p.snapshot, version: 1 })),
      );
      // A single plan, and none.
      const [one] = store.transaction(() => insertPlans(store, [plan(2, 'Alone')]));
      expect(one).toBeGreaterThan(ids[3]!);
      expect(store.statement<[number], { name: string }>('SELECT name FROM plans WHERE id = ?').get(one!)!.name).toBe('Alone');
      expect(store.transaction(() => insertPlans(store, []))).toEqual([]);
    } finally {
      store.close();
    }
  });

  it('writes nothing of a batch when its transaction fails', () => {
    const ws = clinicWorkspace(2);
    const store = openStore(ws);
    try {
      const before = store.statement<[], { n: number }>('SELECT count(*) AS n FROM plans').get()!.n;
      // Patient 99 does not exist: the foreign key refuses the batch, and the transaction takes the others with it.
      expect(() => store.transaction(() => insertPlans(store, [plan(1, 'Fine'), plan(99, 'Nobody')]), { bulk: true })).toThrow();
      expect(store.statement<[], { n: number }>('SELECT count(*) AS n FROM plans').get()!.n).toBe(before);
    } finally {
      store.close();
    }
  });

  it('held steps, prices and audit entries are stored as given, audit entries in the order written', () => {
    const ws = clinicWorkspace(2);
    const store = openStore(ws);
    try {
      const lastBefore = listAudit(store, {}).at(-1)?.id ?? 0;
      const ids = store.transaction(() => {
        const planIds = insertPlans(store, [plan(1, 'One', { type: 'monthly' }), plan(2, 'Two', { type: 'monthly' })]);
        planIds.forEach((id, i) => {
          insertSteps(store, id, [step(1, `note "${i}" with 'quotes' and ünïcode`), step(2, null)]);
          insertPrice(store, id, 1, 24900 + i);
          recordAudit(store, { at: '2026-11-02T10:00:00.000Z', actor: 'desk', action: 'plan.prescribe', entity: 'plan', entityId: id, before: null, after: { n: i, nested: { list: [1, null, 'x'] } } });
        });
        return planIds;
      }, { bulk: true });
      ids.forEach((id, i) => {
        expect(getSteps(store, id).map(({ id: _id, version, ...rest }) => ({ ...rest, version }))).toEqual([
          { ...step(1, `note "${i}" with 'quotes' and ünïcode`), plan_id: id, version: 1, booking_sequence: 0, booking_changed_at: null, patient_note: null },
          { ...step(2, null), plan_id: id, version: 1, booking_sequence: 0, booking_changed_at: null, patient_note: null },
        ]);
        expect(getPrices(store, id)).toEqual([{ from_installment: 1, monthly_fee_minor: 24900 + i }]);
      });
      const entries = listAudit(store, {}).filter((e) => e.id > lastBefore);
      expect(entries.map((e) => [e.entity_id, e.after])).toEqual(ids.map((id, i) => [String(id), { n: i, nested: { list: [1, null, 'x'] } }]));
      expect(entries.map((e) => e.before)).toEqual([null, null]);
    } finally {
      store.close();
    }
  });
});
