import type { Template } from '../generated/schema-types.js';
import type { Store } from '../store/store.js';
import { getAttachments, getPrices, getSteps } from '../store/plans.js';
import { getPatient } from '../store/patients.js';
import { getClinic } from '../store/clinics.js';
import { getPaymentMethod } from '../store/payment-methods.js';
import type { AttachmentRow, Clinic, Patient, PaymentMethodRow, PlanRow, PriceRow, StepRow } from '../domain/records.js';

/** Everything known about one plan, read in one place for show, export and handouts. */
export interface PlanView {
  plan: PlanRow;
  snapshot: Template;
  steps: StepRow[];
  patient: Patient;
  clinic: Clinic | undefined;
  paymentMethod: PaymentMethodRow | undefined;
  prices: PriceRow[];
  attachments: AttachmentRow[];
}

export function loadPlanView(store: Store, plan: PlanRow): PlanView {
  return {
    plan,
    snapshot: JSON.parse(plan.snapshot) as Template,
    steps: getSteps(store, plan.id),
    patient: getPatient(store, plan.patient_id)!,
    clinic: plan.clinic_id ? getClinic(store, plan.clinic_id) : undefined,
    paymentMethod: plan.payment_method_id ? getPaymentMethod(store, plan.payment_method_id) : undefined,
    prices: getPrices(store, plan.id),
    attachments: getAttachments(store, plan.id),
  };
}

/** The monthly fee of installment k: the latest price set from k or earlier. */
export function feeForInstallment(prices: readonly PriceRow[], k: number): number | undefined {
  let fee: number | undefined;
  for (const price of prices) if (price.from_installment <= k) fee = price.monthly_fee_minor;
  return fee;
}

/** JSON of a plan for export and --json: ids on every object, money in minor units. */
export function planJson(view: PlanView) {
  const { plan } = view;
  return {
    id: plan.id,
    status: plan.status,
    name: plan.name,
    type: plan.type,
    patient: { id: view.patient.id, mrn: view.patient.mrn, first_name: view.patient.first_name, last_name: view.patient.last_name },
    clinic: view.clinic ? { id: view.clinic.id, name: view.clinic.name, timezone: view.clinic.timezone } : null,
    start_date: plan.start_date,
    end_date: plan.end_date,
    paused_on: plan.paused_on,
    pause_until: plan.pause_until,
    cancelled_on: plan.cancelled_on,
    cancel_reason: plan.cancel_reason,
    currency: plan.currency,
    prices: view.prices.map((p) => ({ from_installment: p.from_installment, amount_minor: p.monthly_fee_minor, currency: plan.currency })),
    payment_method: view.paymentMethod
      ? { id: view.paymentMethod.id, token: view.paymentMethod.token, brand: view.paymentMethod.brand, last4: view.paymentMethod.last4, exp_month: view.paymentMethod.exp_month, exp_year: view.paymentMethod.exp_year }
      : null,
    provenance: {
      template_id: plan.template_id,
      template_version: plan.template_version,
      template_hash: plan.template_hash,
      git_commit: plan.template_commit,
      uncommitted_changes: plan.template_dirty === null ? null : plan.template_dirty === 1,
    },
    steps: view.steps.map((s) => ({
      id: s.id,
      n: s.n,
      when: { [s.when_unit]: s.when_value },
      services: JSON.parse(s.services) as string[],
      alternatives: s.alternatives ? (JSON.parse(s.alternatives) as string[]) : [],
      note: s.note,
      recommended_date: s.recommended_date,
      booked_at: s.booked_at,
      status: s.status,
      completed_on: s.completed_on,
      completion_note: s.completion_note,
      patient_note: s.patient_note,
      outcome: s.outcome,
      // What the visit delivered (recorded when done); null while pending or skipped.
      performed: s.performed === null ? null : (JSON.parse(s.performed) as string[]),
      attachments: view.attachments.filter((a) => a.step_id === s.id).map((a) => ({ id: a.id, sha256: a.sha256, path: a.path, original_name: a.original_name, bytes: a.bytes })),
    })),
    snapshot: view.snapshot,
    created_at: plan.created_at,
    updated_at: plan.updated_at,
  };
}
