import type { Command } from 'commander';
import type { Action } from '../../action.js';
import type { ImportOptions } from './import.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function register(program: Command, action: Action): void {
  const patient = program.command('patient').description('patient profiles: add, import, list and show');
  patient
    .command('add')
    .description('add a patient and print the new id')
    .option('--first <name>', 'first name (asked on a terminal when missing)')
    .option('--last <name>', 'last name (asked on a terminal when missing)')
    .option('--dob <date>', 'date of birth, YYYY-MM-DD')
    .option('--email <address>', 'email address')
    .option('--phone <number>', 'phone number: digits, spaces and + ( ) - ., and an extension such as "ext. 42"')
    .option('--mrn <id>', 'medical record number from your records system: letters, digits, . _ -')
    .addHelpText('after', '\nExamples:\n  $ txplan patient add --first Zoë --last Ødegård --dob 1988-02-14 --mrn ZO-1001\n  $ id=$(txplan patient add --first José --last Núñez --email jose@example.org)')
    .action(action(async (ctx, opts: Record<string, string | undefined>) => (await import('./add.js')).run(ctx, opts)));
  patient
    .command('import')
    .description('add patients from a CSV file, such as a booking system\'s export: all rows or none')
    .argument('<file>', 'CSV with a header row naming first and last name (required), date of birth, email, phone and MRN columns, in any order; other columns are ignored')
    .option('--map <header=field>', 'read the column HEADER as field first_name, last_name, dob, email, phone or mrn (repeatable, or comma-separated)', collect)
    .option('--date-format <format>', 'how the file writes birth dates: MM/DD/YYYY, DD/MM/YYYY or DD.MM.YYYY (YYYY-MM-DD is always read)')
    .option('--update', 'for rows whose MRN is already in txplan, write the fields that changed (blank cells change nothing)')
    .option('--skip-existing', 'leave patients whose MRN is already in txplan as they are')
    .option('--dry-run', 'check every row and say what would be added, updated and skipped, without writing')
    .addHelpText(
      'after',
      '\nColumns are found by their header, ignoring case, spaces and punctuation: First Name, Given name, Forename; Last Name, Surname, Family name; DOB, Date of Birth, Birthdate; E-mail, Email address; Mobile, Phone, Cell, Telephone; Chart #, MRN, Patient ID, Record number.\n' +
        '\nExamples:\n  $ txplan patient import examples/patients.csv --dry-run\n  $ txplan patient import export.csv --date-format MM/DD/YYYY --update\n  $ txplan patient import export.csv --map "Client no=mrn" --skip-existing --json',
    )
    .action(action(async (ctx, file: string, opts: ImportOptions) => (await import('./import.js')).run(ctx, file, opts)));
  patient
    .command('list')
    .description('list patients with how many plans each has')
    .option('--search <text>', 'only patients whose name, MRN or email contains TEXT')
    .addHelpText('after', '\nExamples:\n  $ txplan patient list\n  $ txplan patient list --search Ødegård --json')
    .action(action(async (ctx, opts: { search?: string }) => (await import('./list.js')).run(ctx, opts)));
  patient
    .command('show')
    .description("show a patient's profile with its plans")
    .argument('<patient>', 'patient id or MRN (mrn:X when an MRN is all digits)')
    .addHelpText('after', '\nExamples:\n  $ txplan patient show 12\n  $ txplan patient show ZO-1001 --json')
    .action(action(async (ctx, ref: string) => (await import('./show.js')).run(ctx, ref)));
}
