import { FailedError } from '../errors.js';
import { containsCardNumber } from '../domain/cards.js';
import type { PaymentMethodDetails, SavedPaymentMethod } from '../domain/records.js';

// A saved card's details are domain records; the gateway's contract names them here for its implementations and callers.
export type { PaymentMethodDetails, SavedPaymentMethod };

export interface SaveRequest {
  /** The token as given (pm_card_visa, pm_1Nx…); a processor may answer with its own copy of it. */
  token: string;
  patientId: number;
  /** The customer saved with the patient's earlier payment methods, if any: reused, never made twice. */
  customer: string | null;
}

export interface ChargeRequest {
  /** Derived from what is paid for (plan-42-installment-3); a repeat replays the first result. */
  idempotencyKey: string;
  amountMinor: number;
  currency: string;
  token: string;
  /** The processor's customer the token is saved to, when it has one. */
  customer: string | null;
  description: string;
  /** What the charge pays for, sent as metadata (plan, patient id, "installment 3"); never anything about health. */
  planId: number;
  patientId: number;
  paysFor: string;
  /** When this attempt was written pending: a key older than the processor keeps keys is looked up before it is sent again. */
  attemptStartedAt: string;
}

export type ChargeResult =
  | { status: 'succeeded'; id: string }
  | { status: 'declined'; id: string; code: string; message: string; /** No retry can succeed (stolen card, …). */ hard: boolean };

/**
 * Decline codes that no retry on the processor's side can clear: the patient
 * must act (confirm the payment with their bank — SCA's 3-D Secure — or give
 * another card). The charge fails hard and the plan goes past due until
 * `plan payment` sets a method again.
 */
export const NEEDS_PATIENT = 'authentication_required';

export function needsPatient(code: string | null | undefined): boolean {
  return code === NEEDS_PATIENT;
}

/** What the front desk does about a charge that needs the patient, in one phrase. */
export const NEEDS_PATIENT_ADVICE = 'needs the patient: their bank asks them to confirm the payment (3-D Secure); ask them to confirm it, or to give another card, then run "txplan plan payment"';

/** One charge as the processor recorded it, for reconciliation. */
export interface LedgerEntry {
  id: string;
  idempotencyKey: string;
  amountMinor: number;
  currency: string;
  status: 'succeeded' | 'declined';
  createdAt: string;
}

export interface RefundRequest {
  /** Derived from the charge's key and the refund's number (…-refund-2); a repeat replays the first result. */
  idempotencyKey: string;
  /** The processor's own id of the charge refunded. */
  chargeId: string;
  amountMinor: number;
  currency: string;
  /** Why, as the clinic wrote it: kept by txplan, never sent to a processor outside (it may say something about health). */
  reason: string;
  /** The plan the refunded charge paid for, sent as metadata. */
  planId: number;
  /** When the refund was written pending: a key older than the processor keeps keys is looked up before it is sent again. */
  attemptStartedAt: string;
}

export type RefundResult =
  | { status: 'succeeded'; id: string }
  | { status: 'failed'; id: string; code: string; message: string };

/** One refund as the processor recorded it, for reconciliation. */
export interface RefundLedgerEntry {
  id: string;
  idempotencyKey: string;
  /** The processor's id of the charge refunded. */
  chargeId: string;
  amountMinor: number;
  currency: string;
  status: 'succeeded' | 'failed';
  createdAt: string;
}

/** A payment processor, seen from txplan. */
export interface Gateway {
  readonly name: string;
  /** Moves real money: refused while the simulated clock (TXPLAN_NOW) is set. */
  readonly live: boolean;
  /** How many charges may be in flight at once (a processor's rate limits). */
  readonly concurrency: number;
  /** Looks a token up at the processor; refuses tokens it does not know. */
  describePaymentMethod(token: string): Promise<PaymentMethodDetails>;
  /**
   * Saves a token for a patient: the first time a patient pays, the
   * processor's customer for them is made (named by txplan's patient id only),
   * and the token is attached to it. A token the processor does not know, or a
   * card it declines on saving, is refused (FailedError) and nothing is kept.
   */
  savePaymentMethod(request: SaveRequest): Promise<SavedPaymentMethod>;
  /**
   * Charges once per idempotency key; the same key with another amount is
   * refused (IdempotencyConflictError). An answer that never came (a timeout,
   * a dropped connection, the processor busy or failing) is thrown as
   * UnansweredError after the processor's own retries: the charge stays
   * pending and is asked again under the same key.
   */
  charge(request: ChargeRequest): Promise<ChargeResult>;
  /** Every charge the processor holds, for `billing reconcile`. */
  ledger(): AsyncIterable<LedgerEntry>;
  /**
   * Refunds part or all of a charge once per idempotency key; the same key
   * with another amount is refused (IdempotencyConflictError). A refund the
   * processor will not make (more than the charge has left, a charge it does
   * not know) is answered as failed, not thrown.
   */
  refund(request: RefundRequest): Promise<RefundResult>;
  /** Every refund the processor holds, in idempotency-key order, for `billing reconcile`. */
  refunds(): AsyncIterable<RefundLedgerEntry>;
  close(): void;
}

/** The processor refused a key it has seen with different parameters: a bug or tampering, never retried. */
export class IdempotencyConflictError extends FailedError {
  constructor(key: string) {
    super(`The payment processor refused idempotency key ${key}: it was used before with a different amount; nothing was ${key.includes('-refund-') ? 'refunded' : 'charged'}. Run "txplan billing reconcile"`, 'idempotency_conflict');
  }
}

/** A processor's name as people write it: "Stripe", "sandbox". */
export function processorLabel(name: string): string {
  return name === 'stripe' ? 'Stripe' : name;
}

/** The processor did not answer (timeout, connection closed, 429, 5xx): what it did is unknown until asked again under the same key. */
export class UnansweredError extends FailedError {
  constructor(message: string) {
    super(message, 'processor_unanswered');
  }
}

const TOKEN = /^pm_[A-Za-z0-9_]{1,200}$/;

/**
 * Checks the shape of a payment flag before any processor sees it. A card
 * number is refused without echoing it (SPEC §5).
 */
/**
 * A processor's test card (`pm_card_visa`, `pm_card_chargeDeclined`, …) names
 * a kind of test card, not a person's card: the processor makes a separate
 * payment method of it for every customer, so any number of patients may be
 * given the same one. Every other token is one person's card.
 */
export function isTestCardToken(token: string): boolean {
  return /^pm_card_[A-Za-z]+$/.test(token);
}

export function checkToken(value: string): string {
  if (containsCardNumber(value)) {
    throw new FailedError('That looks like a card number; txplan never takes or stores card numbers. Save the card with the payment processor and pass its token (pm_…)', 'card_number');
  }
  if (!TOKEN.test(value)) throw new FailedError(`"${value}" is not a payment method token; tokens look like pm_card_visa or pm_1Nx…`, 'bad_token');
  return value;
}
