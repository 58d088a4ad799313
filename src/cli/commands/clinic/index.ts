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
    .addHelpText('after', '\nExamples:\n  $ txplan clinic add downtown --name "Lumen Downtown" --timezone America/New_York\n  $ txplan clinic add oslo --name "Lumen Oslo" --timezone Europe/Oslo --phone "+47 22 00 00 00"')
    .action(action(async (ctx, id: string, opts: { name?: string; timezone?: string; address?: string; phone?: string }) => (await import('./add.js')).run(ctx, id, opts)));
  clinic
    .command('list')
    .description('list the clinics')
    .addHelpText('after', '\nExamples:\n  $ txplan clinic list\n  $ txplan clinic list --json')
    .action(action(async (ctx) => (await import('./list.js')).run(ctx)));
}
