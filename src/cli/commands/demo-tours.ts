import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { FailedError } from '../../errors.js';
import { runGit } from '../../registry/git.js';
import { makeFolder, writeFileAtomically } from '../../files.js';
import { addDays, formatDate, type PlainDate } from '../../domain/dates.js';
import { billingMonth, type DemoClock, type DemoStep } from './demo.js';

/** The users' tours of `txplan demo --tour`, in the order the demo names them. */
export const tourNames = ['admin', 'front-desk', 'billing', 'ci'] as const;
export type TourName = (typeof tourNames)[number];

/** The tours that commit and compare with git, and so need a repository of their own. */
export const gitTours: readonly TourName[] = ['admin', 'ci'];

/** What every tour starts from: a fresh workspace committed to git, sample patients, and the demo's clock. */
export interface TourSetting {
  root: string;
  patientsCsv: string;
  today: PlainDate;
  clock: DemoClock;
  /** The branch the starter library was committed on (main or master, as git is set up); for the tours of gitTours. */
  branch: string;
}

export const tourTitles: Record<TourName, string> = {
  admin: 'the administrator authors a template, checks it as CI would, makes it active and rolls a revision out',
  'front-desk': 'the front desk adds patients, applies a plan, books and records visits, pauses, and hands out a calendar and a PDF',
  billing: 'a billing month: a declined card, its retries, a new card, a refund, reconcile and the forecast',
  ci: 'continuous integration: a template change without its version bump fails review, the bump passes, a JUnit report is written',
};

export function tourSteps(name: TourName, setting: TourSetting): DemoStep[] {
  switch (name) {
    case 'admin':
      return adminTour(setting);
    case 'front-desk':
      return frontDeskTour(setting);
    case 'billing':
      return billingTour(setting);
    case 'ci':
      return ciTour(setting);
  }
}

const openClinic: DemoStep = {
  title: 'Open a clinic',
  command: 'txplan clinic add downtown --name "Lumen Downtown" --timezone America/New_York',
  run: async (ctx) => (await import('./clinic/add.js')).run(ctx, 'downtown', { name: 'Lumen Downtown', timezone: 'America/New_York', address: '120 Main Street, Suite 4', phone: '+1 555 010 0100' }),
};

function importPatients(file: string): DemoStep {
  return { title: 'Import patients from a spreadsheet (all rows or none)', command: 'txplan patient import patients.csv', run: async (ctx) => (await import('./patient/import.js')).run(ctx, file, {}) };
}

function startPlan(title: string, patient: string, template: string): DemoStep {
  return {
    title,
    command: `txplan plan apply ${patient} ${template} --mode start --clinic downtown --payment-method pm_card_visa --yes`,
    run: async (ctx) => (await import('./plan/apply.js')).run(ctx, patient, template, { mode: 'start', clinic: 'downtown', paymentMethod: 'pm_card_visa' }),
  };
}

/**
 * An edit a person makes in their editor, done by the demo as a text
 * replacement so the file keeps its layout and comments. The demo's own
 * files: a replacement that finds nothing is a bug in the demo.
 */
async function editFile(root: string, file: string, edits: ReadonlyArray<[RegExp, string]>): Promise<void> {
  const path = join(root, file);
  let text = await readFile(path, 'utf8');
  for (const [pattern, replacement] of edits) {
    if (!pattern.test(text)) throw new FailedError(`The demo could not edit ${file} (${pattern.source} not found); this is a bug in the installed txplan`, 'demo_failed');
    text = text.replace(pattern, replacement);
  }
  await writeFile(path, text);
}

/** The template's version as written, for a bump. */
async function versionOf(root: string, file: string): Promise<number> {
  const match = /^version: (\d+)$/m.exec(await readFile(join(root, file), 'utf8'));
  if (!match) throw new FailedError(`The demo found no version in ${file}; this is a bug in the installed txplan`, 'demo_failed');
  return Number(match[1]);
}

function validate(title: string, paths: string[], format: string, base?: string, expect?: number): DemoStep {
  const flags = [format === 'stylish' ? '' : `--format ${format}`, base === undefined ? '' : `--base ${base}`, ...paths].filter(Boolean).join(' ');
  return {
    title,
    command: `txplan template validate${flags ? ` ${flags}` : ''}`,
    expect,
    run: async (ctx) => (await import('./template/validate.js')).run(ctx, paths, { format, ...(base === undefined ? {} : { base }) }),
  };
}

