import type { Command } from 'commander';
import type { Action } from '../../action.js';

export function register(program: Command, action: Action): void {
  program
    .command('audit')
    .description('the append-only record of every change to patients and plans, newest first')
    .option('--entity <entity>', 'plan, patient, clinic, …')
    .option('--id <id>', 'one entity (needs --entity)')
    .option('--since <date>', 'entries from this date (YYYY-MM-DD) or time (YYYY-MM-DDTHH:MM) on, read in the workspace time zone')
    .option('--until <date>', 'entries up to this date (the whole day) or time, read in the workspace time zone')
    .option('--limit <n>', 'only the newest N entries')
    .option('--reverse', 'oldest first (with --limit: the newest N, oldest first)')
    .addHelpText('after', '\nExamples:\n  $ txplan audit --entity plan --id 12\n  $ txplan audit --limit 20 --reverse\n  $ txplan audit --since 2026-11-01 --json\n  $ txplan audit --entity charge --since 2026-11-01 --until 2026-11-30')
    .action(action(async (ctx, opts) => (await import('./list.js')).run(ctx, opts)));
}
