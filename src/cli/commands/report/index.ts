import type { Command } from 'commander';
import type { Action } from '../../action.js';

export function register(program: Command, action: Action): void {
  program
    .command('report')
    .description('how each template and clinic did over a period: plans, visits, payments and revenue')
    .option('--from <date>', 'first day of the period, YYYY-MM-DD (default: the 1st of the month eleven months ago)')
    .option('--to <date>', 'last day of the period, YYYY-MM-DD (default: today)')
    .option('--clinic <id>', 'only plans at this clinic (and its time zone decides today)')
    .option('--template <id>', 'only plans made from this template')
    .option('--pdf <file>', 'also write the report with its charts as a PDF')
    .option('--html <file>', 'also write the report with its charts as one self-contained web page')
    .option('--force', 'replace --pdf/--html files that already exist')
    .addHelpText(
      'after',
      `
A plan counts in the period it started in; a visit in the one it was recommended for; a charge
in the one it was due in; a refund in the one it was made in. Money is shown per currency.

Examples:
  $ txplan report
  $ txplan report --from 2026-01-01 --to 2026-06-30 --clinic downtown
  $ txplan report --template glow-membership --json
  $ txplan report --pdf report.pdf --html report.html`,
    )
    .action(action(async (ctx, opts) => (await import('./run.js')).run(ctx, opts)));
}
