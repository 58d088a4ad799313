import type { Command } from 'commander';
import type { Action } from '../../action.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function register(program: Command, action: Action): void {
  const plan = program.command('plan').description("apply templates to patients and follow each plan's lifecycle");

  plan
    .command('apply')
    .description('apply a template to a patient: start the program, or prescribe only')
    .argument('[patient]', 'patient id or MRN (asked on a terminal when left out)')
    .argument('[template]', 'template id')
    .option('--mode <mode>', 'start (active now: dates and billing) or prescribe (recommend only)')
    .option('--clinic <id>', 'clinic where the program runs (needed to start)')
    .option('--start <date>', 'start date, YYYY-MM-DD (default: today at the clinic)')
    .option('--payment-method <token>', 'processor token (pm_…) for a paid plan; never a card number')
    .option('--set <field=value>', 'adjust the plan: name, goal, description, duration.months, duration.weeks, pricing.monthly_fee (repeatable)', collect)
    .option('--edit', 'adjust the plan in $VISUAL/$EDITOR before applying')
    .option('--save-as-template <new-id>', 'also save the adjusted plan as templates/NEW_ID.yaml')
    .option('--patients-file <file>', 'apply to every patient listed in FILE (one id or MRN per line), in one transaction')
    .option('--charge-now', 'with a --start in the future, charge installment 1 now rather than on the start date')
    .option('--allow-duplicate', 'apply even to patients who already have a prescribed or running plan of this template (otherwise asked, refused, or skipped in bulk)')
    .addHelpText(
      'after',
      `
Examples:
  $ txplan plan apply A-1001 comprehensive-acne-resolution --mode start --clinic downtown --payment-method pm_card_visa
  $ txplan plan apply 42 post-procedure-recovery --mode prescribe --set duration.months=3
  $ txplan plan apply comprehensive-acne-resolution --patients-file cohort.txt --mode prescribe
  $ txplan plan apply 42 comprehensive-acne-resolution --set name="Acne Plan for Teens" --save-as-template teen-acne`,
    )
    .action(action(async (ctx, a: string | undefined, b: string | undefined, opts) => (await import('./apply.js')).run(ctx, a, b, opts)));

  plan
    .command('list')
    .description('list plans')
    .option('--patient <patient>', 'plans of one patient (id or MRN)')
    .option('--status <status>', 'prescribed, active, paused, past_due, completed or cancelled')
    .option('--template <id>', 'plans of one template')
    .option('--clinic <id>', 'plans at one clinic')
    .option('--overdue', "running plans whose last recommended date has passed with visits still pending")
    .addHelpText('after', '\nExamples:\n  $ txplan plan list --overdue --clinic downtown\n  $ txplan plan list --patient A-1001\n  $ txplan plan list --status active --template comprehensive-acne-resolution --json')
    .action(action(async (ctx, opts) => (await import('./list.js')).run(ctx, opts)));

  plan
    .command('show')
    .description('a plan: patient, dates, price, where it came from, how it differs from its template, steps')
    .argument('<plan>', 'plan id')
    .addHelpText('after', '\nExamples:\n  $ txplan plan show 12\n  $ txplan plan show 12 --json')
    .action(action(async (ctx, ref: string) => (await import('./show.js')).run(ctx, ref)));

  plan
    .command('edit')
    .description('change a plan; done steps stay as they are, a new fee applies from the next installment')
    .argument('<plan>', 'plan id')
    .option('--set <field=value>', 'name, goal, description, duration.months, duration.weeks, pricing.monthly_fee (repeatable)', collect)
    .option('--edit', 'edit the plan in $VISUAL/$EDITOR')
    .addHelpText('after', '\nExamples:\n  $ txplan plan edit 12 --set duration.months=8\n  $ txplan plan edit 12 --edit')
    .action(action(async (ctx, ref: string, opts) => (await import('./lifecycle.js')).edit(ctx, ref, opts)));

  plan
    .command('start')
    .description('start a prescribed plan')
    .argument('<plan>', 'plan id')
    .option('--clinic <id>', 'clinic where the program runs')
    .option('--start <date>', 'start date, YYYY-MM-DD (default: today at the clinic)')
    .option('--payment-method <token>', 'processor token (pm_…) for a paid plan')
    .option('--charge-now', 'with a --start in the future, charge installment 1 now rather than on the start date')
    .option('--as-prescribed', 'when the template has a newer version: start the content and prices the patient was prescribed')
    .option('--current-version', "when the template has a newer version: start on the template's current content and prices")
    .addHelpText('after', '\nExamples:\n  $ txplan plan start 12 --clinic downtown --payment-method pm_card_visa\n  $ txplan plan start 12 --as-prescribed --yes')
    .action(action(async (ctx, ref: string, opts) => (await import('./lifecycle.js')).start(ctx, ref, opts)));

  plan
    .command('pause')
    .description('pause an active plan: billing stops until it resumes')
    .argument('<plan>', 'plan id')
    .option('--until <date>', 'planned end of the pause, YYYY-MM-DD: the first billing run on or after it resumes the plan')
    .addHelpText('after', '\nExamples:\n  $ txplan plan pause 12 --until 2027-02-01')
    .action(action(async (ctx, ref: string, opts) => (await import('./lifecycle.js')).pause(ctx, ref, opts)));

  plan
    .command('resume')
    .description('resume a paused plan; what is ahead moves back by the pause (monthly plans: unpaid installments from the next 1st)')
    .argument('<plan>', 'plan id')
    .action(action(async (ctx, ref: string) => (await import('./lifecycle.js')).resume(ctx, ref)));

  plan
    .command('cancel')
    .description('cancel a plan; inside the minimum term the early fee is due unless waived')
    .argument('<plan>', 'plan id')
    .option('--reason <text>', 'why, for the record (required)')
    .option('--waive-fee', 'do not charge the early cancellation fee')
    .option('--waive-due', 'forgive what was due by today and is unpaid (otherwise the next billing run charges it)')
    .addHelpText('after', '\nExamples:\n  $ txplan plan cancel 12 --reason "Moved away"')
    .action(action(async (ctx, ref: string, opts) => (await import('./lifecycle.js')).cancel(ctx, ref, opts)));

  plan
    .command('payment')
    .description("set the plan's payment method (a processor token)")
    .argument('<plan>', 'plan id')
    .option('--payment-method <token>', 'processor token, e.g. pm_card_visa; never a card number')
    .action(action(async (ctx, ref: string, opts) => (await import('./lifecycle.js')).payment(ctx, ref, opts)));

  plan
    .command('save-template')
    .description("save a plan's content as a new template")
    .argument('<plan>', 'plan id')
    .argument('<new-id>', 'id of the new template')
    .action(action(async (ctx, ref: string, id: string) => (await import('./lifecycle.js')).saveTemplate(ctx, ref, id)));

  plan
    .command('export')
    .description("a plan as JSON, or as FHIR R4: a Bundle of the Patient and the CarePlan")
    .argument('<plan>', 'plan id')
    .option('--format <format>', 'json or fhir', 'json')
    .option('--resource <resource>', 'with --format fhir: bundle (the Patient and the CarePlan, the default) or careplan (the CarePlan alone, its subject the MRN)')
    .option('-o, --output <file>', 'write the export to FILE (private to you: it holds patient data) instead of stdout')
    .option('--force', 'replace the --output file if it exists')
    .addHelpText('after', '\nExamples:\n  $ txplan plan export 12 --format fhir > plan-12.json\n  $ txplan plan export 12 --format fhir --resource careplan\n  $ txplan plan export 12 --format fhir -o plan-12.fhir.json')
    .action(action(async (ctx, ref: string, opts) => (await import('./lifecycle.js')).exportPlan(ctx, ref, opts)));

  plan
    .command('step')
    .description('record a visit: mark step N done or skipped, with notes, the outcome and photos; --amend or --undo a recorded one')
    .argument('<plan>', 'plan id')
    .argument('<n>', 'step number (see "txplan plan schedule")')
    .option('--done', 'the visit happened')
    .option('--skip', 'the visit was skipped')
    .option('--note <text>', 'what was done, for the record (never a card number)')
    .option('--outcome <text>', 'how the skin responded')
    .option('--photo <file...>', 'progress photos: JPEG, PNG, HEIC or WebP, up to 25 MiB each, kept in .txplan/attachments/ (in the database itself on PostgreSQL)')
    .option('--date <date>', 'when it happened, YYYY-MM-DD (default: today at the clinic)')
    .option('--service <id>', 'a catalog service performed at the visit, when not exactly the planned ones; repeat for each (see README: services performed)', (value: string, list: string[] = []) => [...list, value])
    .option('--patient-note <text>', 'a note for the patient, printed on the handout (--note stays internal)')
    .option('--amend', 'change what was recorded of a done or skipped step: only the --note, --patient-note, --outcome, --photo or --service given')
    .option('--undo', 'return a done or skipped step to pending (refused while a charge for it is paid and not refunded)')
    .addHelpText(
      'after',
      `
Examples:
  $ txplan plan step 12 1 --done --note "Healing well" --photo before.jpg after.jpg
  $ txplan plan step 12 3 --done --service jessners-peel
  $ txplan plan step 12 2 --skip --note "Patient travelling" --date 2026-11-09
  $ txplan plan step 12 1 --amend --patient-note "Avoid sun for a week"
  $ txplan plan step 12 1 --undo`,
    )
    .action(action(async (ctx, ref: string, n: string, opts) => (await import('./step.js')).run(ctx, ref, n, opts)));

  plan
    .command('book')
    .description("record the appointment booked for step N, at the clinic's local time")
    .argument('<plan>', 'plan id')
    .argument('<n>', 'step number (see "txplan plan schedule")')
    .option('--at <datetime>', 'booked time, "YYYY-MM-DD HH:MM" (24-hour, clinic time)')
    .option('--force', "book a time before the plan's start, after its end or inside a pause anyway")
    .option('--clear', 'remove the booking')
    .addHelpText('after', '\nExamples:\n  $ txplan plan book 12 2 --at "2026-11-10 14:30"\n  $ txplan plan book 12 2 --clear')
    .action(action(async (ctx, ref: string, n: string, opts) => (await import('./book.js')).run(ctx, ref, n, opts)));

  plan
    .command('schedule')
    .description("a plan's steps with their dates, bookings and status; --ics exports the visits ahead as iCalendar")
    .argument('<plan>', 'plan id')
    .option('--ics <file>', 'write the pending steps to an iCalendar file (plan name and services only, no patient data)')
    .option('--force', 'replace the --ics file if it exists')
    .addHelpText('after', '\nExamples:\n  $ txplan plan schedule 12\n  $ txplan plan schedule 12 --json\n  $ txplan plan schedule 12 --ics plan-12.ics --force')
    .action(action(async (ctx, ref: string, opts) => (await import('./schedule.js')).run(ctx, ref, opts)));
}
