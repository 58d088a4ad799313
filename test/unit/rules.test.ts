import { describe, expect, it } from 'vitest';
import type { Template } from '../../src/generated/schema-types.js';
import { checkCatalog, checkSettings, checkTemplate, type TemplateContext } from '../../src/registry/rules.js';

const catalog = { services: new Set(['consult', 'peel', 'led']), products: new Set(['spf-50']) };
const context: TemplateContext = { fileId: 'acne', currency: 'USD', catalog };

function template(overrides: Partial<Template> = {}): Template {
  return {
    id: 'acne',
    version: 1,
    name: 'Acne',
    type: 'monthly',
    status: 'active',
    goal: 'Clear skin',
    duration: { months: 6 },
    pricing: { monthly_fee: '249.00' },
    schedule: [
      { when: { month: 1 }, services: ['consult'] },
      { when: { month: 2 }, services: ['peel'] },
    ],
    ...overrides,
  };
}

const codes = (t: Template, ctx = context) => checkTemplate(t, ctx).map((f) => f.code);

describe('template rules', () => {
  it('accepts a sound template', () => {
    expect(checkTemplate(template(), context)).toEqual([]);
  });

  it('requires the id to match the file name', () => {
    expect(checkTemplate(template(), { ...context, fileId: 'acne-2' })).toEqual([
      expect.objectContaining({ code: 'id-filename', path: ['id'], message: 'id is "acne", but the file is named acne-2.yaml; rename the file to acne.yaml or set id: acne-2' }),
    ]);
  });

  it('holds monthly plans to at least 3 months, in months, with a fee', () => {
    expect(codes(template({ duration: { months: 2 }, schedule: [{ when: { month: 1 }, services: ['consult'] }] }))).toEqual(['monthly-min-duration']);
    expect(codes(template({ duration: { weeks: 12 }, schedule: [{ when: { week: 1 }, services: ['consult'] }] }))).toEqual(['monthly-duration-unit']);
    const { pricing: _pricing, ...noFee } = template();
    expect(codes(noFee as Template)).toEqual(['monthly-fee-missing']);
  });

  it('keeps fees off pay-as-you-go plans', () => {
    expect(codes(template({ type: 'pay-as-you-go' }))).toEqual(['payg-has-fee']);
    const { pricing: _pricing, ...payg } = template({ type: 'pay-as-you-go', duration: { months: 1 } });
    expect(codes(payg as Template)).toEqual(['when-outside-duration']);
  });

  it('keeps every when inside the duration', () => {
    const findings = checkTemplate(
      template({
        schedule: [{ when: { month: 7 }, services: ['consult'] }],
        milestones: [{ when: { month: 9 }, expect: 'x' }],
        follow_up: [{ when: { week: 30 }, recommendation: 'x' }],
      }),
      context,
    );
    expect(findings.map((f) => [f.code, f.message])).toEqual([
      ['when-outside-duration', 'schedule[0].when.month is 7, but the plan lasts 6 months; move it inside the plan or lengthen duration'],
      ['milestone-outside-duration', 'milestones[0].when.month is 9, but the plan lasts 6 months; move it inside the plan or lengthen duration'],
      ['follow-up-outside-duration', 'follow_up[0].when.week is 30, but the plan lasts 6 months; move it inside the plan or lengthen duration'],
    ]);
  });

  it('checks every reference against the catalog, with a suggestion', () => {
    const findings = checkTemplate(
      template({
        schedule: [{ when: { month: 1 }, services: ['consult', 'peal'], alternatives: ['laser', 'consult'] }],
        home_care: [{ product: 'spf-30', when: ['am'], instructions: 'x' }, { when: ['pm'], instructions: 'no product is fine' }],
      }),
      context,
    );
    expect(findings.map((f) => [f.code, f.path.join('.'), f.severity])).toEqual([
      ['unknown-service', 'schedule.0.services.1', 'error'],
      ['unknown-alternative', 'schedule.0.alternatives.0', 'error'],
      ['alternative-repeats-service', 'schedule.0.alternatives.1', 'warning'],
      ['unknown-product', 'home_care.0.product', 'error'],
    ]);
    expect(findings[0]!.message).toBe('schedule[0].services[1] "peal" is not a service in the catalog; did you mean "peel"? Otherwise add it to catalog.yaml first');
    // Without a readable catalog, references are not judged.
    expect(codes(template({ schedule: [{ when: { month: 1 }, services: ['nope'] }] }), { ...context, catalog: undefined })).toEqual([]);
  });

  it('allows an early fee only with a minimum term inside the duration', () => {
    expect(codes(template({ cancellation: { min_term_months: 3, early_fee: '150.00' } }))).toEqual([]);
    expect(codes(template({ cancellation: { early_fee: '150.00' } as never }))).toEqual(['early-fee-without-term']);
    expect(codes(template({ cancellation: { min_term_months: 7 } }))).toEqual(['min-term-exceeds-duration']);
  });

  it('refuses amounts finer than the currency', () => {
    expect(codes(template({ pricing: { monthly_fee: '249.999' } }))).toEqual(['money-precision']);
    expect(codes(template({ pricing: { monthly_fee: '249.5' } }), { ...context, currency: 'JPY' })).toEqual(['money-precision']);
  });

  it('accepts amounts by currency, each code a currency with its own decimals, the workspace currency among them', () => {
    expect(checkTemplate(template({ pricing: { monthly_fee: { USD: '249.00', NOK: '2490.00', JPY: '37000', KWD: '76.125' } } }), context)).toEqual([]);
    const findings = checkTemplate(
      template({ pricing: { monthly_fee: { NOK: '2490.00', KRONE: '10', nok: '1', JPY: '370.5', KWD: '76.1255' } }, cancellation: { min_term_months: 3, early_fee: { USD: '150.00', EUR: '1.001' } } }),
      context,
    );
    expect(findings.map((f) => [f.code, f.path, f.message])).toEqual([
      ['money-currency', ['pricing', 'monthly_fee', 'KRONE'], 'pricing.monthly_fee has "KRONE", which is not an ISO 4217 currency code; use codes such as USD, EUR, NOK or JPY'],
      ['money-currency', ['pricing', 'monthly_fee', 'nok'], 'pricing.monthly_fee has "nok", which is not an ISO 4217 currency code; write it in capitals: NOK'],
      ['money-precision', ['pricing', 'monthly_fee', 'JPY'], 'pricing.monthly_fee.JPY "370.5" has decimals, but JPY has no minor unit'],
      ['money-precision', ['pricing', 'monthly_fee', 'KWD'], 'pricing.monthly_fee.KWD "76.1255" has more than 3 decimals, which KWD does not allow'],
      ['money-workspace-currency', ['pricing', 'monthly_fee'], 'pricing.monthly_fee is priced in NOK, KRONE, nok, JPY, KWD but not in USD, the workspace currency (txplan.yaml); add USD: "…" so clinics without a currency of their own can sell it too'],
      ['money-precision', ['cancellation', 'early_fee', 'EUR'], 'cancellation.early_fee.EUR "1.001" has more than 2 decimals, which EUR does not allow'],
    ]);
  });

  it('checks catalog prices by currency the same way', () => {
    const findings = checkCatalog({ services: [{ id: 'peel', name: 'Peel', price: { USD: '100.00', NOK: '1000.00' }, minutes: 30 }], products: [{ sku: 'spf', name: 'SPF', price: { NOK: '300.00' } }] }, 'USD');
    expect(findings.map((f) => f.code)).toEqual(['money-workspace-currency']);
  });

  it('warns when visits are out of order', () => {
    const findings = checkTemplate(template({ schedule: [{ when: { month: 3 }, services: ['consult'] }, { when: { week: 2 }, services: ['peel'] }] }), context);
    expect(findings).toEqual([expect.objectContaining({ code: 'schedule-order', severity: 'warning', path: ['schedule', 1, 'when'] })]);
  });
});

describe('catalog and settings rules', () => {
  it('finds duplicate ids and skus and bad prices', () => {
    const findings = checkCatalog(
      {
        services: [
          { id: 'peel', name: 'Peel', price: '100.00', minutes: 30 },
          { id: 'peel', name: 'Peel again', price: '100.001', minutes: 30 },
        ],
        products: [
          { sku: 'spf', name: 'SPF', price: 30 },
          { sku: 'spf', name: 'SPF', price: 30 },
        ],
      },
      'USD',
    );
    expect(findings.map((f) => `${f.code} ${f.path.join('.')}`)).toEqual(['catalog-duplicate-id services.1.id', 'money-precision services.1.price', 'catalog-duplicate-id products.1.sku']);
  });

  it('checks the currency and time zone', () => {
    expect(checkSettings({ currency: 'USD', timezone: 'America/New_York' })).toEqual([]);
    expect(checkSettings({ currency: 'XYZ', timezone: 'Mars/Olympus' }).map((f) => f.code)).toEqual(['settings-currency', 'settings-timezone']);
  });
});
