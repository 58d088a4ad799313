import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import type { Prompter } from '../../src/cli/prompter.js';
import { beforeAllWithFolders, clinicWorkspace, databaseEnv, git, query, runner } from '../helpers.js';

/**
 * A template's life: written as a draft, refused while it is one, made active
 * (its version bumped in the file), applied once per patient unless a second
 * plan is meant, and changed after a plan was prescribed from it. One
 * workspace (clinic "main", patients P-1 … P-4) for the whole file, in order.
 */

const BROW = 'brow-lamination';
const ACNE = 'comprehensive-acne-resolution';
const NOW = '2031-01-15';
let ws: string;
let run: ReturnType<typeof runner>['run'];
let json: ReturnType<typeof runner>['json'];
const plans = () => query<{ n: number }>(ws, 'SELECT count(*) AS n FROM plans')[0]!.n;
const draftRefusal = `txplan: Template "${BROW}" is a draft and cannot be applied yet; when it is ready, run "txplan template status ${BROW} active"\n`;

beforeAllWithFolders(() => {
  ws = clinicWorkspace(4);
  ({ run, json } = runner(ws, { now: NOW }));
  writeFileSync(join(ws, 'cohort.txt'), 'P-1\nP-2\nP-3\n');
}, 60_000);

/** `plan apply` in-process on a fake terminal, answering the duplicate question with `answer`. */
async function applyOnTerminal(args: string[], answer: boolean): Promise<{ code: number; stderr: string; asked: string[] }> {
  let stderr = '';
  const asked: string[] = [];
  const sink = (append: (text: string) => void) => Object.assign(new Writable({ write: (chunk: Buffer | string, _encoding, done) => { append(chunk.toString()); done(); } }), { isTTY: true, columns: 100 });
  const prompter: Prompter = {
    input: () => Promise.reject(new Error('no input expected')),
    select: () => Promise.reject(new Error('no choice expected')),
    confirm: (message) => {
      asked.push(message);
      return Promise.resolve(/already has plan/.test(message) ? answer : /Go ahead\?$/.test(message));
    },
  };
  const code = await main(['node', 'txplan', ...args], {
    streams: { stdout: sink(() => undefined), stderr: sink((t) => (stderr += t)), stdin: Object.assign(new PassThrough(), { isTTY: true }) },
    env: { ...process.env, ...databaseEnv(ws, args), TXPLAN_ACTOR: 'test', TXPLAN_NOW: `${NOW}T12:00:00Z`, NO_COLOR: '1' },
    cwd: ws,
    prompter: () => Promise.resolve(prompter),
  });
  return { code, stderr, asked };
}

