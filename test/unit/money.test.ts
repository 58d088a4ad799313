import { describe, expect, it } from 'vitest';
import { decimalString, formatMoney, isCurrency, minorDigits, moneyWords, toMinor } from '../../src/domain/money.js';

describe('money', () => {
  it('parses decimal strings and numbers into integer minor units', () => {
    expect(toMinor('249.00', 'USD')).toEqual({ minor: 24900 });
    expect(toMinor('249', 'USD')).toEqual({ minor: 24900 });
    expect(toMinor('0.1', 'USD')).toEqual({ minor: 10 });
    expect(toMinor(19.99, 'USD')).toEqual({ minor: 1999 });
    expect(toMinor(0.07, 'USD')).toEqual({ minor: 7 });
    expect(toMinor('5000', 'JPY')).toEqual({ minor: 5000 });
    expect(toMinor('1.250', 'KWD')).toEqual({ minor: 1250 });
  });

  it('never goes through floating point: 0.1 + 0.2 style values stay exact', () => {
    expect(toMinor('1234567.89', 'USD')).toEqual({ minor: 123456789 });
    expect(toMinor(1.15, 'USD')).toEqual({ minor: 115 });
  });

  it('refuses more decimals than the currency has, trailing zeros aside', () => {
    expect(toMinor('249.999', 'USD')).toEqual({ error: '"249.999" has more than 2 decimals, which USD does not allow' });
    expect(toMinor('249.500', 'USD')).toEqual({ minor: 24950 });
    expect(toMinor('10.5', 'JPY')).toEqual({ error: '"10.5" has decimals, but JPY has no minor unit' });
    expect('error' in toMinor('abc', 'USD')).toBe(true);
    expect('error' in toMinor(-1, 'USD')).toBe(true);
  });

  it('knows minor digits and currencies from the runtime', () => {
    expect(minorDigits('USD')).toBe(2);
    expect(minorDigits('JPY')).toBe(0);
    expect(isCurrency('EUR')).toBe(true);
    expect(isCurrency('XYZ')).toBe(false);
    expect(isCurrency('usd')).toBe(false);
  });

  it('formats for people and for files', () => {
    expect(formatMoney(124900, 'USD')).toBe('$1,249.00');
    expect(formatMoney(5000, 'JPY')).toBe('¥5,000');
    expect(decimalString(24900, 'USD')).toBe('249.00');
    expect(decimalString(5, 'USD')).toBe('0.05');
    expect(decimalString(-150, 'USD')).toBe('-1.50');
    expect(decimalString(5000, 'JPY')).toBe('5000');
  });

  it('formats each currency with its own minor digits', () => {
    expect(formatMoney(24900, 'USD')).toBe('$249.00');
    expect(formatMoney(0, 'USD')).toBe('$0.00');
    expect(formatMoney(123400, 'EUR')).toBe('€1,234.00');
    expect(formatMoney(123400, 'EUR', 'de-DE')).toBe('1.234,00\u00a0€');
    expect(formatMoney(1999, 'GBP')).toBe('£19.99');
    expect(formatMoney(0, 'JPY')).toBe('¥0');
    expect(formatMoney(1234567, 'JPY')).toBe('¥1,234,567');
    expect(formatMoney(1250, 'KWD')).toBe('KWD\u00a01.250');
    expect(formatMoney(5, 'BHD')).toBe('BHD\u00a00.005');
  });

  it('turns the amounts of a recorded entry into money words, keeping everything else', () => {
    expect(moneyWords({ plan_id: 1, attempt: 2, amount_minor: 24900, currency: 'USD', status: 'succeeded' })).toEqual({ plan_id: 1, attempt: 2, amount: '$249.00', status: 'succeeded' });
    expect(moneyWords({ amount_minor: 5000, currency: 'JPY' })).toEqual({ amount: '¥5,000' });
    expect(moneyWords({ price_from_installment: 3, price_minor: 19900, changes: ['pricing'] }, 'USD')).toEqual({ price_from_installment: 3, price: '$199.00', changes: ['pricing'] });
    expect(moneyWords({ fees: [{ monthly_fee_minor: 1250, currency: 'KWD' }] })).toEqual({ fees: [{ monthly_fee: 'KWD\u00a01.250' }] });
    // With no currency to read it in, an amount stays as recorded.
    expect(moneyWords({ price_minor: 19900 })).toEqual({ price_minor: 19900 });
    expect(moneyWords(null)).toBe(null);
    expect(moneyWords('text')).toBe('text');
  });
});
