import { attemptKey } from '../domain/keys.js';
import { planIdsCondition, type Store } from './store.js';
import { settleChargesAtOnce } from './postgres/charges.js';
import { insertReturningIds } from './postgres/rows.js';
import { advisoryBillingLockHeld, releaseAdvisoryBillingLock, tryAdvisoryBillingLock } from './postgres/billing-lock.js';
import type { Attempt, BillingLockHolder, ChargeFilter, ChargeParty, ChargeRow, DeclinedStartRow, NewCharge, Settlement } from '../domain/records.js';

/**
 * Inserts the charge pending; the caller's transaction makes it durable before the processor is called.
 * Parameters are bound by position: a billing run inserts a charge per plan, and binding by name costs more than the insert.
 */
export function insertPendingCharge(store: Store, charge: NewCharge): ChargeRow {
  const { id } = store
    .statement<unknown[], { id: number }>(
      `INSERT INTO charges (plan_id, kind, installment, step_n, idempotency_key, due_date, amount_minor, currency, status, attempts, retries_allowed, gateway, payment_token, created_at, updated_at, note)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', 1, ?, ?, ?, ?, ?, ?) RETURNING id`,
    )
    .get(charge.plan_id, charge.kind, charge.installment, charge.step_n, charge.idempotency_key, charge.due_date, charge.amount_minor, charge.currency, charge.retries_allowed, charge.gateway, charge.payment_token, charge.created_at, charge.updated_at, charge.note ?? null)!;
  return pendingRow(charge, id);
}

/** The row a new charge becomes once inserted pending with id `id`. */
function pendingRow(charge: NewCharge, id: number): ChargeRow {
  return { ...charge, note: charge.note ?? null, id, status: 'pending', attempts: 1, next_attempt_on: null, hard_decline: 0, decline_code: null, decline_message: null, gateway_charge_id: null };
}

const PENDING_COLUMNS = ['plan_id', 'kind', 'installment', 'step_n', 'idempotency_key', 'due_date', 'amount_minor', 'currency', 'status', 'attempts', 'retries_allowed', 'gateway', 'payment_token', 'created_at', 'updated_at', 'note'];

/**
 * Inserts many charges pending, in order (a billing run's chunk): one
 * statement on PostgreSQL, the prepared single insert on SQLite (as fast, and
 * no round trips there).
 */
export function insertPendingCharges(store: Store, charges: readonly NewCharge[]): ChargeRow[] {
  if (store.kind !== 'postgres' || charges.length < 2) return charges.map((charge) => insertPendingCharge(store, charge));
  const rows = charges.map((charge) => pendingRow(charge, 0));
  const ids = insertReturningIds(store, 'charges', PENDING_COLUMNS, rows as unknown as readonly Record<string, unknown>[]);
  return rows.map((row, i) => ({ ...row, id: ids[i]! }));
}

/** A failed charge goes pending again for its next attempt, under that attempt's key, paid with `charge.payment_token`. */
export function beginRetry(store: Store, charge: ChargeRow, at: string): ChargeRow {
  const attempt = charge.attempts + 1;
  // The retry goes to the plan's current payment method, which may be new since the decline.
  store.statement("UPDATE charges SET status = 'pending', attempts = ?, next_attempt_on = NULL, payment_token = ?, updated_at = ? WHERE id = ? AND status = 'failed'").run(attempt, charge.payment_token, at, charge.id);
  return { ...charge, status: 'pending', attempts: attempt, next_attempt_on: null, updated_at: at };
}

/** Records the processor's answer for the charge's current attempt; only a pending charge is settled, once. */
export function settleCharge(store: Store, charge: Pick<ChargeRow, 'id'>, settlement: Settlement, at: string): boolean {
  const changed = store
    .statement(
      `UPDATE charges SET status = ?, gateway_charge_id = ?, decline_code = ?, decline_message = ?, hard_decline = ?, next_attempt_on = ?, updated_at = ?
       WHERE id = ? AND status = 'pending'`,
    )
    .run(settlement.status, settlement.gatewayChargeId, settlement.declineCode, settlement.declineMessage, settlement.hardDecline ? 1 : 0, settlement.nextAttemptOn, at, charge.id).changes;
  return changed > 0;
}

