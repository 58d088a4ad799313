import { planIdsCondition, type Store } from './store.js';
import { insertReturningIds } from './postgres/rows.js';
import { type AttachmentRow, type BillingFacts, type BillingPlanRow, MUTABLE_PLAN_COLUMNS as MUTABLE_COLUMNS, type NewPlan, type NewStep, type PlanChanges, type PlanFilter, type PlanRow, type PlanStatus, type PlanSummary, type PriceRow, type StepRow } from '../domain/records.js';

const PLAN_COLUMNS = 'patient_id, clinic_id, template_id, template_version, template_hash, template_commit, template_dirty, name, type, status, snapshot, currency, start_date, end_date, paused_on, pause_until, cancelled_on, cancel_reason, payment_method_id, service_prices, created_at, updated_at';

export function insertPlan(store: Store, plan: NewPlan): number {
  const values = PLAN_COLUMNS.split(', ').map((c) => `@${c}`).join(', ');
  return store.statement<[NewPlan], { id: number }>(`INSERT INTO plans (${PLAN_COLUMNS}) VALUES (${values}) RETURNING id`).get(plan)!.id;
}

/**
 * Inserts several new plans and returns their ids, in the order given. SQLite
 * writes them one by one with the prepared statement (no round trip to pay);
 * PostgreSQL gets them all in one statement.
 */
export function insertPlans(store: Store, plans: readonly NewPlan[]): number[] {
  if (store.kind === 'postgres') return insertReturningIds(store, 'plans', PLAN_COLUMNS.split(', '), plans as unknown as readonly Record<string, unknown>[]);
  return plans.map((plan) => insertPlan(store, plan));
}

export function getPlan(store: Store, id: number): PlanRow | undefined {
  return store.statement<[number], PlanRow>('SELECT * FROM plans WHERE id = ?').get(id);
}

/**
 * Writes the given columns of a plan if it is still at `version` (the one the
 * caller read), bumping the version. Returns false, changing nothing, when
 * someone else wrote the plan in between.
 */
export function updatePlanIf(store: Store, id: number, version: number, changes: PlanChanges, at: string): boolean {
  const columns = MUTABLE_COLUMNS.filter((c) => c in changes);
  const params: Record<string, unknown> = { id, version, updated_at: at };
  for (const c of columns) params[c] = changes[c];
  const set = [...columns.map((c) => `${c} = @${c}`), 'version = version + 1', 'updated_at = @updated_at'].join(', ');
  return store.statement(`UPDATE plans SET ${set} WHERE id = @id AND version = @version`).run(params).changes === 1;
}

/** Plan lines for lists; each filter is served by an index (plans_patient, plans_status, plans_template, plans_clinic). */
export function listPlans(store: Store, filter: PlanFilter): PlanSummary[] {
  const clauses: string[] = [];
  const params: Record<string, unknown> = { limit: filter.limit ?? store.dialect.noLimit };
  if (filter.patientId !== undefined) (clauses.push('p.patient_id = @patientId'), (params.patientId = filter.patientId));
  if (filter.status !== undefined) (clauses.push('p.status = @status'), (params.status = filter.status));
  if (filter.templateId !== undefined) (clauses.push('p.template_id = @templateId'), (params.templateId = filter.templateId));
  if (filter.clinicId !== undefined) (clauses.push('p.clinic_id = @clinicId'), (params.clinicId = filter.clinicId));
  if (filter.withPendingSteps) clauses.push("p.status IN ('active', 'past_due') AND EXISTS (SELECT 1 FROM steps s WHERE s.plan_id = p.id AND s.status = 'pending')");
  const last = filter.withPendingSteps ? ', (SELECT max(s.recommended_date) FROM steps s WHERE s.plan_id = p.id) AS last_step_date' : '';
  const sql = `SELECT p.id, p.patient_id, p.clinic_id, p.template_id, p.template_version, p.name, p.type, p.status, p.start_date, p.end_date, p.created_at,
      pt.first_name || ' ' || pt.last_name AS patient_name, pt.mrn AS patient_mrn${last}
    FROM plans p JOIN patients pt ON pt.id = p.patient_id
    ${clauses.length ? `WHERE ${clauses.join(' AND ')}` : ''}
    ORDER BY p.id LIMIT @limit`;
  return store.statement<[Record<string, unknown>], PlanSummary>(sql).all(params);
}

export function insertSteps(store: Store, planId: number, steps: readonly NewStep[]): void {
  // Nothing reads the ids back: the engine may send a plan's steps (and the next plans' ones) together.
  const sql = `INSERT INTO steps (plan_id, n, when_unit, when_value, services, alternatives, note, recommended_date, booked_at, status, completed_on, completion_note, outcome, performed)
     VALUES (@plan_id, @n, @when_unit, @when_value, @services, @alternatives, @note, @recommended_date, @booked_at, @status, @completed_on, @completion_note, @outcome, @performed)`;
  for (const step of steps) store.append(sql, { ...step, plan_id: planId });
}

