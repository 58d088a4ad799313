import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { engine, git, runner, setUp, tempDir, testDatabase, txplan, workspace, type TestDatabase } from '../helpers.js';
import Database from 'better-sqlite3';

const ACNE = 'comprehensive-acne-resolution';
const CARD = '4242 4242 4242 4242';

/** A committed workspace with two clinics and three patients. */
function clinic(): { ws: string; run: (...args: string[]) => ReturnType<typeof txplan>; json: <T = any>(...args: string[]) => T; db: () => TestDatabase } {
  const ws = workspace();
  git(ws, 'add', '-A');
  git(ws, 'commit', '-qm', 'starter library');
  const { run, json } = runner(ws);
  setUp(ws, [
    ['clinic', 'add', 'downtown', '--name', 'Downtown', '--timezone', 'America/New_York'],
    ['clinic', 'add', 'westside', '--name', 'Westside', '--timezone', 'America/Los_Angeles'],
    ['patient', 'add', '--first', 'Zoë', '--last', 'Ødegård', '--mrn', 'A-1001'],
    ['patient', 'add', '--first', 'José', '--last', 'Núñez', '--mrn', 'A-1002'],
    ['patient', 'add', '--first', 'Ярослава', '--last', 'Коваленко', '--mrn', 'A-1003'],
  ]);
  const db = () => testDatabase(ws, { readonly: true });
  return { ws, run, json, db };
}

