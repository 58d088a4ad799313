import { describe, expect, it } from 'vitest';
import { checkPerformed, choiceRequired, describeChoices, performedOf } from '../../src/domain/performed.js';
import { visitCharge } from '../../src/domain/pricing.js';

const catalog = new Map([
  ['consult', { name: 'Skin Consultation', price: '75.00', complimentary: true }],
  ['mandelic-peel', { name: 'Mandelic Peel', price: '150.00' }],
  ['jessners-peel', { name: "Jessner's Peel", price: '175.00' }],
  ['salicylic-peel', { name: 'Salicylic Peel', price: '140.00' }],
  ['dermaplaning', { name: 'Dermaplaning Facial', price: '110.00' }],
  ['hydrafacial', { name: 'HydraFacial Signature', price: '199.00' }],
]);
const known = [...catalog.keys()];
/** The plan's currency, and the catalog's single amounts in it too. */
const USD = { currency: 'USD', workspace: 'USD' };

const peelVisit = { n: 4, services: ['mandelic-peel'], alternatives: ['salicylic-peel', 'jessners-peel'] };
const plainVisit = { n: 2, services: ['consult', 'mandelic-peel'], alternatives: [] };

describe('which services a visit may record as performed', () => {
  it('accepts any catalog service at a visit without alternatives: the clinician did something else', () => {
    expect(checkPerformed(7, plainVisit, ['dermaplaning'], known)).toBeUndefined();
    expect(checkPerformed(7, plainVisit, ['consult', 'mandelic-peel', 'hydrafacial'], known)).toBeUndefined();
  });

  it('refuses an id that is not in the catalog, naming it and the closest ids', () => {
    const problem = checkPerformed(7, plainVisit, ['dermaplanning'], known);
    expect(problem?.code).toBe('unknown_service');
    expect(problem?.message).toContain('"dermaplanning" is not a service in the catalog');
    expect(problem?.message).toContain('"dermaplaning"');
    expect(problem?.message).toContain('txplan catalog list');
  });

  it('accepts the planned service or one of its alternatives, alone or with other services beside it', () => {
    expect(checkPerformed(7, peelVisit, ['mandelic-peel'], known)).toBeUndefined();
    expect(checkPerformed(7, peelVisit, ['jessners-peel'], known)).toBeUndefined();
    expect(checkPerformed(7, peelVisit, ['salicylic-peel', 'dermaplaning'], known)).toBeUndefined();
  });

  it('refuses a visit with alternatives that records none of its choices, listing them', () => {
    const problem = checkPerformed(7, peelVisit, ['hydrafacial'], known);
    expect(problem?.code).toBe('not_a_choice');
    expect(problem?.message).toBe(
      'Step 4 of plan 7 offers mandelic-peel (as planned), or instead salicylic-peel or jessners-peel; "hydrafacial" is none of these, so say which of them was performed with --service, and add hydrafacial as another --service if it was done as well',
    );
  });

  it('checks the catalog before the choices, and refuses an empty list', () => {
    expect(checkPerformed(7, peelVisit, ['nope-peel'], known)?.code).toBe('unknown_service');
    expect(checkPerformed(7, plainVisit, [], known)?.code).toBe('choice_required');
  });

  it('says what to choose when a visit with alternatives is recorded without --service', () => {
    expect(describeChoices({ n: 3, services: ['consult', 'mandelic-peel'], alternatives: ['jessners-peel'] })).toBe('consult + mandelic-peel (as planned), or instead jessners-peel');
    const problem = choiceRequired(7, peelVisit);
    expect(problem.code).toBe('choice_required');
    expect(problem.message).toContain('Step 4 of plan 7 offers mandelic-peel (as planned), or instead salicylic-peel or jessners-peel');
    expect(problem.message).toContain('--service salicylic-peel');
  });

  it('reads what a done step delivered, its planned services when nothing else was recorded', () => {
    expect(performedOf({ services: '["consult"]', performed: null })).toEqual(['consult']);
    expect(performedOf({ services: '["consult"]', performed: '["dermaplaning"]' })).toEqual(['dermaplaning']);
  });
});

describe('what a pay-as-you-go visit costs', () => {
  const frozen = { consult: 0, 'mandelic-peel': 15000, 'jessners-peel': 16000, 'salicylic-peel': 14000 };

  it('charges the services in the plan at the prices frozen in it, whatever the catalog says now', () => {
    const charge = visitCharge(['jessners-peel'], frozen, catalog, USD);
    expect(charge.amount_minor).toBe(16000);
    expect(charge.note).toBeNull();
    expect(charge.lines).toEqual([{ id: 'jessners-peel', name: "Jessner's Peel", amount_minor: 16000, basis: 'plan' }]);
  });

  it('charges a service outside the plan at the catalog price, with a note saying so', () => {
    const charge = visitCharge(['mandelic-peel', 'dermaplaning'], frozen, catalog, USD);
    expect(charge.amount_minor).toBe(15000 + 11000);
    expect(charge.lines.map((l) => [l.id, l.amount_minor, l.basis])).toEqual([
      ['mandelic-peel', 15000, 'plan'],
      ['dermaplaning', 11000, 'catalog'],
    ]);
    expect(charge.note).toBe('Not in the plan, charged at the catalog price: Dermaplaning Facial $110.00');
  });

  it('keeps complimentary services free, in the plan or out of it', () => {
    expect(visitCharge(['consult'], frozen, catalog, USD)).toEqual({ amount_minor: 0, lines: [{ id: 'consult', name: 'Skin Consultation', amount_minor: 0, basis: 'complimentary' }], note: null });
    const outside = visitCharge(['consult'], {}, catalog, USD);
    expect(outside.amount_minor).toBe(0);
    expect(outside.lines[0]!.basis).toBe('complimentary');
    expect(outside.note).toBeNull();
  });

  it('charges a service the catalog has since dropped at its frozen price', () => {
    expect(visitCharge(['retired-peel'], { 'retired-peel': 9000 }, catalog, USD).amount_minor).toBe(9000);
  });
});
