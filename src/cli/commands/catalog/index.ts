import type { Command } from 'commander';
import type { Action } from '../../action.js';

export function register(program: Command, action: Action): void {
  const catalog = program.command('catalog').description("the clinic's services and products");
  catalog
    .command('list')
    .description('list services and products with prices')
    .option('--clinic <id>', "prices in that clinic's currency and locale (default: the workspace's)")
    .addHelpText('after', '\nExamples:\n  $ txplan catalog list\n  $ txplan catalog list --clinic oslo --json')
    .action(action(async (ctx, opts: { clinic?: string }) => (await import('./list.js')).run(ctx, opts)));
}
