import { Option, type Command } from 'commander';
import type { Action } from '../../action.js';

export function register(program: Command, action: Action): void {
  program
    .command('handout')
    .description("print a plan as a PDF handout for the patient, or a web page with --format html; with --status, one file per plan")
    .argument('[plan]', 'plan id')
    .addOption(new Option('--format <format>', 'pdf (default) or html: one self-contained web page, for a phone, a screen reader or a printer').choices(['pdf', 'html']))
    .option('-o, --output <file>', 'file to write (default: plan-<id>.pdf, or plan-<id>.html, in the current folder)')
    .addOption(new Option('--paper <size>', 'paper size (default: paper in txplan.yaml, else letter)').choices(['letter', 'a4']))
    .option('--force', 'replace files that already exist')
    .option('--status <status>', 'every plan in this status: prescribed, active, paused, past_due, completed or cancelled')
    .option('--out-dir <dir>', 'folder for the handouts, named plan-<id>.pdf or .html (created when missing)')
    .addHelpText(
      'after',
      `
Examples:
  $ txplan handout 12
  $ txplan handout 12 -o handouts/plan-12-a4.pdf --paper a4 --force
  $ txplan handout 12 --format html -o plan-12.html
  $ txplan handout --status active --out-dir handouts/
  $ txplan handout --status active --format html --out-dir pages/
  $ txplan handout --status active --out-dir handouts/ --json`,
    )
    .action(action(async (ctx, ref: string | undefined, opts) => (await import('./print.js')).run(ctx, ref, opts)));
}