/** Settles many charges at once (each only if still pending); returns which ones it settled. */
export function settleCharges(store: Store, settled: ReadonlyArray<{ id: number; settlement: Settlement }>, at: string): Set<number> {
  if (store.kind === 'postgres' && settled.length > 1) return settleChargesAtOnce(store, settled, at);
  return new Set(settled.filter(({ id, settlement }) => settleCharge(store, { id }, settlement, at)).map(({ id }) => id));
}

export function getCharge(store: Store, id: number): ChargeRow | undefined {
  return store.statement<[number], ChargeRow>('SELECT * FROM charges WHERE id = ?').get(id);
}

export function chargesOfPlan(store: Store, planId: number): ChargeRow[] {
  return store.statement<[number], ChargeRow>('SELECT * FROM charges WHERE plan_id = ? ORDER BY id').all(planId);
}

/** Charges of a chunk of plans (ids ascending), grouped by plan, along charges_plan. */
export function chargesOfPlans(store: Store, planIds: readonly number[]): Map<number, ChargeRow[]> {
  const byPlan = new Map<number, ChargeRow[]>(planIds.map((id) => [id, []]));
  if (planIds.length === 0) return byPlan;
  const { where, params } = planIdsCondition(store, 'plan_id', planIds);
  const rows = store.statement<[Record<string, unknown>], ChargeRow>(`SELECT * FROM charges WHERE ${where} ORDER BY plan_id, id`).iterate(params);
  for (const row of rows) byPlan.get(row.plan_id)?.push(row);
  return byPlan;
}

/**
 * The installments of a chunk of plans (ids ascending) that have a charge, in
 * whatever state, by plan: read from the charges_installment index alone,
 * never the charges' rows (a forecast over many plans needs nothing more of
 * the charges already paid).
 */
export function chargedInstallmentsOfPlans(store: Store, planIds: readonly number[]): Map<number, number[]> {
  const byPlan = new Map<number, number[]>(planIds.map((id) => [id, []]));
  if (planIds.length === 0) return byPlan;
  const { where, params } = planIdsCondition(store, 'plan_id', planIds);
  const rows = store.statement<[Record<string, unknown>], { plan_id: number; installment: number }>(`SELECT plan_id, installment FROM charges WHERE kind = 'installment' AND ${where}`).iterate(params);
  for (const row of rows) byPlan.get(row.plan_id)?.push(row.installment);
  return byPlan;
}

/** Charges not yet succeeded (pending, or failed and maybe due a retry), by id, a page at a time. */
export function openCharges(store: Store, afterId: number, limit: number): ChargeRow[] {
  return store.statement<[number, number], ChargeRow>("SELECT * FROM charges WHERE status != 'succeeded' AND id > ? ORDER BY id LIMIT ?").all(afterId, limit);
}

/** No more retries for a declined charge (its program was never started). */
export function closeCharge(store: Store, id: number, at: string): void {
  store.statement("UPDATE charges SET next_attempt_on = NULL, retries_allowed = attempts - 1, updated_at = ? WHERE id = ? AND status = 'failed'").run(at, id);
}

/** A new payment method on a past-due plan: its failed charges are retried at the next run, with a fresh set of retries. */
export function rescheduleFailedCharges(store: Store, planId: number, on: string, retriesAllowed: number, at: string): number {
  return store
    .statement("UPDATE charges SET next_attempt_on = ?, retries_allowed = attempts - 1 + ?, hard_decline = 0, updated_at = ? WHERE plan_id = ? AND status = 'failed'")
    .run(on, retriesAllowed, at, planId).changes;
}

export function listCharges(store: Store, filter: ChargeFilter): ChargeRow[] {
  return store
    .statement<[Record<string, unknown>], ChargeRow>(
      `SELECT * FROM charges WHERE (@plan IS NULL OR plan_id = @plan) AND (@status IS NULL OR status = @status) AND (@since IS NULL OR due_date >= @since)
         AND (@patient IS NULL OR plan_id IN (SELECT id FROM plans WHERE patient_id = @patient))
       ORDER BY due_date, id LIMIT @limit`,
    )
    .all({ plan: filter.planId ?? null, patient: filter.patientId ?? null, status: filter.status ?? null, since: filter.since ?? null, limit: filter.limit ?? store.dialect.noLimit });
}

/**
 * Every attempt in idempotency-key order, as the processor's ledger is sorted:
 * a charge's attempt keys (key, key-attempt-2, …) sort right after its own key
 * and before any other charge's, since keys continue only with [a-z0-9] after
 * a digit and "-" sorts before those.
 */
