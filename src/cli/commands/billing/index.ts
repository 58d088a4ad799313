import type { Command } from 'commander';
import type { Action } from '../../action.js';

export function register(program: Command, action: Action): void {
  const billing = program.command('billing').description('the monthly billing batch and the money it moved');

  billing
    .command('run')
    .description('charge every installment due, retry declines, settle what a stopped run left pending')
    .option('--date <date>', 'bill as of this date, YYYY-MM-DD (default: each clinic’s own today)')
    .option('--dry-run', 'show what would be charged; charge and write nothing')
    .option('--clinic <id>', 'only plans at this clinic')
    .option('--wait <seconds>', 'wait this long for another run to finish instead of exiting 4')
    .addHelpText(
      'after',
      `
Exit codes: 0 all charges went through, 3 at least one failed (alert on it), 4 another run holds the lock.

Examples:
  $ txplan billing run
  $ txplan billing run --dry-run --date 2027-01-01
  $ txplan billing run --json > run.json`,
    )
    .action(action(async (ctx, opts) => (await import('./run.js')).run(ctx, opts)));

  billing
    .command('unlock')
    .description('remove the billing lock left by a run that will not come back (asks; audited)')
    .addHelpText(
      'after',
      `
A run's lock names its process, host, boot and start time, so a lock left by a killed run is
taken over by the next run on its own; this is for the case nothing else foresaw, such as a run
on another computer that will never come back. Off a terminal it needs --yes.

Examples:
  $ txplan billing unlock
  $ txplan billing unlock --yes`,
    )
    .action(action(async (ctx) => (await import('./unlock.js')).run(ctx)));

  billing
    .command('charges')
    .description('list charges')
    .option('--plan <plan>', 'charges of one plan')
    .option('--patient <patient>', "charges of one patient's plans (id or MRN), with their declined start attempts")
    .option('--status <status>', 'pending, succeeded or failed')
    .option('--since <date>', 'due on or after this date')
    .option('--refunds', 'list the refunds instead (of one plan with --plan; --status filters them)')
    .addHelpText('after', '\nExamples:\n  $ txplan billing charges --status failed\n  $ txplan billing charges --plan 12 --json\n  $ txplan billing charges --refunds\n  $ txplan billing charges --patient A-1001')
    .action(action(async (ctx, opts) => (await import('./charges.js')).run(ctx, opts)));

  billing
    .command('refund <charge>')
    .description('refund a paid charge in full or in part, to the card that paid it (asks; audited)')
    .option('--amount <amount>', "how much to refund, in the charge's currency, like 49.50 (default: all that remains)")
    .option('--reason <text>', 'why, kept in the audit (required)')
    .addHelpText(
      'after',
      `
Never more than what remains of the charge (its amount less refunds made or still pending).
Off a terminal it needs --yes. A refund left pending by a stopped command is settled, under
its own key, by rerunning the same command or by the next billing run.

Examples:
  $ txplan billing refund 12 --reason "treatment not performed"
  $ txplan billing refund 12 --amount 49.50 --reason "missed session" --yes`,
    )
    .action(action(async (ctx, charge, opts) => (await import('./refund.js')).run(ctx, charge, opts)));

  billing
    .command('reconcile')
    .description("compare txplan's charges with the payment processor's records; exit 1 on any difference")
    .option('--accept', 'record that the charges the processor holds and this database does not (after a restore) were seen, and lift the hold on billing')
    .addHelpText('after', '\nAfter "txplan db restore", billing waits until the processor\'s extra charges were seen:\n  $ txplan billing reconcile\n  $ txplan billing reconcile --accept')
    .action(action(async (ctx, opts) => (await import('./reconcile.js')).run(ctx, opts)));

  billing
    .command('forecast')
    .description('expected revenue month by month from running plans')
    .option('--months <n>', 'how many months ahead', '6')
    .addHelpText('after', '\nExamples:\n  $ txplan billing forecast --months 12')
    .action(action(async (ctx, opts) => (await import('./forecast.js')).run(ctx, opts)));
}
