import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ICAL from 'ical.js';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { beforeAllWithFolders, git, tempDir, txplan, type RunResult } from '../helpers.js';

/**
 * `txplan demo --tour NAME`: each user's job end to end on the demo's own
 * workspace and clock, one run per tour. The clock starts where TXPLAN_NOW
 * sets it (a Wednesday in March, 10:00 at the New York clinic), so every
 * date the tours print is known.
 */

const NOW = '2027-03-10T15:00:00Z';

interface Tour {
  dir: string;
  result: RunResult;
}

const tours: Record<string, Tour> = {};
let ciJson: { dir: string; result: RunResult };

function tour(name: string, json = false): Tour {
  const dir = join(tempDir(), name);
  // The demo keeps its own SQLite database in its workspace, on either engine.
  const result = txplan(['demo', '--tour', name, '--dir', dir, ...(json ? ['--json'] : [])], { env: { TXPLAN_NOW: NOW }, testDatabase: false });
  return { dir, result };
}

beforeAllWithFolders(() => {
  for (const name of ['admin', 'front-desk', 'billing', 'ci']) tours[name] = tour(name);
  ciJson = tour('ci', true);
}, 120_000);

/** The numbered steps of a tour's output: each title, the commands it shows, and what they printed. */
function steps(output: string): Array<{ commands: string[]; text: string }> {
  return output.split(/\n(?=\d+\. )/).slice(1).map((block) => ({
    commands: [...block.matchAll(/^ {3}\$ (.*)$/gm)].map((m) => m[1]!),
    text: block,
  }));
}

function stepRunning(name: string, command: string): string {
  const found = steps(tours[name]!.result.stdout).find((s) => s.commands.some((c) => c.startsWith(command)));
  if (!found) throw new Error(`the ${name} tour shows no "${command}"`);
  return found.text;
}