export function* attemptsInKeyOrder(store: Store): Generator<Attempt> {
  const rows = store
    .statement<[], Pick<ChargeRow, 'idempotency_key' | 'plan_id' | 'amount_minor' | 'currency' | 'status' | 'attempts'>>(
      // A declined start's attempts reached the processor too: they are matched under the plan id they had.
      `SELECT idempotency_key, plan_id, amount_minor, currency, status, attempts FROM charges
       UNION ALL SELECT idempotency_key, removed_plan_id, amount_minor, currency, 'failed', attempts FROM declined_starts
       ORDER BY idempotency_key`,
    )
    .iterate();
  for (const row of rows) {
    const attempts = Array.from({ length: row.attempts }, (_, i) => i + 1).map((n) => ({ n, key: attemptKey(row.idempotency_key, n) }));
    attempts.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    for (const { n, key } of attempts) {
      const outcome = n < row.attempts ? 'declined' : row.status === 'failed' ? 'declined' : row.status;
      yield { idempotency_key: key, plan_id: row.plan_id, amount_minor: row.amount_minor, currency: row.currency, outcome };
    }
  }
}

/**
 * Removes a program whose first installment was declined: its steps and
 * prices go, and its declined charge moves whole to declined_starts, tied to
 * the patient — so no charge is left pointing at a plan that does not exist.
 */
export function removeUnstartedPlan(store: Store, planId: number): void {
  store
    .statement(
      `INSERT INTO declined_starts (patient_id, removed_plan_id, template, charge_id, kind, installment, idempotency_key, due_date, amount_minor, currency, attempts, decline_code, decline_message, gateway, gateway_charge_id, created_at, declined_at)
       SELECT p.patient_id, c.plan_id, p.template_id || '@' || p.template_version, c.id, c.kind, c.installment, c.idempotency_key, c.due_date, c.amount_minor, c.currency, c.attempts, c.decline_code, c.decline_message, c.gateway, c.gateway_charge_id, c.created_at, c.updated_at
       FROM charges c JOIN plans p ON p.id = c.plan_id
       WHERE c.plan_id = ? AND c.status = 'failed' AND c.kind = 'installment'`,
    )
    .run(planId);
  // The database lets a charge go only once its copy is in declined_starts (migration 10).
  store.statement('DELETE FROM charges WHERE plan_id = ? AND id IN (SELECT charge_id FROM declined_starts)').run(planId);
  store.statement('DELETE FROM steps WHERE plan_id = ?').run(planId);
  store.statement('DELETE FROM plan_prices WHERE plan_id = ?').run(planId);
  store.statement('DELETE FROM plans WHERE id = ?').run(planId);
}

export function listDeclinedStarts(store: Store, filter: { patientId?: number | undefined; since?: string | undefined }): DeclinedStartRow[] {
  return store
    .statement<[Record<string, unknown>], DeclinedStartRow>('SELECT * FROM declined_starts WHERE (@patient IS NULL OR patient_id = @patient) AND (@since IS NULL OR due_date >= @since) ORDER BY due_date, charge_id')
    .all({ patient: filter.patientId ?? null, since: filter.since ?? null });
}

/** Charges whose plan does not exist (none should: see removeUnstartedPlan), as "db check" reports them. */
export function chargesWithoutPlan(store: Store): Array<{ id: number; plan_id: number }> {
  return store.statement<[], { id: number; plan_id: number }>('SELECT id, plan_id FROM charges WHERE plan_id NOT IN (SELECT id FROM plans) ORDER BY id').all();
}

/**
 * The last day charges were made or settled (a billing run's day, UTC) and how
 * that day's charges stand, or undefined when nothing was ever charged.
 */
export function lastBillingDay(store: Store): { day: string; succeeded: number; failed: number; pending: number } | undefined {
  const rows = store
    .statement<[], { day: string; status: 'succeeded' | 'failed' | 'pending'; n: number }>(
      `SELECT substr(updated_at, 1, 10) AS day, status, count(*) AS n FROM charges
       WHERE substr(updated_at, 1, 10) = (SELECT substr(max(updated_at), 1, 10) FROM charges)
       GROUP BY substr(updated_at, 1, 10), status`,
    )
    .all();
  if (rows.length === 0) return undefined;
  const count = (status: string) => Number(rows.find((r) => r.status === status)?.n ?? 0);
  return { day: rows[0]!.day, succeeded: count('succeeded'), failed: count('failed'), pending: count('pending') };
}

