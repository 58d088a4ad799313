import { FailedError } from '../../errors.js';
import type { Gateway, PaymentMethodDetails } from '../gateway.js';

/**
 * The offline test processor. Its tokens follow Stripe's test payment methods
 * (SPEC §5); how each behaves when charged is the billing module's concern.
 */
export const SANDBOX_METHODS: Readonly<Record<string, Omit<PaymentMethodDetails, 'token'>>> = {
  pm_card_visa: { brand: 'visa', last4: '4242', exp_month: 12, exp_year: 2034 },
  pm_card_mastercard: { brand: 'mastercard', last4: '4444', exp_month: 12, exp_year: 2034 },
  pm_card_amex: { brand: 'amex', last4: '8431', exp_month: 12, exp_year: 2034 },
  pm_card_chargeDeclined: { brand: 'visa', last4: '0002', exp_month: 12, exp_year: 2034 },
  pm_card_chargeDeclinedInsufficientFunds: { brand: 'visa', last4: '9995', exp_month: 12, exp_year: 2034 },
  pm_card_chargeDeclinedStolenCard: { brand: 'visa', last4: '9979', exp_month: 12, exp_year: 2034 },
  pm_card_chargeCustomerFail: { brand: 'visa', last4: '0341', exp_month: 12, exp_year: 2034 },
};

export class SandboxGateway implements Gateway {
  readonly name = 'sandbox';

  async describePaymentMethod(token: string): Promise<PaymentMethodDetails> {
    const details = SANDBOX_METHODS[token];
    if (!details) {
      throw new FailedError(`The sandbox processor has no payment method "${token}"; use one of ${Object.keys(SANDBOX_METHODS).join(', ')}`, 'unknown_payment_method');
    }
    return { token, ...details };
  }
}
