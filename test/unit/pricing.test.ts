import { describe, expect, it } from 'vitest';
import type { Service, Template } from '../../src/generated/schema-types.js';
import { amountIn, isPositive, minorOf, missingPrices, priceIn, servicePrices, templatePrice, visitCharge } from '../../src/domain/pricing.js';

const USD = { currency: 'USD', workspace: 'USD' };
const NOK = { currency: 'NOK', workspace: 'USD' };
const JPY = { currency: 'JPY', workspace: 'USD' };

const services = new Map<string, Service>([
  ['consult', { id: 'consult', name: 'Consultation', price: '75.00', minutes: 30, complimentary: true }],
  ['peel', { id: 'peel', name: 'Mandelic Peel', price: { USD: '150.00', NOK: '1500.00', JPY: '22000' }, minutes: 45 }],
  ['led', { id: 'led', name: 'LED Therapy', price: '60.00', minutes: 30 }],
]);

function template(overrides: Partial<Template> = {}): Template {
  return {
    id: 'acne',
    version: 1,
    name: 'Acne',
    type: 'monthly',
    status: 'active',
    goal: 'Clear skin',
    duration: { months: 6 },
    pricing: { monthly_fee: { USD: '249.00', NOK: '2490.00' } },
    cancellation: { min_term_months: 3, early_fee: '150.00' },
    schedule: [
      { when: { month: 1 }, services: ['consult', 'peel'] },
      { when: { month: 2 }, services: ['peel'], alternatives: ['led'] },
    ],
    ...overrides,
  };
}

describe('money by currency', () => {
  it('reads one amount in its own currency only, and amounts by currency by their code', () => {
    expect(amountIn('249.00', 'USD', 'USD')).toBe('249.00');
    expect(amountIn('249.00', 'NOK', 'USD')).toBeUndefined();
    expect(amountIn('0.00', 'NOK', 'USD')).toBe('0.00');
    expect(amountIn({ USD: '249.00', NOK: '2490.00' }, 'NOK', 'USD')).toBe('2490.00');
    expect(amountIn({ USD: '249.00' }, 'EUR', 'USD')).toBeUndefined();
    // Not a currency through the object's prototype.
    expect(amountIn({ USD: '249.00' }, 'toString', 'USD')).toBeUndefined();
  });

  it('gives minor units by the currency’s own digits: JPY none, KWD three', () => {
    expect(priceIn({ USD: '249.00', JPY: '37000', KWD: '76.125' }, 'JPY', 'USD')).toBe(37000);
    expect(priceIn({ USD: '249.00', JPY: '37000', KWD: '76.125' }, 'KWD', 'USD')).toBe(76125);
    expect(priceIn({ USD: '249.00' }, 'USD', 'EUR')).toBe(24900);
    expect(priceIn('249.00', 'NOK', 'USD')).toBeUndefined();
  });

  it("reads a plan's content in the plan's currency: one amount is in it, amounts by currency give its own", () => {
    expect(minorOf('2490.00', 'NOK')).toBe(249000);
    expect(minorOf({ USD: '249.00', NOK: '2490.00' }, 'NOK')).toBe(249000);
    expect(() => minorOf({ USD: '249.00' }, 'NOK')).toThrow(/no NOK amount/);
  });

  it('says whether an amount asks for money in any currency', () => {
    expect(isPositive('0')).toBe(false);
    expect(isPositive({ USD: '0', NOK: '0.00' })).toBe(false);
    expect(isPositive({ USD: '249.00', NOK: '2490.00' })).toBe(true);
  });
});

describe('a template priced in several currencies', () => {
  it('prices a monthly plan in the currency asked for, never converting', () => {
    expect(templatePrice(template(), services, NOK)).toEqual({ type: 'monthly', monthly_fee_minor: 249000, installments: 6, total_minor: 1494000 });
    expect(templatePrice(template(), services, USD)).toEqual({ type: 'monthly', monthly_fee_minor: 24900, installments: 6, total_minor: 149400 });
  });

  it('names what has no price in the currency: a single amount is the workspace currency only', () => {
    expect(missingPrices(template(), services, USD)).toEqual([]);
    expect(missingPrices(template(), services, NOK)).toEqual(['the early cancellation fee']);
    expect(missingPrices(template({ pricing: { monthly_fee: '249.00' }, cancellation: undefined }), services, NOK)).toEqual(['the monthly fee']);
    // A plan's own content: its single amounts are in the plan's currency.
    expect(missingPrices(template({ pricing: { monthly_fee: '2490.00' }, cancellation: undefined }), services, { ...NOK, plain: 'NOK' })).toEqual([]);
  });

  it('asks a pay-as-you-go plan for catalog prices of its services and alternatives, complimentary ones aside', () => {
    const payg = template({ type: 'pay-as-you-go', pricing: undefined, cancellation: undefined });
    expect(missingPrices(payg, services, NOK)).toEqual(['the catalog price of LED Therapy']);
    expect(missingPrices(payg, services, USD)).toEqual([]);
    expect(templatePrice(payg, services, JPY)).toEqual({ type: 'pay-as-you-go', total_minor: 44000 });
    expect(servicePrices(payg, services, NOK)).toEqual({ consult: 0, peel: 150000 });
    expect(servicePrices(payg, services, USD)).toEqual({ consult: 0, peel: 15000, led: 6000 });
  });

  it('charges a service outside the plan at the catalog price in the plan currency, and refuses one without', () => {
    const frozen = { peel: 150000 };
    expect(visitCharge(['peel'], frozen, services, NOK).amount_minor).toBe(150000);
    expect(() => visitCharge(['led'], frozen, services, NOK)).toThrow('LED Therapy is not among the plan\'s prices and the catalog has no NOK price for it; add NOK to its price in catalog.yaml');
  });
});
