import { describe, expect, it } from 'vitest';
import { ageOn, checkPatient, latestToday, normaliseName, phoneProblem, type PatientInput, type PatientProblem } from '../../src/domain/patient.js';
import { checkPatientRows, describeProblems, parsePatientCsv, readPatientCsv } from '../../src/domain/patient-csv.js';
import { checkClinic } from '../../src/domain/clinic.js';
import { FailedError } from '../../src/errors.js';

const TODAY = '2026-03-15';
const VISA = '4111 1111 1111 1111';

function problems(input: PatientInput): PatientProblem[] {
  const check = checkPatient({ first_name: 'Zoë', last_name: 'Ødegård', ...input }, TODAY);
  return check.ok ? [] : check.problems;
}
const codes = (input: PatientInput) => problems(input).map((p) => `${p.field}:${p.code}`);

describe('checkPatient', () => {
  it('accepts a full profile and normalises it', () => {
    const check = checkPatient({ first_name: '  Zoë ', last_name: 'Ødegård', dob: '1988-02-14', email: ' zoe@example.org ', phone: '+47 (400) 00-101', mrn: 'LUM-1001' }, TODAY);
    expect(check).toEqual({ ok: true, patient: { first_name: 'Zoë', last_name: 'Ødegård', dob: '1988-02-14', email: 'zoe@example.org', phone: '+47 (400) 00-101', mrn: 'LUM-1001' } });
  });

  it('turns empty optional fields into null', () => {
    const check = checkPatient({ first_name: 'José', last_name: 'Núñez', dob: '', email: '  ', phone: undefined, mrn: null }, TODAY);
    expect(check).toEqual({ ok: true, patient: { first_name: 'José', last_name: 'Núñez', dob: null, email: null, phone: null, mrn: null } });
  });

  it('keeps names in any script, composed to NFC, on one line', () => {
    const check = checkPatient({ first_name: 'Ярослава', last_name: 'Z\u006f\u0308e\n  Kowalska' }, TODAY);
    expect(check.ok && check.patient).toMatchObject({ first_name: 'Ярослава', last_name: 'Zöe Kowalska' });
    expect(normaliseName('  Łukasz\t Żółć ')).toBe('Łukasz Żółć');
  });

  it('requires first and last names of at most 100 characters', () => {
    expect(codes({ first_name: '   ' })).toEqual(['first_name:required']);
    expect(codes({ last_name: undefined })).toEqual(['last_name:required']);
    expect(codes({ first_name: 'a'.repeat(101) })).toEqual(['first_name:too_long']);
    expect(codes({ first_name: 'ł'.repeat(100) })).toEqual([]);
    expect(codes({ first_name: 'Ann\u0000' })).toEqual(['first_name:control_character']);
  });

  it('accepts only real past dates of birth from 1900 on', () => {
    expect(codes({ dob: '1988-02-14' })).toEqual([]);
    expect(codes({ dob: TODAY })).toEqual([]);
    expect(codes({ dob: '2026-03-16' })).toEqual(['dob:date_future']);
    expect(codes({ dob: '1988-02-30' })).toEqual(['dob:date_invalid']);
    expect(codes({ dob: '2023-02-29' })).toEqual(['dob:date_invalid']);
    expect(codes({ dob: '2024-02-29' })).toEqual([]);
    expect(codes({ dob: '14/02/1988' })).toEqual(['dob:date_format']);
    expect(codes({ dob: '1988-2-14' })).toEqual(['dob:date_format']);
    expect(codes({ dob: '1899-12-31' })).toEqual(['dob:date_too_old']);
  });

  it('accepts plausible email addresses only', () => {
    for (const ok of ['zoe@example.org', 'jose.nunez+skin@mail.example.com', 'ярослава@example.ua']) expect(codes({ email: ok }), ok).toEqual([]);
    for (const bad of ['zoe', 'zoe@', '@example.org', 'zoe@example', 'zoe @example.org', 'a@b@example.org', 'zoe@example..org']) expect(codes({ email: bad }), bad).toEqual(['email:email']);
  });

  it('accepts phone numbers of digits, spaces and + ( ) - . with 4 to 15 digits', () => {
    for (const ok of ['+1 (555) 010-0142', '555.010.0142', '+380 44 000 0104', '112 4']) expect(codes({ phone: ok }), ok).toEqual([]);
    expect(codes({ phone: '555-0142 ext 3' })).toEqual(['phone:phone']);
    expect(codes({ phone: '1+555' })).toEqual(['phone:phone']);
    expect(codes({ phone: '123' })).toEqual(['phone:phone']);
    expect(codes({ phone: '1234 1234 1234 1234' })).toEqual(['phone:phone']); // 16 digits, no Luhn-valid run in it
  });

  it('treats a phone as a card number unless written as an international number (E.164 numbers may pass Luhn by chance)', () => {
    expect(codes({ phone: VISA })).toEqual(['phone:card_number']);
    expect(codes({ phone: '4111-1111-1111-1111' })).toEqual(['phone:card_number']);
    // An American Express number is a card number even at 15 digits…
    expect(codes({ phone: '378282246310005' })).toEqual(['phone:card_number']);
    // …but after + it is an international phone number (at most 15 digits), accepted.
    expect(codes({ phone: '+378282246310005' })).toEqual([]);
    expect(phoneProblem('+44 20 7946 0958')).toBeUndefined();
  });

  it('refuses card numbers in every other field, without quoting them', () => {
    for (const field of ['first_name', 'last_name', 'email', 'mrn'] as const) {
      const found = problems({ [field]: field === 'email' ? `${VISA.replace(/ /g, '')}@example.org` : VISA });
      expect(found.map((p) => `${p.field}:${p.code}`), field).toEqual([`${field}:card_number`]);
      expect(found[0]!.message).not.toMatch(/\d{4}/);
    }
    expect(codes({ first_name: 'Ann 378282246310005' })).toEqual(['first_name:card_number']);
  });

  it('accepts MRNs of letters, digits, . _ - up to 40 characters', () => {
    for (const ok of ['LUM-1001', 'a.b_c-9', 'X'.repeat(40), '12345']) expect(codes({ mrn: ok }), ok).toEqual([]);
    for (const bad of ['LUM 1001', 'X'.repeat(41), 'LUM/1', 'Ø-1']) expect(codes({ mrn: bad }), bad).toEqual(['mrn:mrn']);
  });

  it('reports every problem at once', () => {
    expect(codes({ first_name: '', dob: 'soon', email: 'nope', phone: 'call me', mrn: 'a b' })).toEqual(['first_name:required', 'dob:date_format', 'email:email', 'phone:phone', 'mrn:mrn']);
  });

  it('never quotes the value in a message', () => {
    for (const p of problems({ first_name: 'Secretname'.repeat(11), dob: '1988-02-30', email: 'secret-mail', phone: 'secret', mrn: 'secret mrn' })) {
      expect(p.message).not.toMatch(/secret/i);
    }
  });
});

