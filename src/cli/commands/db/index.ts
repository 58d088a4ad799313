import type { Command } from 'commander';
import type { Action } from '../../action.js';

export function register(program: Command, action: Action): void {
  const db = program.command('db').description('the patient database');
  db.command('check')
    .description('integrity and foreign-key check of the database')
    .action(action(async (ctx) => (await import('./maintenance.js')).check(ctx)));
  db.command('backup')
    .description('an online backup to FILE, private (0600), safe while txplan runs')
    .argument('<file>', 'backup file to create')
    .option('--force', 'replace FILE if it exists')
    .addHelpText('after', '\nExamples:\n  $ txplan db backup backups/txplan-$(date +%F).db')
    .action(action(async (ctx, file: string, opts: { force?: boolean }) => (await import('./maintenance.js')).backup(ctx, file, opts)));
}
