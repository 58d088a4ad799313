import { BusyError, type FailedError } from '../errors.js';
import { holderState, thisProcess, type HolderState, type ProcessIdentity } from './lock.js';
import { formatDate, parseDate, todayIn, type PlainDate } from '../domain/dates.js';
import { formatInstant } from '../domain/instants.js';
import { resumePlan } from '../plans/lifecycle.js';
import { recordAudit } from '../store/audit.js';
import { beginRetry, chargesOfPlans, insertPendingCharges, openCharges, releaseBillingLock, takeBillingLock } from '../store/charges.js';
import { listClinics } from '../store/clinics.js';
import { billingFacts, billingPlansByIds, cancelledPlansOwing, plansOfArchivedPatients, clinicsOfPlansInStatus, countPlansInStatus, getPlan, plansInStatus, planVersions, setPlanStatusIf } from '../store/plans.js';
import { auditCharge, sendPending, type ChargingContext, type Outcome } from './charging.js';
import { chargeKey } from '../domain/keys.js';
import { assertBillingOpen } from './hold.js';
import { settlePendingRefunds } from './refunding.js';
import { needsPatient } from './gateway.js';
import { isComplete, planBilling, type BillablePlan, type BillingAction } from './plan.js';
import { billableOf } from './billable.js';
import type { ClinicToday } from './future.js';
import type { Store } from '../store/store.js';
import type { BillingPlanRow, ChargeRow, NewCharge, PlanStatus } from '../domain/records.js';

export interface RunOptions {
  /** The date to bill as of, for every clinic; default: each clinic's own today. */
  date: PlainDate | undefined;
  clinicId: string | undefined;
  dryRun: boolean;
  /** Wait this long for another run to finish; 0 refuses at once (exit 4). */
  waitMs: number;
  fallbackZone: string;
  /** Keep every charge in the report (for --json), or only those that did not go through. */
  keep: 'all' | 'unpaid';
  onProgress?: (done: number, total: number) => void;
}

export interface RunCharge {
  id: number | null;
  plan_id: number;
  kind: ChargeRow['kind'];
  installment: number | null;
  step_n: number | null;
  due_date: string;
  status: 'succeeded' | 'failed' | 'pending' | 'planned';
  amount_minor: number;
  currency: string;
  idempotency_key: string;
  decline_code: string | null;
  next_attempt_on: string | null;
  /** Why a charge stayed pending (the processor did not answer, or refused its key): only on pending charges. */
  problem?: string;
}

export interface RunReport {
  date: string;
  charged: number;
  failed: number;
  skipped: number;
  completed_plans: number;
  past_due_plans: number;
  /** Charges declined because the patient must confirm the payment themselves (SCA): the front desk calls them. */
  needs_patient: number;
  /** Running plans whose last recommended date has passed with visits still pending. */
  overdue_plans: number;
  amount_minor: number;
  charges: RunCharge[];
  /** Refunds a stopped `billing refund` left pending, settled by this run under their own keys. */
  refunds_settled?: number;
}

const CHUNK = 1000;
// Past-due and paused first: a plan an active pass makes past due is then not visited twice.
export const RUNNING: readonly PlanStatus[] = ['past_due', 'paused', 'active'];

/**
 * A billing run: plans are read a chunk at a time (the run streams; memory
 * does not grow with the number of plans), each chunk is planned by the pure
 * `planBilling`, its charges written pending in one transaction, sent to the
 * processor outside any transaction, and settled in another.
 */
