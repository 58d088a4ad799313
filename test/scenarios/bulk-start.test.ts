import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { clinicWorkspace, ledgerRows, query, runner } from '../helpers.js';

const ACNE = 'comprehensive-acne-resolution';

/** A workspace with one clinic and four patients, P-1 … P-4 (ids 1–4); its commands run on 2031-01-15 (TXPLAN_NOW), the plans' start date. */
function clinic() {
  const ws = clinicWorkspace(4);
  const { run, json } = runner(ws, { now: '2031-01-15' });
  const file = (name: string, text: string) => {
    const path = join(ws, name);
    writeFileSync(path, text);
    return path;
  };
  return { ws, run, json, file };
}

interface LedgerRow {
  idempotency_key: string;
  token: string;
  status: string;
}

/** The sandbox processor's own record of every charge it was asked for. */
function ledger(ws: string): LedgerRow[] {
  return ledgerRows<LedgerRow>(ws, 'SELECT idempotency_key, token, status FROM charges ORDER BY idempotency_key');
}

/** Which plans each token was charged for, as the processor saw it. */
function plansByToken(rows: readonly LedgerRow[]): Map<string, Set<string>> {
  const byToken = new Map<string, Set<string>>();
  for (const row of rows) {
    const plan = /^plan-(\d+)-/.exec(row.idempotency_key)?.[1] ?? row.idempotency_key;
    byToken.set(row.token, (byToken.get(row.token) ?? new Set()).add(plan));
  }
  return byToken;
}

interface BulkJson {
  plans: number[];
  started: Array<{ patient_id: number; plan_id: number }>;
  not_started: Array<{ patient_id: number; reason: string }>;
}

