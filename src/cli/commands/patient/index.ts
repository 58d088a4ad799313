import type { Command } from 'commander';
import type { Action } from '../../action.js';
import type { ImportOptions } from './import.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function register(program: Command, action: Action): void {
  const patient = program.command('patient').description('patient profiles: add, edit, merge, archive, import, list and show');
  patient
    .command('add')
    .description('add a patient and print the new id')
    .option('--first <name>', 'first name (asked on a terminal when missing)')
    .option('--last <name>', 'last name (asked on a terminal when missing)')
    .option('--dob <date>', 'date of birth, YYYY-MM-DD')
    .option('--email <address>', 'email address')
    .option('--phone <number>', 'phone number: digits, spaces and + ( ) - ., and an extension such as "ext. 42"')
    .option('--mrn <id>', 'medical record number from your records system: letters, digits, . _ -')
    .option('--allow-duplicate', 'add even when a patient with the same name and date of birth, email or phone exists')
    .addHelpText('after', '\nExamples:\n  $ txplan patient add --first Zoë --last Ødegård --dob 1988-02-14 --mrn ZO-1001\n  $ id=$(txplan patient add --first José --last Núñez --email jose@example.org)')
    .action(action(async (ctx, opts: Record<string, string | undefined>) => (await import('./add.js')).run(ctx, opts)));
  patient
    .command('edit')
    .description("correct a patient's name, date of birth, email, phone or MRN (asked field by field on a terminal)")
    .argument('<patient>', 'patient id or MRN (mrn:X when an MRN is all digits)')
    .option('--first <name>', 'first name')
    .option('--last <name>', 'last name')
    .option('--dob <date>', 'date of birth, YYYY-MM-DD ("" clears it)')
    .option('--email <address>', 'email address ("" clears it)')
    .option('--phone <number>', 'phone number ("" clears it)')
    .option('--mrn <id>', 'medical record number ("" clears it)')
    .addHelpText('after', '\nExamples:\n  $ txplan patient edit 12 --last Müller --dob 1990-03-02\n  $ txplan patient edit ZO-1001 --email "" --json')
    .action(action(async (ctx, ref: string, opts: Record<string, string | undefined>) => (await import('./edit.js')).run(ctx, ref, opts)));
  patient
    .command('merge')
    .description("merge a duplicate record into the one kept: its plans, charges and payment methods move; the duplicate then points at the kept patient")
    .argument('<keep>', 'the patient to keep (id or MRN)')
    .argument('<duplicate>', 'the duplicate record (id or MRN)')
    .addHelpText('after', '\nBoth having an active plan of the same template is refused unless --yes.\n\nExamples:\n  $ txplan patient merge 12 31\n  $ txplan patient merge ZO-1001 ZO-1001-B --json')
    .action(action(async (ctx, keep: string, duplicate: string) => (await import('./merge.js')).run(ctx, keep, duplicate)));
  patient
    .command('archive')
    .description('archive a patient: records kept, hidden from lists and searches, never billed')
    .argument('<patient>', 'patient id or MRN')
    .addHelpText('after', '\nA patient with an active, paused or past-due plan is archived only with --yes (the plan is then not billed).\n\nExamples:\n  $ txplan patient archive 12\n  $ txplan patient list --archived')
    .action(action(async (ctx, ref: string) => (await import('./archive.js')).run(ctx, ref, true)));
  patient
    .command('unarchive')
    .description('bring an archived patient back to lists, searches and billing')
    .argument('<patient>', 'patient id or MRN')
    .addHelpText('after', '\nExamples:\n  $ txplan patient unarchive 12')
    .action(action(async (ctx, ref: string) => (await import('./archive.js')).run(ctx, ref, false)));
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
    .option('--search <text>', 'only patients whose name, MRN, email or phone contains TEXT (case and accents ignored)')
    .option('--all', 'archived patients too')
    .option('--archived', 'only archived patients')
    .addHelpText('after', '\nExamples:\n  $ txplan patient list\n  $ txplan patient list --search muller --json\n  $ txplan patient list --archived')
    .action(action(async (ctx, opts: { search?: string; all?: boolean; archived?: boolean }) => (await import('./list.js')).run(ctx, opts)));
  patient
    .command('show')
    .description("show a patient's profile with its plans")
    .argument('<patient>', 'patient id or MRN (mrn:X when an MRN is all digits)')
    .addHelpText('after', '\nExamples:\n  $ txplan patient show 12\n  $ txplan patient show ZO-1001 --json')
    .action(action(async (ctx, ref: string) => (await import('./show.js')).run(ctx, ref)));
}
