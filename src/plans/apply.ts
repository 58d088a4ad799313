import type { Template } from '../generated/schema-types.js';
import { FailedError } from '../errors.js';
import { formatDate, type PlainDate } from '../domain/dates.js';
import { canonicalJson, contentHash, planEndDate, stepsFor } from '../domain/plan.js';
import { isPositive, minorOf, missingPrices, servicePrices } from '../domain/pricing.js';
import type { Registry, LoadedTemplate } from '../registry/registry.js';
import { fileProvenance } from '../registry/git.js';
import { insertPlans, insertPrice, insertSteps, listPlans } from '../store/plans.js';
import { savePaymentMethod } from '../store/payment-methods.js';
import { recordAudit } from '../store/audit.js';
import type { Store } from '../store/store.js';
import type { Clinic, NewPlan, Patient, PlanRow, PlanStatus, SavedPaymentMethod } from '../domain/records.js';

export type ApplyMode = 'start' | 'prescribe';

/** Plans written by one statement on PostgreSQL (their steps and audit entries follow, held and sent together). */
const PLAN_BATCH = 1000;

export interface ApplyRequest {
  registry: Registry;
  source: LoadedTemplate;
  /** The customised content, already checked. */
  snapshot: Template;
  patients: readonly Patient[];
  mode: ApplyMode;
  clinic: Clinic | undefined;
  start: PlainDate | undefined;
  /** Each patient's own payment method, by patient id: never one card for several patients. */
  payments: ReadonlyMap<number, SavedPaymentMethod>;
  actor: string;
  now: Date;
  onProgress?: (done: number, total: number) => void;
}

/** Whether starting the plan takes money, so needs a payment method first (an amount of 0 is free in every currency). */
export function isPaid(snapshot: Template, registry: Registry): boolean {
  if (snapshot.type === 'monthly') return snapshot.pricing !== undefined && isPositive(snapshot.pricing.monthly_fee);
  return snapshot.schedule.some((entry) => entry.services.some((id) => {
    const service = registry.services.get(id);
    return service !== undefined && !service.complimentary && isPositive(service.price);
  }));
}

/** A draft is not ready for patients: refused wherever a template would give a plan content. */
export function refuseDraft(template: Template): void {
  if (template.status === 'draft') {
    throw new FailedError(`Template "${template.id}" is a draft and cannot be applied yet; when it is ready, run "txplan template status ${template.id} active"`, 'draft');
  }
}

/** Refusals that hold whatever the patient: draft and retired templates, clinic limits, a missing clinic or payment. */
export function checkApplicable(request: Pick<ApplyRequest, 'source' | 'snapshot' | 'mode' | 'clinic' | 'payments' | 'patients' | 'registry'>): void {
  const { template } = request.source;
  refuseDraft(template);
  if (request.clinic?.archived_at) throw new FailedError(`Clinic "${request.clinic.id}" is archived and takes no new plans; pick another ("txplan clinic list") or bring it back with "txplan clinic unarchive ${request.clinic.id}"`, 'clinic_archived');
  refuseUnpriced(request.clinic, request.snapshot, template, request.registry);
  if (template.status === 'retired') throw new FailedError(`Template "${template.id}" is retired and cannot start new plans; pick an active template ("txplan template list")`, 'retired');
  if (request.clinic && template.clinics && !template.clinics.includes(request.clinic.id)) {
    throw new FailedError(`Template "${template.id}" is offered only at ${template.clinics.join(', ')}, not at ${request.clinic.id}; choose one of those clinics`, 'clinic_not_offered');
  }
  if (request.mode === 'start') {
    if (!request.clinic) throw new FailedError('Starting a program needs a clinic; add --clinic ID ("txplan clinic list" shows them)', 'clinic_required');
    // Several patients: one without a payment method is simply not started (and listed); none having one is refused here.
    const missing = request.patients.length > 1 ? request.payments.size === 0 : !request.patients.every((p) => request.payments.has(p.id));
    if (isPaid(request.snapshot, request.registry) && missing) {
      throw new FailedError(
        request.patients.length > 1
          ? `"${template.id}" is a paid plan and each patient needs their own payment method to start it, but none of these patients has one; add a payment_method column to the patients file (lines "patient,payment_method"), or apply with --mode prescribe and "txplan plan start" each plan with its patient's token`
          : `"${template.id}" is a paid plan: it cannot start without a payment method; add --payment-method pm_… (a processor token), or apply with --mode prescribe`,
        'payment_required',
      );
    }
  }
}

