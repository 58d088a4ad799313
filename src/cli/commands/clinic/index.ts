import type { Command } from 'commander';
import type { Action } from '../../action.js';

export function register(program: Command, action: Action): void {
  const clinic = program.command('clinic').description('the clinic locations plans are started at, each with its time zone');
  clinic
    .command('add')
    .description('add a clinic location')
    .argument('<id>', 'clinic id: lowercase letters, digits and dashes, e.g. downtown')
    .option('--name <name>', 'the name patients know the clinic by (asked on a terminal when missing)')
    .option('--timezone <zone>', 'IANA time zone, e.g. America/New_York (default: timezone in txplan.yaml)')
    .option('--address <text>', 'street address')
    .option('--phone <number>', 'phone number')
    .option('--currency <code>', 'ISO 4217 currency the plans sold here are in, e.g. NOK (default: currency in txplan.yaml)')
    .option('--locale <tag>', 'BCP 47 locale money is written in here, e.g. nb-NO (default: en-US)')
    .addHelpText('after', '\nExamples:\n  $ txplan clinic add downtown --name "Lumen Downtown" --timezone America/New_York\n  $ txplan clinic add oslo --name "Lumen Oslo" --timezone Europe/Oslo --currency NOK --locale nb-NO')
    .action(action(async (ctx, id: string, opts: { name?: string; timezone?: string; address?: string; phone?: string; currency?: string; locale?: string }) => (await import('./add.js')).run(ctx, id, opts)));
  clinic
    .command('edit')
    .description("change a clinic's name, address, phone, time zone, currency or locale")
    .argument('<id>', 'clinic id')
    .option('--name <name>', 'the name patients know the clinic by')
    .option('--address <text>', 'street address ("" clears it)')
    .option('--phone <number>', 'phone number ("" clears it)')
    .option('--timezone <zone>', 'IANA time zone; refused while visits are booked from now on, unless --yes (they keep their local time)')
    .option('--currency <code>', 'ISO 4217 currency of the plans sold from now on (plans already sold keep theirs)')
    .option('--locale <tag>', 'BCP 47 locale money is written in, e.g. nb-NO')
    .addHelpText('after', '\nExamples:\n  $ txplan clinic edit downtown --phone "+1 212 555 0100"\n  $ txplan clinic edit oslo --currency NOK --locale nb-NO')
    .action(action(async (ctx, id: string, opts) => (await import('./edit.js')).run(ctx, id, opts)));
  clinic
    .command('archive')
    .description('hide a clinic from lists and close it to new plans (its plans and history are kept; with plans still running, needs --yes)')
    .argument('<id>', 'clinic id')
    .addHelpText('after', '\nExamples:\n  $ txplan clinic archive uptown\n  $ txplan clinic unarchive uptown')
    .action(action(async (ctx, id: string) => (await import('./archive.js')).run(ctx, id, true)));
  clinic
    .command('unarchive')
    .description('bring an archived clinic back into use')
    .argument('<id>', 'clinic id')
    .action(action(async (ctx, id: string) => (await import('./archive.js')).run(ctx, id, false)));
  clinic
    .command('list')
    .description('list the clinics in use')
    .option('--all', 'archived clinics too')
    .addHelpText('after', '\nExamples:\n  $ txplan clinic list\n  $ txplan clinic list --all --json')
    .action(action(async (ctx, opts: { all?: boolean }) => (await import('./list.js')).run(ctx, opts)));
}
