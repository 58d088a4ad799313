import { Option, type Command } from 'commander';
import type { Action } from '../../action.js';

export function register(program: Command, action: Action): void {
  program
    .command('handout')
    .description("print a plan as a PDF handout for the patient; with --status, one PDF per plan")
    .argument('[plan]', 'plan id')
    .option('-o, --output <file>', 'PDF file to write (default: plan-<id>.pdf in the current folder)')
    .addOption(new Option('--paper <size>', 'paper size (default: paper in txplan.yaml, else letter)').choices(['letter', 'a4']))
    .option('--force', 'replace files that already exist')
    .option('--status <status>', 'every plan in this status: prescribed, active, paused, past_due, completed or cancelled')
    .option('--out-dir <dir>', 'folder for the handouts, named plan-<id>.pdf (created when missing)')
    .addHelpText(
      'after',
      `
Examples:
  $ txplan handout 12
  $ txplan handout 12 -o handouts/plan-12-a4.pdf --paper a4 --force
  $ txplan handout --status active --out-dir handouts/
  $ txplan handout --status active --out-dir handouts/ --json`,
    )
    .action(action(async (ctx, ref: string | undefined, opts) => (await import('./print.js')).run(ctx, ref, opts)));
}
