import { describe, expect, it } from 'vitest';
import { cancelFeeCharge, reactivationCharges, startCharges, totalOf, visitQuote } from '../../src/billing/quote.js';

const day = (text: string) => {
  const [year, month, d] = text.split('-').map(Number) as [number, number, number];
  return { year, month, day: d };
};

describe('what a command would charge (the confirmation and the charging code read the same numbers)', () => {
  const fees = [24900, 24900, 25900, 25900];

  it('a program starting today: installment 1 only', () => {
    expect(startCharges(fees, day('2027-01-04'), day('2027-01-04'), { chargeNow: false })).toEqual([{ what: 'installment 1 of 4', amountMinor: 24900 }]);
  });

  it('a start in the future charges nothing when entered, unless asked to charge now', () => {
    expect(startCharges(fees, day('2027-02-10'), day('2027-01-04'), { chargeNow: false })).toEqual([]);
    expect(startCharges(fees, day('2027-02-10'), day('2027-01-04'), { chargeNow: true })).toEqual([{ what: 'installment 1 of 4', amountMinor: 24900 }]);
  });

  it('a backdated start charges every installment already due, with the first, at its own fee', () => {
    // Installment 2 falls due on 2026-12-01, 3 on 2027-01-01, 4 on 2027-02-01.
    const charges = startCharges(fees, day('2026-11-15'), day('2027-01-04'), { chargeNow: false });
    expect(charges.map((c) => c.what)).toEqual(['installment 1 of 4', 'installment 2 of 4', 'installment 3 of 4']);
    expect(totalOf(charges)).toBe(24900 + 24900 + 25900);
  });

  it('a free installment is not a charge', () => {
    expect(startCharges([0, 100], day('2027-01-04'), day('2027-01-04'), { chargeNow: false })).toEqual([]);
  });

  it('a visit costs its services at the frozen prices; a complimentary visit nothing', () => {
    expect(visitQuote(2, 15500)).toEqual([{ what: 'visit 2', amountMinor: 15500 }]);
    expect(visitQuote(1, 0)).toEqual([]);
  });

  it('an early-cancellation fee when owed; the declined charges a reactivated plan retries', () => {
    expect(cancelFeeCharge(15000)).toEqual([{ what: 'early cancellation fee', amountMinor: 15000 }]);
    expect(cancelFeeCharge(0)).toEqual([]);
    expect(
      reactivationCharges([
        { kind: 'installment', installment: 1, step_n: null, status: 'succeeded', amount_minor: 24900 },
        { kind: 'installment', installment: 2, step_n: null, status: 'failed', amount_minor: 24900 },
        { kind: 'step', installment: null, step_n: 3, status: 'failed', amount_minor: 9000 },
      ]),
    ).toEqual([
      { what: 'installment 2', amountMinor: 24900 },
      { what: 'visit 3', amountMinor: 9000 },
    ]);
  });
});