describe('plan apply --patients-file --mode start: one card per patient, all or nothing per patient', () => {
  it('refuses one --payment-method for several patients, charging nobody', () => {
    const c = clinic();
    const file = c.file('cohort.txt', 'P-1\nP-2\n');
    const result = c.run('plan', 'apply', ACNE, '--patients-file', file, '--mode', 'start', '--yes', '--clinic', 'main', '--start', '2031-01-15', '--charge-now', '--payment-method', 'pm_card_visa');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^txplan: --payment-method would charge one card for 2 patients; .*patient,payment_method.*\n$/);
    expect(query(c.ws, 'SELECT id FROM plans')).toEqual([]);
    expect(query(c.ws, 'SELECT id FROM payment_methods')).toEqual([]);
    expect(ledger(c.ws)).toEqual([]);
  });

  it('a decline part-way starts only the plans whose first installment was paid, lists both groups and exits 1', () => {
    const c = clinic();
    // P-4 has a card saved from an earlier prescription; P-3 has none.
    expect(c.run('plan', 'apply', 'P-4', ACNE, '--mode', 'prescribe', '--payment-method', 'pm_card_mastercard').code).toBe(0);
    const file = c.file('cohort.csv', 'patient,payment_method\nP-1,pm_card_visa\nP-2,pm_card_chargeDeclined\nP-3\nP-4\n');
    // P-4's prescription is of the same template: starting a second plan beside it is meant here.
    const result = c.run('plan', 'apply', ACNE, '--patients-file', file, '--mode', 'start', '--yes', '--clinic', 'main', '--start', '2031-01-15', '--charge-now', '--json', '--allow-duplicate');
    expect(result.code).toBe(1);
    const out = JSON.parse(result.stdout) as BulkJson;
    const planOf = (patient: number) => out.started.find((s) => s.patient_id === patient)?.plan_id;
    expect(out.started.map((s) => s.patient_id)).toEqual([1, 4]);
    expect(out.plans).toEqual([planOf(1), planOf(4)]);
    expect(out.not_started.map((s) => s.patient_id)).toEqual([2, 3]);
    expect(out.not_started[0]!.reason).toContain('declined (generic_decline');
    expect(out.not_started[1]!.reason).toContain('no payment method');

    // The database: started plans are active with installment 1 paid; the others left nothing behind.
    const plans = query<{ id: number; patient_id: number; status: string; token: string | null }>(
      c.ws,
      'SELECT p.id, p.patient_id, p.status, m.token FROM plans p LEFT JOIN payment_methods m ON m.id = p.payment_method_id ORDER BY p.id',
    );
    const bulk = plans.filter((p) => p.id !== plans[0]!.id); // the first is P-4's earlier prescription
    expect(bulk).toEqual([
      { id: planOf(1), patient_id: 1, status: 'active', token: 'pm_card_visa' },
      { id: planOf(4), patient_id: 4, status: 'active', token: 'pm_card_mastercard' },
    ]);
    const paid = query<{ plan_id: number; status: string }>(c.ws, "SELECT plan_id, status FROM charges WHERE status = 'succeeded' ORDER BY plan_id");
    expect(paid).toEqual([
      { plan_id: planOf(1), status: 'succeeded' },
      { plan_id: planOf(4), status: 'succeeded' },
    ]);
    expect(query(c.ws, 'SELECT id FROM plans WHERE patient_id IN (2, 3)')).toEqual([]);
    expect(query(c.ws, 'SELECT s.id FROM steps s LEFT JOIN plans p ON p.id = s.plan_id WHERE p.id IS NULL')).toEqual([]);
    expect(query(c.ws, 'SELECT plan_id FROM plan_prices WHERE plan_id NOT IN (SELECT id FROM plans)')).toEqual([]);

    // The processor: each token charged for one plan only, and nothing for P-3.
    const rows = ledger(c.ws);
    expect(rows).toHaveLength(3);
    for (const [token, ids] of plansByToken(rows)) expect([token, ids.size]).toEqual([token, 1]);
    expect(rows.find((r) => r.token === 'pm_card_chargeDeclined')?.status).toBe('declined');

    // Without --json both groups are listed for a person, and the exit is still 1.
    const again = c.run('plan', 'apply', ACNE, '--patients-file', c.file('retry.csv', 'patient,payment_method\nP-2,pm_card_chargeDeclined\nP-3,pm_card_amex\n'), '--mode', 'start', '--yes', '--clinic', 'main', '--start', '2031-01-15', '--charge-now');
    expect(again.code).toBe(1);
    expect(again.stdout).toMatch(/^✔ Started 1 of 2 plans: plan \d+ for patient 3 \(MRN P-3\)/);
    expect(again.stderr).toContain('patient 2 (MRN P-2): the first installment of $249.00 was declined (generic_decline');
    expect(again.stderr).toContain('1 of 2 plans were not started');
  });

  it('the plain one-reference-per-line file uses each patient’s own saved card', () => {
    const c = clinic();
    expect(c.run('plan', 'apply', 'P-1', ACNE, '--mode', 'prescribe', '--payment-method', 'pm_card_visa').code).toBe(0);
    expect(c.run('plan', 'apply', 'P-2', ACNE, '--mode', 'prescribe', '--payment-method', 'pm_card_mastercard').code).toBe(0);
    // Both hold a prescription of the same template (it saved their cards): a second plan beside it is meant here.
    const out = c.json<BulkJson>('plan', 'apply', ACNE, '--patients-file', c.file('cohort.txt', 'P-1\nP-2 # second\n'), '--mode', 'start', '--yes', '--clinic', 'main', '--start', '2031-01-15', '--charge-now', '--allow-duplicate');
    expect(out.started.map((s) => s.patient_id)).toEqual([1, 2]);
    expect(out.not_started).toEqual([]);
    const byToken = plansByToken(ledger(c.ws));
    expect([...byToken.keys()].sort()).toEqual(['pm_card_mastercard', 'pm_card_visa']);
    for (const ids of byToken.values()) expect(ids.size).toBe(1);
  });

  it('refuses a file that gives one card to two patients, before charging anyone; a processor test card may be shared', () => {
    const c = clinic();
    const result = c.run('plan', 'apply', ACNE, '--patients-file', c.file('cohort.csv', 'P-1,pm_1QzAnnasOwnCard\nP-2,pm_1QzAnnasOwnCard\n'), '--mode', 'start', '--yes', '--clinic', 'main', '--start', '2031-01-15', '--charge-now');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('line 2: that payment method is already on line 1');
    expect(result.stderr).not.toContain('pm_1QzAnnasOwnCard');
    expect(query(c.ws, 'SELECT id FROM plans')).toEqual([]);
    expect(ledger(c.ws)).toEqual([]);
    // pm_card_visa names a kind of test card, not a person's card: each patient gets their own charge.
    const shared = c.run('plan', 'apply', ACNE, '--patients-file', c.file('test-cards.csv', 'P-1,pm_card_visa\nP-2,pm_card_visa\n'), '--mode', 'start', '--yes', '--clinic', 'main', '--start', '2031-01-15', '--charge-now', '--json');
    expect(shared.code).toBe(0);
    expect((JSON.parse(shared.stdout) as { started: unknown[] }).started).toHaveLength(2);
    expect(ledger(c.ws)).toHaveLength(2);
  });
});
