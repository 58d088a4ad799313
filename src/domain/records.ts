/**
 * The records txplan keeps, as every layer sees them: plans and steps,
 * patients, clinics, payment methods, charges, refunds, the audit log. The
 * store reads and writes them (all SQL stays under src/store/, whatever the
 * engine); the domain, billing, plans and CLI code work with them. Columns
 * keep their database names; money is in integer minor units, dates and
 * instants are ISO text, JSON columns are text, flags are 0/1.
 */

// Plans and their steps

export type PlanStatus = 'prescribed' | 'active' | 'paused' | 'past_due' | 'completed' | 'cancelled';

export const PLAN_STATUSES: readonly PlanStatus[] = ['prescribed', 'active', 'paused', 'past_due', 'completed', 'cancelled'];

export interface PlanRow {
  id: number;
  patient_id: number;
  clinic_id: string | null;
  template_id: string;
  template_version: number;
  template_hash: string;
  template_commit: string | null;
  template_dirty: number | null;
  name: string;
  type: 'monthly' | 'pay-as-you-go';
  status: PlanStatus;
  snapshot: string;
  currency: string;
  start_date: string | null;
  end_date: string | null;
  paused_on: string | null;
  pause_until: string | null;
  cancelled_on: string | null;
  cancel_reason: string | null;
  payment_method_id: number | null;
  /** JSON map of service id → price in minor units, frozen at apply time. */
  service_prices: string;
  billing_offset_months: number;
  created_at: string;
  updated_at: string;
  /** Bumped by every write; a write names the version it read (migration 004). */
  version: number;
  /** 1 when a cancellation forgave what was due (`plan cancel --waive-due`; migration 007); always read from the database. */
  dues_waived?: number;
}

export type NewPlan = Omit<PlanRow, 'id' | 'billing_offset_months' | 'version' | 'dues_waived'>;

export interface StepRow {
  id: number;
  plan_id: number;
  n: number;
  when_unit: 'week' | 'month';
  when_value: number;
  services: string;
  alternatives: string | null;
  note: string | null;
  recommended_date: string | null;
  booked_at: string | null;
  status: 'pending' | 'done' | 'skipped';
  completed_on: string | null;
  completion_note: string | null;
  outcome: string | null;
  /** JSON list of the catalog service ids delivered, recorded when the step is done; NULL otherwise (migration 008). */
  performed: string | null;
  /** How many times the visit's booking was set or moved: its calendar event's SEQUENCE (migration 012). */
  booking_sequence: number;
  /** When the booking was last set or moved (ISO instant), its event's LAST-MODIFIED; NULL when never booked. */
  booking_changed_at: string | null;
  /** The visit's note for the patient, the only one printed on the handout; completion_note is for the chart (migration 014). */
  patient_note: string | null;
  version: number;
}

export type NewStep = Omit<StepRow, 'id' | 'plan_id' | 'version' | 'booking_sequence' | 'booking_changed_at' | 'patient_note'>;

/** The columns a write may change; each lifecycle command passes only those it owns. */
export const MUTABLE_PLAN_COLUMNS = [
  'clinic_id', 'template_version', 'template_hash', 'template_commit', 'template_dirty', 'name', 'status', 'snapshot', 'start_date', 'end_date',
  'paused_on', 'pause_until', 'cancelled_on', 'cancel_reason', 'payment_method_id', 'service_prices', 'billing_offset_months', 'dues_waived',
] as const;

export type PlanChanges = Partial<Pick<PlanRow, (typeof MUTABLE_PLAN_COLUMNS)[number]>>;

export interface PlanFilter {
  patientId?: number | undefined;
  status?: PlanStatus | undefined;
  templateId?: string | undefined;
  clinicId?: string | undefined;
  /** Only running plans with a step still pending, each with its last recommended date (the caller judges "passed" at each clinic's today). */
  withPendingSteps?: boolean | undefined;
  limit?: number | undefined;
}

export type PlanSummary = Pick<PlanRow, 'id' | 'patient_id' | 'clinic_id' | 'template_id' | 'template_version' | 'name' | 'type' | 'status' | 'start_date' | 'end_date' | 'created_at'> & {
  patient_name: string;
  patient_mrn: string | null;
  /** Present with `withPendingSteps`. */
  last_step_date?: string | null;
};