export function getSteps(store: Store, planId: number): StepRow[] {
  return store.statement<[number], StepRow>('SELECT * FROM steps WHERE plan_id = ? ORDER BY n').all(planId);
}

/** Writes a step back if it is still at the version read, bumping it; false when it changed meanwhile. */
export function updateStep(store: Store, step: StepRow): boolean {
  return (
    store
      .statement(
        `UPDATE steps SET when_unit = @when_unit, when_value = @when_value, services = @services, alternatives = @alternatives, note = @note,
           recommended_date = @recommended_date, booked_at = @booked_at, status = @status, completed_on = @completed_on,
           completion_note = @completion_note, outcome = @outcome, performed = @performed, patient_note = @patient_note,
           booking_sequence = @booking_sequence, booking_changed_at = @booking_changed_at, version = version + 1
         WHERE id = @id AND version = @version`,
      )
      .run(step).changes === 1
  );
}

/** Sets the recommended date of a step still at the version read; false when it changed meanwhile. */
export function setStepDate(store: Store, step: Pick<StepRow, 'id' | 'version'>, date: string | null): boolean {
  return store.statement('UPDATE steps SET recommended_date = ?, version = version + 1 WHERE id = ? AND version = ?').run(date, step.id, step.version).changes === 1;
}

export function deleteStep(store: Store, step: Pick<StepRow, 'id' | 'version'>): boolean {
  return store.statement('DELETE FROM steps WHERE id = ? AND version = ?').run(step.id, step.version).changes === 1;
}

export function setPrice(store: Store, planId: number, fromInstallment: number, feeMinor: number): void {
  store
    .statement('INSERT INTO plan_prices (plan_id, from_installment, monthly_fee_minor) VALUES (?, ?, ?) ON CONFLICT (plan_id, from_installment) DO UPDATE SET monthly_fee_minor = excluded.monthly_fee_minor')
    .run(planId, fromInstallment, feeMinor);
}

/** The first price of a plan inserted in this transaction (nothing to replace): the engine may send it with the next plans' ones. */
export function insertPrice(store: Store, planId: number, fromInstallment: number, feeMinor: number): void {
  store.append('INSERT INTO plan_prices (plan_id, from_installment, monthly_fee_minor) VALUES (?, ?, ?)', planId, fromInstallment, feeMinor);
}

export function getPrices(store: Store, planId: number): PriceRow[] {
  return store.statement<[number], PriceRow>('SELECT from_installment, monthly_fee_minor FROM plan_prices WHERE plan_id = ? ORDER BY from_installment').all(planId);
}

export function insertAttachment(store: Store, attachment: Omit<AttachmentRow, 'id'>): number {
  return store
    .statement<[Omit<AttachmentRow, 'id'>], { id: number }>('INSERT INTO attachments (step_id, sha256, path, original_name, bytes, created_at) VALUES (@step_id, @sha256, @path, @original_name, @bytes, @created_at) RETURNING id')
    .get(attachment)!.id;
}

export function getAttachments(store: Store, planId: number): AttachmentRow[] {
  return store
    .statement<[number], AttachmentRow>('SELECT a.* FROM attachments a JOIN steps s ON s.id = a.step_id WHERE s.plan_id = ? ORDER BY a.id')
    .all(planId);
}

function billingColumns(store: Store): string {
  return `id, version, status, type, template_id, clinic_id, start_date, end_date, billing_offset_months, currency, pause_until, paused_on, cancelled_on, dues_waived, ${store.dialect.jsonNumber('snapshot', ['duration', 'months'])} AS months`;
}

/**
 * A chunk of plans for billing, `@limit` of them in id order: the plans are
 * chosen first and only the chosen ones' snapshots are read for their months
 * (however the server orders the work, it never reads a snapshot it throws away).
 */
// Archived patients are never billed: their plans are left out of every billing selection.
const NOT_ARCHIVED = 'patient_id NOT IN (SELECT id FROM patients WHERE archived_at IS NOT NULL)';

function chunkOf(store: Store, where: string): string {
  return `SELECT ${billingColumns(store)} FROM plans WHERE id IN (SELECT id FROM plans WHERE ${where} AND ${NOT_ARCHIVED} ORDER BY id LIMIT @limit) ORDER BY id`;
}

/** Of these plans, those whose patient is archived (never billed). */
export function plansOfArchivedPatients(store: Store, ids: readonly number[]): Set<number> {
  if (ids.length === 0) return new Set();
  return new Set(store.statement<[string], { id: number }>(`SELECT id FROM plans WHERE id IN (${store.dialect.integersIn('?')}) AND NOT (${NOT_ARCHIVED})`).all(JSON.stringify(ids)).map((r) => r.id));
}

/** Plans in one status after `afterId`, in id order: the status index (status, rowid) serves this directly. */
export function plansInStatus(store: Store, status: PlanStatus, afterId: number, limit: number, clinicId: string | null): BillingPlanRow[] {
  return store
    .statement<[Record<string, unknown>], BillingPlanRow>(chunkOf(store, `status = @status AND id > @afterId AND (@clinicId IS NULL OR clinic_id = @clinicId)`))
    .all({ status, afterId, clinicId, limit });
}

