import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import type { Context } from '../context.js';
import { FailedError, TxplanError, UsageError } from '../../errors.js';
import { makeFolder } from '../../files.js';
import { createWorkspace } from '../../registry/starter.js';
import { commitAll, gitAvailable, gitTopLevel, initRepository, runGit } from '../../registry/git.js';
import type { TourName } from './demo-tours.js';
import { validateWorkspace } from '../../registry/validate.js';
import { countBySeverity } from '../../registry/diagnostics.js';
import { loadTemplates } from '../../registry/registry.js';
import { workspaceAt } from '../../registry/workspace.js';
import { packageRoot } from '../../paths.js';
import { withStore } from '../store.js';
import { listPlans } from '../../store/plans.js';
import { addDays, addMonths, formatDate, todayIn, type PlainDate } from '../../domain/dates.js';

/** One step of the tour: what a user would type, and the command's own code run for it. */
export interface DemoStep {
  title: string;
  command: string;
  /** The exit code the step shows (a refusal, a failing check); 0 when left out. */
  expect?: number;
  run(ctx: Context): Promise<number | void>;
}

function tour(patientsCsv: string, today: PlainDate, clock: DemoClock): DemoStep[] {
  return [
    {
      title: 'Validate every template against the schema, the catalog and the business rules',
      command: 'txplan template validate',
      run: async (ctx) => {
        if ((await (await import('./template/validate.js')).run(ctx, [], { format: 'stylish' })) !== 0) {
          throw new FailedError('The starter library did not validate; this is a bug in the installed txplan', 'demo_failed');
        }
      },
    },
    { title: 'List the active templates', command: 'txplan template list', run: async (ctx) => (await import('./template/list.js')).run(ctx, {}) },
    { title: 'Look at one of them in detail', command: 'txplan template show comprehensive-acne-resolution', run: async (ctx) => (await import('./template/show.js')).run(ctx, 'comprehensive-acne-resolution', {}) },
    {
      title: 'Open a clinic',
      command: 'txplan clinic add downtown --name "Lumen Downtown" --timezone America/New_York',
      run: async (ctx) => (await import('./clinic/add.js')).run(ctx, 'downtown', { name: 'Lumen Downtown', timezone: 'America/New_York', address: '120 Main Street, Suite 4', phone: '+1 555 010 0100' }),
    },
    { title: 'Import patients from a spreadsheet (all rows or none)', command: 'txplan patient import patients.csv', run: async (ctx) => (await import('./patient/import.js')).run(ctx, patientsCsv, {}) },
    {
      title: 'Start a monthly program, paid with a processor token (never a card number)',
      command: 'txplan plan apply LUM-1001 comprehensive-acne-resolution --mode start --clinic downtown --payment-method pm_card_visa --yes',
      run: async (ctx) => (await import('./plan/apply.js')).run(ctx, 'LUM-1001', 'comprehensive-acne-resolution', { mode: 'start', clinic: 'downtown', paymentMethod: 'pm_card_visa' }),
    },
    {
      title: 'Prescribe a plan, adjusted for the patient',
      command: 'txplan plan apply LUM-1002 post-procedure-recovery --mode prescribe --set duration.months=5',
      run: async (ctx) => (await import('./plan/apply.js')).run(ctx, 'LUM-1002', 'post-procedure-recovery', { mode: 'prescribe', set: ['duration.months=5'] }),
    },
    {
      title: 'Record the first visit',
      command: 'txplan plan step 1 1 --done --note "Baseline photos taken" --outcome "Moderate inflammatory acne, no cysts"',
      run: async (ctx) => (await import('./plan/step.js')).run(ctx, '1', '1', { done: true, note: 'Baseline photos taken', outcome: 'Moderate inflammatory acne, no cysts' }),
    },
    { title: 'The plan: where it came from, its dates and its progress', command: 'txplan plan show 1', run: async (ctx) => (await import('./plan/show.js')).run(ctx, '1') },
    ...billingTour(today, clock),
    {
      // Into .txplan/, which git ignores: a handout carries the patient's name.
      title: "Print the patient's handout, a PDF to hand across the desk",
      command: 'txplan handout 1 -o .txplan/plan-1.pdf',
      run: async (ctx) => (await import('./handout/print.js')).run(ctx, '1', { output: join('.txplan', 'plan-1.pdf') }),
    },
    {
      // Exports carry the patient too: into .txplan/ as well.
      title: "Share each plan with the patient's other providers: a FHIR R4 Bundle of the Patient and the CarePlan",
      command: 'for p in 1 2 3; do txplan plan export $p --format fhir -o .txplan/plan-$p.fhir.json; done',
      run: async (ctx) => {
        const { exportPlan } = await import('./plan/lifecycle.js');
        for (const plan of ['1', '2', '3']) await exportPlan(ctx, plan, { format: 'fhir', output: join('.txplan', `plan-${plan}.fhir.json`) });
      },
    },
    {
      title: "Put the programs' visits ahead in the patients' calendars (iCalendar)",
      command: 'for p in 1 3; do txplan plan schedule $p --ics .txplan/plan-$p.ics; done',
      run: async (ctx) => {
        const schedule = await import('./plan/schedule.js');
        for (const plan of ['1', '3']) await schedule.run(ctx, plan, { ics: join('.txplan', `plan-${plan}.ics`) });
      },
    },
    {
      title: "The same plan as a web page for the patient's phone: one file, nothing fetched, readable by screen readers",
      command: 'txplan handout 1 --format html -o .txplan/plan-1.html',
      run: async (ctx) => (await import('./handout/print.js')).run(ctx, '1', { format: 'html', output: join('.txplan', 'plan-1.html') }),
    },
    {
      // The report holds the clinic's figures, no patient's name; it goes beside the rest all the same.
      title: 'How the practice did this year: per template and clinic, with charts as a web page and a PDF',
      command: 'txplan report --html .txplan/report.html --pdf .txplan/report.pdf',
      run: async (ctx) => (await import('./report/run.js')).run(ctx, { html: join('.txplan', 'report.html'), pdf: join('.txplan', 'report.pdf') }),
    },
  ];
}

