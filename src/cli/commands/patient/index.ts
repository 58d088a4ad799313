import type { Command } from 'commander';
import type { Action } from '../../action.js';

export function register(program: Command, action: Action): void {
  const patient = program.command('patient').description('patient profiles: add, import, list and show');
  patient
    .command('add')
    .description('add a patient and print the new id')
    .option('--first <name>', 'first name (asked on a terminal when missing)')
    .option('--last <name>', 'last name (asked on a terminal when missing)')
    .option('--dob <date>', 'date of birth, YYYY-MM-DD')
    .option('--email <address>', 'email address')
    .option('--phone <number>', 'phone number: digits, spaces and + ( ) - .')
    .option('--mrn <id>', 'medical record number from your records system: letters, digits, . _ -')
    .addHelpText('after', '\nExamples:\n  $ txplan patient add --first Zoë --last Ødegård --dob 1988-02-14 --mrn ZO-1001\n  $ id=$(txplan patient add --first José --last Núñez --email jose@example.org)')
    .action(action(async (ctx, opts: Record<string, string | undefined>) => (await import('./add.js')).run(ctx, opts)));
  patient
    .command('import')
    .description('add patients from a CSV file: all rows or none')
    .argument('<file>', 'CSV with a header row: first_name, last_name (required), dob, email, phone, mrn, in any order')
    .option('--dry-run', 'check every row and say what would be imported, without writing')
    .addHelpText('after', '\nExamples:\n  $ txplan patient import examples/patients.csv --dry-run\n  $ txplan patient import patients.csv --json')
    .action(action(async (ctx, file: string, opts: { dryRun?: boolean }) => (await import('./import.js')).run(ctx, file, opts)));
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
