import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { beforeAllWithFolders, query, runner, workspace } from '../helpers.js';

/**
 * `patient import` of a booking system's export: headers found by the alias
 * table and --map, US dates read with --date-format, the same export
 * imported again with --update (changes written and audited) or
 * --skip-existing. One workspace for the file; each step builds on the last.
 */

const HEADER = 'Chart #,First Name,Last Name,Date of Birth,E-mail,Mobile,Referral Source';
const OCTOBER = [HEADER, 'C-1001,Zoë,Ødegård,02/14/1988,zoe@example.org,+1 212 555 0100,Google', 'C-1002,José,Núñez,3/4/1979,jose@example.org,+1 212 555 0101 ext. 42,Friend', 'C-1003,Mei,Nakamura,12/30/1990,,,'].join('\n');
// The next month's export: Zoë's email and José's phone changed, Mei as she was, and one new patient.
const NOVEMBER = [
  HEADER,
  'C-1001,Zoë,Ødegård,02/14/1988,zoe.odegard@example.org,+1 212 555 0100,Google',
  'C-1002,José,Núñez,3/4/1979,jose@example.org,+1 212 555 0199 x7,Friend',
  'C-1003,Mei,Nakamura,12/30/1990,,,',
  'C-1004,Henrik,Bergström,07/01/1983,henrik@example.se,,Instagram',
].join('\n');

const WARNING = (file: string) => `warning: ${file}: ignoring the column "Referral Source", which txplan does not import; to import it, name its field with --map "HEADER=field"\n`;

interface Row {
  id: number;
  mrn: string;
  first_name: string;
  dob: string | null;
  email: string | null;
  phone: string | null;
}
interface Entry {
  action: string;
  entity_id: string;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
}

let ws: string;
let run: ReturnType<typeof runner>['run'];
const patients = () => query<Row>(ws, 'SELECT id, mrn, first_name, dob, email, phone FROM patients ORDER BY id');
const counts = () => [query<{ n: number }>(ws, 'SELECT count(*) AS n FROM patients')[0]!.n, query<{ n: number }>(ws, 'SELECT count(*) AS n FROM audit')[0]!.n].map(Number);
const file = (name: string, text: string) => {
  writeFileSync(join(ws, name), `${text}\n`);
  return name;
};

beforeAllWithFolders(() => {
  ws = workspace();
  ({ run } = runner(ws));
  file('october.csv', OCTOBER);
  file('november.csv', NOVEMBER);
});