/** The demo's own clock: it starts at txplan's now and moves forward to each billing day, as TXPLAN_NOW would. */
export interface DemoClock {
  now(): Date;
  moveTo(date: string): void;
}

/**
 * Billing across simulated months: a second program whose card starts
 * failing, the batch on the next 1st, the retry three days later, a new card,
 * and the retry after that going through. Each run happens on its own day of
 * the demo's clock, never ahead of it.
 */
function billingTour(today: PlainDate, clock: DemoClock): DemoStep[] {
  return [
    {
      title: 'Start a second program; its first installment is charged at once',
      command: 'txplan plan apply LUM-1003 moderate-acne-program --mode start --clinic downtown --payment-method pm_card_visa --yes',
      run: async (ctx) => (await import('./plan/apply.js')).run(ctx, 'LUM-1003', 'moderate-acne-program', { mode: 'start', clinic: 'downtown', paymentMethod: 'pm_card_visa' }),
    },
    ...billingMonth(today, clock, 3),
  ];
}

/**
 * From the month after `today`: plan `plan`'s card declines on the 1st and
 * on the retry, a new card goes through, then a goodwill refund of charge 3
 * (the first plan's second installment), the charges and reconcile.
 */
export function billingMonth(today: PlainDate, clock: DemoClock, plan: number): DemoStep[] {
  const first = addMonths({ year: today.year, month: today.month, day: 1 }, 1);
  const on = (days: number) => formatDate(addDays(first, days));
  // A run with a declined charge exits 3 (some charges failed), as cron sees it.
  const billing = (date: string, expect = 0): DemoStep => ({
    title: `Run the billing batch as cron would on ${date}`,
    command: `TXPLAN_NOW=${date} txplan billing run`,
    expect,
    run: async (ctx) => {
      clock.moveTo(date);
      return (await import('./billing/run.js')).run(ctx, {});
    },
  });
  return [
    {
      title: 'Later the patient’s card on file starts to fail (a sandbox test card)',
      command: `txplan plan payment ${plan} --payment-method pm_card_chargeDeclinedInsufficientFunds`,
      run: async (ctx) => (await import('./plan/lifecycle.js')).payment(ctx, String(plan), { paymentMethod: 'pm_card_chargeDeclinedInsufficientFunds' }),
    },
    billing(on(0), 3),
    billing(on(3), 3),
    {
      title: 'The patient gives a new card',
      command: `txplan plan payment ${plan} --payment-method pm_card_mastercard`,
      run: async (ctx) => (await import('./plan/lifecycle.js')).payment(ctx, String(plan), { paymentMethod: 'pm_card_mastercard' }),
    },
    billing(on(8)),
    {
      title: 'Give part of a payment back: a goodwill refund, to the card that paid',
      command: 'txplan billing refund 3 --amount 50 --reason "Session shortened" --yes',
      run: async (ctx) => (await import('./billing/refund.js')).run(ctx, '3', { amount: '50', reason: 'Session shortened' }),
    },
    { title: 'Every charge, with its attempts and refunds', command: 'txplan billing charges', run: async (ctx) => (await import('./billing/charges.js')).run(ctx, {}) },
    { title: "Check txplan's charges and refunds against the processor's own ledger", command: 'txplan billing reconcile', run: async (ctx) => (await import('./billing/reconcile.js')).run(ctx) },
  ];
}

