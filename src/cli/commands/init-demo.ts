import { Option, type Command } from 'commander';
import type { Action } from '../action.js';

export function register(program: Command, action: Action): void {
  program
    .command('init')
    .description('create a workspace with the starter template library')
    .argument('[dir]', 'folder to create it in', '.')
    .addHelpText('after', '\nExamples:\n  $ txplan init my-clinic\n  $ cd my-clinic && txplan template list')
    .action(action(async (ctx, dir: string) => (await import('./init.js')).run(ctx, { dir })));

  program
    .command('demo')
    .description('guided end-to-end run on sample data, in a fresh folder')
    .option('--dir <dir>', 'folder for the demo workspace (must be new or empty; default: a new temporary folder)')
    .addOption(new Option('--tour <user>', "walk one user's job end to end instead of the whole clinic").choices(['admin', 'front-desk', 'billing', 'ci']))
    .addHelpText('after', '\nExamples:\n  $ txplan demo\n  $ txplan demo --dir ./demo-clinic\n  $ txplan demo --tour front-desk')
    .action(action(async (ctx, opts: { dir?: string; tour?: string }) => (await import('./demo.js')).run(ctx, opts)));
}