/** The currency a plan at `clinic` is sold in: the clinic's own, else the workspace's. */
export function saleCurrency(clinic: Clinic | undefined, registry: Registry): string {
  return clinic?.currency ?? registry.settings.currency;
}

/**
 * A plan is sold in its clinic's currency and prices are never converted:
 * a template (or the catalog) without a price in that currency is refused,
 * naming the template, the clinic, the currency and what lacks a price.
 */
export function refuseUnpriced(clinic: Clinic | undefined, snapshot: Template, template: Template, registry: Registry): void {
  const currency = saleCurrency(clinic, registry);
  const workspace = registry.settings.currency;
  if (currency === workspace) return;
  const missing = missingPrices(snapshotIn(snapshot, template, currency, workspace), registry.services, { currency, workspace, plain: currency });
  if (missing.length === 0) return;
  const fee = template.pricing?.monthly_fee;
  const example = fee !== undefined && typeof fee !== 'object' && missing.includes('the monthly fee') ? ` (e.g. monthly_fee: {${workspace}: "${fee}", ${currency}: "…"} in templates/${template.id}.yaml)` : '';
  throw new FailedError(
    `Template "${template.id}" has no ${currency} price for ${listed(missing)}, so it cannot be sold at clinic "${clinic!.id}", which sells in ${currency}; prices are never converted: add ${currency} prices beside the ${workspace} ones${example}, or apply it at a clinic that sells in ${workspace}`,
    'currency_unpriced',
  );
}

/**
 * Why `next` — a newer template version (its single amounts in the workspace
 * currency) or a plan's edited content (in the plan's own, `plain`) — cannot
 * be priced in the currency `plan` was sold in, or undefined.
 */
export function unpricedFor(plan: Pick<PlanRow, 'id' | 'currency'>, next: Template, registry: Registry, plain: string, what: string): string | undefined {
  const workspace = registry.settings.currency;
  const missing = missingPrices(next, registry.services, { currency: plan.currency, workspace, plain });
  if (missing.length === 0) return undefined;
  return `plan ${plan.id} was sold in ${plan.currency}, but ${what} has no ${plan.currency} price for ${listed(missing)} and prices are never converted; add ${plan.currency} prices beside the ${workspace} ones`;
}

function listed(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}

/**
 * A plan's content as it is stored, its single amounts in the currency it is
 * sold in: amounts by currency are kept as they are (the plan reads its own),
 * a single amount from the template (in the workspace currency) is dropped
 * when the plan is sold in another — refuseUnpriced says so first — and a
 * single amount given for this plan (--set, --edit) is taken as the sale
 * currency's.
 */
export function snapshotIn(snapshot: Template, template: Template, currency: string, workspace: string): Template {
  if (currency === workspace) return snapshot;
  const fromTemplate = (value: unknown, original: unknown) => typeof value !== 'object' && canonicalJson(value ?? null) === canonicalJson(original ?? null);
  const next = structuredClone(snapshot);
  if (next.pricing && fromTemplate(next.pricing.monthly_fee, template.pricing?.monthly_fee)) next.pricing.monthly_fee = {};
  if (next.cancellation?.early_fee !== undefined && fromTemplate(next.cancellation.early_fee, template.cancellation?.early_fee)) next.cancellation.early_fee = {};
  return next;
}

/** What every plan of one application shares, worked out once (git provenance included). */
export interface Application {
  request: ApplyRequest;
  base: Omit<NewPlan, 'patient_id' | 'payment_method_id'>;
  steps: ReturnType<typeof stepsFor>;
  fee: number | undefined;
}