export interface PriceRow {
  from_installment: number;
  monthly_fee_minor: number;
}

export interface AttachmentRow {
  id: number;
  step_id: number;
  sha256: string;
  path: string;
  original_name: string;
  bytes: number;
  created_at: string;
}

/** What a billing run needs of a plan: no snapshot, only the number of installments it holds. */
export type BillingPlanRow = Pick<PlanRow, 'id' | 'version' | 'status' | 'type' | 'template_id' | 'clinic_id' | 'start_date' | 'end_date' | 'billing_offset_months' | 'currency' | 'pause_until' | 'paused_on' | 'cancelled_on'> & { dues_waived: number; months: number | null };

export interface BillingFacts {
  lastStepDate: string | null;
  /** Steps neither done nor skipped. */
  pendingSteps: number;
  prices: PriceRow[];
  token: string | null;
}

// Patients, clinics and payment methods

export interface Patient {
  id: number;
  mrn: string | null;
  first_name: string;
  last_name: string;
  dob: string | null;
  email: string | null;
  phone: string | null;
  created_at: string;
  updated_at: string;
  /** When the patient was archived: kept, hidden from lists and pickers, never billed; null while current. */
  archived_at: string | null;
  /** The patient this record was merged into (a tombstone that resolves to it); null for a real record. */
  merged_into: number | null;
}

export type NewPatient = Omit<Patient, 'id' | 'archived_at' | 'merged_into'>;

export type PatientWithPlanCounts = Patient & { plans: number; active_plans: number };

export interface Clinic {
  id: string;
  name: string;
  timezone: string;
  address: string | null;
  phone: string | null;
  created_at: string;
  /** ISO 4217 code of the plans sold here; null: the workspace's currency. */
  currency?: string | null;
  /** BCP 47 tag money and dates are written in for this clinic; null: the workspace's default. */
  locale?: string | null;
  /** When the clinic was archived (hidden, no new plans); null while in use. */
  archived_at?: string | null;
}

/** What may be kept of a card: the processor's token, brand, last four digits and expiry. */
export interface PaymentMethodDetails {
  token: string;
  brand: string;
  last4: string;
  exp_month: number;
  exp_year: number;
}

/** A token saved for a patient, as the processor describes it, with the processor's customer it is saved to. */
export interface SavedPaymentMethod extends PaymentMethodDetails {
  /** The processor's customer for the patient (Stripe's cus_…); null for a processor without customers. */
  customer: string | null;
}

/** A processor token with what may be shown of the card: never a card number. */
export interface PaymentMethodRow {
  id: number;
  patient_id: number;
  token: string;
  brand: string;
  last4: string;
  exp_month: number;
  exp_year: number;
  /** The processor's customer the token is saved to (Stripe's cus_…), or null (the sandbox has none). */
  customer: string | null;
  created_at: string;
}

// Charges, the billing lock and refunds

export type ChargeKind = 'installment' | 'step' | 'cancel_fee';

export type ChargeStatus = 'pending' | 'succeeded' | 'failed';

export interface ChargeRow {
  id: number;
  plan_id: number;
  kind: ChargeKind;
  installment: number | null;
  step_n: number | null;
  idempotency_key: string;
  due_date: string;
  amount_minor: number;
  currency: string;
  status: ChargeStatus;
  attempts: number;
  retries_allowed: number;
  next_attempt_on: string | null;
  hard_decline: number;
  decline_code: string | null;
  decline_message: string | null;
  gateway: string;
  gateway_charge_id: string | null;
  payment_token: string;
  created_at: string;
  updated_at: string;
  /** Why the amount differs from the plan's prices, for people reading the charge (migration 008). */
  note: string | null;
}

export type NewCharge = Omit<ChargeRow, 'id' | 'status' | 'attempts' | 'next_attempt_on' | 'hard_decline' | 'decline_code' | 'decline_message' | 'gateway_charge_id' | 'note'> & { note?: string | null };

