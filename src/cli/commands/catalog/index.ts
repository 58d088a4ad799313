import type { Command } from 'commander';
import type { Action } from '../../action.js';

export function register(program: Command, action: Action): void {
  const catalog = program.command('catalog').description("the clinic's services and products");
  catalog
    .command('list')
    .description('list services and products with prices')
    .action(action(async (ctx) => (await import('./list.js')).run(ctx)));
}
