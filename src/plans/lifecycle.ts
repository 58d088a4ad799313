import type { Template } from '../generated/schema-types.js';
import { FailedError } from '../errors.js';
import { addDays, addMonths, daysBetween, endDate, formatDate, parseDate, recommendedDate, type PlainDate } from '../domain/dates.js';
import { chargesOfPlan, rescheduleFailedCharges } from '../store/charges.js';
import { contentHash, diff, nextInstallment, planEndDate, refusal, resumeOffset, stepsFor, type Change, type PlanAction } from '../domain/plan.js';
import { minorOf } from '../domain/pricing.js';
import { latestAudit, recordAudit } from '../store/audit.js';
import { clinicZone } from '../store/clinics.js';
import { formatInstant } from '../domain/instants.js';
import { templateReference } from '../domain/versions.js';
import { savePaymentMethod } from '../store/payment-methods.js';
import { deleteStep, getPlan, getPrices, getSteps, insertSteps, setPrice, setStepDate, updatePlanIf, updateStep } from '../store/plans.js';
import type { Store } from '../store/store.js';
import type { Clinic, NewStep, PlanChanges, PlanRow, SavedPaymentMethod, StepRow } from '../domain/records.js';

export interface Actor {
  actor: string;
  now: Date;
}

/** Refuses an action the plan's status does not allow, changing nothing. */
export function assertAllowed(plan: PlanRow, action: PlanAction, verb: string = action): void {
  const reason = refusal(action, plan.status);
  if (reason) throw new FailedError(`Cannot ${verb} plan ${plan.id}: ${reason}`, 'illegal_transition');
}

/** How a command that read a plan describes the moment it was changed under it. */
export type While = 'editing' | 'working';

/**
 * The refusal when a plan changed between the read and the write: what
 * happened to it, who did it and when, from the audit. Thrown inside the
 * write's transaction, so nothing of the write is kept.
 */
export function changedMeanwhile(store: Store, planId: number, during: While = 'working'): FailedError {
  const last = latestAudit(store, 'plan', planId);
  const meanwhile = during === 'editing' ? 'while you were editing' : 'after this command read it';
  if (!last) return new FailedError(`Plan ${planId} was changed by someone else ${meanwhile}; nothing was saved. Look at it again ("txplan plan show ${planId}") and retry`, 'conflict');
  // In the plan's clinic's zone; a plan with no clinic yet is told in UTC (the store does not know the workspace's zone).
  const at = formatInstant(last.at, clinicZone(store, getPlan(store, planId)?.clinic_id ?? null, 'UTC'));
  return new FailedError(`Plan ${planId} was ${whatHappened(last.action, last.after)} by ${last.actor} at ${at} ${meanwhile}; nothing was saved`, 'conflict');
}

function whatHappened(action: string, after: unknown): string {
  const detail = (after ?? {}) as { template?: string; step?: number; status?: string };
  switch (action) {
    case 'plan.cancel': return 'cancelled';
    case 'plan.pause': return 'paused';
    case 'plan.resume': return 'resumed';
    case 'plan.start': return 'started';
    case 'plan.start_declined': return 'put back to prescribed (its first installment was declined)';
    case 'plan.payment': return 'given a new payment method';
    case 'plan.edit': return 'edited';
    case 'plan.rollout': return `rolled out to ${detail.template ? templateReference(detail.template) : 'a newer template version'}`;
    case 'plan.past_due': return 'made past due';
    case 'plan.complete': return 'completed';
    case 'plan.step': return `changed (step ${detail.step ?? '?'} marked ${detail.status ?? 'recorded'})`;
    case 'plan.book': return `changed (step ${detail.step ?? '?'} booked)`;
    case 'plan.book_clear': return `changed (the booking of step ${detail.step ?? '?'} removed)`;
    case 'plan.step_amend': return `changed (step ${detail.step ?? '?'} amended)`;
    case 'plan.step_undo': return `changed (step ${detail.step ?? '?'} returned to pending)`;
    default: return 'changed';
  }
}

/**
 * Writes the columns an action owns and its audit entry in one transaction,
 * only if the plan is still the version that was read; otherwise refuses.
 */
function save(store: Store, before: PlanRow, changes: PlanChanges, action: string, who: Actor, extra?: Record<string, unknown>, during: While = 'working'): PlanRow {
  const at = who.now.toISOString();
  const changed: PlanRow = { ...before, ...changes, version: before.version + 1, updated_at: at };
  store.transaction(() => {
    if (!updatePlanIf(store, before.id, before.version, changes, at)) throw changedMeanwhile(store, before.id, during);
    recordAudit(store, { at, actor: who.actor, action, entity: 'plan', entityId: before.id, before: summary(before), after: { ...summary(changed), ...extra } });
  });
  return changed;
}

