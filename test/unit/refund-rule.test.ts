import { describe, expect, it } from 'vitest';
import { planRefund, refundableMinor } from '../../src/billing/refund-rule.js';
import { refundKey } from '../../src/domain/keys.js';

const paid = { amount_minor: 16900, status: 'succeeded' as const };
const refund = (seq: number, amount_minor: number, status: 'pending' | 'succeeded' | 'failed') => ({ seq, amount_minor, status });

describe('what remains to refund of a charge', () => {
  it('is the amount less the refunds succeeded or still pending; failed refunds give nothing back', () => {
    expect(refundableMinor(paid, [])).toBe(16900);
    expect(refundableMinor(paid, [refund(1, 5000, 'succeeded'), refund(2, 1000, 'pending'), refund(3, 9000, 'failed')])).toBe(10900);
  });

  it('is nothing for a charge that did not succeed', () => {
    expect(refundableMinor({ amount_minor: 16900, status: 'failed' }, [])).toBe(0);
    expect(refundableMinor({ amount_minor: 16900, status: 'pending' }, [])).toBe(0);
  });
});

describe('planning a refund', () => {
  it('refunds what remains when no amount is asked, under the next sequence number', () => {
    expect(planRefund(paid, [refund(1, 5000, 'succeeded'), refund(2, 100, 'failed')], undefined)).toEqual({ kind: 'refund', amountMinor: 11900, seq: 3 });
  });

  it('refunds part of a charge, up to exactly what remains', () => {
    expect(planRefund(paid, [], 4000)).toEqual({ kind: 'refund', amountMinor: 4000, seq: 1 });
    expect(planRefund(paid, [refund(1, 4000, 'pending')], 12900)).toEqual({ kind: 'refund', amountMinor: 12900, seq: 2 });
  });

  it('refuses more than remains, counting pending refunds as already given back', () => {
    expect(planRefund(paid, [refund(1, 4000, 'pending')], 12901)).toEqual({ kind: 'refused', problem: 'over', remainingMinor: 12900 });
    expect(planRefund(paid, [refund(1, 16900, 'succeeded')], undefined)).toEqual({ kind: 'refused', problem: 'nothing_left', remainingMinor: 0 });
  });

  it('refuses a charge that did not succeed, and an amount that is not positive', () => {
    expect(planRefund({ amount_minor: 16900, status: 'failed' }, [], undefined)).toEqual({ kind: 'refused', problem: 'not_paid', remainingMinor: 0 });
    expect(planRefund({ amount_minor: 16900, status: 'pending' }, [], 100)).toEqual({ kind: 'refused', problem: 'not_paid', remainingMinor: 0 });
    expect(planRefund(paid, [], 0)).toEqual({ kind: 'refused', problem: 'not_positive', remainingMinor: 16900 });
  });
});

describe('the refund key', () => {
  it("is the charge's key and the refund's sequence number: the same refund always has the same key", () => {
    const charge = 'txp_abcdefghijklmnopqrstuvwx_plan-42-installment-3';
    expect(refundKey(charge, 1)).toBe('txp_abcdefghijklmnopqrstuvwx_plan-42-installment-3-refund-1');
    expect(refundKey(charge, 2)).toBe(`${charge}-refund-2`);
    expect(refundKey(charge, 1)).toBe(refundKey(charge, 1));
  });

  it('never equals a charge attempt key, nor a refund key of another charge', () => {
    const keys = new Set<string>();
    for (const charge of ['txp_a_plan-1-installment-1', 'txp_a_plan-1-installment-11', 'txp_a_plan-11-installment-1', 'txp_a_plan-1-step-1', 'txp_a_plan-1-cancel-fee']) {
      keys.add(charge);
      keys.add(`${charge}-attempt-2`);
      for (let seq = 1; seq <= 12; seq++) keys.add(refundKey(charge, seq));
    }
    expect(keys.size).toBe(5 * (2 + 12));
  });
});
