import { describe, expect, it } from 'vitest';
import type { Template } from '../../src/generated/schema-types.js';
import { templateDifferences, type DiffOptions } from '../../src/domain/template-diff.js';

const NAMES: Record<string, string> = { facial: 'Deep Cleansing Facial', peel: 'Salicylic Acid Peel', led: 'LED Therapy' };
const options: DiffOptions = { currency: 'USD', serviceName: (id) => NAMES[id] ?? id, pricesBefore: { facial: 12000, peel: 9000, led: 5000 }, pricesAfter: { facial: 12000, peel: 9500, led: 5000 } };

const monthly: Template = {
  id: 'acne',
  version: 3,
  name: 'Acne',
  type: 'monthly',
  status: 'active',
  goal: 'Clear skin',
  duration: { months: 6 },
  pricing: { monthly_fee: '249.00' },
  schedule: [
    { when: { month: 1 }, services: ['facial', 'peel'] },
    { when: { month: 2 }, services: ['facial'] },
  ],
};

describe('templateDifferences', () => {
  it('finds nothing between a template and itself', () => {
    expect(templateDifferences(monthly, structuredClone(monthly), options)).toEqual([]);
  });

  it('names version, duration, fee and each changed step, in reading order', () => {
    const next: Template = {
      ...monthly,
      version: 4,
      duration: { months: 4 },
      pricing: { monthly_fee: '259.00' },
      schedule: [
        { when: { month: 1 }, services: ['facial'] },
        { when: { month: 3 }, services: ['facial'] },
        { when: { month: 4 }, services: ['led'], note: 'new' },
      ],
    };
    expect(templateDifferences(monthly, next, options).map((d) => d.text)).toEqual([
      'version: v3 → v4',
      'duration: 6 months → 4 months',
      'monthly fee: $249.00/month → $259.00/month',
      '~ step 1, Month 1: Deep Cleansing Facial + Salicylic Acid Peel → Deep Cleansing Facial',
      '~ step 2, Month 2: Deep Cleansing Facial → Month 3: Deep Cleansing Facial',
      '+ step 3, Month 4: LED Therapy',
    ]);
  });

  it('reports a removed step, a changed note, other fields by name, and cancellation terms', () => {
    const next: Template = { ...monthly, goal: 'Clearer skin', home_care: [{ when: ['am'], instructions: 'Cleanse' }], cancellation: { min_term_months: 3, early_fee: '150.00' }, schedule: [{ ...monthly.schedule[0]!, note: 'Photos' }] };
    const found = templateDifferences(monthly, next, options);
    expect(found.map((d) => d.text)).toEqual([
      'cancellation: (none) → 3-month minimum, $150.00 early fee',
      '~ step 1, Month 1: Deep Cleansing Facial + Salicylic Acid Peel (note changed)',
      '- step 2, Month 2: Deep Cleansing Facial',
      'also changed: goal, home care',
    ]);
    expect(found.find((d) => d.what === 'step' && d.step === 2)).toMatchObject({ before: 'Month 2: Deep Cleansing Facial', after: null });
  });

  it('prices a pay-as-you-go schedule at the prices each side charges', () => {
    const before: Template = { ...monthly, type: 'pay-as-you-go', pricing: undefined as never };
    delete (before as Partial<Template>).pricing;
    const found = templateDifferences(before, { ...before, version: 4 }, options);
    expect(found.map((d) => d.text)).toEqual(['version: v3 → v4', 'price of the whole schedule: $330.00 → $335.00']);
  });
});