describe('dates around a patient', () => {
  it('takes "today" as the latest date anywhere on Earth', () => {
    expect(latestToday(new Date('2026-03-15T09:59:59Z'))).toBe('2026-03-15');
    expect(latestToday(new Date('2026-03-15T10:00:00Z'))).toBe('2026-03-16');
  });

  it('computes age in whole years', () => {
    expect(ageOn('1988-02-14', '2026-02-13')).toBe(37);
    expect(ageOn('1988-02-14', '2026-02-14')).toBe(38);
    expect(ageOn('2024-02-29', '2025-02-28')).toBe(0);
    expect(ageOn('2024-02-29', '2025-03-01')).toBe(1);
    expect(ageOn('2030-01-01', '2026-01-01')).toBeUndefined();
  });
});

describe('checkClinic', () => {
  it('accepts a clinic and normalises it', () => {
    expect(checkClinic({ id: 'north-side', name: ' Lumen  North ', address: '1 Main St, Springfield', phone: '+1 555 010 0100' })).toEqual({
      ok: true,
      clinic: { id: 'north-side', name: 'Lumen North', address: '1 Main St, Springfield', phone: '+1 555 010 0100' },
    });
  });

  it('refuses bad ids, empty names and card numbers', () => {
    const fields = (input: Parameters<typeof checkClinic>[0]) => {
      const check = checkClinic(input);
      return check.ok ? [] : check.problems.map((p) => `${p.field}:${p.code}`);
    };
    expect(fields({ id: 'North_Side', name: 'x', address: undefined, phone: undefined })).toEqual(['id:invalid']);
    expect(fields({ id: 'a--b', name: 'x', address: undefined, phone: undefined })).toEqual(['id:invalid']);
    expect(fields({ id: 'a', name: ' ', address: undefined, phone: undefined })).toEqual(['name:invalid']);
    expect(fields({ id: 'a', name: 'x', address: `Card ${VISA}`, phone: VISA })).toEqual(['address:card_number', 'phone:card_number']);
  });
});