/** Moves steps' recommended dates, each only if unchanged since it was read. */
function redate(store: Store, planId: number, steps: ReadonlyArray<{ step: StepRow; date: string | null }>, during: While = 'working'): void {
  for (const { step, date } of steps) {
    if (date !== step.recommended_date && !setStepDate(store, step, date)) throw changedMeanwhile(store, planId, during);
  }
}

/** What the audit log keeps of a plan: its state, not its whole snapshot. */
function summary(plan: PlanRow) {
  return {
    status: plan.status,
    template: `${plan.template_id}@${plan.template_version}`,
    clinic_id: plan.clinic_id,
    start_date: plan.start_date,
    end_date: plan.end_date,
    paused_on: plan.paused_on,
    pause_until: plan.pause_until,
    cancelled_on: plan.cancelled_on,
    cancel_reason: plan.cancel_reason,
    payment_method_id: plan.payment_method_id,
  };
}

/** Prescribed → active: dates from the start, a clinic, and for paid plans a payment method. */
export function startPlan(store: Store, plan: PlanRow, input: { clinic: Clinic; start: PlainDate; paymentMethodId: number | null }, who: Actor): PlanRow {
  assertAllowed(plan, 'start');
  const snapshot = JSON.parse(plan.snapshot) as Template;
  const start = formatDate(input.start);
  const changes: PlanChanges = { status: 'active', clinic_id: input.clinic.id, start_date: start, end_date: planEndDate(snapshot, start), payment_method_id: input.paymentMethodId ?? plan.payment_method_id };
  const dated = new Map(stepsFor(snapshot, input.start).map((s) => [s.n, s.recommended_date]));
  return store.transaction(() => {
    redate(store, plan.id, getSteps(store, plan.id).map((step) => ({ step, date: dated.get(step.n) ?? step.recommended_date })));
    return save(store, plan, changes, 'plan.start', who);
  });
}

/**
 * Undoes a start whose first installment was declined: the plan is prescribed
 * again, without dates. Only over the start itself (the version it made).
 */
export function unstartPlan(store: Store, before: PlanRow, started: PlanRow, who: Actor): void {
  const restored: PlanChanges = { status: before.status, clinic_id: before.clinic_id, start_date: before.start_date, end_date: before.end_date, payment_method_id: before.payment_method_id };
  if (!updatePlanIf(store, started.id, started.version, restored, who.now.toISOString())) throw changedMeanwhile(store, started.id);
  redate(store, started.id, getSteps(store, started.id).map((step) => ({ step, date: null })));
}

export function pausePlan(store: Store, plan: PlanRow, input: { today: PlainDate; until: PlainDate | undefined }, who: Actor): PlanRow {
  assertAllowed(plan, 'pause');
  if (input.until && formatDate(input.until) <= formatDate(input.today)) throw new FailedError(`--until ${formatDate(input.until)} is not after today (${formatDate(input.today)}); give a later date or leave it out`, 'invalid_date');
  return save(store, plan, { status: 'paused', paused_on: formatDate(input.today), pause_until: input.until ? formatDate(input.until) : null }, 'plan.pause', who);
}

/**
 * Paused → active. What is still ahead moves back by the pause: for a monthly
 * plan the unpaid installments continue from the next 1st (SPEC §5), so its
 * pending steps and end date move by the same whole months; a pay-as-you-go
 * plan moves by the days paused.
 */
export function resumePlan(store: Store, plan: PlanRow, input: { today: PlainDate }, who: Actor): PlanRow {
  assertAllowed(plan, 'resume');
  const pausedOn = parseDate(plan.paused_on!)!;
  let changes: PlanChanges;
  let shift: (date: string | null) => string | null;
  let moved: Record<string, number>;
  if (plan.type === 'monthly') {
    const installments = (JSON.parse(plan.snapshot) as Template).duration.months ?? 0;
    const months = resumeOffset({ start_date: plan.start_date, billing_offset_months: plan.billing_offset_months, fees: new Array<number>(installments).fill(0) }, chargesOfPlan(store, plan.id), input.today);
    shift = (date) => (date ? formatDate(addMonths(parseDate(date)!, months)) : date);
    changes = { billing_offset_months: plan.billing_offset_months + months };
    moved = { paused_months: months };
  } else {
    const days = Math.max(0, daysBetween(pausedOn, input.today));
    shift = (date) => (date ? formatDate(addDays(parseDate(date)!, days)) : date);
    changes = {};
    moved = { paused_days: days };
  }
  changes = { ...changes, status: 'active', paused_on: null, pause_until: null, end_date: shift(plan.end_date) };
  return store.transaction(() => {
    const moving = getSteps(store, plan.id).filter((step) => step.status === 'pending' && step.recommended_date && step.recommended_date >= plan.paused_on!);
    redate(store, plan.id, moving.map((step) => ({ step, date: shift(step.recommended_date) })));
    return save(store, plan, changes, 'plan.resume', who, moved);
  });
}

