import { FailedError } from '../errors.js';
import { containsCardNumber } from '../domain/cards.js';

/** What may be kept of a card: the processor's token, brand, last four digits and expiry. */
export interface PaymentMethodDetails {
  token: string;
  brand: string;
  last4: string;
  exp_month: number;
  exp_year: number;
}

export interface ChargeRequest {
  /** Derived from what is paid for (plan-42-installment-3); a repeat replays the first result. */
  idempotencyKey: string;
  amountMinor: number;
  currency: string;
  token: string;
  description: string;
}

export type ChargeResult =
  | { status: 'succeeded'; id: string }
  | { status: 'declined'; id: string; code: string; message: string; /** No retry can succeed (stolen card, …). */ hard: boolean };

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
  /** Why, as the clinic wrote it (a processor with fixed reasons keeps it as metadata). */
  reason: string;
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
  /** Charges once per idempotency key; the same key with another amount is refused. */
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