describe('a draft template', () => {
  it('is what template new writes; it validates, is listed apart, and cannot be applied or rolled out', () => {
    expect(run('template', 'new', BROW, '--weeks', '6', '--name', 'Brow Lamination', '--goal', 'Fuller, tidier brows').code).toBe(0);
    const file = join(ws, 'templates', `${BROW}.yaml`);
    expect(parse(readFileSync(file, 'utf8'))).toMatchObject({ id: BROW, version: 1, status: 'draft' });
    expect(run('template', 'validate', `templates/${BROW}.yaml`).code).toBe(0);

    // Listed after the active ones, with a status column; --json carries the status.
    const lines = run('template', 'list').stdout.trim().split('\n').map((l) => l.split('\t'));
    expect(lines.at(-1)).toEqual([BROW, 'Brow Lamination', 'pay-as-you-go', '6 weeks', expect.any(String), 'v1', 'draft']);
    expect(lines.slice(0, -1).every((l) => l[6] === 'active')).toBe(true);
    const listed = json<Array<{ id: string; status: string }>>('template', 'list');
    expect(listed.find((t) => t.id === BROW)?.status).toBe('draft');

    const single = run('plan', 'apply', 'P-1', BROW, '--mode', 'prescribe');
    expect(single.code).toBe(1);
    expect(single.stderr).toBe(draftRefusal);
    const bulk = run('plan', 'apply', BROW, '--patients-file', 'cohort.txt', '--mode', 'prescribe');
    expect(bulk.code).toBe(1);
    expect(bulk.stderr).toBe(draftRefusal);
    const rollout = run('template', 'rollout', BROW, '--yes');
    expect(rollout.code).toBe(1);
    expect(rollout.stderr).toBe(draftRefusal);
    expect(plans()).toBe(0);
  });

  it('becomes active with template status, its version bumped in the file (comments kept), and can then be applied', () => {
    const file = join(ws, 'templates', `${BROW}.yaml`);
    writeFileSync(file, readFileSync(file, 'utf8').replace(/^goal: (.*)$/m, 'goal: $1 # as the patient hears it'));
    git(ws, 'add', '-A');
    git(ws, 'commit', '-qm', 'brow lamination, a draft');
    const before = readFileSync(file, 'utf8');

    const activated = run('template', 'status', BROW, 'active');
    expect(activated.code).toBe(0);
    expect(activated.stdout).toContain(`Template ${BROW} is now active (v1 → v2)`);
    const after = readFileSync(file, 'utf8');
    // Exactly two values changed; every other line, comments included, is as written.
    expect(after).toBe(before.replace(/^version: 1$/m, 'version: 2').replace(/^status: draft$/m, 'status: active'));
    expect(after).toContain('# as the patient hears it');
    // The CI rule for changed templates is satisfied by the bump.
    expect(run('template', 'validate', '--base', 'HEAD').code).toBe(0);

    const back = run('template', 'status', BROW, 'draft');
    expect(back.code).toBe(1);
    expect(back.stderr).toBe(`txplan: Template "${BROW}" is active and cannot go back to draft; copy it into a new draft with "txplan template new NEW-ID --from ${BROW}"\n`);
    expect(readFileSync(file, 'utf8')).toBe(after);

    expect(json<{ id: number }>('plan', 'apply', 'P-1', BROW, '--mode', 'prescribe').id).toBe(1);
    expect(query(ws, 'SELECT template_id, template_version FROM plans')).toEqual([{ template_id: BROW, template_version: 2 }]);
  });
});

describe('a second plan of the same template', () => {
  it('is refused off a terminal, naming the plan and --allow-duplicate', () => {
    const refused = run('plan', 'apply', 'P-1', BROW, '--mode', 'prescribe');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(`txplan: Patient 1 (MRN P-1) already has plan 1 of "${BROW}" (prescribed); add --allow-duplicate to apply it again\n`);
    expect(plans()).toBe(1);
  });

  it('is asked about on a terminal: no writes nothing, yes applies it', async () => {
    const args = ['plan', 'apply', 'P-1', BROW, '--mode', 'prescribe'];
    const no = await applyOnTerminal(args, false);
    expect(no.code).toBe(130);
    expect(no.asked[0]).toBe(`Patient 1 (MRN P-1) already has plan 1 of "${BROW}" (prescribed). Apply it again anyway?`);
    expect(plans()).toBe(1);
    const yes = await applyOnTerminal(args, true);
    expect(yes.code).toBe(0);
    expect(query(ws, 'SELECT id, patient_id FROM plans ORDER BY id')).toEqual([{ id: 1, patient_id: 1 }, { id: 2, patient_id: 1 }]);
  });

  it('is skipped in bulk and listed on stdout and in --json, unless --allow-duplicate', () => {
    writeFileSync(join(ws, 'pair.txt'), 'P-1\nP-2\n');
    const bulk = run('plan', 'apply', BROW, '--patients-file', 'pair.txt', '--mode', 'prescribe');
    expect(bulk.code).toBe(0);
    expect(bulk.stdout).toContain(`Skipped 1 patient who already has a plan of ${BROW}: patient 1 (MRN P-1) has plan 1 (prescribed); add --allow-duplicate to apply it to them too.`);
    expect(bulk.stdout).toContain('Prescribed plan 3');

    const again = json<{ plans: number[]; skipped: Array<{ patient_id: number; plan_id: number; status: string }> }>('plan', 'apply', BROW, '--patients-file', 'cohort.txt', '--mode', 'prescribe');
    expect(again.skipped).toEqual([{ patient_id: 1, plan_id: 1, status: 'prescribed' }, { patient_id: 2, plan_id: 3, status: 'prescribed' }]);
    expect(again.plans).toEqual([4]);
    expect(query(ws, 'SELECT patient_id FROM plans WHERE id = 4')).toEqual([{ patient_id: 3 }]);

    const allowed = json<{ plans: number[]; skipped: unknown[] }>('plan', 'apply', BROW, '--patients-file', 'pair.txt', '--mode', 'prescribe', '--allow-duplicate');
    expect(allowed).toMatchObject({ plans: [5, 6], skipped: [] });
  });
});