function count(db: TestDatabase, table: string): number {
  const n = (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
  db.close();
  return n;
}

interface PlanJson {
  id: number;
  status: string;
  start_date: string | null;
  end_date: string | null;
  prices: Array<{ from_installment: number; amount_minor: number }>;
  payment_method: { brand: string; last4: string; token: string } | null;
  provenance: { template_id: string; template_version: number; template_hash: string; git_commit: string | null; uncommitted_changes: boolean | null };
  steps: Array<{ n: number; recommended_date: string | null; status: string; services: string[] }>;
  snapshot: { name: string; duration: { months?: number }; goal: string };
  origin?: { customised: boolean; template_current_version: number | null; differences: Array<{ path: string }> };
}

describe('txplan plan apply', () => {
  it('starts a monthly program with dates, price, payment method and git provenance', () => {
    const c = clinic();
    // Entered on its start date: txplan's clock (TXPLAN_NOW) is set there.
    const applied = runner(c.ws, { now: '2027-01-31' }).json<{ id: number; plans: number[]; status: string }>('plan', 'apply', 'A-1001', ACNE, '--mode', 'start', '--yes', '--clinic', 'downtown', '--start', '2027-01-31', '--payment-method', 'pm_card_visa', '--yes');
    expect(applied.status).toBe('active');
    const plan = c.json<PlanJson>('plan', 'show', String(applied.id));
    expect(plan.status).toBe('active');
    expect(plan.start_date).toBe('2027-01-31');
    expect(plan.end_date).toBe('2027-07-31');
    // Month N is start + (N-1) months, clamped to the month's last day.
    expect(plan.steps.map((s) => s.recommended_date)).toEqual(['2027-01-31', '2027-02-28', '2027-03-31', '2027-04-30', '2027-05-31', '2027-06-30']);
    expect(plan.prices).toEqual([{ from_installment: 1, amount_minor: 24900, currency: 'USD' }]);
    expect(plan.payment_method).toMatchObject({ brand: 'visa', last4: '4242', token: 'pm_card_visa' });
    expect(plan.provenance).toMatchObject({ template_id: ACNE, template_version: 3, uncommitted_changes: false });
    expect(plan.provenance.git_commit).toBe(git(c.ws, 'rev-parse', 'HEAD').trim());
    expect(plan.provenance.template_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(plan.origin).toMatchObject({ customised: false, template_current_version: 3, differences: [] });

    const human = c.run('plan', 'show', String(applied.id));
    expect(human.stdout).toContain(`Plan ${applied.id} · Comprehensive Acne Resolution · active`);
    expect(human.stdout).toContain('Patient   Zoë Ødegård (id 1, MRN A-1001)');
    expect(human.stdout).toContain('visa •••• 4242');
    expect(human.stdout).toMatch(/Source +template comprehensive-acne-resolution v3, sha256 [0-9a-f]{12}, commit [0-9a-f]{12}/);
    expect(human.stdout).toContain('identical to its template');
  });

  it('refuses a paid program without a payment method, and writes nothing', () => {
    const c = clinic();
    const result = c.run('plan', 'apply', 'A-1001', ACNE, '--mode', 'start', '--yes', '--clinic', 'downtown');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('is a paid plan: it cannot start without a payment method; add --payment-method pm_…');
    expect(count(c.db(), 'plans')).toBe(0);
  });

  it('prescribes without dates, and starts the plan later', () => {
    const c = clinic();
    const { id } = c.json<{ id: number }>('plan', 'apply', 'A-1002', ACNE, '--mode', 'prescribe');
    const prescribed = c.json<PlanJson>('plan', 'show', String(id));
    expect(prescribed).toMatchObject({ status: 'prescribed', start_date: null, end_date: null });
    expect(prescribed.steps.every((s) => s.recommended_date === null)).toBe(true);

    expect(c.run('plan', 'start', '--yes', String(id), '--clinic', 'downtown').code).toBe(1); // paid: needs a token
    const started = runner(c.ws, { now: '2026-12-15' }).json<PlanJson>('plan', 'start', '--yes', String(id), '--clinic', 'downtown', '--start', '2026-12-15', '--payment-method', 'pm_card_mastercard', '--yes');
    expect(started).toMatchObject({ status: 'active', start_date: '2026-12-15', end_date: '2027-06-15' });
    expect(started.steps[1]!.recommended_date).toBe('2027-01-15');
    const again = c.run('plan', 'start', '--yes', String(id));
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(`txplan: Cannot start plan ${id}: it is already active\n`);
  });

  it('customises with --set, validated before anything is stored', () => {
    const c = clinic();
    const bad = c.run('plan', 'apply', 'A-1001', ACNE, '--mode', 'prescribe', '--set', 'duration.months=4');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('--set duration.months=4 would make the plan invalid: schedule[4].when.month is 5, but the plan lasts 4 months');
    expect(c.run('plan', 'apply', 'A-1001', ACNE, '--mode', 'prescribe', '--set', 'pricing.monthly_fee=abc').code).toBe(1);
    const unknown = c.run('plan', 'apply', 'A-1001', ACNE, '--mode', 'prescribe', '--set', 'status=retired');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('--set cannot change "status"');
    expect(count(c.db(), 'plans')).toBe(0);

    const { id } = c.json<{ id: number }>('plan', 'apply', 'A-1001', ACNE, '--mode', 'prescribe', '--set', 'duration.months=8', '--set', 'name=Acne Plan for Zoë');
    const plan = c.json<PlanJson>('plan', 'show', String(id));
    expect(plan.snapshot).toMatchObject({ name: 'Acne Plan for Zoë', duration: { months: 8 } });
    expect(plan.origin!.customised).toBe(true);
    expect(plan.origin!.differences.map((d) => d.path)).toEqual(['duration.months', 'name']);
    expect(c.run('plan', 'show', String(id)).stdout).toContain('customised for this patient');
  });

  it('refuses retired templates and templates not offered at the clinic', () => {
    const c = clinic();
    const retired = c.run('plan', 'apply', 'A-1001', 'classic-peel-series', '--mode', 'prescribe');
    expect(retired.code).toBe(1);
    expect(retired.stderr).toContain('is retired and cannot start new plans');
    const elsewhere = c.run('plan', 'apply', 'A-1001', 'body-contouring', '--mode', 'start', '--yes', '--clinic', 'westside', '--payment-method', 'pm_card_visa');
    expect(elsewhere.code).toBe(1);
    expect(elsewhere.stderr).toContain('is offered only at downtown, not at westside');
    const missing = c.run('plan', 'apply', 'A-1001', 'no-such-template', '--mode', 'prescribe');
    expect(missing.code).toBe(1);
    const nobody = c.run('plan', 'apply', 'A-1004', ACNE, '--mode', 'prescribe');
    expect(nobody.code).toBe(1);
    expect(nobody.stderr).toMatch(/No patient with MRN "A-1004"; did you mean MRN "A-100[123]"\?/);
    expect(c.run('plan', 'apply', 'A-1001', ACNE).code).toBe(2); // no --mode, no terminal
    expect(count(c.db(), 'plans')).toBe(0);
  });

  it('saves the customised plan as a new template, never overwriting', () => {
    const c = clinic();
    const result = c.json<{ id: number; saved_template: string }>('plan', 'apply', 'A-1001', ACNE, '--mode', 'prescribe', '--set', 'name=Teen Acne Program', '--save-as-template', 'teen-acne-program');
    expect(result.saved_template).toBe('templates/teen-acne-program.yaml');
    const saved = parse(readFileSync(join(c.ws, 'templates', 'teen-acne-program.yaml'), 'utf8'));
    expect(saved).toMatchObject({ id: 'teen-acne-program', version: 1, name: 'Teen Acne Program', status: 'active' });
    expect(c.run('template', 'validate').code).toBe(0);
    const again = c.run('plan', 'apply', 'A-1002', ACNE, '--mode', 'prescribe', '--save-as-template', 'teen-acne-program');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('Refusing to overwrite templates/teen-acne-program.yaml');
    // A plan that is refused leaves no new template behind.
    const refused = c.run('plan', 'apply', 'A-1002', ACNE, '--mode', 'start', '--yes', '--clinic', 'downtown', '--save-as-template', 'never-written');
    expect(refused.code).toBe(1);
    expect(existsSync(join(c.ws, 'templates', 'never-written.yaml'))).toBe(false);
    // Saving alone, without a mode, applies nothing.
    const only = c.json<{ plans: number[] }>('plan', 'apply', 'A-1002', ACNE, '--save-as-template', 'acne-copy');
    expect(only.plans).toEqual([]);
    expect(count(c.db(), 'plans')).toBe(1);
  });

  it('applies one template to many patients in one transaction: all or none', () => {
    const c = clinic();
    const file = join(c.ws, 'cohort.txt');
    writeFileSync(file, '# spring cohort\nA-1001\n\n2\nA-4040\n');
    const bad = c.run('plan', 'apply', 'post-procedure-recovery', '--patients-file', file, '--mode', 'prescribe');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('line 5: No patient with MRN "A-4040"');
    expect(count(c.db(), 'plans')).toBe(0);
    writeFileSync(file, '# spring cohort\nA-1001\n\n2\nA-1003  # the third\n');
    const good = c.json<{ plans: number[] }>('plan', 'apply', 'post-procedure-recovery', '--patients-file', file, '--mode', 'prescribe');
    expect(good.plans).toHaveLength(3);
    expect(c.json<unknown[]>('plan', 'list', '--template', 'post-procedure-recovery')).toHaveLength(3);
    expect(c.run('plan', 'apply', ACNE, '--patients-file', file, '--mode', 'start', '--yes', '--clinic', 'downtown').stderr).toContain('each patient needs their own payment method');
  });

  it('keeps a plan as applied when the template changes later', () => {
    const c = clinic();
    const { id } = c.json<{ id: number }>('plan', 'apply', 'A-1001', ACNE, '--mode', 'prescribe');
    const file = join(c.ws, 'templates', `${ACNE}.yaml`);
    writeFileSync(file, readFileSync(file, 'utf8').replace(/^goal: .*$/m, 'goal: Something else entirely').replace(/^version: 3$/m, 'version: 4'));
    const plan = c.json<PlanJson>('plan', 'show', String(id));
    expect(plan.snapshot.goal).toBe('Clear active acne and reduce scarring within 6 months');
    expect(plan.origin).toMatchObject({ customised: false, template_current_version: 4 });
    expect(c.run('plan', 'show', String(id)).stdout).toContain(`the template is now v4; this plan keeps v3 until "txplan template rollout ${ACNE}"`);
  });
});

describe('plan lifecycle', () => {
  function started(c: ReturnType<typeof clinic>): number {
    // Entered on its start date (TXPLAN_NOW); what follows runs on the real clock, months later.
    return runner(c.ws, { now: '2026-11-02' }).json<{ id: number }>('plan', 'apply', 'A-1001', ACNE, '--mode', 'start', '--yes', '--clinic', 'downtown', '--start', '2026-11-02', '--payment-method', 'pm_card_visa', '--yes').id;
  }

  it('pauses and resumes, moving what is ahead by the days paused; refuses illegal moves', () => {
    const c = clinic();
    const id = String(started(c));
    const illegal = c.run('plan', 'resume', id);
    expect(illegal.code).toBe(1);
    expect(illegal.stderr).toBe(`txplan: Cannot resume plan ${id}: it is not paused\n`);
    expect(c.json<PlanJson>('plan', 'pause', id, '--until', '2099-01-01').status).toBe('paused');
    expect(c.run('plan', 'pause', id).stderr).toContain('it is already paused');
    const resumed = c.json<PlanJson>('plan', 'resume', id);
    expect(resumed.status).toBe('active');
    expect(resumed.end_date! >= '2027-05-02').toBe(true);
  });

  it('cancels with a reason; a cancelled plan cannot be edited, started or resumed', () => {
    const c = clinic();
    const id = String(started(c));
    expect(c.run('plan', 'cancel', '--yes', id).code).toBe(2);
    expect(c.json<PlanJson>('plan', 'cancel', '--yes', id, '--reason', 'Moved to another city').status).toBe('cancelled');
    for (const args of [['edit', id, '--set', 'name=X'], ['resume', id], ['pause', id], ['cancel', id, '--reason', 'again']]) {
      const result = c.run('plan', ...args);
      expect(result.code, args.join(' ')).toBe(1);
      expect(result.stderr).toMatch(/^txplan: Cannot .* plan \d+: it is cancelled\n$/);
    }
    expect(c.run('plan', 'show', id).stdout).toContain('Cancelled 20');
  });

  it('refuses a card number in a payment flag or a note, and never writes it anywhere', () => {
    const c = clinic();
    const id = String(started(c));
    const inFlag = c.run('plan', 'payment', '--yes', id, '--payment-method', CARD);
    expect(inFlag.code).toBe(1);
    expect(inFlag.stderr).toContain('--payment-method looks like it holds a card number');
    const inReason = c.run('plan', 'cancel', '--yes', id, '--reason', `card was ${CARD.replace(/ /g, '-')}`);
    expect(inReason.code).toBe(1);
    expect(inReason.stderr).toContain('--reason looks like it holds a card number');
    for (const output of [inFlag.stderr, inReason.stderr]) expect(output.replace(/\D/g, '')).not.toContain('4242424242424242');
    for (const file of ['txplan.db', 'txplan.db-wal']) {
      const path = join(c.ws, '.txplan', file);
      if (existsSync(path)) expect(readFileSync(path).toString('latin1').replace(/\D/g, '')).not.toContain('4242424242424242');
    }
    expect(c.json<PlanJson>('plan', 'payment', '--yes', id, '--payment-method', 'pm_card_amex').payment_method).toMatchObject({ brand: 'amex', last4: '8431' });
    expect(c.run('plan', 'payment', '--yes', id, '--payment-method', 'pm_unknown').code).toBe(1);
  });

  it('edits a running plan: a new fee applies from the next installment', () => {
    const c = clinic();
    const id = String(started(c));
    const edited = c.json<PlanJson & { revision: { price: { from_installment: number } | null } }>('plan', 'edit', id, '--set', 'pricing.monthly_fee=199.00');
    expect(edited.prices.map((p) => [p.from_installment, p.amount_minor])).toEqual([
      [1, 24900],
      [edited.revision.price!.from_installment, 19900],
    ]);
    expect(edited.revision.price!.from_installment).toBeGreaterThan(1);
    expect(c.run('plan', 'edit', id).code).toBe(2);
    const human = c.run('plan', 'edit', id, '--set', 'goal=Calmer skin');
    expect(human.stdout).toBe(`✔ Updated plan ${id}: goal.\n`);
  });

  it('edits in $EDITOR, validating the result before saving', () => {
    const c = clinic();
    const id = String(started(c));
    const editor = join(tempDir(), 'editor.sh');
    writeFileSync(editor, '#!/bin/sh\nsed -i "s/^goal: .*/goal: Clear skin by summer/" "$1"\n');
    chmodSync(editor, 0o755);
    const ok = txplan(['plan', 'edit', id, '--edit', '--json'], { cwd: c.ws, env: { EDITOR: editor } });
    expect(ok.code).toBe(0);
    expect((JSON.parse(ok.stdout) as PlanJson).snapshot.goal).toBe('Clear skin by summer');
    writeFileSync(editor, '#!/bin/sh\nsed -i "s/^      month: 6$/      month: 9/" "$1"\n');
    const bad = txplan(['plan', 'edit', id, '--edit'], { cwd: c.ws, env: { EDITOR: editor } });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('The edit would make the plan invalid: schedule[5].when.month is 9, but the plan lasts 6 months');
    expect(c.json<PlanJson>('plan', 'show', id).snapshot.goal).toBe('Clear skin by summer');
    const noEditor = txplan(['plan', 'edit', id, '--edit'], { cwd: c.ws, env: { EDITOR: '', VISUAL: '' } });
    expect(noEditor.code).toBe(2);
  });

  it('saves a plan as a new template with save-template', () => {
    const c = clinic();
    const id = String(c.json<{ id: number }>('plan', 'apply', 'A-1001', ACNE, '--mode', 'prescribe', '--set', 'goal=Clear skin before the wedding').id);
    const human = c.run('plan', 'save-template', id, 'wedding-acne');
    expect(human.code).toBe(0);
    expect(human.stdout).toBe(`✔ Saved plan ${id}'s content as templates/wedding-acne.yaml (v1).\n`);
    expect(parse(readFileSync(join(c.ws, 'templates', 'wedding-acne.yaml'), 'utf8'))).toMatchObject({ id: 'wedding-acne', version: 1, goal: 'Clear skin before the wedding' });
    expect(c.json('plan', 'save-template', id, 'wedding-acne-2')).toEqual({ id: 'wedding-acne-2', file: 'templates/wedding-acne-2.yaml', version: 1, from_plan: Number(id) });
    expect(c.run('plan', 'save-template', id, 'wedding-acne').code).toBe(1);
    expect(c.run('plan', 'save-template', id, 'Wedding Acne').code).toBe(2);
    expect(c.run('template', 'validate').code).toBe(0);
  });

  it('exports JSON and a FHIR CarePlan with the status mapping of the spec', () => {
    const c = clinic();
    const id = String(started(c));
    const bundle = JSON.parse(c.run('plan', 'export', id, '--format', 'fhir').stdout) as { resourceType: string; type: string; entry: Array<{ fullUrl: string; resource: { resourceType: string } }> };
    expect(bundle).toMatchObject({ resourceType: 'Bundle', type: 'collection' });
    expect(bundle.entry.map((e) => e.resource.resourceType)).toEqual(['Patient', 'CarePlan']);
    const fhir = bundle.entry[1]!.resource as unknown as { status: string; intent: string; subject: { reference: string }; activity: unknown[] };
    expect(fhir).toMatchObject({ status: 'active', intent: 'plan', subject: { reference: bundle.entry[0]!.fullUrl } });
    expect(fhir.activity).toHaveLength(6);
    const { id: prescribed } = c.json<{ id: number }>('plan', 'apply', 'A-1002', ACNE, '--mode', 'prescribe');
    const alone = JSON.parse(c.run('plan', 'export', String(prescribed), '--format', 'fhir', '--resource', 'careplan').stdout) as { subject: { identifier: { value: string } } };
    expect(alone).toMatchObject({ resourceType: 'CarePlan', status: 'draft', intent: 'proposal', subject: { identifier: { value: 'A-1002' } } });
    expect(c.run('plan', 'export', id, '--format', 'fhir', '--resource', 'patient').code).toBe(2);
    expect(c.run('plan', 'export', id, '--resource', 'careplan').code).toBe(2);
    expect((JSON.parse(c.run('plan', 'export', id).stdout) as PlanJson).id).toBe(Number(id));
    expect(c.run('plan', 'export', id, '--format', 'csv').code).toBe(2);
  });

  it('lists plans by patient, status, template and clinic', () => {
    const c = clinic();
    started(c);
    c.json('plan', 'apply', 'A-1002', 'post-procedure-recovery', '--mode', 'prescribe');
    expect(c.json<unknown[]>('plan', 'list', '--patient', 'A-1001')).toHaveLength(1);
    expect(c.json<unknown[]>('plan', 'list', '--status', 'prescribed')).toHaveLength(1);
    expect(c.json<unknown[]>('plan', 'list', '--clinic', 'downtown')).toHaveLength(1);
    expect(c.run('plan', 'list', '--status', 'sleeping').code).toBe(2);
    const piped = c.run('plan', 'list').stdout.trim().split('\n');
    expect(piped).toHaveLength(2);
    expect(piped[0]!.split('\t').slice(0, 5)).toEqual(['1', 'Zoë Ødegård (A-1001)', 'Comprehensive Acne Resolution', `${ACNE} v3`, 'active']);
  });
});

describe('txplan template rollout', () => {
  it('moves running plans to the new version: done steps kept, price from the next installment, audited', () => {
    const c = clinic();
    const { id } = c.json<{ id: number }>('plan', 'apply', 'A-1001', ACNE, '--mode', 'start', '--yes', '--clinic', 'downtown', '--start', '2026-10-05', '--payment-method', 'pm_card_visa');
    const customised = c.json<{ id: number }>('plan', 'apply', 'A-1002', ACNE, '--mode', 'start', '--yes', '--clinic', 'downtown', '--payment-method', 'pm_card_visa', '--set', 'name=Just for José').id;
    // Step 1 happened: history that a rollout must not rewrite.
    const db = testDatabase(c.ws);
    db.prepare("UPDATE steps SET status = 'done', completed_on = '2026-10-05', services = '[\"deep-cleansing-facial\"]' WHERE plan_id = ? AND n = 1").run(id);
    db.close();
    const file = join(c.ws, 'templates', `${ACNE}.yaml`);
    writeFileSync(
      file,
      readFileSync(file, 'utf8')
        .replace(/^version: 3$/m, 'version: 4')
        .replace('monthly_fee: "249.00"', 'monthly_fee: "259.00"')
        .replace('services: [mandelic-peel]', 'services: [jessners-peel]'),
    );
    git(c.ws, 'commit', '-qam', 'acne v4');

    const dry = c.run('template', 'rollout', '--yes', ACNE, '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(`plan ${id}: v3 → v4`);
    expect(dry.stdout).toMatch(/~ step 4: month 4: mandelic-peel → month 4: jessners-peel/);
    expect(dry.stdout).toMatch(/price from installment \d: \$249\.00 → \$259\.00/);
    expect(dry.stdout).toContain(`skip plan ${customised} (v3): customised for its patient`);
    expect(dry.stdout).toContain('Dry run: 1 plan would move to comprehensive-acne-resolution v4, 1 skipped; nothing was written.');
    expect(c.json<PlanJson>('plan', 'show', String(id)).provenance.template_version).toBe(3);

    const done = c.json<{ plans: Array<{ id: number; skipped?: string; price: { from_installment: number } | null }> }>('template', 'rollout', '--yes', ACNE);
    expect(done.plans.find((p) => p.id === id)!.price!.from_installment).toBeGreaterThan(1);
    const plan = c.json<PlanJson>('plan', 'show', String(id));
    expect(plan.provenance).toMatchObject({ template_version: 4, git_commit: git(c.ws, 'rev-parse', 'HEAD').trim() });
    expect(plan.steps[0]).toMatchObject({ status: 'done', services: ['deep-cleansing-facial'] });
    expect(plan.steps[3]!.services).toEqual(['jessners-peel']);
    expect(plan.prices.map((p) => p.amount_minor)).toEqual([24900, 25900]);
    const audit = c.json<Array<{ action: string; entity_id: string }>>('audit', '--entity', 'plan', '--id', String(id), '--reverse');
    expect(audit.map((a) => a.action)).toEqual(['plan.start', 'plan.rollout']);
    // Moved plans are not moved again; the customised one stays behind until someone edits it.
    expect(c.run('template', 'rollout', '--yes', ACNE).stdout).toContain(`Rolled out ${ACNE} v4 to 0 plans (1 skipped)`);
    c.run('plan', 'cancel', '--yes', String(customised), '--reason', 'Test cleanup');
    expect(c.run('template', 'rollout', '--yes', ACNE).stdout).toContain(`No running plan of ${ACNE} is behind v4.`);
  });

  it('rolls out an earlier committed version with --to-version, and says which versions exist', () => {
    const c = clinic();
    c.json('plan', 'apply', 'A-1001', 'moderate-acne-program', '--mode', 'start', '--yes', '--clinic', 'downtown', '--payment-method', 'pm_card_visa');
    const file = join(c.ws, 'templates', 'moderate-acne-program.yaml');
    for (const version of [3, 4]) {
      writeFileSync(file, readFileSync(file, 'utf8').replace(/^version: \d+$/m, `version: ${version}`).replace(/^goal: .*$/m, `goal: Goal of version ${version}`));
      git(c.ws, 'commit', '-qam', `v${version}`);
    }
    const result = c.json<{ version: number; plans: Array<{ changes: Array<{ path: string; after: unknown }> }> }>('template', 'rollout', '--yes', 'moderate-acne-program', '--to-version', '3');
    expect(result.version).toBe(3);
    expect(result.plans[0]!.changes.find((ch) => ch.path === 'goal')!.after).toBe('Goal of version 3');
    const missing = c.run('template', 'rollout', '--yes', 'moderate-acne-program', '--to-version', '1');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('has no v1 in its git history (committed: v2, v3, v4)');
  });
});

describe('audit and database', () => {
  it('records every change with actor and before/after, and filters', () => {
    const c = clinic();
    const { id } = c.json<{ id: number }>('plan', 'apply', 'A-1001', ACNE, '--mode', 'prescribe');
    txplan(['plan', 'cancel', '--yes', String(id), '--reason', 'Changed her mind', '--actor', 'dr.lee'], { cwd: c.ws });
    const entries = c.json<Array<{ id: number; actor: string; action: string; entity: string; before: { status: string } | null; after: { status: string } }>>('audit', '--entity', 'plan', '--reverse');
    expect(entries.map((e) => [e.action, e.actor, e.before?.status ?? null, e.after.status])).toEqual([
      ['plan.prescribe', 'test', null, 'prescribed'],
      ['plan.cancel', 'dr.lee', 'prescribed', 'cancelled'],
    ]);
    expect(c.json<unknown[]>('audit', '--entity', 'patient').length).toBe(3);
    expect(c.json<unknown[]>('audit', '--since', '2999-01-01')).toEqual([]);
    expect(c.run('audit', '--id', '1').code).toBe(2);
    expect(c.run('audit').stdout.trim().split('\n').length).toBeGreaterThanOrEqual(7);
  });

  it('checks integrity and makes a private online backup', () => {
    const c = clinic();
    c.json('plan', 'apply', 'A-1001', ACNE, '--mode', 'prescribe');
    const check = c.json<{ ok: boolean; counts: Record<string, number> }>('db', 'check');
    expect(check).toMatchObject({ ok: true, counts: { patients: 3, plans: 1, clinics: 2 } });
    const backup = join(tempDir(), 'backup');
    if (engine === 'postgres') {
      // A PostgreSQL database is backed up with the server's own tools; txplan says so and writes nothing.
      const refused = c.run('db', 'backup', backup);
      expect(refused.code).toBe(1);
      expect(refused.stdout).toBe('');
      expect(refused.stderr).toMatch(/^txplan: .* works on a SQLite database file, and .* is a PostgreSQL database; use PostgreSQL's own tools \(pg_dump, pg_restore\) there\n$/);
      expect(existsSync(backup)).toBe(false);
      return;
    }
    expect(c.run('db', 'backup', backup).code).toBe(0);
    expect(statSync(backup).mode & 0o777).toBe(0o700);
    expect(statSync(join(backup, 'txplan.db')).mode & 0o777).toBe(0o600);
    const copy = new Database(join(backup, 'txplan.db'), { readonly: true });
    expect(copy.prepare('SELECT count(*) AS n FROM plans').get()).toEqual({ n: 1 });
    copy.close();
    const again = c.run('db', 'backup', backup);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('exists; a backup never overwrites anything: choose a new folder name');
  });
});
