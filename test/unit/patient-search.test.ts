import { describe, expect, it } from 'vitest';
import { describeReasons, foldText, likelyDuplicates, phoneDigits, searchTerms, searchTextOf } from '../../src/domain/patient-search.js';

const person = (first_name: string, last_name: string, more: Partial<{ dob: string; email: string; phone: string; mrn: string; id: number }> = {}) => ({
  id: more.id ?? 0,
  first_name,
  last_name,
  dob: more.dob ?? null,
  email: more.email ?? null,
  phone: more.phone ?? null,
  mrn: more.mrn ?? null,
});

describe('foldText', () => {
  it('drops accents and case, spells out the letters Unicode keeps whole, and keeps one space between words', () => {
    expect(foldText('Müller')).toBe('muller');
    expect(foldText('Núñez')).toBe('nunez');
    expect(foldText('  Zoë   Ødegård ')).toBe('zoe odegard');
    expect(foldText('Łukasz Żółć')).toBe('lukasz zolc');
    expect(foldText('Straße Æbelø')).toBe('strasse aebelo');
    // Combining marks typed apart from their letter fold the same as the precomposed letter.
    expect(foldText('Mu\u0308ller')).toBe(foldText('M\u00fcller'));
  });

  it('folds a patient into one line of name, MRN and email', () => {
    expect(searchTextOf(person('José', 'Núñez', { mrn: 'LUM-1002', email: 'Jose@Example.org' }))).toBe('jose nunez lum-1002 jose@example.org');
    expect(searchTextOf(person('Ana', 'Peña'))).toBe('ana pena');
  });
});

describe('phone digits and search terms', () => {
  it('keeps only the digits of a phone', () => {
    expect(phoneDigits('+47 (400) 00-101')).toBe('4740000101');
    expect(phoneDigits('')).toBeNull();
    expect(phoneDigits(null)).toBeNull();
  });

  it('searches a phone by digits only when the text looks like one', () => {
    expect(searchTerms('400 00 101')).toEqual({ text: '400 00 101', digits: '40000101' });
    expect(searchTerms('Müller')).toEqual({ text: 'muller', digits: null });
    expect(searchTerms('LUM-1002')).toEqual({ text: 'lum-1002', digits: null });
    // Too few digits to mean a phone number.
    expect(searchTerms('12')).toEqual({ text: '12', digits: null });
  });
});

describe('likelyDuplicates', () => {
  const existing = [
    person('Jürgen', 'Müller', { id: 1, dob: '1980-01-01' }),
    person('Ana', 'Peña', { id: 2, email: 'ana@example.org' }),
    person('Bo', 'Lind', { id: 3, phone: '+1 555 010 0100' }),
    person('Jurgen', 'Muller', { id: 4, dob: '1981-01-01' }),
  ];

  it('matches the same name (case and accents aside) and date of birth', () => {
    expect(likelyDuplicates(person('JURGEN', 'muller', { dob: '1980-01-01' }), existing)).toEqual([{ patient: existing[0], reasons: ['name_and_dob'] }]);
  });

  it('matches the same email ignoring case, or the same phone by digits', () => {
    expect(likelyDuplicates(person('Someone', 'Else', { email: 'ANA@example.org' }), existing).map((m) => [m.patient.id, m.reasons])).toEqual([[2, ['email']]]);
    expect(likelyDuplicates(person('Someone', 'Else', { phone: '(1) 555-010-0100' }), existing).map((m) => [m.patient.id, m.reasons])).toEqual([[3, ['phone']]]);
  });

  it('does not match a name without a date of birth, or a different date of birth', () => {
    expect(likelyDuplicates(person('Jürgen', 'Müller'), existing)).toEqual([]);
    expect(likelyDuplicates(person('Jürgen', 'Müller', { dob: '1990-01-01' }), existing)).toEqual([]);
  });

  it('names every reason', () => {
    const [match] = likelyDuplicates(person('Ana', 'Peña', { email: 'ana@example.org', phone: '555 0100' }), [person('Ana', 'Pena', { id: 9, email: 'ana@example.org', phone: '5550100' })]);
    expect(match!.reasons).toEqual(['email', 'phone']);
    expect(describeReasons(match!.reasons)).toBe('the same email and phone');
    expect(describeReasons(['name_and_dob'])).toBe('the same name and date of birth');
  });
});
