import type { Template } from '../generated/schema-types.js';
import { FailedError } from '../errors.js';
import { formatDate, type PlainDate } from '../domain/dates.js';
import { contentHash, planEndDate, stepsFor } from '../domain/plan.js';
import { minorOf, servicePrices, visitPriceMinor } from '../domain/pricing.js';
import type { Registry, LoadedTemplate } from '../registry/registry.js';
import { fileProvenance } from '../registry/git.js';
import type { Clinic } from '../store/clinics.js';
import type { Patient } from '../store/patients.js';
import { insertPlan, insertSteps, setPrice, type NewPlan, type PlanStatus } from '../store/plans.js';
import { savePaymentMethod } from '../store/payment-methods.js';
import { recordAudit } from '../store/audit.js';
import type { Store } from '../store/store.js';
import type { PaymentMethodDetails } from '../billing/gateway.js';

export type ApplyMode = 'start' | 'prescribe';

export interface ApplyRequest {
  registry: Registry;
  source: LoadedTemplate;
  /** The customised content, already checked. */
  snapshot: Template;
  patients: readonly Patient[];
  mode: ApplyMode;
  clinic: Clinic | undefined;
  start: PlainDate | undefined;
  payment: PaymentMethodDetails | undefined;
  actor: string;
  now: Date;
  onProgress?: (done: number, total: number) => void;
}

/** Whether starting the plan takes money, so needs a payment method first. */
export function isPaid(snapshot: Template, registry: Registry): boolean {
  const { currency } = registry.settings;
  if (snapshot.type === 'monthly') return snapshot.pricing !== undefined && minorOf(snapshot.pricing.monthly_fee, currency) > 0;
  return snapshot.schedule.some((entry) => visitPriceMinor(entry, registry.services, currency) > 0);
}

/** Refusals that hold whatever the patient: retired templates, clinic limits, a missing clinic or payment. */
export function checkApplicable(request: Pick<ApplyRequest, 'source' | 'snapshot' | 'mode' | 'clinic' | 'payment' | 'patients' | 'registry'>): void {
  const { template } = request.source;
  if (template.status === 'retired') throw new FailedError(`Template "${template.id}" is retired and cannot start new plans; pick an active template ("txplan template list")`, 'retired');
  if (request.clinic && template.clinics && !template.clinics.includes(request.clinic.id)) {
    throw new FailedError(`Template "${template.id}" is offered only at ${template.clinics.join(', ')}, not at ${request.clinic.id}; choose one of those clinics`, 'clinic_not_offered');
  }
  if (request.mode === 'start') {
    if (!request.clinic) throw new FailedError('Starting a program needs a clinic; add --clinic ID ("txplan clinic list" shows them)', 'clinic_required');
    if (isPaid(request.snapshot, request.registry) && !request.payment) {
      throw new FailedError(
        request.patients.length > 1
          ? `"${template.id}" is a paid plan and each patient needs their own payment method to start it; apply with --mode prescribe, then "txplan plan start" each plan with its patient's token`
          : `"${template.id}" is a paid plan: it cannot start without a payment method; add --payment-method pm_… (a processor token), or apply with --mode prescribe`,
        'payment_required',
      );
    }
  }
}

/**
 * Writes one plan per patient — snapshot, provenance, steps, price and an
 * audit entry — in a single transaction: all of them or none.
 */
export async function applyTemplate(store: Store, request: ApplyRequest): Promise<number[]> {
  checkApplicable(request);
  const { source, snapshot, registry, mode } = request;
  const provenance = await fileProvenance(source.file);
  const at = request.now.toISOString();
  const startDate = mode === 'start' ? formatDate(request.start!) : null;
  const status: PlanStatus = mode === 'start' ? 'active' : 'prescribed';
  const snapshotJson = JSON.stringify(snapshot);
  const steps = stepsFor(snapshot, mode === 'start' ? request.start : undefined);
  const fee = snapshot.type === 'monthly' && snapshot.pricing ? minorOf(snapshot.pricing.monthly_fee, registry.settings.currency) : undefined;
  const base: Omit<NewPlan, 'patient_id' | 'payment_method_id'> = {
    clinic_id: request.clinic?.id ?? null,
    template_id: source.template.id,
    template_version: source.template.version,
    template_hash: contentHash(source.template),
    template_commit: provenance.commit,
    template_dirty: provenance.dirty === null ? null : provenance.dirty ? 1 : 0,
    name: snapshot.name,
    type: snapshot.type,
    status,
    snapshot: snapshotJson,
    currency: registry.settings.currency,
    start_date: startDate,
    end_date: startDate ? planEndDate(snapshot, startDate) : null,
    paused_on: null,
    pause_until: null,
    cancelled_on: null,
    cancel_reason: null,
    service_prices: JSON.stringify(servicePrices(snapshot, registry.services, registry.settings.currency)),
    created_at: at,
    updated_at: at,
  };

  const ids: number[] = [];
  store.transaction(() => {
    request.patients.forEach((patient, index) => {
      const paymentMethodId = request.payment ? savePaymentMethod(store, { patient_id: patient.id, ...request.payment, created_at: at }) : null;
      const plan: NewPlan = { ...base, patient_id: patient.id, payment_method_id: paymentMethodId };
      const id = insertPlan(store, plan);
      insertSteps(store, id, steps);
      if (fee !== undefined) setPrice(store, id, 1, fee);
      recordAudit(store, {
        at,
        actor: request.actor,
        action: mode === 'start' ? 'plan.start' : 'plan.prescribe',
        entity: 'plan',
        entityId: id,
        before: null,
        after: { patient_id: patient.id, template: `${source.template.id}@${source.template.version}`, status, clinic_id: plan.clinic_id, start_date: startDate, customised: snapshotJson !== JSON.stringify(source.template) },
      });
      ids.push(id);
      request.onProgress?.(index + 1, request.patients.length);
    });
  });
  return ids;
}
