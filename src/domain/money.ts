import type { Amount } from '../generated/schema-types.js';

const digitCache = new Map<string, number>();

/** Minor digits of an ISO 4217 currency (USD 2, JPY 0, KWD 3), from the runtime's own tables. */
export function minorDigits(currency: string): number {
  let digits = digitCache.get(currency);
  if (digits === undefined) {
    digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
    digitCache.set(currency, digits);
  }
  return digits;
}

export function isCurrency(code: string): boolean {
  if (!/^[A-Z]{3}$/.test(code)) return false;
  return (Intl as unknown as { supportedValuesOf(key: string): string[] }).supportedValuesOf('currency').includes(code);
}

/**
 * Parses a decimal written in a template or catalog into minor units. Returns
 * an error sentence instead when it has more decimals than the currency allows.
 * Numbers are read through their shortest decimal form, so 249.5 is "249.5".
 */
export function toMinor(value: Amount, currency: string): { minor: number } | { error: string } {
  const text = typeof value === 'number' ? numberText(value) : value;
  const match = /^(\d+)(?:\.(\d+))?$/.exec(text);
  if (!match) return { error: `"${text}" is not an amount; write it like "249.00"` };
  const digits = minorDigits(currency);
  const whole = match[1]!;
  const fraction = (match[2] ?? '').replace(/0+$/, '');
  if (fraction.length > digits) {
    return {
      error: digits === 0
        ? `"${text}" has decimals, but ${currency} has no minor unit`
        : `"${text}" has more than ${digits} decimals, which ${currency} does not allow`,
    };
  }
  const minor = Number(whole) * 10 ** digits + Number(fraction.padEnd(digits, '0') || '0');
  if (!Number.isSafeInteger(minor)) return { error: `"${text}" is too large` };
  return { minor };
}

function numberText(value: number): string {
  if (!Number.isFinite(value) || value < 0) return String(value);
  // Shortest round-trip form; avoid exponent notation for tiny or huge values.
  const text = String(value);
  return /e/i.test(text) ? value.toFixed(20).replace(/\.?0+$/, '') : text;
}

/** Formats minor units for people: "$1,249.00", "¥5,000". */
export function formatMoney(minor: number, currency: string, locale = 'en-US'): string {
  const digits = minorDigits(currency);
  const key = `${locale} ${currency}`;
  let format = moneyFormats.get(key);
  if (!format) moneyFormats.set(key, (format = new Intl.NumberFormat(locale, { style: 'currency', currency, minimumFractionDigits: digits, maximumFractionDigits: digits })));
  return format.format(minor / 10 ** digits);
}

const moneyFormats = new Map<string, Intl.NumberFormat>();

/** Formats minor units as a plain decimal string, as templates write them: "249.00". */
export function decimalString(minor: number, currency: string): string {
  const digits = minorDigits(currency);
  if (digits === 0) return String(minor);
  const sign = minor < 0 ? '-' : '';
  const abs = Math.abs(minor);
  const unit = 10 ** digits;
  return `${sign}${Math.floor(abs / unit)}.${String(abs % unit).padStart(digits, '0')}`;
}

/**
 * A recorded value (an audit entry's before or after) as a person reads it:
 * each integer `…_minor` amount becomes money under its name without `_minor`,
 * in the object's own `currency` (then dropped, as the amount now says it) or
 * else `fallback`. An amount with no currency to read it in stays as it is.
 */
export function moneyWords(value: unknown, fallback?: string): unknown {
  if (Array.isArray(value)) return value.map((v) => moneyWords(v, fallback));
  if (value === null || typeof value !== 'object') return value;
  const record = value as Record<string, unknown>;
  const own = typeof record.currency === 'string' && isCurrency(record.currency) ? record.currency : undefined;
  const currency = own ?? fallback;
  const out: Record<string, unknown> = {};
  let used = false;
  for (const [key, v] of Object.entries(record)) {
    if (currency && key.endsWith('_minor') && Number.isSafeInteger(v)) {
      out[key.slice(0, -'_minor'.length)] = formatMoney(v as number, currency);
      used = true;
    } else out[key] = moneyWords(v, currency);
  }
  if (used && own) delete out.currency;
  return out;
}