/**
 * Cancelled monthly plans whose dues were not waived, after `afterId`: they may
 * still owe installments that fell due before the cancellation and were never
 * charged (declined ones are found through their open charges as well).
 */
export function cancelledPlansOwing(store: Store, afterId: number, limit: number, clinicId: string | null): BillingPlanRow[] {
  return store
    .statement<[Record<string, unknown>], BillingPlanRow>(
      chunkOf(store, `status = 'cancelled' AND dues_waived = 0 AND type = 'monthly' AND id > @afterId AND (@clinicId IS NULL OR clinic_id = @clinicId)`),
    )
    .all({ afterId, clinicId, limit });
}

export function billingPlansByIds(store: Store, ids: readonly number[]): BillingPlanRow[] {
  return store.statement<[string], BillingPlanRow>(`SELECT ${billingColumns(store)} FROM plans WHERE id IN (${store.dialect.integersIn('?')}) ORDER BY id`).all(JSON.stringify(ids));
}

export function countPlansInStatus(store: Store, statuses: readonly PlanStatus[], clinicId: string | null): number {
  return store
    .statement<[Record<string, unknown>], { n: number }>(`SELECT count(*) AS n FROM plans WHERE status IN (${store.dialect.textsIn('@statuses')}) AND (@clinicId IS NULL OR clinic_id = @clinicId) AND ${NOT_ARCHIVED}`)
    .get({ statuses: JSON.stringify(statuses), clinicId })!.n;
}

/** The clinics (null: none) that plans in these statuses belong to: whose today a billing run goes by. */
export function clinicsOfPlansInStatus(store: Store, statuses: readonly PlanStatus[], clinicId: string | null): (string | null)[] {
  return store
    .statement<[Record<string, unknown>], { clinic_id: string | null }>(`SELECT DISTINCT clinic_id FROM plans WHERE status IN (${store.dialect.textsIn('@statuses')}) AND (@clinicId IS NULL OR clinic_id = @clinicId)`)
    .all({ statuses: JSON.stringify(statuses), clinicId })
    .map((r) => r.clinic_id);
}

/** A billing status change, only over the status and version the run read; false when the plan changed meanwhile. */
export function setPlanStatusIf(store: Store, plan: Pick<PlanRow, 'id' | 'version' | 'status'>, status: PlanStatus, at: string): boolean {
  return store
    .statement('UPDATE plans SET status = ?, version = version + 1, updated_at = ? WHERE id = ? AND version = ? AND status = ?')
    .run(status, at, plan.id, plan.version, plan.status).changes === 1;
}

/** The current version of each plan, read inside the transaction that is about to act on what was read before. */
export function planVersions(store: Store, ids: readonly number[]): Map<number, number> {
  const rows = store.statement<[string], { id: number; version: number }>(`SELECT id, version FROM plans WHERE id IN (${store.dialect.integersIn('?')})`).all(JSON.stringify(ids));
  return new Map(rows.map((r) => [r.id, r.version]));
}

/**
 * For a chunk of plans (ids ascending): the latest recommended step date, the
 * installment prices and the payment token, each read along an index.
 */
export function billingFacts(store: Store, ids: readonly number[]): Map<number, BillingFacts> {
  const facts = new Map<number, BillingFacts>(ids.map((id) => [id, { lastStepDate: null, pendingSteps: 0, prices: [], token: null }]));
  if (ids.length === 0) return facts;
  const byPlanId = planIdsCondition(store, 'plan_id', ids);
  for (const row of store.statement<[Record<string, unknown>], { plan_id: number; last: string | null; pending: number }>(`SELECT plan_id, max(recommended_date) AS last, sum(CASE WHEN status = 'pending' THEN 1 ELSE 0 END) AS pending FROM steps WHERE ${byPlanId.where} GROUP BY plan_id`).iterate(byPlanId.params)) {
    const fact = facts.get(row.plan_id);
    if (!fact) continue;
    fact.lastStepDate = row.last;
    fact.pendingSteps = row.pending;
  }
  for (const row of store.statement<[Record<string, unknown>], PriceRow & { plan_id: number }>(`SELECT plan_id, from_installment, monthly_fee_minor FROM plan_prices WHERE ${byPlanId.where} ORDER BY plan_id, from_installment`).iterate(byPlanId.params)) {
    facts.get(row.plan_id)?.prices.push({ from_installment: row.from_installment, monthly_fee_minor: row.monthly_fee_minor });
  }
  const plans = planIdsCondition(store, 'p.id', ids);
  for (const row of store.statement<[Record<string, unknown>], { plan_id: number; token: string }>(`SELECT p.id AS plan_id, m.token FROM plans p JOIN payment_methods m ON m.id = p.payment_method_id WHERE ${plans.where}`).iterate(plans.params)) {
    const fact = facts.get(row.plan_id);
    if (fact) fact.token = row.token;
  }
  return facts;
}