export async function runBilling(ctx: ChargingContext, options: RunOptions): Promise<RunReport> {
  const { store } = ctx;
  // With per-clinic dates, the run is labelled with the workspace's own today.
  const report: RunReport = { date: formatDate(options.date ?? todayIn(options.fallbackZone, ctx.now())), charged: 0, failed: 0, skipped: 0, completed_plans: 0, past_due_plans: 0, needs_patient: 0, overdue_plans: 0, amount_minor: 0, charges: [] };
  const zones = new Map(listClinics(store).map((c) => [c.id, c.timezone]));
  const todayCache = new Map<string, PlainDate>();
  const today = (clinicId: string | null): PlainDate => {
    if (options.date) return options.date;
    const zone = (clinicId ? zones.get(clinicId) : undefined) ?? options.fallbackZone;
    let day = todayCache.get(zone);
    if (!day) todayCache.set(zone, (day = todayIn(zone, ctx.now())));
    return day;
  };

  const me = thisProcess();
  if (!options.dryRun) assertBillingOpen(store);
  if (!options.dryRun) await lock(ctx, me, options.waitMs, options.fallbackZone);
  try {
    const total = countPlansInStatus(store, RUNNING, options.clinicId ?? null);
    let done = 0;
    for (const status of RUNNING) {
      for (let after = 0; ; ) {
        const plans = plansInStatus(store, status, after, CHUNK, options.clinicId ?? null);
        if (plans.length === 0) break;
        after = plans[plans.length - 1]!.id;
        await billChunk(ctx, plans, today, options, report);
        options.onProgress?.((done += plans.length), total);
      }
    }
    // Cancelled plans may still owe installments due by their cancellation.
    for (let after = 0; ; ) {
      const plans = cancelledPlansOwing(store, after, CHUNK, options.clinicId ?? null);
      if (plans.length === 0) break;
      after = plans[plans.length - 1]!.id;
      await billChunk(ctx, plans, today, options, report);
    }
    // Charges still open on plans not visited above: an early-cancellation
    // fee to retry, or anything left pending by a run that was stopped.
    for (let after = 0; ; ) {
      const open = openCharges(store, after, CHUNK);
      if (open.length === 0) break;
      after = open[open.length - 1]!.id;
      const ids = [...new Set(open.map((c) => c.plan_id))];
      const archived = plansOfArchivedPatients(store, ids);
      const plans = billingPlansByIds(store, ids).filter((p) => !RUNNING.includes(p.status) && !owingScan(p) && !archived.has(p.id) && (!options.clinicId || p.clinic_id === options.clinicId));
      if (plans.length) await billChunk(ctx, plans, today, options, report);
    }
    if (!options.dryRun) report.refunds_settled = (await settlePendingRefunds(ctx)).filter((o) => o.refund.status !== 'pending').length;
    return report;
  } finally {
    if (!options.dryRun) releaseBillingLock(store, me);
  }
}

/** Whether the scan of cancelled plans owing dues visits the plan (the open-charges pass then leaves it alone). */
function owingScan(plan: BillingPlanRow): boolean {
  return plan.status === 'cancelled' && plan.type === 'monthly' && plan.dues_waived === 0;
}

/**
 * The todays a run goes by: with a clinic, that clinic's; otherwise each
 * clinic's that has plans to bill, and the workspace's for plans without one
 * (or when there is nothing to bill).
 */
export function billingTodays(store: Store, clinicId: string | undefined, fallbackZone: string, now: Date): ClinicToday[] {
  const zones = new Map(listClinics(store).map((c) => [c.id, c.timezone]));
  const clinics = clinicId !== undefined ? [clinicId] : clinicsOfPlansInStatus(store, RUNNING, null);
  const todays = clinics.map((clinic) => {
    const zone = (clinic !== null ? zones.get(clinic) : undefined) ?? fallbackZone;
    return { clinic: clinic !== null && zones.has(clinic) ? clinic : null, zone, today: todayIn(zone, now) };
  });
  return todays.length ? todays : [{ clinic: null, zone: fallbackZone, today: todayIn(fallbackZone, now) }];
}