describe('a rollout to a patient holding two plans of the template', () => {
  it('skips and lists their plans, and moves them with --allow-duplicate', () => {
    for (const plan of ['1', '2']) expect(run('plan', 'start', plan).code).toBe(0); // free visits: no card needed
    const file = join(ws, 'templates', `${BROW}.yaml`);
    writeFileSync(file, readFileSync(file, 'utf8').replace(/^version: 2$/m, 'version: 3').replace(/^goal: .*$/m, 'goal: Fuller brows, longer'));
    type Rollout = { plans: Array<{ id: number; skipped?: string; changes?: unknown[] }> };
    const skipped = json<Rollout>('template', 'rollout', BROW, '--yes');
    expect(skipped.plans.map((p) => [p.id, p.skipped])).toEqual([1, 2].map((id) => [id, `patient 1 holds 3 plans of ${BROW} (plans 1, 2, 5); cancel the one not wanted, or roll out with --allow-duplicate`]));
    expect(query(ws, 'SELECT template_version FROM plans WHERE id IN (1, 2)')).toEqual([{ template_version: 2 }, { template_version: 2 }]);
    const moved = json<Rollout>('template', 'rollout', BROW, '--yes', '--allow-duplicate');
    expect(moved.plans.map((p) => [p.id, p.skipped])).toEqual([[1, undefined], [2, undefined]]);
    expect(query(ws, 'SELECT template_version FROM plans WHERE id IN (1, 2) ORDER BY id')).toEqual([{ template_version: 3 }, { template_version: 3 }]);
  });
});

describe('plan start after the template changed', () => {
  it('shows what changed, then starts as prescribed; --json carries the difference', () => {
    for (const patient of ['P-3', 'P-4']) expect(run('plan', 'apply', patient, ACNE, '--mode', 'prescribe').code).toBe(0);
    const file = join(ws, 'templates', `${ACNE}.yaml`);
    const text = readFileSync(file, 'utf8');
    const version = (parse(text) as { version: number }).version;
    writeFileSync(file, text.replace(/^version: \d+$/m, `version: ${version + 1}`).replace(/monthly_fee: "[\d.]+"/, 'monthly_fee: "259.00"'));
    git(ws, 'add', '-A');
    git(ws, 'commit', '-qm', 'acne: a new fee');

    const started = run('plan', 'start', '7', '--as-prescribed', '--payment-method', 'pm_card_visa', '--yes');
    expect(started.code).toBe(0);
    expect(started.stderr).toContain(`Plan 7 was prescribed from ${ACNE} v${version}; the template is now at v${version + 1}:\n  monthly fee: $249.00/month → $259.00/month\n`);
    expect(started.stdout).toContain(`Started plan 7 as prescribed (${ACNE} v${version})`);

    const current = json<{ template_changes: { prescribed_version: number; current_version: number; started_on: string; differences: Array<{ what: string; before: string; after: string }> } }>(
      'plan', 'start', '8', '--current-version', '--payment-method', 'pm_card_visa', '--yes',
    );
    expect(current.template_changes).toMatchObject({ prescribed_version: version, current_version: version + 1, started_on: 'current' });
    expect(current.template_changes.differences).toContainEqual({ what: 'monthly_fee', before: '$249.00/month', after: '$259.00/month', text: 'monthly fee: $249.00/month → $259.00/month' });
    expect(query(ws, 'SELECT p.id, p.template_version, c.amount_minor FROM plans p JOIN charges c ON c.plan_id = p.id ORDER BY p.id')).toEqual([
      { id: 7, template_version: version, amount_minor: 24900 },
      { id: 8, template_version: version + 1, amount_minor: 25900 },
    ]);
  });
});