/**
 * Active, paused or past due → cancelled. What was due by today and not paid
 * stays owed (the billing run charges it) unless `waiveDue`; the audit names
 * what was owed or waived, and who did it.
 */
export function cancelPlan(
  store: Store,
  plan: PlanRow,
  input: { today: PlainDate; reason: string; waiveFee: boolean; waiveDue?: boolean; dues?: { installments: number[]; steps: number[]; amount_minor: number } },
  who: Actor,
): PlanRow {
  assertAllowed(plan, 'cancel');
  const waiveDue = input.waiveDue ?? false;
  const dues = input.dues && (input.dues.installments.length > 0 || input.dues.steps.length > 0) ? { [waiveDue ? 'dues_waived' : 'dues_owed']: input.dues } : {};
  return save(store, plan, { status: 'cancelled', cancelled_on: formatDate(input.today), cancel_reason: input.reason, dues_waived: waiveDue ? 1 : 0 }, 'plan.cancel', who, { waive_fee: input.waiveFee, waive_due: waiveDue, ...dues });
}

/**
 * A new payment method. On a past-due plan it also brings the plan back:
 * active again, its declined charges retried at the next run with a fresh
 * set of retries (SPEC §5).
 */
export function setPaymentMethod(store: Store, plan: PlanRow, payment: SavedPaymentMethod, input: { today: PlainDate; retries: number }, who: Actor): PlanRow {
  assertAllowed(plan, 'payment', 'change the payment method of');
  let after = plan;
  store.transaction(() => {
    const id = savePaymentMethod(store, { patient_id: plan.patient_id, ...payment, created_at: who.now.toISOString() });
    const reactivate = plan.status === 'past_due';
    if (reactivate) rescheduleFailedCharges(store, plan.id, formatDate(input.today), input.retries, who.now.toISOString());
    after = save(store, plan, { payment_method_id: id, ...(reactivate ? { status: 'active' as const } : {}) }, 'plan.payment', who, { brand: payment.brand, last4: payment.last4, ...(reactivate ? { retry_on: formatDate(input.today) } : {}) });
  });
  return after;
}

export interface Revision {
  plan: PlanRow;
  changes: Change[];
  steps: Array<{ n: number; change: 'added' | 'removed' | 'changed'; before?: string; after?: string }>;
  price?: { fromInstallment: number; beforeMinor: number | undefined; afterMinor: number };
}

/**
 * Gives a plan new content (an edit, or a rollout to a newer template
 * version). Steps already done or skipped stay as they were; pending ones
 * follow the new schedule; a new monthly fee applies from the next installment.
 * Returns what would change; writes only when `write` is true.
 */
