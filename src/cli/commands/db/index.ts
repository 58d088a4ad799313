import type { Command } from 'commander';
import type { Action } from '../../action.js';

export function register(program: Command, action: Action): void {
  const db = program.command('db').description('the patient database');
  db.command('check')
    .description('integrity and foreign-key check of the database')
    .action(action(async (ctx) => (await import('./maintenance.js')).check(ctx)));
  db.command('backup')
    .description('back up the database, the attachments and the sandbox processor\'s ledger into a new private folder, with a manifest of hashes; safe while txplan runs')
    .argument('<folder>', 'backup folder to create (never overwritten); keep it outside the repository')
    .addHelpText('after', '\nExamples:\n  $ txplan db backup ~/txplan-backups/$(date +%F)\n  $ txplan db backup .txplan/backups/$(date +%F)   # .txplan/ is git-ignored')
    .action(action(async (ctx, folder: string) => (await import('./maintenance.js')).backup(ctx, folder)));
  db.command('restore')
    .description('restore the database and attachments from a backup folder after checking its manifest; the processor\'s ledger is never rolled back')
    .argument('<folder>', 'a folder written by "txplan db backup"')
    .option('--force', 'restore even over a database with changes made after the backup (they are lost)')
    .addHelpText('after', '\nAsks first on a terminal; elsewhere needs --yes. Then run "txplan billing reconcile".\n\nExamples:\n  $ txplan db restore ~/txplan-backups/2026-11-27\n  $ txplan --yes db restore ~/txplan-backups/2026-11-27 --force')
    .action(action(async (ctx, folder: string, opts: { force?: boolean }) => (await import('./maintenance.js')).restore(ctx, folder, opts)));
  db.command('copy')
    .description('copy the whole database, its photos and the sandbox processor\'s ledger into a new, empty database (PostgreSQL or a SQLite file), checking every table on both sides')
    .requiredOption('--to <url|file>', 'the database to fill: a postgres:// URL of an empty database, or a new SQLite file')
    .addHelpText('after', '\nThe database copied is left untouched. The target must be empty; on any failure it stays empty.\n\nExamples:\n  $ txplan db copy --to postgres://txplan@db.clinic.lan/txplan\n  $ TXPLAN_DB=postgres://txplan@db.clinic.lan/txplan txplan db copy --to clinic.db')
    .action(action(async (ctx, opts: { to: string }) => (await import('./copy.js')).copy(ctx, opts)));
}
