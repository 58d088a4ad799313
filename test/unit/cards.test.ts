import { seededRandom } from '../helpers.js';
import { describe, expect, it } from 'vitest';
import { containsCardNumber, luhn } from '../../src/domain/cards.js';


const CARDS = [
  '4111111111111111', // Visa
  '4012888888881881', // Visa
  '5555555555554444', // Mastercard 5x
  '2223003122003222', // Mastercard 2-series
  '378282246310005', // Amex
  '6011111111111117', // Discover
  '6445644564456445', // Discover 644-649
  '3530111333300000', // JCB
  '30569309025904', // Diners 14 digits
  '6200000000000005', // UnionPay
  '6759649826438453', // Maestro
];

const SEPARATORS = [' ', '  ', '\u00a0', '\u2009', '\u202f', '\t', '\n', '.', '-', '/', '\u2013', '\u2014', '\u2212', ' - ', '.\u00a0'];
const ZERO_WIDTH = ['\u200b', '\u200c', '\u200d', '\u2060', '\ufeff'];

function groups(card: string, sizes: readonly number[]): string[] {
  const out: string[] = [];
  let at = 0;
  for (const size of sizes) {
    if (at >= card.length) break;
    out.push(card.slice(at, at + size));
    at += size;
  }
  if (at < card.length) out.push(card.slice(at));
  return out;
}

const fullwidth = (text: string) => text.replace(/\d/g, (d) => String.fromCharCode(0xff10 + Number(d)));
const arabicIndic = (text: string) => text.replace(/\d/g, (d) => String.fromCharCode(0x0660 + Number(d)));
const devanagari = (text: string) => text.replace(/\d/g, (d) => String.fromCharCode(0x0966 + Number(d)));

describe('containsCardNumber: every form of a card number is caught', () => {
  it('knows the Luhn check', () => {
    expect(luhn('4111111111111111')).toBe(true);
    expect(luhn('4111111111111112')).toBe(false);
  });

  for (const card of CARDS) {
    it(`catches ${card.slice(0, 4)}… plain, grouped with every separator, in other digits and inside longer runs`, () => {
      const forms: string[] = [card, `card ${card} exp 12/29`];
      for (const sep of SEPARATORS) {
        forms.push(groups(card, [4, 4, 4, 4]).join(sep));
        forms.push(groups(card, [4, 6, 5]).join(sep));
        forms.push(groups(card, [2, 3, 5, 1, 4]).join(sep));
      }
      for (const zw of ZERO_WIDTH) forms.push([...card].join(zw), groups(card, [4, 4, 4, 4]).join(` ${zw}`));
      forms.push(groups(card, [4, 4, 4, 4]).join(' .- /\t'.slice(0, 2)));
      forms.push(fullwidth(card), fullwidth(groups(card, [4, 4, 4, 4]).join('\u3000')), arabicIndic(card), devanagari(groups(card, [4, 4, 4, 4]).join(' ')));
      forms.push(`0000${card}`, `${card}1225`, `12${card}99`, `ref 12 ${groups(card, [4, 4, 4, 4]).join(' ')} 99`, `${card}0`, `9${card}`);
      for (const form of forms) expect(containsCardNumber(form), JSON.stringify(form)).toBe(true);
    });
  }

  it('does not flag Luhn-valid runs without a card network prefix, nor short runs', () => {
    expect(containsCardNumber('1111111111111117')).toBe(false); // Luhn-valid, no network starts with 1
    expect(containsCardNumber('4111 1111 1111')).toBe(false); // 12 digits
    expect(containsCardNumber('Room 12, phone 555-0100')).toBe(false);
  });
});

describe('containsCardNumber: ordinary long numbers are not card numbers', () => {
  const rand = seededRandom(20260301);
  const digit = () => String(Math.floor(rand() * 10));
  const digits = (n: number) => Array.from({ length: n }, digit).join('');
  const pick = <T,>(list: readonly T[]): T => list[Math.floor(rand() * list.length)]!;
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');

  // Country codes with the length of their national numbers (E.164: at most 15 digits in all).
  const COUNTRIES: ReadonlyArray<[string, number]> = [
    ['1', 10], ['7', 10], ['20', 10], ['27', 9], ['30', 10], ['31', 9], ['32', 9], ['33', 9], ['34', 9], ['36', 9], ['39', 10], ['40', 9], ['41', 9],
    ['43', 11], ['44', 10], ['45', 8], ['46', 9], ['47', 8], ['48', 9], ['49', 11], ['51', 9], ['52', 10], ['54', 11], ['55', 11], ['56', 9], ['57', 10],
    ['58', 10], ['60', 10], ['61', 9], ['62', 12], ['63', 10], ['64', 9], ['65', 8], ['66', 9], ['81', 10], ['82', 10], ['84', 10], ['86', 11], ['90', 10],
    ['91', 10], ['351', 9], ['353', 9], ['358', 10], ['380', 9], ['420', 9], ['852', 8], ['971', 9], ['972', 9],
  ];
  function phone(): string {
    const [country, length] = pick(COUNTRIES);
    const national = digits(length);
    const spaced = () => groups(national, pick([[3, 3, 4], [2, 4, 4], [3, 4, 4], [4, 3, 3], [1, 4, 4, 3]])).join(pick([' ', '-', '.', ' ', '\u00a0']));
    switch (Math.floor(rand() * 7)) {
      case 0: return `+${country}${national}`;
      case 1: return `+${country} ${spaced()}`;
      case 2: return `00${country} ${spaced()}`;
      case 3: return `00${country}${national}`;
      case 4: return `0${spaced()}`;
      case 5: return `(${national.slice(0, 3)}) ${national.slice(3, 6)}-${national.slice(6)}`;
      default: return `+${country} (0) ${spaced()}`;
    }
  }
  function mrn(): string {
    const n = digits(6 + Math.floor(rand() * 7));
    return pick([n, `MRN-${n}`, `A${n}`, `${digits(4)}-${digits(6)}`, `${digits(2)}.${digits(3)}.${digits(4)}`, `H${digits(3)} ${digits(4)} ${digits(3)}`]);
  }
  function date(): string {
    const y = 1900 + Math.floor(rand() * 200);
    const m = 1 + Math.floor(rand() * 12);
    const d = 1 + Math.floor(rand() * 28) + (rand() < 0.3 ? 0 : 0);
    const day = rand() < 0.2 ? pick([29, 30, 31].filter((x) => x <= 30 || [1, 3, 5, 7, 8, 10, 12].includes(m))) : d;
    const one = () => pick([`${y}-${pad(m)}-${pad(day)}`, `${pad(day)}/${pad(m)}/${y}`, `${pad(m)}/${pad(day)}/${y}`, `${pad(day)}.${pad(m)}.${y}`, `${y}${pad(m)}${pad(day)}`, `${pad(day)}-${pad(m)}-${y}`]);
    return pick([one(), `${one()} - ${one()}`, `${one()} ${one()}`, `${one()}–${one()}`]);
  }

  for (const [kind, make] of [['phone numbers', phone], ['medical record numbers', mrn], ['dates and date ranges', date]] as const) {
    it(`flags fewer than 0.1% of 20,000 generated ${kind}`, () => {
      const flagged: string[] = [];
      for (let i = 0; i < 20_000; i++) {
        const value = make();
        if (containsCardNumber(value)) flagged.push(value);
      }
      expect(flagged.length / 20_000, flagged.slice(0, 5).join(' | ')).toBeLessThan(0.001);
    });
  }
});