export function revisePlan(
  store: Store,
  plan: PlanRow,
  next: Template,
  input: {
    today: PlainDate;
    currency: string;
    action: 'plan.edit' | 'plan.rollout';
    source?: { version: number; hash: string; commit: string | null; dirty: boolean | null };
    /** Catalog prices of the new content's services; those the plan already has keep their frozen price. */
    servicePrices: Record<string, number>;
    write: boolean;
  },
  who: Actor,
): Revision {
  assertAllowed(plan, input.action === 'plan.edit' ? 'edit' : 'rollout', input.action === 'plan.edit' ? 'edit' : 'roll out');
  const current = JSON.parse(plan.snapshot) as Template;
  const start = plan.start_date ? parseDate(plan.start_date)! : undefined;
  // Days a pause added to the plan, kept when its dates are recomputed.
  const shiftDays = start && plan.end_date ? daysBetween(endDate(start, current.duration), parseDate(plan.end_date)!) : 0;
  const dateOf = (when: Template['schedule'][number]['when']) => (start ? formatDate(addDays(recommendedDate(start, when), shiftDays)) : null);

  const existing = getSteps(store, plan.id);
  const fresh = stepsFor(next, undefined);
  const stepChanges: Revision['steps'] = [];
  const updates: StepRow[] = [];
  const removals: StepRow[] = [];
  const additions: NewStep[] = [];
  const label = (services: string, when: string) => `${when}: ${(JSON.parse(services) as string[]).join(' + ')}`;
  for (let n = 1; n <= Math.max(existing.length, fresh.length); n++) {
    const old = existing.find((s) => s.n === n);
    const entry = fresh[n - 1];
    if (old && old.status !== 'pending') continue; // history is not rewritten
    const when = entry ? next.schedule[n - 1]!.when : undefined;
    if (old && !entry) {
      removals.push(old);
      stepChanges.push({ n, change: 'removed', before: label(old.services, `${old.when_unit} ${old.when_value}`) });
    } else if (!old && entry) {
      additions.push({ ...entry, recommended_date: dateOf(when!) });
      stepChanges.push({ n, change: 'added', after: label(entry.services, `${entry.when_unit} ${entry.when_value}`) });
    } else if (old && entry) {
      const updated: StepRow = { ...old, when_unit: entry.when_unit, when_value: entry.when_value, services: entry.services, alternatives: entry.alternatives, note: entry.note, recommended_date: dateOf(when!) };
      if (JSON.stringify(updated) !== JSON.stringify(old)) {
        updates.push(updated);
        const before = label(old.services, `${old.when_unit} ${old.when_value}`);
        const after = label(entry.services, `${entry.when_unit} ${entry.when_value}`);
        stepChanges.push({ n, change: 'changed', before, after: before === after ? `${after} (note or date)` : after });
      }
    }
  }

  let price: Revision['price'];
  if (next.type === 'monthly' && next.pricing) {
    const fee = minorOf(next.pricing.monthly_fee, input.currency);
    const prices = getPrices(store, plan.id);
    const months = next.duration.months ?? 0;
    // From the first installment neither due yet nor already charged (installment 1 is charged at the start).
    const charged = chargesOfPlan(store, plan.id).filter((c) => c.kind === 'installment').map((c) => c.installment ?? 0);
    const from = start && plan.status !== 'prescribed' ? Math.max(nextInstallment(start, input.today, months, plan.billing_offset_months), Math.max(0, ...charged) + 1) : 1;
    const currentFee = prices.filter((p) => p.from_installment <= from).at(-1)?.monthly_fee_minor;
    if (currentFee !== fee && from <= months) price = { fromInstallment: from, beforeMinor: currentFee, afterMinor: fee };
  }

  const endDateNext = start ? formatDate(addDays(endDate(start, next.duration), shiftDays)) : null;
  const changes: PlanChanges = {
    name: next.name,
    snapshot: JSON.stringify(next),
    end_date: endDateNext,
    service_prices: JSON.stringify({ ...input.servicePrices, ...(JSON.parse(plan.service_prices) as Record<string, number>) }),
    ...(input.source ? { template_version: input.source.version, template_hash: input.source.hash, template_commit: input.source.commit, template_dirty: input.source.dirty === null ? null : input.source.dirty ? 1 : 0 } : {}),
  };
  const revision: Revision = { plan: { ...plan, ...changes }, changes: diff(current, next), steps: stepChanges, ...(price ? { price } : {}) };
  if (!input.write) return revision;

  const during: While = input.action === 'plan.edit' ? 'editing' : 'working';
  store.transaction(() => {
    // Every step write names the version read above: a step recorded or booked meanwhile refuses the whole revision.
    for (const step of removals) if (!deleteStep(store, step)) throw changedMeanwhile(store, plan.id, during);
    for (const step of updates) if (!updateStep(store, step)) throw changedMeanwhile(store, plan.id, during);
    if (additions.length) insertSteps(store, plan.id, additions);
    if (price) setPrice(store, plan.id, price.fromInstallment, price.afterMinor);
    revision.plan = save(store, plan, changes, input.action, who, {
      changes: revision.changes.map((c) => c.path),
      steps: stepChanges.map((s) => `${s.n} ${s.change}`),
      ...(price ? { price_from_installment: price.fromInstallment, price_minor: price.afterMinor } : {}),
    }, during);
  });
  return revision;
}

/** Whether the plan's content is still exactly the template version it came from. */
export function isCustomised(plan: PlanRow): boolean {
  return contentHash(JSON.parse(plan.snapshot)) !== plan.template_hash;
}