function adminTour({ root, patientsCsv }: TourSetting): DemoStep[] {
  const file = 'templates/teen-acne.yaml';
  return [
    {
      title: 'Author a template, starting from a copy of one that works',
      command: 'txplan template new teen-acne --from comprehensive-acne-resolution --name "Teen Acne Program"',
      run: async (ctx) => (await import('./template/new.js')).run(ctx, 'teen-acne', { from: 'comprehensive-acne-resolution', name: 'Teen Acne Program' }),
    },
    {
      title: 'Edit a field in your editor: a lower monthly fee for teens',
      command: `$EDITOR ${file}    # pricing.monthly_fee: "249.00" → "219.00"`,
      run: async () => editFile(root, file, [[/monthly_fee: "249\.00"/, 'monthly_fee: "219.00"']]),
    },
    validate('Check it against the schema, the catalog and the business rules', [file], 'stylish'),
    validate('The same check as a GitHub Actions job prints it: one ::error line per problem, annotated on the pull request', [file], 'github'),
    validate('And as a JUnit report, which GitLab and most CI servers show as test results', [file], 'junit'),
    {
      title: 'Make it active so staff can apply it',
      command: 'txplan template status teen-acne active',
      run: async (ctx) => (await import('./template/status.js')).run(ctx, 'teen-acne', 'active'),
    },
    {
      title: 'Commit it, so every desk gets the same template and plans record which commit they came from',
      command: `git add ${file} && git commit -m "Teen Acne Program"`,
      run: async () => {
        await runGit(root, ['add', file]);
        await runGit(root, ['commit', '--quiet', '--no-verify', '-m', 'Teen Acne Program']);
      },
    },
    openClinic,
    importPatients(patientsCsv),
    startPlan('Two patients start the new program', 'LUM-1001', 'teen-acne'),
    startPlan('And a second patient', 'LUM-1002', 'teen-acne'),
    {
      title: 'Revise it: LED blue light at the month-4 peel, and the version bumped as every change needs',
      command: `$EDITOR ${file}    # month 4: services [ mandelic-peel, led-blue-light ]; version: 2`,
      run: async () => {
        const version = await versionOf(root, file);
        await editFile(root, file, [
          [/^version: \d+$/m, `version: ${version + 1}`],
          [/services: \[ mandelic-peel \]/, 'services: [ mandelic-peel, led-blue-light ]'],
        ]);
      },
    },
    validate('Check the revision', [file], 'stylish'),
    {
      title: 'Roll it out to the running plans, first as a dry run: the future steps that would change, plan by plan',
      command: 'txplan template rollout teen-acne --dry-run',
      run: async (ctx) => (await import('./template/rollout.js')).run(ctx, 'teen-acne', { dryRun: true }),
    },
  ];
}

function frontDeskTour({ patientsCsv, today, clock }: TourSetting): DemoStep[] {
  const on = (days: number) => formatDate(addDays(today, days));
  return [
    openClinic,
    importPatients(patientsCsv),
    {
      title: 'A new patient at the desk',
      command: 'txplan patient add --first Amara --last Okafor --dob 1994-07-21 --email amara@example.org --mrn LUM-2001',
      run: async (ctx) => (await import('./patient/add.js')).run(ctx, { first: 'Amara', last: 'Okafor', dob: '1994-07-21', email: 'amara@example.org', mrn: 'LUM-2001' }),
    },
    {
      title: 'Find her again: case and accents do not matter, and a near-namesake shows up too',
      command: 'txplan patient list --search okafor',
      run: async (ctx) => (await import('./patient/list.js')).run(ctx, { search: 'okafor' }),
    },
    startPlan('Apply a template and start the program; the first installment is charged at once', 'LUM-2001', 'comprehensive-acne-resolution'),
    { title: 'The visits ahead, with their recommended dates', command: 'txplan plan schedule 1', run: async (ctx) => (await import('./plan/schedule.js')).run(ctx, '1', {}) },
    {
      title: 'Book the second visit',
      command: `txplan plan book 1 2 --at "${on(33)} 14:30"`,
      run: async (ctx) => (await import('./plan/book.js')).run(ctx, '1', '2', { at: `${on(33)} 14:30` }),
    },
    {
      title: 'A booking before the plan starts is refused, and nothing is written',
      command: `txplan plan book 1 3 --at "${on(-10)} 10:00"`,
      expect: 1,
      run: async (ctx) => (await import('./plan/book.js')).run(ctx, '1', '3', { at: `${on(-10)} 10:00` }),
    },
    {
      title: 'Record the first visit',
      command: 'txplan plan step 1 1 --done --note "Baseline photos taken" --patient-note "Cleanse gently twice a day"',
      run: async (ctx) => (await import('./plan/step.js')).run(ctx, '1', '1', { done: true, note: 'Baseline photos taken', patientNote: 'Cleanse gently twice a day' }),
    },
    {
      title: 'Three days later the patient calls: away for two weeks. Pause the plan',
      command: `TXPLAN_NOW=${on(3)} txplan plan pause 1 --until ${on(17)}`,
      run: async (ctx) => {
        clock.moveTo(on(3));
        return (await import('./plan/lifecycle.js')).pause(ctx, '1', { until: on(17) });
      },
    },
    {
      title: 'Back on time: resume it; the visits ahead move by the pause',
      command: `TXPLAN_NOW=${on(17)} txplan plan resume 1`,
      run: async (ctx) => {
        clock.moveTo(on(17));
        return (await import('./plan/lifecycle.js')).resume(ctx, '1');
      },
    },
    {
      // Into .txplan/, which git ignores, as the patient takes these home.
      title: "Put the visits ahead in the patient's calendar (iCalendar)",
      command: 'txplan plan schedule 1 --ics .txplan/plan-1.ics',
      run: async (ctx) => (await import('./plan/schedule.js')).run(ctx, '1', { ics: join('.txplan', 'plan-1.ics') }),
    },
    {
      title: 'Print the handout, a PDF to hand across the desk',
      command: 'txplan handout 1 -o .txplan/plan-1.pdf',
      run: async (ctx) => (await import('./handout/print.js')).run(ctx, '1', { output: join('.txplan', 'plan-1.pdf') }),
    },
  ];
}

