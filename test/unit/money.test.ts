import { describe, expect, it } from 'vitest';
import { decimalString, formatMoney, isCurrency, minorDigits, toMinor } from '../../src/domain/money.js';

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
});