export interface Settlement {
  status: 'succeeded' | 'failed';
  gatewayChargeId: string | null;
  declineCode: string | null;
  declineMessage: string | null;
  hardDecline: boolean;
  nextAttemptOn: string | null;
}

export interface ChargeFilter {
  planId?: number | undefined;
  patientId?: number | undefined;
  status?: ChargeStatus | undefined;
  since?: string | undefined;
  limit?: number | undefined;
}

/** One attempt at the processor, as txplan knows it. */
export interface Attempt {
  idempotency_key: string;
  plan_id: number;
  amount_minor: number;
  currency: string;
  outcome: 'pending' | 'succeeded' | 'declined';
}

/** A start whose first installment was declined: the attempt, kept without its plan. */
export interface DeclinedStartRow {
  id: number;
  patient_id: number;
  removed_plan_id: number;
  template: string;
  charge_id: number;
  kind: 'installment';
  installment: number;
  idempotency_key: string;
  due_date: string;
  amount_minor: number;
  currency: string;
  attempts: number;
  decline_code: string | null;
  decline_message: string | null;
  gateway: string;
  gateway_charge_id: string | null;
  created_at: string;
  declined_at: string;
}

/** The billing lock's row: who took it, when, and (since schema 6) on which host, boot and process start. */
export interface BillingLockHolder {
  pid: number;
  started_at: string;
  host: string | null;
  boot_id: string | null;
  start_ticks: number | null;
}

/** Who pays a charge: the plan's patient, and the processor's customer the charge's token is saved to (if any). */
export interface ChargeParty {
  patient_id: number;
  customer: string | null;
}

export type RefundStatus = 'pending' | 'succeeded' | 'failed';

export interface RefundRow {
  id: number;
  charge_id: number;
  seq: number;
  idempotency_key: string;
  amount_minor: number;
  currency: string;
  reason: string;
  actor: string;
  status: RefundStatus;
  failure_code: string | null;
  failure_message: string | null;
  gateway: string;
  gateway_refund_id: string | null;
  created_at: string;
  updated_at: string;
}

export type NewRefund = Omit<RefundRow, 'id' | 'status' | 'failure_code' | 'failure_message' | 'gateway_refund_id' | 'updated_at'>;

export interface RefundSettlement {
  status: 'succeeded' | 'failed';
  gatewayRefundId: string | null;
  failureCode: string | null;
  failureMessage: string | null;
}

export interface RefundTotals {
  succeeded_minor: number;
  pending_minor: number;
}

export interface RefundFilter {
  planId?: number | undefined;
  chargeId?: number | undefined;
  status?: RefundStatus | undefined;
}

export type ListedRefund = RefundRow & { plan_id: number };

// The audit log

export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  action: string;
  entity: string;
  entity_id: string;
  before: unknown;
  after: unknown;
}

export interface NewAuditEntry {
  at: string;
  actor: string;
  action: string;
  entity: string;
  entityId: string | number;
  before?: unknown;
  after?: unknown;
}

export interface AuditFilter {
  entity?: string | undefined;
  id?: string | undefined;
  /** Entries at or after this instant (ISO 8601, UTC). */
  since?: string | undefined;
  /** Entries strictly before this instant (ISO 8601, UTC). */
  before?: string | undefined;
  limit?: number | undefined;
}

// The database's own bookkeeping: ids that reach the processor, a billing hold, acknowledged processor charges

/**
 * The tables whose ids reach the processor (in idempotency keys) and so must
 * never go backwards. A refund's key carries its charge's key and its number
 * on that charge, not its id; its counter is kept so that a database restored
 * from before a refund is found behind, and billing held until reconciled.
 */
export const SEQUENCED = ['plans', 'charges', 'refunds'] as const;

export type Sequenced = (typeof SEQUENCED)[number];

export type Sequences = Record<Sequenced, number>;

export interface BillingHold {
  /** When the database was found behind. */
  at: string;
  /** The highest ids the processor may have seen, and this database's own when found. */
  seen: Sequences;
  found: Sequences;
}

export interface Acknowledgement {
  idempotency_key: string;
  processor_id: string;
  status: string;
  amount_minor: number;
  currency: string;
  acknowledged_at: string;
  actor: string;
}