/**
 * A guided run on sample data in a fresh folder: each step runs the real
 * command against the demo workspace and prints what a user would see.
 */
export async function run(ctx: Context, opts: { dir?: string; tour?: string }): Promise<number> {
  const tours = opts.tour === undefined ? undefined : await import('./demo-tours.js');
  const tourName = tours && opts.tour !== undefined ? tourNamed(opts.tour, tours.tourNames) : undefined;
  const root = opts.dir !== undefined ? await emptyFolder(resolve(ctx.cwd, opts.dir)) : await mkdtemp(join(tmpdir(), 'txplan-demo-'));
  if (tours && tourName !== undefined && tours.gitTours.includes(tourName)) {
    // Checked before anything is written: these tours commit, branch and compare.
    if (!(await gitAvailable())) throw new FailedError(`The ${tourName} tour needs git, which is not installed: install git, or try another tour`, 'demo_failed');
    if (await gitTopLevel(root)) throw new FailedError(`The ${tourName} tour needs a git repository of its own, and ${root} lies inside one: give --dir a folder outside any git repository`, 'demo_failed');
  }
  const workspace = workspaceAt(root);
  const created = await createWorkspace(root);
  const git = await initRepository(root);
  // Committed, so plans record which commit their template came from.
  if (git === 'created') await commitAll(root, 'Starter library from txplan init');
  // The demo keeps its own database in its workspace, whatever --db or TXPLAN_DB say,
  // and is read by people even when captured: always aligned tables.
  const { db: _db, ...options } = ctx.options;
  // The tour is one narrative: what commands say on stderr (a declined charge) is part of it.
  // Sample data and a sandbox processor: the steps that charge run as with --yes, as their commands show.
  // Its months pass on a simulated clock (what TXPLAN_NOW sets), so no run charges a day that has not come;
  // the sandbox processor is the demo's own, so its commands do not each repeat the rehearsal warning.
  let at = ctx.now();
  const clock: DemoClock = {
    now: () => new Date(at),
    // A date alone, as TXPLAN_NOW reads it: noon UTC, the same date in the demo clinic's zone.
    moveTo: (date) => void (at = new Date(`${date}T12:00:00Z`)),
  };
  const demo: Context = { ...ctx, cwd: root, tty: true, err: ctx.out, interactive: false, now: clock.now, simulatedNow: undefined, options: { ...options, workspace: root, yes: true }, env: { ...ctx.env, db: undefined, workspace: root, clock: undefined } };
  const patientsCsv = join(packageRoot, 'examples', 'patients.csv');
  const today = todayIn('America/New_York', ctx.now());
  if (tours && tourName !== undefined) {
    const branch = git === 'created' ? await runGit(root, ['rev-parse', '--abbrev-ref', 'HEAD']) : 'main';
    const steps = tours.tourSteps(tourName, { root, patientsCsv, today, clock, branch });
    return runTour(ctx, demo, tourName, tours.tourTitles[tourName], steps, { root, created: created.templates, clock, git: git === 'created' });
  }
  const steps = tour(patientsCsv, today, clock);

  if (ctx.options.json) {
    // The same steps with their output swallowed; one JSON document describes the result.
    const quiet: Context = { ...demo, options: { ...demo.options, json: true }, json: () => {}, out: () => {}, streams: { ...demo.streams, stdout: sink() } };
    for (const step of steps) await step.run(quiet);
    const report = await validateWorkspace({ workspace, paths: [], cwd: root });
    const { templates } = await loadTemplates(workspace);
    const plans = await withStore(demo, (store) => listPlans(store, {}));
    ctx.json({
      id: root,
      workspace: root,
      git,
      validation: { files: report.files.length, ...countBySeverity(report.diagnostics) },
      templates: templates.map((t) => ({ id: t.template.id, name: t.template.name, type: t.template.type, status: t.template.status })),
      plans: plans.map((p) => ({ id: p.id, patient_id: p.patient_id, template_id: p.template_id, status: p.status })),
    });
    return 0;
  }

  const { color } = ctx;
  const heading = (n: number, title: string, command: string) => ctx.out(`\n${color.bold.cyan(`${n}.`)} ${color.bold(title)}\n   ${color.dim(`$ ${command}`)}\n`);
  ctx.out(color.bold('txplan demo: a clinic workspace from scratch, on sample data.'));
  ctx.out(color.dim('Months pass on a simulated clock (as TXPLAN_NOW sets it): each billing run happens on its own day, with the sandbox processor; no real card is charged.'));
  heading(1, 'Create a workspace with the starter library', `txplan init ${root}`);
  ctx.out(`   ${created.templates} templates, catalog.yaml, txplan.yaml and the JSON Schemas copied; .txplan/ git-ignored${git === 'created' ? '; committed to a new git repository' : ''}.`);
  for (const [index, step] of steps.entries()) {
    heading(index + 2, step.title, step.command);
    await step.run(demo);
  }
  ctx.out(`\n${color.green('✔')} Demo workspace: ${color.bold(root)}\n   Try: txplan --workspace ${root} plan list\n        txplan --workspace ${root} audit`);
  ctx.out(`   Each user's job on its own: txplan demo --tour admin|front-desk|billing|ci`);
  return 0;
}