describe('patient import of a booking system export', () => {
  it('refuses US dates without --date-format, naming the rows, and writes nothing', () => {
    const result = run('patient', 'import', 'october.csv');
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      WARNING('october.csv') +
        'txplan: october.csv has 3 problems, so nothing was imported; fix them and run the import again:\n' +
        '  row 2, column dob: "02/14/1988" looks like MM/DD/YYYY, not YYYY-MM-DD; import with --date-format MM/DD/YYYY\n' +
        '  row 3, column dob: "3/4/1979" could be day first or month first; import with --date-format MM/DD/YYYY or --date-format DD/MM/YYYY, as the file writes dates\n' +
        '  row 4, column dob: "12/30/1990" looks like MM/DD/YYYY, not YYYY-MM-DD; import with --date-format MM/DD/YYYY\n',
    );
    // The database is made on first use; it holds no patient and no audit entry.
    expect(run('patient', 'list', '--json').stdout).toBe('[]\n');
  });

  it('imports the export with --date-format MM/DD/YYYY, mapping its headers and warning once about Referral Source', () => {
    const result = run('patient', 'import', 'october.csv', '--date-format', 'MM/DD/YYYY');
    expect(result).toEqual({ code: 0, stdout: '✔ Imported october.csv: added 3 (ids 1–3), updated 0, unchanged 0, skipped 0.\n', stderr: WARNING('october.csv') });
    expect(patients()).toEqual([
      { id: 1, mrn: 'C-1001', first_name: 'Zoë', dob: '1988-02-14', email: 'zoe@example.org', phone: '+1 212 555 0100' },
      { id: 2, mrn: 'C-1002', first_name: 'José', dob: '1979-03-04', email: 'jose@example.org', phone: '+1 212 555 0101 ext. 42' },
      { id: 3, mrn: 'C-1003', first_name: 'Mei', dob: '1990-12-30', email: null, phone: null },
    ]);
  });

  it('refuses next month\'s export by default, all or nothing, pointing to --update and --skip-existing', () => {
    const before = counts();
    const result = run('patient', 'import', 'november.csv', '--date-format', 'MM/DD/YYYY');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('  row 2, column mrn: MRN C-1001 already belongs to patient 1');
    expect(result.stderr).toContain('add --update to write the changed fields from the file, or --skip-existing to leave them as they are.');
    expect(counts()).toEqual(before);
  });

  it('--dry-run --update lists what each row would do, labelled by row, and writes nothing', () => {
    const before = counts();
    const result = run('patient', 'import', 'november.csv', '--date-format', 'MM/DD/YYYY', '--update', '--dry-run');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      'row 2: update patient 1 (MRN C-1001): email\n' + 'row 3: update patient 2 (MRN C-1002): phone\n' + 'row 4: unchanged patient 3 (MRN C-1003)\n' + 'row 5: add Bergström, Henrik (MRN C-1004)\n',
    );
    expect(result.stderr).toBe(`${WARNING('november.csv')}Dry run of november.csv: would add 1, update 2, leave 1 unchanged and skip 0; nothing was written.\n`);
    expect(counts()).toEqual(before);
  });

  it('--update writes the changed fields, audits each change and adds the new row', () => {
    const [, auditBefore] = counts();
    const result = run('patient', 'import', 'november.csv', '--date-format', 'MM/DD/YYYY', '--update');
    expect(result).toEqual({ code: 0, stdout: '✔ Imported november.csv: added 1 (id 4), updated 2, unchanged 1, skipped 0.\n', stderr: WARNING('november.csv') });
    expect(patients()).toEqual([
      { id: 1, mrn: 'C-1001', first_name: 'Zoë', dob: '1988-02-14', email: 'zoe.odegard@example.org', phone: '+1 212 555 0100' },
      { id: 2, mrn: 'C-1002', first_name: 'José', dob: '1979-03-04', email: 'jose@example.org', phone: '+1 212 555 0199 x7' },
      { id: 3, mrn: 'C-1003', first_name: 'Mei', dob: '1990-12-30', email: null, phone: null },
      { id: 4, mrn: 'C-1004', first_name: 'Henrik', dob: '1983-07-01', email: 'henrik@example.se', phone: null },
    ]);
    // The audit as `txplan audit` shows it: one entry per updated patient with the fields before and after, one per new patient.
    const audit = run('audit', '--entity', 'patient', '--reverse', '--json');
    expect(audit.code).toBe(0);
    const entries = (JSON.parse(audit.stdout) as Entry[]).slice(auditBefore);
    expect(entries.map((e) => [e.action, e.entity_id, e.before, e.action === 'patient.import' ? null : e.after])).toEqual([
      ['patient.import', '4', null, null],
      ['patient.import.update', '1', { email: 'zoe@example.org' }, { email: 'zoe.odegard@example.org' }],
      ['patient.import.update', '2', { phone: '+1 212 555 0101 ext. 42' }, { phone: '+1 212 555 0199 x7' }],
    ]);
    const text = run('audit', '--entity', 'patient', '--id', '1');
    expect(text.stdout).toMatch(/patient\.import\.update\tpatient 1\t\{"email":"zoe@example\.org"\}\t\{"email":"zoe\.odegard@example\.org"\}/);
  });

  it('--skip-existing leaves patients already there as they are and adds only new rows', () => {
    const text = [HEADER, 'C-1001,Zoë,Ødegård,02/14/1988,changed@example.org,,', 'C-1005,Siobhán,O\'Connor,9/8/1992,,,'].join('\n');
    const result = run('patient', 'import', file('december.csv', text), '--date-format', 'MM/DD/YYYY', '--skip-existing', '--json');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ added: 1, updated: 0, unchanged: 0, skipped: 1, ignored_columns: ['Referral Source'], skipped_rows: [{ row: 2, id: 1, mrn: 'C-1001' }], patients: [{ row: 3, id: 5, mrn: 'C-1005', dob: '1992-09-08' }] });
    expect(patients()[0]!.email).toBe('zoe.odegard@example.org');
  });

  it('--map names a column the alias table does not know, and reads day-first dates with --date-format DD.MM.YYYY', () => {
    const text = 'Client no,Given name,Surname,Born,Cell,Emial\nK-1,Łukasz,Żółć,21.7.1992,+48 500 000 103,lukasz@example.pl\n';
    const result = run('patient', 'import', file('clinic.csv', text), '--map', 'Client no=mrn', '--date-format', 'DD.MM.YYYY', '--json');
    expect(result.code).toBe(0);
    // A misspelt header is ignored like any other, with a hint.
    expect(result.stderr).toBe('warning: clinic.csv: ignoring the column "Emial" (did you mean email?), which txplan does not import; to import it, name its field with --map "HEADER=field"\n');
    expect(JSON.parse(result.stdout)).toMatchObject({ added: 1, patients: [{ row: 2, mrn: 'K-1', first_name: 'Łukasz', last_name: 'Żółć', dob: '1992-07-21', phone: '+48 500 000 103' }] });
  });

  it('refuses wrong flags with exit 2, naming what is wrong, and writes nothing', () => {
    const before = counts();
    expect(run('patient', 'import', 'november.csv', '--update', '--skip-existing')).toMatchObject({ code: 2, stdout: '', stderr: expect.stringContaining('--update and --skip-existing cannot be used together') });
    expect(run('patient', 'import', 'november.csv', '--map', 'Chart #=chart')).toEqual({ code: 2, stdout: '', stderr: 'txplan: --map "Chart #=chart": there is no field chart; the fields are first_name, last_name, dob, email, phone, mrn\n' });
    expect(run('patient', 'import', 'november.csv', '--map', 'Chart no=mrn,Referral Source=first_name')).toMatchObject({ code: 2, stderr: expect.stringMatching(/^txplan: --map names the column "Chart no", which november\.csv does not have; its columns are "Chart #", "First Name"/) });
    const twice = run('patient', 'import', 'november.csv', '--map', 'Referral Source=first_name', '--date-format', 'MM/DD/YYYY', '--update');
    expect(twice).toMatchObject({ code: 1, stderr: 'txplan: november.csv row 1 (the header): columns "First Name" (column 2) and "Referral Source" (column 7) both hold first_name; remove one, or say which with --map "Referral Source=FIELD"\n' });
    expect(counts()).toEqual(before);
  });
});
