import { describe, expect, it } from 'vitest';
import { ageOn, checkPatient, latestToday, normaliseName, phoneProblem, type PatientInput, type PatientProblem } from '../../src/domain/patient.js';
import {
  checkPatientRows,
  describeProblems,
  fieldForHeader,
  HEADER_ALIASES,
  likelyField,
  parseColumnMap,
  parseDateFormat,
  parsePatientCsv,
  planImport,
  readBirthDate,
  readPatientCsv,
} from '../../src/domain/patient-csv.js';
import { checkClinic } from '../../src/domain/clinic.js';
import { FailedError, UsageError } from '../../src/errors.js';
import type { Patient } from '../../src/domain/records.js';

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
    expect(codes({ phone: '555-0142 call 3' })).toEqual(['phone:phone']);
    expect(codes({ phone: '1+555' })).toEqual(['phone:phone']);
    expect(codes({ phone: '123' })).toEqual(['phone:phone']);
    expect(codes({ phone: '1234 1234 1234 1234' })).toEqual(['phone:phone']); // 16 digits, no Luhn-valid run in it
  });

  it('accepts an extension after the number, its digits not counted', () => {
    for (const ok of ['+1 212 555 0100 ext. 42', '+1 212 555 0100 x42', '555-0142 ext 3', '(212) 555-0100, extension 1234', '212 555 0100 X 7', '+44 20 7946 0958 #12']) expect(codes({ phone: ok }), ok).toEqual([]);
    expect(codes({ phone: '+1 212 555 0100 ext. 1234567' })).toEqual(['phone:phone']); // an extension has at most 6 digits
    expect(codes({ phone: 'ext. 42' })).toEqual(['phone:phone']);
    expect(codes({ phone: '555 x42 x43' })).toEqual(['phone:phone']);
    expect(codes({ phone: '+1 212 555 0100 ext. abc' })).toEqual(['phone:phone']);
    // A card number stays a card number with an extension-like tail.
    expect(codes({ phone: '4111111111111111' })).toEqual(['phone:card_number']);
    expect(codes({ phone: `${VISA} ext. 42` })).toEqual(['phone:card_number']);
    expect(codes({ phone: `${VISA} x42` })).toEqual(['phone:card_number']);
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
    // Lines of the file, and rows as a spreadsheet shows them (a blank line is a row; Zoë's line break is not).
    expect(csv.rows.map((r) => [r.line, r.row, r.patient.mrn, r.patient.first_name, r.patient.last_name, r.patient.dob])).toEqual([
      [2, 2, 'A-1', 'Henrik', 'Bergström, Jr.', '1983-10-02'],
      [4, 4, 'A-2', 'Zoë Marie', 'Ødegård', null],
      [6, 5, 'A-3', 'Siobhán', 'O"Connor', null],
    ]);
  });

  it('reads semicolon-separated files as spreadsheets in Europe save them', () => {
    const csv = read('first_name;last_name;phone\nŁukasz;Żółć;+48 500 000 103\n');
    expect(csv.rows[0]!.patient).toMatchObject({ first_name: 'Łukasz', last_name: 'Żółć', phone: '+48 500 000 103' });
  });

  it('accepts header names in any case and with spaces around them', () => {
    expect(read(' First_Name , LAST_NAME \nAnn,Lee\n').columns).toEqual(['first_name', 'last_name']);
  });

  it('ignores unknown and unnamed columns, listing them, and refuses two columns of one field and missing ones, naming them', () => {
    const csv = read('first_name,Referral Source,,last_name,emial\nA,Web,x,B,C\n');
    expect(csv.ignored).toEqual(['Referral Source', 'column 3 (no name)', 'emial']);
    expect(csv.columns).toEqual(['first_name', null, null, 'last_name', null]);
    expect(csv.rows[0]!.patient).toMatchObject({ first_name: 'A', last_name: 'B', email: null });
    expect(failure('first_name,last_name,dob,Date of Birth\n')).toBe('patients.csv row 1 (the header): columns "dob" (column 3) and "Date of Birth" (column 4) both hold dob; remove one, or say which with --map "Date of Birth=FIELD"');
    expect(failure('First Name,Given name,Surname\nA,B,C\n')).toContain('columns "First Name" (column 1) and "Given name" (column 2) both hold first_name');
    expect(failure('first_name,dob\nA,1990-01-01\n')).toContain('no column holds last_name; name one "Last Name", "Surname", "Family name"');
  });

  it('refuses an empty file and a header without rows', () => {
    expect(failure('')).toMatch(/^patients\.csv is empty; it needs a header row/);
    expect(failure('\uFEFF\r\n\r\n')).toMatch(/^patients\.csv is empty/);
    expect(failure('first_name,last_name\r\n\r\n,\r\n')).toBe('patients.csv has a header row but no patients; add one row per patient below it');
  });

  it('names the row of a quote that is never closed', () => {
    // Counted as a spreadsheet shows rows: the earlier value's line break is no row of its own.
    expect(failure('first_name,last_name\n"Ann\nMarie",Lee\n"Bo,Li\nCy,Do\n')).toMatch(/^patients\.csv row 3: a quoted field is never closed/);
    expect(failure('first_name,last_name\nAnn,Lee\n\n"Bo,Li\nCy,Do\n')).toMatch(/^patients\.csv row 4: a quoted field is never closed/);
  });

  it('collects a problem per bad cell on the row a spreadsheet shows (a value with a line break stays in one row)', () => {
    const csv = read('first_name,last_name,dob,mrn\n"Ann\nMarie",Lee,1990-02-30,M-1\nBo,,,M-2\nCy,Do,2030-01-01,M-1\nToo,many,fields,M-4,extra\n');
    expect(describeProblems(csv.problems)).toEqual([
      'row 2, column dob: is not a real calendar date; check the month and the day',
      'row 3, column last_name: is empty; every patient needs a last name',
      'row 4, column dob: is in the future; check the year',
      'row 5: has 5 fields but the header names 4 columns; put quotes around any value that holds a comma',
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

  it('finds columns by the alias table, ignoring case, spaces, accents and punctuation', () => {
    expect(fieldForHeader('Chart #')).toBe('mrn');
    expect(fieldForHeader('CHART_NO.')).toBe('mrn');
    expect(fieldForHeader(' patient id ')).toBe('mrn');
    expect(fieldForHeader('Given name')).toBe('first_name');
    expect(fieldForHeader('Forename')).toBe('first_name');
    expect(fieldForHeader('SURNAME')).toBe('last_name');
    expect(fieldForHeader('Family-name')).toBe('last_name');
    expect(fieldForHeader('D.O.B.')).toBe('dob');
    expect(fieldForHeader('Date of birth')).toBe('dob');
    expect(fieldForHeader('e-mail')).toBe('email');
    expect(fieldForHeader('Émail address')).toBe('email');
    expect(fieldForHeader('Mobile phone')).toBe('phone');
    expect(fieldForHeader('first_name')).toBe('first_name');
    expect(fieldForHeader('Referral Source')).toBeUndefined();
    // A header no alias matches may still be a misspelling of one.
    expect([likelyField('Emial'), likelyField('Frist Name'), likelyField('Date of Brith'), likelyField('Referral Source'), likelyField('Name'), likelyField('Notes')]).toEqual(['email', 'first_name', 'dob', undefined, undefined, undefined]);
    // Every alias maps to its own field, and no alias is listed for two fields.
    for (const [field, aliases] of Object.entries(HEADER_ALIASES)) for (const alias of aliases) expect(fieldForHeader(alias), alias).toBe(field);
    const csv = read('Chart #,First Name,Last Name,Date of Birth,E-mail,Mobile,Referral Source\nC-1,Zoë,Ødegård,1988-02-14,zoe@example.org,+1 212 555 0100 ext. 42,Google\n');
    expect(csv.columns).toEqual(['mrn', 'first_name', 'last_name', 'dob', 'email', 'phone', null]);
    expect(csv.ignored).toEqual(['Referral Source']);
    expect(csv.rows[0]!.patient).toEqual({ mrn: 'C-1', first_name: 'Zoë', last_name: 'Ødegård', dob: '1988-02-14', email: 'zoe@example.org', phone: '+1 212 555 0100 ext. 42' });
  });

  it('reads --map entries, which win over the alias table, and refuses wrong ones by name', () => {
    expect(parseColumnMap(['Client no=mrn', 'Cell=phone, Name=first_name'])).toEqual([
      { header: 'Client no', field: 'mrn' },
      { header: 'Cell', field: 'phone' },
      { header: 'Name', field: 'first_name' },
    ]);
    const usage = (run: () => unknown) => {
      try {
        run();
      } catch (error) {
        expect(error).toBeInstanceOf(UsageError);
        return (error as Error).message;
      }
      throw new Error('expected a usage error');
    };
    expect(usage(() => parseColumnMap(['Chart #=chart']))).toBe('--map "Chart #=chart": there is no field chart; the fields are first_name, last_name, dob, email, phone, mrn');
    expect(usage(() => parseColumnMap(['Mail=emial']))).toContain('there is no field emial (did you mean email?)');
    expect(usage(() => parseColumnMap(['Chart #']))).toBe('--map "Chart #" is not HEADER=field; write it like --map "Chart #=mrn"');
    const map = parseColumnMap(['Client no=mrn', 'Phone=email']);
    const csv = readPatientCsv('Client no,First,Last,Phone\nK-9,Ann,Lee,ann@example.org\n', 'p.csv', TODAY, { map });
    expect(csv.columns).toEqual(['mrn', 'first_name', 'last_name', 'email']);
    expect(csv.rows[0]!.patient).toMatchObject({ mrn: 'K-9', email: 'ann@example.org', phone: null });
    expect(usage(() => parsePatientCsv('First,Last\nAnn,Lee\n', 'p.csv', { map: parseColumnMap(['Chart #=mrn']) }))).toBe('--map names the column "Chart #", which p.csv does not have; its columns are "First", "Last"');
  });

  it('reads birth dates as ISO, or in the clinic\'s --date-format with single-digit days and months', () => {
    expect(readBirthDate('1985-04-03', undefined)).toEqual({ ok: true, value: '1985-04-03' });
    expect(readBirthDate('1985-04-03', 'MM/DD/YYYY')).toEqual({ ok: true, value: '1985-04-03' });
    expect(readBirthDate('03/04/1985', 'MM/DD/YYYY')).toEqual({ ok: true, value: '1985-03-04' });
    expect(readBirthDate('3/4/1985', 'DD/MM/YYYY')).toEqual({ ok: true, value: '1985-04-03' });
    expect(readBirthDate('3.4.1985', 'DD.MM.YYYY')).toEqual({ ok: true, value: '1985-04-03' });
    expect(readBirthDate('02/29/2024', 'MM/DD/YYYY')).toEqual({ ok: true, value: '2024-02-29' });
    expect(readBirthDate('02/30/1985', 'MM/DD/YYYY')).toEqual({ ok: false, message: '"02/30/1985" is not a real date written MM/DD/YYYY; check the month and the day' });
    expect(readBirthDate('13/04/1985', 'MM/DD/YYYY')).toEqual({ ok: false, message: '"13/04/1985" is not a real date written MM/DD/YYYY; check the month and the day' });
    expect(readBirthDate('3.4.1985', 'DD/MM/YYYY')).toEqual({ ok: false, message: '"3.4.1985" is not a date written DD/MM/YYYY (nor YYYY-MM-DD); check it' });
    expect(readBirthDate('April 3rd', 'DD/MM/YYYY')).toEqual({ ok: false, message: 'the value is not a date written DD/MM/YYYY (nor YYYY-MM-DD); check it' });
  });

  it('refuses a day-first or month-first date without --date-format, saying which one reads it', () => {
    const message = (text: string) => {
      const read = readBirthDate(text, undefined);
      return read.ok ? undefined : read.message;
    };
    expect(message('03/04/1985')).toBe('"03/04/1985" could be day first or month first; import with --date-format MM/DD/YYYY or --date-format DD/MM/YYYY, as the file writes dates');
    expect(message('13/04/1985')).toBe('"13/04/1985" looks like DD/MM/YYYY, not YYYY-MM-DD; import with --date-format DD/MM/YYYY');
    expect(message('4/13/1985')).toBe('"4/13/1985" looks like MM/DD/YYYY, not YYYY-MM-DD; import with --date-format MM/DD/YYYY');
    expect(message('03.04.1985')).toBe('"03.04.1985" looks like DD.MM.YYYY, not YYYY-MM-DD; import with --date-format DD.MM.YYYY');
    // Anything else is left to the ISO rule of checkPatient.
    expect(readBirthDate('soon', undefined)).toEqual({ ok: true, value: 'soon' });
    const csv = read('first_name,last_name,dob\nAnn,Lee,1985-04-03\nBo,Li,03/04/1985\n');
    expect(describeProblems(csv.problems)).toEqual(['row 3, column dob: "03/04/1985" could be day first or month first; import with --date-format MM/DD/YYYY or --date-format DD/MM/YYYY, as the file writes dates']);
    expect(csv.rows.map((r) => r.row)).toEqual([2]);
    const us = readPatientCsv('first_name,last_name,dob\nAnn,Lee,1985-04-03\nBo,Li,03/04/1985\nCy,Do,12/31/2030\n', 'p.csv', TODAY, { dateFormat: 'MM/DD/YYYY' });
    expect(us.rows.map((r) => r.patient.dob)).toEqual(['1985-04-03', '1985-03-04']);
    expect(describeProblems(us.problems)).toEqual(['row 4, column dob: is in the future; check the year']);
  });

  it('reads --date-format in any case and refuses others', () => {
    expect(parseDateFormat(undefined)).toBeUndefined();
    expect(parseDateFormat('mm/dd/yyyy')).toBe('MM/DD/YYYY');
    expect(() => parseDateFormat('YYYY/MM/DD')).toThrow(UsageError);
    expect(() => parseDateFormat('YYYY/MM/DD')).toThrow('--date-format YYYY/MM/DD is not one txplan reads; use MM/DD/YYYY, DD/MM/YYYY, DD.MM.YYYY (YYYY-MM-DD is always read)');
  });

  it('sorts rows into added, updated (with the changed fields), unchanged, skipped or taken', () => {
    const stored = (id: number, mrn: string, fields: Partial<Patient> = {}): Patient => ({
      id,
      mrn,
      first_name: 'Ann',
      last_name: 'Lee',
      dob: '1985-04-03',
      email: 'ann@example.org',
      phone: '555 0100',
      created_at: '2026-01-01T00:00:00.000Z',
      updated_at: '2026-01-01T00:00:00.000Z',
      archived_at: null,
      merged_into: null,
      ...fields,
    });
    const { rows } = read('mrn,first_name,last_name,dob,email,phone\nM-1,Ann,Lee,1985-04-03,ann@new.example.org,\nM-2,Ann,Lee,1985-04-03,ann@example.org,555 0100\nM-3,Bo,Li,,,\n,Cy,Do,,,\n');
    const existing = new Map([
      ['M-1', stored(1, 'M-1')],
      ['M-2', stored(2, 'M-2')],
    ]);
    const update = planImport(rows, existing, 'update');
    expect(update.add.map((r) => r.row)).toEqual([4, 5]);
    // A blank phone cell leaves the stored phone as it is.
    expect(update.update.map((u) => [u.row, u.patient.id, u.changed, u.fields])).toEqual([[2, 1, ['email'], { email: 'ann@new.example.org' }]]);
    expect(update.unchanged.map((u) => [u.row, u.patient.id])).toEqual([[3, 2]]);
    expect(update.skip).toEqual([]);
    const skip = planImport(rows, existing, 'skip');
    expect([skip.add.length, skip.update.length, skip.skip.map((s) => s.row)]).toEqual([2, 0, [2, 3]]);
    const refuse = planImport(rows, existing, 'refuse');
    expect(refuse.taken.map((t) => [t.row, t.patient.id])).toEqual([
      [2, 1],
      [3, 2],
    ]);
  });

  it('reports progress once per record', () => {
    const calls: Array<[number, number]> = [];
    checkPatientRows(parsePatientCsv('first_name,last_name\nA,B\nC,D\n', 'p.csv'), TODAY, { onRow: (done, total) => calls.push([done, total]) });
    expect(calls).toEqual([
      [1, 2],
      [2, 2],
    ]);
  });
});
