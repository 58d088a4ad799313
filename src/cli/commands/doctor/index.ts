import type { Command } from 'commander';
import type { Action } from '../../action.js';

export function register(program: Command, action: Action): void {
  program
    .command('doctor')
    .description('check that txplan can run here: Node, workspace, database, migrations, payments, git, fonts, time zones, billing and cron; one line each, with the fix')
    .addHelpText('after', '\nExits 1 when a check fails; warnings alone exit 0. Never changes anything.\n\nExamples:\n  $ txplan doctor\n  $ txplan doctor --json')
    .action(action(async (ctx) => (await import('./run.js')).run(ctx)));
}