/** Takes the billing lock, or says who holds it, since when (shown in `zone`). */
async function lock(ctx: ChargingContext, me: ProcessIdentity, waitMs: number, zone: string): Promise<void> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const seen: { state: HolderState } = { state: 'alive' };
    const holder = takeBillingLock(ctx.store, me, ctx.now().toISOString(), (h) => (seen.state = holderState(h, me)) !== 'stale');
    if (!holder) return;
    if (Date.now() >= deadline) {
      if (seen.state === 'unknown') {
        throw new BusyError(`Another billing run (process ${holder.pid} on ${holder.host}, started ${formatInstant(holder.started_at, zone)}) holds the lock, and a process on another computer cannot be checked from here; if no run is going on there, run "txplan billing unlock"`);
      }
      throw new BusyError(`Another billing run (process ${holder.pid}, started ${formatInstant(holder.started_at, zone)}) is working; let it finish, or rerun with --wait SECONDS`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function billChunk(ctx: ChargingContext, plans: readonly BillingPlanRow[], today: (clinicId: string | null) => PlainDate, options: RunOptions, report: RunReport): Promise<void> {
  const { store } = ctx;
  const ids = plans.map((p) => p.id);
  const charges = chargesOfPlans(store, ids);
  const facts = billingFacts(store, ids);
  // A pause planned to end (plan pause --until) ends at the first run on or after that date.
  if (!options.dryRun) plans = plans.map((plan) => resumeIfDue(ctx, plan, today(plan.clinic_id)));
  const byId = new Map(plans.map((p) => [p.id, p]));
  // The billing plan's view of each plan, built once: planned now, asked again about completion after settling.
  const billables = new Map(plans.map((p) => [p.id, billableOf(p, facts.get(p.id)!)]));
  const actions: BillingAction[] = [];
  for (const plan of plans) actions.push(...planBilling(billables.get(plan.id)!, charges.get(plan.id) ?? [], today(plan.clinic_id)));
  const chargeById = new Map([...charges.values()].flat().map((c) => [c.id, c]));
  report.overdue_plans += actions.filter((a) => a.kind === 'overdue').length;

  if (options.dryRun) {
    for (const action of actions) {
      if (action.kind === 'overdue') continue;
      if (action.kind === 'skip') report.skipped++;
      else if (action.kind === 'complete') report.completed_plans++;
      else if (action.kind === 'charge') report.charges.push(planned(ctx.databaseId, byId.get(action.planId)!, action));
      else report.charges.push({ ...runCharge(chargeById.get(action.chargeId)!), status: 'planned' });
    }
    return;
  }

  const at = ctx.now().toISOString();
  const pending: ChargeRow[] = [];
  store.transaction(() => {
    // The plans were read before this transaction: one changed since (cancelled, paused, edited) is left for the next run.
    const versions = planVersions(store, ids);
    // New charges are written together (one statement on a server), before anything else that is audited, in order.
    let created: NewCharge[] = [];
    const insertCreated = () => {
      if (created.length === 0) return;
      for (const charge of insertPendingCharges(store, created)) {
        auditCharge(ctx, 'charge.created', charge, at);
        pending.push(charge);
      }
      created = [];
    };
    for (const action of actions) {
      const plan = byId.get(action.planId)!;
      // A charge already sent is still asked about: the same key only replays what the processor did.
      if (action.kind !== 'settle' && versions.get(plan.id) !== plan.version) continue;
      if (action.kind !== 'charge' && action.kind !== 'overdue' && action.kind !== 'skip') insertCreated();
      switch (action.kind) {
        case 'overdue':
          break;
        case 'skip':
          report.skipped++;
          break;
        case 'settle':
          pending.push(chargeById.get(action.chargeId)!);
          break;
        case 'charge':
          created.push({
            plan_id: plan.id,
            kind: 'installment',
            installment: action.installment,
            step_n: null,
            idempotency_key: chargeKey(ctx.databaseId, { kind: 'installment', planId: plan.id, installment: action.installment }),
            due_date: action.dueDate,
            amount_minor: action.amountMinor,
            currency: plan.currency,
            retries_allowed: ctx.retryDays.length,
            gateway: ctx.gateway.name,
            payment_token: facts.get(plan.id)!.token!,
            created_at: at,
            updated_at: at,
          });
          break;
        case 'retry': {
          const token = facts.get(plan.id)!.token ?? chargeById.get(action.chargeId)!.payment_token;
          const retry = beginRetry(store, { ...chargeById.get(action.chargeId)!, payment_token: token }, at);
          auditCharge(ctx, 'charge.retried', retry, at);
          pending.push(retry);
          break;
        }
        case 'complete':
          if (!setPlanStatusIf(store, plan, 'completed', at)) break;
          recordAudit(store, { at, actor: ctx.actor, action: 'plan.complete', entity: 'plan', entityId: plan.id, before: { status: plan.status }, after: { status: 'completed' } });
          report.completed_plans++;
          break;
      }
    }
    insertCreated();
  });
  if (pending.length === 0) return;
  // Only a plan these charges would finish, if paid, is looked at again once the answers are in.
  const paying = new Map<number, ChargeRow[]>();
  for (const charge of pending) {
    const sent = paying.get(charge.plan_id);
    if (sent) sent.push(charge);
    else paying.set(charge.plan_id, [charge]);
  }
  const candidates = new Set<number>();
  for (const [id, sent] of paying) {
    const plan = byId.get(id)!;
    if (plan.status !== 'active') continue;
    const assumed = [...(charges.get(id) ?? []).filter((c) => !sent.some((s) => s.id === c.id)), ...sent.map((c) => ({ ...c, status: 'succeeded' as const }))];
    if (isComplete(billables.get(id)!, assumed, today(plan.clinic_id))) candidates.add(id);
  }
  const completing = (outcomes: readonly Outcome[]) => completeSettled(ctx, outcomes, candidates, byId, billables, today, report);
  const outcomes = await sendPending(ctx, pending, (charge) => today(byId.get(charge.plan_id)?.clinic_id ?? null), completing);
  for (const outcome of outcomes) record(report, outcome, options.keep);
}

/**
 * Completion decided on the charges as settled, inside the transaction that
 * settles them: a plan whose last installment this run paid completes in this
 * run. Only over the version the run read — a plan completed, made past due,
 * cancelled or edited since is left as it is.
 */
function completeSettled(ctx: ChargingContext, outcomes: readonly Outcome[], candidates: ReadonlySet<number>, byId: ReadonlyMap<number, BillingPlanRow>, billables: ReadonlyMap<number, BillablePlan>, today: (clinicId: string | null) => PlainDate, report: RunReport): void {
  if (candidates.size === 0) return;
  const ids = [...new Set(outcomes.filter((o) => o.charge.status === 'succeeded' && candidates.has(o.charge.plan_id)).map((o) => o.charge.plan_id))];
  if (ids.length === 0) return;
  const versions = planVersions(ctx.store, ids);
  const charges = chargesOfPlans(ctx.store, ids);
  const at = ctx.now().toISOString();
  for (const id of ids) {
    const plan = byId.get(id)!;
    if (versions.get(id) !== plan.version) continue;
    if (!isComplete(billables.get(id)!, charges.get(id) ?? [], today(plan.clinic_id))) continue;
    if (!setPlanStatusIf(ctx.store, plan, 'completed', at)) continue;
    recordAudit(ctx.store, { at, actor: ctx.actor, action: 'plan.complete', entity: 'plan', entityId: id, before: { status: plan.status }, after: { status: 'completed' } });
    report.completed_plans++;
  }
}

function resumeIfDue(ctx: ChargingContext, plan: BillingPlanRow, today: PlainDate): BillingPlanRow {
  if (plan.status !== 'paused' || !plan.pause_until || plan.pause_until > formatDate(today)) return plan;
  const current = getPlan(ctx.store, plan.id);
  if (!current || current.version !== plan.version) return plan; // changed since read: the version check below skips it
  let resumed;
  try {
    resumed = resumePlan(ctx.store, current, { today: parseDate(plan.pause_until)! }, { actor: ctx.actor, now: ctx.now() });
  } catch (error) {
    if ((error as FailedError).code === 'conflict') return plan;
    throw error;
  }
  return { ...plan, version: resumed.version, status: resumed.status, end_date: resumed.end_date, billing_offset_months: resumed.billing_offset_months, pause_until: null };
}

function record(report: RunReport, outcome: Outcome, keep: RunOptions['keep']): void {
  const charge = outcome.charge;
  // With a hundred thousand charges in a run, the report keeps only what will be printed.
  if (keep === 'all' || charge.status !== 'succeeded') report.charges.push(outcome.result.status === 'error' && charge.status === 'pending' ? { ...runCharge(charge), problem: outcome.result.message } : runCharge(charge));
  if (charge.status === 'succeeded') {
    report.charged++;
    report.amount_minor += charge.amount_minor;
  } else report.failed++;
  if (charge.status === 'failed' && needsPatient(charge.decline_code)) report.needs_patient++;
  if (outcome.pastDue) report.past_due_plans++;
}

function runCharge(charge: ChargeRow): RunCharge {
  return {
    id: charge.id,
    plan_id: charge.plan_id,
    kind: charge.kind,
    installment: charge.installment,
    step_n: charge.step_n,
    due_date: charge.due_date,
    status: charge.status,
    amount_minor: charge.amount_minor,
    currency: charge.currency,
    idempotency_key: charge.idempotency_key,
    decline_code: charge.decline_code,
    next_attempt_on: charge.next_attempt_on,
  };
}

function planned(databaseId: string, plan: BillingPlanRow, action: Extract<BillingAction, { kind: 'charge' }>): RunCharge {
  return { id: null, plan_id: plan.id, kind: 'installment', installment: action.installment, step_n: null, due_date: action.dueDate, status: 'planned', amount_minor: action.amountMinor, currency: plan.currency, idempotency_key: chargeKey(databaseId, { kind: 'installment', planId: plan.id, installment: action.installment }), decline_code: null, next_attempt_on: null };
}

