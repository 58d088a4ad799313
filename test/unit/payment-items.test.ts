import { describe, expect, it } from 'vitest';
import { describePaymentItem, itemisePayments, type PaymentRecord } from '../../src/billing/summary.js';
import { formatMoney } from '../../src/domain/money.js';

const charge = (id: number, kind: 'installment' | 'step' | 'cancel_fee', status: 'pending' | 'succeeded' | 'failed', amount: number, due: string, n: number | null = null) => ({
  id,
  kind,
  installment: kind === 'installment' ? n : null,
  step_n: kind === 'step' ? n : null,
  due_date: due,
  amount_minor: amount,
  status,
});

const money = (minor: number) => formatMoney(minor, 'USD');

describe('the itemised payments of a plan', () => {
  it('lists each installment paid, then the early fee charged, in date order', () => {
    const record: PaymentRecord = {
      installments: 6,
      charges: [charge(3, 'cancel_fee', 'succeeded', 15000, '2027-03-10'), charge(1, 'installment', 'succeeded', 24900, '2027-01-01', 1), charge(2, 'installment', 'succeeded', 24900, '2027-02-01', 2)],
      earlyFee: { minor: 15000, waived: false },
      refunds: [],
    };
    const items = itemisePayments(record);
    expect(items.map((i) => [i.label, i.state, i.amount_minor, i.date])).toEqual([
      ['Installment 1 of 6', 'paid', 24900, '2027-01-01'],
      ['Installment 2 of 6', 'paid', 24900, '2027-02-01'],
      ['Early cancellation fee', 'paid', 15000, '2027-03-10'],
    ]);
    expect(items.map((i) => describePaymentItem(i, money))).toEqual([
      'Installment 1 of 6, due 2027-01-01: $249.00 paid',
      'Installment 2 of 6, due 2027-02-01: $249.00 paid',
      'Early cancellation fee, due 2027-03-10: $150.00 paid',
    ]);
  });

  it('shows a waived fee, and a fee owed but not yet charged, without charging it', () => {
    const waived = itemisePayments({ installments: 3, charges: [], earlyFee: { minor: 5000, waived: true }, refunds: [] });
    expect(waived).toEqual([{ kind: 'early_fee', label: 'Early cancellation fee', date: null, amount_minor: 5000, state: 'waived', charge_id: null }]);
    expect(describePaymentItem(waived[0]!, money)).toBe('Early cancellation fee: $50.00 waived');
    const owed = itemisePayments({ installments: 3, charges: [], earlyFee: { minor: 5000, waived: false }, refunds: [] });
    expect(owed.map((i) => i.state)).toEqual(['owed']);
    expect(describePaymentItem(owed[0]!, money)).toBe('Early cancellation fee: $50.00 owed, not yet charged');
  });

  it('lists installments a cancelled plan still owes and no charge has asked for yet, after the charges', () => {
    const items = itemisePayments({
      installments: 4,
      charges: [charge(1, 'installment', 'succeeded', 19900, '2027-01-04', 1), charge(2, 'installment', 'failed', 19900, '2027-02-01', 2)],
      earlyFee: null,
      refunds: [],
      owed: [{ installment: 3, due_date: '2027-03-01', amount_minor: 19900 }],
    });
    expect(items.map((i) => describePaymentItem(i, money))).toEqual([
      'Installment 1 of 4, due 2027-01-04: $199.00 paid',
      'Installment 2 of 4, due 2027-02-01: $199.00 declined, still owed',
      'Installment 3 of 4, due 2027-03-01: $199.00 owed, not yet charged',
    ]);
    expect(items.at(-1)).toMatchObject({ kind: 'installment', state: 'owed', charge_id: null });
  });

  it('marks declined and unanswered charges, and lists visits of a pay-as-you-go plan', () => {
    const items = itemisePayments({
      installments: null,
      charges: [charge(1, 'step', 'succeeded', 12000, '2027-01-05', 1), charge(2, 'step', 'failed', 8000, '2027-02-05', 2), charge(3, 'cancel_fee', 'pending', 3000, '2027-02-06')],
      earlyFee: { minor: 3000, waived: false },
      refunds: [],
    });
    expect(items.map((i) => describePaymentItem(i, money))).toEqual([
      'Visit 1, due 2027-01-05: $120.00 paid',
      'Visit 2, due 2027-02-05: $80.00 declined, still owed',
      'Early cancellation fee, due 2027-02-06: $30.00 pending (the processor has not answered yet)',
    ]);
  });

  it('gives each refund a line of its own after the charge it refunds', () => {
    const items = itemisePayments({
      installments: 2,
      charges: [charge(1, 'installment', 'succeeded', 24900, '2027-01-01', 1), charge(2, 'installment', 'succeeded', 24900, '2027-02-01', 2)],
      earlyFee: null,
      refunds: [{ charge_id: 1, amount_minor: 4900, date: '2027-01-20' }],
    });
    expect(items.map((i) => describePaymentItem(i, money))).toEqual([
      'Installment 1 of 2, due 2027-01-01: $249.00 paid',
      'Refund of installment 1 of 2, 2027-01-20: −$49.00',
      'Installment 2 of 2, due 2027-02-01: $249.00 paid',
    ]);
  });

  it('in another currency, amounts keep their own decimals', () => {
    const [item] = itemisePayments({ installments: 1, charges: [charge(1, 'installment', 'succeeded', 5000, '2027-01-01', 1)], earlyFee: null, refunds: [] });
    expect(describePaymentItem(item!, (m) => formatMoney(m, 'JPY'))).toBe('Installment 1 of 1, due 2027-01-01: ¥5,000 paid');
    expect(describePaymentItem(item!, (m) => formatMoney(m, 'KWD'))).toBe('Installment 1 of 1, due 2027-01-01: KWD\u00a05.000 paid');
  });
});
