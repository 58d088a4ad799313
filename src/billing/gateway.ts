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

/** A payment processor. Charging joins this interface with the billing work. */
export interface Gateway {
  readonly name: string;
  /** Looks a token up at the processor; refuses tokens it does not know. */
  describePaymentMethod(token: string): Promise<PaymentMethodDetails>;
}

const TOKEN = /^pm_[A-Za-z0-9_]{1,200}$/;

/**
 * Checks the shape of a payment flag before any processor sees it. A card
 * number is refused without echoing it (SPEC §5).
 */
export function checkToken(value: string): string {
  if (containsCardNumber(value)) {
    throw new FailedError('That looks like a card number; txplan never takes or stores card numbers. Save the card with the payment processor and pass its token (pm_…)', 'card_number');
  }
  if (!TOKEN.test(value)) throw new FailedError(`"${value}" is not a payment method token; tokens look like pm_card_visa or pm_1Nx…`, 'bad_token');
  return value;
}