function billingTour({ patientsCsv, today, clock }: TourSetting): DemoStep[] {
  return [
    openClinic,
    importPatients(patientsCsv),
    startPlan('Start a monthly program; its first installment is charged at once', 'LUM-1001', 'comprehensive-acne-resolution'),
    startPlan('And a second one', 'LUM-1003', 'moderate-acne-program'),
    ...billingMonth(today, clock, 2),
    {
      title: 'What the coming months should bring in',
      command: 'txplan billing forecast',
      run: async (ctx) => (await import('./billing/forecast.js')).run(ctx, {}),
    },
  ];
}

function ciTour({ root, branch: base }: TourSetting): DemoStep[] {
  const file = 'templates/comprehensive-acne-resolution.yaml';
  const commit = (message: string): Promise<string> => runGit(root, ['commit', '--quiet', '--no-verify', '-am', message]);
  return [
    {
      title: 'A change on a branch, as for a pull request',
      command: 'git switch -c acne-fee',
      run: async () => {
        await runGit(root, ['switch', '--quiet', '-c', 'acne-fee']);
      },
    },
    {
      title: 'Raise a fee, and forget the version bump',
      command: `$EDITOR ${file}    # pricing.monthly_fee: "249.00" → "259.00"\ngit commit -am "Acne program: new fee"`,
      run: async () => {
        await editFile(root, file, [[/monthly_fee: "249\.00"/, 'monthly_fee: "259.00"']]);
        await commit('Acne program: new fee');
      },
    },
    validate('The CI job compares with the base branch: the changed template kept its version, so it fails, annotated on the line to fix', [], 'github', base, 1),
    {
      title: 'Bump the version, as the annotation says',
      command: `$EDITOR ${file}    # version: one more, as the annotation says\ngit commit -am "Acne program: bump the version"`,
      run: async (ctx) => {
        const version = await versionOf(root, file);
        await editFile(root, file, [[/^version: \d+$/m, `version: ${version + 1}`]]);
        await commit('Acne program: bump the version');
        ctx.out(`   version: ${version} → ${version + 1}`);
      },
    },
    validate('The same job passes', [], 'github', base),
    {
      title: 'And writes its JUnit report for the CI server to show',
      command: `txplan template validate --format junit --base ${base} > .txplan/junit.xml`,
      run: async (ctx) => {
        const chunks: Buffer[] = [];
        const capture = new Writable({ write: (chunk: Buffer | string, _encoding, done) => void (chunks.push(Buffer.from(chunk)), done()) });
        const code = await (await import('./template/validate.js')).run({ ...ctx, streams: { ...ctx.streams, stdout: capture } }, [], { format: 'junit', base });
        const report = Buffer.concat(chunks).toString('utf8');
        makeFolder(join(root, '.txplan'), 0o700);
        writeFileAtomically(join(root, '.txplan', 'junit.xml'), report, false, 0o644);
        const tests = /<testsuites [^>]*tests="(\d+)" failures="(\d+)"/.exec(report);
        ctx.out(`   Wrote .txplan/junit.xml: ${tests?.[1] ?? '?'} test cases, ${tests?.[2] ?? '?'} failures.`);
        return code;
      },
    },
  ];
}