export async function prepareApplication(request: ApplyRequest): Promise<Application> {
  checkApplicable(request);
  const { source, snapshot, registry, mode } = request;
  const provenance = await fileProvenance(source.file);
  const at = request.now.toISOString();
  const startDate = mode === 'start' ? formatDate(request.start!) : null;
  const status: PlanStatus = mode === 'start' ? 'active' : 'prescribed';
  const steps = stepsFor(snapshot, mode === 'start' ? request.start : undefined);
  const currency = saleCurrency(request.clinic, registry);
  const workspace = registry.settings.currency;
  // Checked by refuseUnpriced: a single amount left in the content is in the sale currency.
  const fee = snapshot.type === 'monthly' && snapshot.pricing ? minorOf(snapshot.pricing.monthly_fee, currency) : undefined;
  const base: Application['base'] = {
    clinic_id: request.clinic?.id ?? null,
    template_id: source.template.id,
    template_version: source.template.version,
    template_hash: contentHash(source.template),
    template_commit: provenance.commit,
    template_dirty: provenance.dirty === null ? null : provenance.dirty ? 1 : 0,
    name: snapshot.name,
    type: snapshot.type,
    status,
    snapshot: JSON.stringify(snapshot),
    currency,
    start_date: startDate,
    end_date: startDate ? planEndDate(snapshot, startDate) : null,
    paused_on: null,
    pause_until: null,
    cancelled_on: null,
    cancel_reason: null,
    service_prices: JSON.stringify(servicePrices(snapshot, registry.services, { currency, workspace })),
    created_at: at,
    updated_at: at,
  };
  return { request, base, steps, fee };
}

/**
 * Writes one plan for each of `patients` — snapshot, provenance, steps,
 * price, the patient's own payment method and an audit entry — in a single
 * transaction: all of them or none.
 */
export function writePlans(store: Store, application: Application, patients: readonly Patient[], onProgress?: (done: number) => void): number[] {
  const { request, base, steps, fee } = application;
  const { source, mode } = request;
  const ids: number[] = [];
  const action = mode === 'start' ? 'plan.start' : 'plan.prescribe';
  const template = `${source.template.id}@${source.template.version}`;
  const customised = base.snapshot !== JSON.stringify(source.template);
  store.transaction(() => {
    // Plans go in batches, each batch of plans written together, then their steps, prices and audit entries in the same order.
    for (let start = 0; start < patients.length; start += PLAN_BATCH) {
      const batch = patients.slice(start, start + PLAN_BATCH);
      const plans = batch.map((patient): NewPlan => {
        const payment = request.payments.get(patient.id);
        const paymentMethodId = payment ? savePaymentMethod(store, { ...payment, patient_id: patient.id, created_at: base.created_at }) : null;
        return { ...base, patient_id: patient.id, payment_method_id: paymentMethodId };
      });
      const batchIds = insertPlans(store, plans);
      plans.forEach((plan, index) => {
        const id = batchIds[index]!;
        insertSteps(store, id, steps);
        if (fee !== undefined) insertPrice(store, id, 1, fee);
        recordAudit(store, {
          at: base.created_at,
          actor: request.actor,
          action,
          entity: 'plan',
          entityId: id,
          before: null,
          after: { patient_id: plan.patient_id, template, status: base.status, clinic_id: plan.clinic_id, start_date: base.start_date, customised },
        });
        ids.push(id);
        onProgress?.(ids.length);
      });
    }
    // Only new rows: other desks keep working meanwhile (on PostgreSQL).
  }, { bulk: true });
  return ids;
}

/** One plan per patient, all in one transaction: all of them or none. */
export async function applyTemplate(store: Store, request: ApplyRequest): Promise<number[]> {
  const application = await prepareApplication(request);
  return writePlans(store, application, request.patients, (done) => request.onProgress?.(done, request.patients.length));
}

/** Plan statuses that count as "already has this plan": running, or prescribed and waiting to start. */
export const HOLDING_STATUSES = ['prescribed', 'active', 'paused', 'past_due'] as const;

export interface HeldPlan {
  patient_id: number;
  plan_id: number;
  status: PlanStatus;
}

/** Each of `patients` who already holds a plan of the template (the first one, by id). */
export function heldPlans(store: Store, templateId: string, patients: readonly Patient[]): Map<number, HeldPlan> {
  const wanted = new Set(patients.map((p) => p.id));
  const held = new Map<number, HeldPlan>();
  const plans = HOLDING_STATUSES.flatMap((status) => listPlans(store, { templateId, status })).sort((a, b) => a.id - b.id);
  for (const plan of plans) {
    if (wanted.has(plan.patient_id) && !held.has(plan.patient_id)) held.set(plan.patient_id, { patient_id: plan.patient_id, plan_id: plan.id, status: plan.status });
  }
  return held;
}