function tourNamed(name: string, names: readonly TourName[]): TourName {
  const found = names.find((t) => t === name);
  if (found === undefined) throw new UsageError(`There is no tour "${name}"; choose one of ${names.join(', ')}`, 'bad_tour');
  return found;
}

/**
 * One user's tour: each step's command, then what it prints. A step meant to
 * be refused or to fail shows its message and exit code; any other outcome
 * is a bug in the demo, which stops there.
 */
async function runTour(ctx: Context, demo: Context, name: TourName, title: string, steps: DemoStep[], at: { root: string; created: number; clock: DemoClock; git: boolean }): Promise<number> {
  const quiet: Context | undefined = ctx.options.json ? { ...demo, options: { ...demo.options, json: true }, json: () => {}, out: () => {}, err: () => {}, streams: { ...demo.streams, stdout: sink() } } : undefined;
  const { color } = ctx;
  const say = quiet ? () => {} : (text: string) => ctx.out(text);
  // A step may show more than one command, one a line.
  const heading = (n: number, title: string, commands: string[]) => say(`\n${color.bold.cyan(`${n}.`)} ${color.bold(title)}\n${commands.map((c) => `   ${color.dim(`$ ${c}`)}`).join('\n')}\n`);
  say(color.bold(`txplan demo --tour ${name}: ${title}.`));
  say(color.dim('Days pass on a simulated clock (as TXPLAN_NOW sets it), with the sandbox processor; no real card is charged.'));
  if (at.git) {
    heading(1, 'Create a workspace with the starter library, in a new git repository', [`txplan init ${at.root} && cd ${at.root}`, 'git add -A && git commit -m "Starter library from txplan init"']);
    say(`   ${at.created} templates, catalog.yaml, txplan.yaml and the JSON Schemas copied; .txplan/ git-ignored; committed.`);
  } else {
    heading(1, 'Create a workspace with the starter library', [`txplan init ${at.root} && cd ${at.root}`]);
    say(`   ${at.created} templates, catalog.yaml, txplan.yaml and the JSON Schemas copied.`);
  }
  const done: Array<{ title: string; commands: string[]; exit: number }> = [];
  const start = at.clock.now().getTime();
  for (const [index, step] of steps.entries()) {
    // Once the demo's clock has moved on, a reader repeating a command needs the same clock.
    const moved = at.clock.now().getTime() !== start && step.command.startsWith('txplan ');
    const commands = (moved ? `TXPLAN_NOW=${at.clock.now().toISOString().slice(0, 10)} ${step.command}` : step.command).split('\n');
    heading(index + 2, step.title, commands);
    let exit: number;
    try {
      exit = (await step.run(quiet ?? demo)) ?? 0;
    } catch (error) {
      if (!(error instanceof TxplanError) || error.code === 'demo_failed') throw error;
      say(`txplan: ${error.message}`);
      exit = error.exitCode;
    }
    const expected = step.expect ?? 0;
    if (exit !== expected) throw new FailedError(`The ${name} tour stopped at "${step.command}": it exited ${exit}, not ${expected}; this is a bug in the installed txplan`, 'demo_failed');
    if (expected !== 0) say(`   ${color.dim(`→ exit ${exit}, as expected here`)}`);
    done.push({ title: step.title, commands, exit });
  }
  if (quiet) {
    ctx.json({ tour: name, workspace: at.root, steps: done });
    return 0;
  }
  say(`\n${color.green('✔')} The ${name} tour's workspace: ${color.bold(at.root)}\n   Try: txplan --workspace ${at.root} audit`);
  return 0;
}

/** Where the quiet run's tables go. */
function sink(): NodeJS.WritableStream {
  return new Writable({ write: (_chunk, _encoding, done) => done() });
}

async function emptyFolder(dir: string): Promise<string> {
  makeFolder(dir, 0o755); // a workspace, as txplan init makes it, whatever the umask
  const entries = await readdir(dir);
  if (entries.length > 0) throw new FailedError(`${dir} is not empty; give --dir a new or empty folder, or leave it out to use a temporary one`, 'exists');
  return dir;
}