describe('reading a patient CSV', () => {
  const read = (text: string) => readPatientCsv(text, 'patients.csv', TODAY);
  const failure = (text: string) => {
    try {
      read(text);
    } catch (error) {
      expect(error).toBeInstanceOf(FailedError);
      return (error as Error).message;
    }
    throw new Error('expected the file to be refused');
  };

  it('reads columns in any order, with a BOM, CRLF, quotes, commas and line breaks in fields', () => {
    const text = '\uFEFFmrn,last_name,first_name,dob\r\nA-1,"Bergström, Jr.","Henrik",1983-10-02\r\n\r\nA-2,"Ødegård","Zoë\r\nMarie",\r\n"A-3","O""Connor",Siobhán,\r\n,,,\r\n\r\n';
    const csv = read(text);
    expect(csv.problems).toEqual([]);
    expect(csv.columns).toEqual(['mrn', 'last_name', 'first_name', 'dob']);
    expect(csv.rows.map((r) => [r.line, r.patient.mrn, r.patient.first_name, r.patient.last_name, r.patient.dob])).toEqual([
      [2, 'A-1', 'Henrik', 'Bergström, Jr.', '1983-10-02'],
      [4, 'A-2', 'Zoë Marie', 'Ødegård', null],
      [6, 'A-3', 'Siobhán', 'O"Connor', null],
    ]);
  });

  it('reads semicolon-separated files as spreadsheets in Europe save them', () => {
    const csv = read('first_name;last_name;phone\nŁukasz;Żółć;+48 500 000 103\n');
    expect(csv.rows[0]!.patient).toMatchObject({ first_name: 'Łukasz', last_name: 'Żółć', phone: '+48 500 000 103' });
  });

  it('accepts header names in any case and with spaces around them', () => {
    expect(read(' First_Name , LAST_NAME \nAnn,Lee\n').columns).toEqual(['first_name', 'last_name']);
  });

  it('refuses unknown, duplicated, empty and missing columns, naming them', () => {
    expect(failure('first_name,last_name,birthdate\nA,B,C\n')).toMatch(/^patients\.csv line 1: unknown column "birthdate"; the columns are first_name, last_name, dob, email, phone, mrn$/);
    expect(failure('first_name,last_name,emial\nA,B,C\n')).toContain('unknown column "emial" (did you mean email?)');
    expect(failure('first_name,last_name,dob,DOB\n')).toContain('column dob appears twice (columns 3 and 4); keep one');
    expect(failure('first_name,,last_name\n')).toContain('column 2 of the header is empty');
    expect(failure('first_name,dob\nA,1990-01-01\n')).toContain('the header has no last_name column; first_name and last_name are required');
  });

  it('refuses an empty file and a header without rows', () => {
    expect(failure('')).toMatch(/^patients\.csv is empty; it needs a header row/);
    expect(failure('\uFEFF\r\n\r\n')).toMatch(/^patients\.csv is empty/);
    expect(failure('first_name,last_name\r\n\r\n,\r\n')).toBe('patients.csv has a header row but no patients; add one row per patient below it');
  });

  it('names the line of a quote that is never closed', () => {
    expect(failure('first_name,last_name\nAnn,Lee\n\n"Bo,Li\nCy,Do\n')).toMatch(/^patients\.csv line 4: a quoted field is never closed/);
  });

  it('collects a problem per bad cell with the line the record starts on', () => {
    const csv = read('first_name,last_name,dob,mrn\n"Ann\nMarie",Lee,1990-02-30,M-1\nBo,,,M-2\nCy,Do,2030-01-01,M-1\nToo,many,fields,M-4,extra\n');
    expect(describeProblems(csv.problems)).toEqual([
      'row 2, column dob: is not a real calendar date; check the month and the day',
      'row 4, column last_name: is empty; every patient needs a last name',
      'row 5, column dob: is in the future; check the year',
      'row 6: has 5 fields but the header names 4 columns; put quotes around any value that holds a comma',
    ]);
  });

  it('refuses an MRN used twice in the file, on the later row', () => {
    const csv = read('first_name,last_name,mrn\nAnn,Lee,M-1\nBo,Li,M-2\nCy,Do,M-1\n');
    expect(describeProblems(csv.problems)).toEqual(['row 4, column mrn: MRN M-1 is also on row 2; each patient needs their own MRN']);
  });

  it('lists at most 20 problems and counts the rest', () => {
    const text = `first_name,last_name\n${Array.from({ length: 25 }, () => 'Ann,\n').join('')}`;
    const lines = describeProblems(read(text).problems);
    expect(lines).toHaveLength(21);
    expect(lines[19]).toBe('row 21, column last_name: is empty; every patient needs a last name');
    expect(lines[20]).toBe('and 5 more');
  });

  it('reports progress once per record', () => {
    const calls: Array<[number, number]> = [];
    checkPatientRows(parsePatientCsv('first_name,last_name\nA,B\nC,D\n', 'p.csv'), TODAY, (done, total) => calls.push([done, total]));
    expect(calls).toEqual([
      [1, 2],
      [2, 2],
    ]);
  });
});