describe('txplan demo --tour', () => {
  it('admin: authors a template, checks it in the CI formats, makes it active and dry-runs the rollout of a revision', () => {
    const { dir, result } = tours.admin!;
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(stepRunning('admin', 'txplan template new teen-acne --from comprehensive-acne-resolution')).toContain('✔ Created templates/teen-acne.yaml (v1) as a draft');
    expect(stepRunning('admin', 'txplan template validate templates/teen-acne.yaml')).toContain('✔ 1 file checked, no problems');
    expect(stepRunning('admin', 'txplan template validate --format github templates/teen-acne.yaml')).toContain('1 file checked: 0 errors, 0 warnings');
    expect(stepRunning('admin', 'txplan template validate --format junit templates/teen-acne.yaml')).toMatch(/<testcase classname="templates\.teen-acne" name="templates\/teen-acne\.yaml"/);
    expect(stepRunning('admin', 'txplan template status teen-acne active')).toContain('✔ Template teen-acne is now active');
    expect(stepRunning('admin', 'txplan plan apply LUM-1002 teen-acne')).toContain('$219.00/month × 6');
    const rollout = stepRunning('admin', 'txplan template rollout teen-acne --dry-run');
    expect(rollout).toContain('plan 1: v1 → v2');
    expect(rollout).toContain('~ step 4: month 4: mandelic-peel → month 4: mandelic-peel + led-blue-light');
    expect(rollout).toContain('Dry run: 2 plans would move to teen-acne v2; nothing was written.');
    // The file as the tour left it: active, the edited fee, the revision with its version bumped (not committed).
    const template = parse(readFileSync(join(dir, 'templates', 'teen-acne.yaml'), 'utf8')) as { status: string; version: number; pricing: { monthly_fee: string }; schedule: Array<{ services: string[] }> };
    expect(template).toMatchObject({ status: 'active', version: 2, pricing: { monthly_fee: '219.00' } });
    expect(template.schedule[3]!.services).toEqual(['mandelic-peel', 'led-blue-light']);
    expect(git(dir, 'log', '--format=%s').trim().split('\n')).toEqual(['Teen Acne Program', 'Starter library from txplan init']);
  });

  it('front-desk: patients, a plan, a booking and a refused one, a visit, a pause, a calendar and a handout', () => {
    const { dir, result } = tours['front-desk']!;
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(stepRunning('front-desk', 'txplan patient import patients.csv')).toContain('added 12 (ids 1–12)');
    expect(stepRunning('front-desk', 'txplan patient add --first Amara')).toContain('✔ Added patient 13: Amara Okafor (MRN LUM-2001)');
    const search = stepRunning('front-desk', 'txplan patient list --search okafor');
    expect(search).toMatch(/^13 +LUM-2001 +Okafor, Amara /m);
    expect(search).toMatch(/^6 +LUM-1006 +Okafor-Bennett, Amara /m);
    expect(stepRunning('front-desk', 'txplan plan apply LUM-2001 comprehensive-acne-resolution')).toContain('✔ Started plan 1: Comprehensive Acne Resolution for Amara Okafor at Lumen Downtown from 2027-03-10');
    expect(stepRunning('front-desk', 'txplan plan book 1 2 --at "2027-04-12 14:30"')).toContain('✔ Booked step 2 of plan 1 for 2027-04-12 14:30');
    const refused = stepRunning('front-desk', 'txplan plan book 1 3 --at "2027-02-28 10:00"');
    expect(refused).toContain('txplan: 2027-02-28 10:00 is before plan 1 starts');
    expect(refused).toContain('→ exit 1, as expected here');
    expect(stepRunning('front-desk', 'txplan plan step 1 1 --done')).toContain('✔ Step 1 of plan 1 done on 2027-03-10.');
    // The simulated clock moves on, and the commands show it as TXPLAN_NOW.
    expect(stepRunning('front-desk', 'TXPLAN_NOW=2027-03-13 txplan plan pause 1 --until 2027-03-27')).toContain('✔ Paused plan 1 until 2027-03-27');
    expect(stepRunning('front-desk', 'TXPLAN_NOW=2027-03-27 txplan plan resume 1')).toContain('✔ Resumed plan 1');
    expect(stepRunning('front-desk', 'TXPLAN_NOW=2027-03-27 txplan plan schedule 1 --ics .txplan/plan-1.ics')).toContain('✔ Wrote 5 events');
    const calendar = new ICAL.Component(ICAL.parse(readFileSync(join(dir, '.txplan', 'plan-1.ics'), 'utf8')) as unknown[]);
    expect(calendar.getAllSubcomponents('vevent')).toHaveLength(5);
    expect(stepRunning('front-desk', 'TXPLAN_NOW=2027-03-27 txplan handout 1 -o .txplan/plan-1.pdf')).toMatch(/✔ Wrote the handout of plan 1 \(\d+ pages, US Letter\)/);
    expect(readFileSync(join(dir, '.txplan', 'plan-1.pdf')).subarray(0, 5).toString('latin1')).toBe('%PDF-');
    // Not a git tour: no repository is needed, but one is made as `txplan demo` makes it.
    expect(existsSync(join(dir, '.git'))).toBe(true);
  });

  it('billing: a decline and its retry, a new card that goes through, a refund, reconcile and the forecast', () => {
    const { result } = tours.billing!;
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const first = stepRunning('billing', 'TXPLAN_NOW=2027-04-01 txplan billing run');
    expect(first).toMatch(/declined txp_[a-z]{24}_plan-2-installment-2 \$199\.00: insufficient_funds, retry on 2027-04-04/);
    expect(first).toContain('billing run 2027-04-01: charged 1 ($249.00), failed 1');
    expect(first).toContain('→ exit 3, as expected here');
    expect(stepRunning('billing', 'TXPLAN_NOW=2027-04-04 txplan billing run')).toContain('billing run 2027-04-04: charged 0 ($0.00), failed 1');
    expect(stepRunning('billing', 'TXPLAN_NOW=2027-04-09 txplan billing run')).toContain('billing run 2027-04-09: charged 1 ($199.00), failed 0');
    expect(stepRunning('billing', 'TXPLAN_NOW=2027-04-09 txplan billing refund 3 --amount 50')).toContain('✔ Refunded $50.00 of charge 3 (plan 1, installment 2, $249.00 due 2027-04-01); $199.00 remains refundable.');
    expect(stepRunning('billing', 'TXPLAN_NOW=2027-04-09 txplan billing charges')).toMatch(/^4 +2 +installment 2 +2027-04-01 +\$199\.00 +succeeded +3\b/m);
    expect(stepRunning('billing', 'TXPLAN_NOW=2027-04-09 txplan billing reconcile')).toContain("Every charge matches the sandbox processor's records.");
    expect(stepRunning('billing', 'TXPLAN_NOW=2027-04-09 txplan billing forecast')).toMatch(/^2027-05 +2 · \$448\.00 /m);
  });

  it('ci: a change without its version bump fails with a GitHub annotation, the bump passes, a JUnit report is written', () => {
    const { dir, result } = tours.ci!;
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const branch = /--base (\S+)/.exec(result.stdout)![1]!;
    const validations = steps(result.stdout).filter((s) => s.commands.includes(`txplan template validate --format github --base ${branch}`));
    expect(validations).toHaveLength(2);
    expect(validations[0]!.text).toMatch(/^::error file=templates\/comprehensive-acne-resolution\.yaml,line=3,.*title=version-not-bumped::the template changed since \S+ but version is still (\d+); set version: \d+/m);
    expect(validations[0]!.text).toContain('→ exit 1, as expected here');
    expect(validations[1]!.text).toMatch(/^\d+ files checked: 0 errors, 0 warnings$/m);
    expect(validations[1]!.text).not.toContain('::error');
    const junit = readFileSync(join(dir, '.txplan', 'junit.xml'), 'utf8');
    expect(junit).toMatch(/<testsuites name="txplan template validate" tests="\d+" failures="0"/);
    expect(git(dir, 'log', '--format=%s').trim().split('\n')).toEqual(['Acne program: bump the version', 'Acne program: new fee', 'Starter library from txplan init']);
    expect(git(dir, 'diff', branch, '--stat').trim()).toMatch(/^templates\/comprehensive-acne-resolution\.yaml \| 4 \+\+--/);
  });

  it('reports the steps and their exit codes in JSON', () => {
    const { dir, result } = ciJson;
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as { tour: string; workspace: string; steps: Array<{ commands: string[]; exit: number }> };
    expect(report).toMatchObject({ tour: 'ci', workspace: dir });
    const validations = report.steps.filter((s) => s.commands[0]!.startsWith('txplan template validate --format github'));
    expect(validations.map((s) => s.exit)).toEqual([1, 0]);
    expect(existsSync(join(dir, '.txplan', 'junit.xml'))).toBe(true);
  });

  it('refuses a tour it does not know, naming the ones it has, before writing anything', () => {
    const dir = join(tempDir(), 'nurse');
    const result = txplan(['demo', '--tour', 'nurse', '--dir', dir], { testDatabase: false });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("argument 'nurse' is invalid. Allowed choices are admin, front-desk, billing, ci.");
    expect(existsSync(dir)).toBe(false);
  });
});