export function billingLockHolder(store: Store): BillingLockHolder | undefined {
  return store.statement<[], BillingLockHolder>('SELECT pid, started_at, host, boot_id, start_ticks FROM billing_lock WHERE id = 1').get();
}

/** Takes the billing lock for `me` unless `held` says its holder still holds it; returns the holder when refused. */
export function takeBillingLock(store: Store, me: Omit<BillingLockHolder, 'started_at'>, at: string, held: (holder: BillingLockHolder) => boolean): BillingLockHolder | undefined {
  if (store.kind === 'postgres') {
    // The server knows whether a live session holds the lock; the row only names it. Asked before any
    // write transaction, so a run refused here never waits behind the running one's writes.
    store.aboutToWrite();
    if (!tryAdvisoryBillingLock(store)) return billingLockHolder(store) ?? { pid: 0, started_at: at, host: null, boot_id: null, start_ticks: null };
    store.transaction(() => writeHolder(store, me, at));
    return undefined;
  }
  return store.transaction(() => {
    const holder = billingLockHolder(store);
    const isMe = holder && holder.pid === me.pid && holder.host === me.host && holder.start_ticks === me.start_ticks;
    if (holder && !isMe && held(holder)) return holder;
    writeHolder(store, me, at);
    return undefined;
  });
}

function writeHolder(store: Store, me: Omit<BillingLockHolder, 'started_at'>, at: string): void {
  store
    .statement(
      `INSERT INTO billing_lock (id, pid, started_at, host, boot_id, start_ticks) VALUES (1, @pid, @at, @host, @boot_id, @start_ticks)
       ON CONFLICT (id) DO UPDATE SET pid = excluded.pid, started_at = excluded.started_at, host = excluded.host, boot_id = excluded.boot_id, start_ticks = excluded.start_ticks`,
    )
    .run({ pid: me.pid, at, host: me.host, boot_id: me.boot_id, start_ticks: me.start_ticks });
}

/** Whether the holder the billing_lock row names still holds the lock, as the server sees it (PostgreSQL only; undefined on SQLite). */
export function billingLockLive(store: Store): boolean | undefined {
  return store.kind === 'postgres' ? advisoryBillingLockHeld(store) : undefined;
}

/** Releases the lock if `me` still holds it (after a `billing unlock`, another run may). */
export function releaseBillingLock(store: Store, me: Omit<BillingLockHolder, 'started_at'>): void {
  if (store.kind === 'postgres') {
    store.transaction(() => {
      store.statement('DELETE FROM billing_lock WHERE id = 1 AND pid = @pid AND (host = @host OR (host IS NULL AND @host IS NULL))').run({ pid: me.pid, host: me.host });
      releaseAdvisoryBillingLock(store);
    });
    return;
  }
  store.statement('DELETE FROM billing_lock WHERE id = 1 AND pid = @pid AND (host = @host OR (host IS NULL AND @host IS NULL)) AND (start_ticks = @start_ticks OR (start_ticks IS NULL AND @start_ticks IS NULL))').run({ pid: me.pid, host: me.host, start_ticks: me.start_ticks });
}

export function deleteBillingLock(store: Store): void {
  store.statement('DELETE FROM billing_lock WHERE id = 1').run();
}

/** The payer of each charge, by charge id, in one read. */
export function chargeParties(store: Store, charges: readonly Pick<ChargeRow, 'id'>[]): Map<number, ChargeParty> {
  const parties = new Map<number, ChargeParty>();
  if (charges.length === 0) return parties;
  const rows = store
    .statement<[string], ChargeParty & { id: number }>(
      `SELECT c.id, p.patient_id, (SELECT m.customer FROM payment_methods m WHERE m.patient_id = p.patient_id AND m.token = c.payment_token) AS customer
       FROM charges c JOIN plans p ON p.id = c.plan_id WHERE c.id IN (${store.dialect.integersIn('?')})`,
    )
    .all(JSON.stringify(charges.map((c) => c.id)));
  for (const row of rows) parties.set(row.id, { patient_id: row.patient_id, customer: row.customer });
  return parties;
}
