import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { binary, git, query, runner, setUp, tempDir, txplan, workspace } from '../helpers.js';

const ACNE = 'comprehensive-acne-resolution';

/**
 * A plan edited in $EDITOR while someone else changes it: the editor here is a
 * script that, while "open", runs another txplan command as another person,
 * then saves a change of its own. The save must be refused, never written over
 * what happened meanwhile.
 */
function clinic() {
  const ws = workspace();
  git(ws, 'add', '-A');
  git(ws, 'commit', '-qm', 'starter library');
  setUp(ws, [
    ['clinic', 'add', 'main', '--name', 'Main Street', '--timezone', 'UTC'],
    ['patient', 'add', '--first', 'Ada', '--last', 'Lovelace', '--mrn', 'P-1'],
  ]);
  const { run, json } = runner(ws);
  // Entered on its start date (txplan's clock set by TXPLAN_NOW); the edits below run on the real clock.
  const id = String(runner(ws, { now: '2031-01-15' }).json<{ id: number }>('plan', 'apply', 'P-1', ACNE, '--mode', 'start', '--yes', '--clinic', 'main', '--start', '2031-01-15', '--payment-method', 'pm_card_visa', '--yes').id);
  return { ws, run, json, id };
}

/** An $EDITOR that runs `meanwhile` (txplan arguments, as `actor`), then changes the goal in the file it was given. */
function racingEditor(meanwhile: string, actor: string, before = ''): { editor: string; log: string; env: Record<string, string> } {
  const dir = tempDir();
  const editor = join(dir, 'editor.sh');
  const log = join(dir, 'meanwhile.log');
  writeFileSync(
    editor,
    `#!/bin/sh\n${before}TXPLAN_ACTOR=${actor} "$RACE_NODE" "$RACE_BIN" ${meanwhile} >> "$RACE_LOG" 2>&1\necho "exit $?" >> "$RACE_LOG"\nsed -i "s/^goal: .*/goal: Edited while the plan changed/" "$1"\n`,
  );
  chmodSync(editor, 0o755);
  return { editor, log, env: { EDITOR: editor, RACE_NODE: process.execPath, RACE_BIN: binary, RACE_LOG: log } };
}

const refusal = (id: string, what: string, actor: string) =>
  new RegExp(`^txplan: Plan ${id} was ${what} by ${actor} at \\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2} UTC while you were editing; nothing was saved\\n$`);

interface PlanJson {
  status: string;
  cancel_reason?: string | null;
  snapshot: { goal: string };
  provenance: { template_version: number };
}

describe('no lost updates: plan edit --edit racing with another change', () => {
  it('edit vs cancel: the save is refused, naming who cancelled and when, and the cancellation stands', () => {
    const c = clinic();
    const race = racingEditor(`plan cancel ${c.id} --reason "Moved away" --waive-fee`, 'ana');
    const result = txplan(['plan', 'edit', c.id, '--edit'], { cwd: c.ws, env: race.env });
    expect(readFileSync(race.log, 'utf8')).toContain('exit 0');
    const plan = c.json<PlanJson>('plan', 'show', c.id);
    expect(plan.status).toBe('cancelled');
    expect(plan.snapshot.goal).not.toBe('Edited while the plan changed');
    const [row] = query<{ status: string; cancel_reason: string }>(c.ws, 'SELECT status, cancel_reason FROM plans WHERE id = ?', Number(c.id));
    expect(row).toEqual({ status: 'cancelled', cancel_reason: 'Moved away' });
    expect(query(c.ws, "SELECT * FROM audit WHERE action = 'plan.edit'")).toEqual([]);
    // Then the refusal: what happened, who did it and when; exit 1.
    expect(result.stderr).toMatch(refusal(c.id, 'cancelled', 'ana'));
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
  });

  it('edit vs pause: the pause stands', () => {
    const c = clinic();
    const race = racingEditor(`plan pause ${c.id}`, 'ben');
    const result = txplan(['plan', 'edit', c.id, '--edit'], { cwd: c.ws, env: race.env });
    expect(readFileSync(race.log, 'utf8')).toContain('exit 0');
    const plan = c.json<PlanJson>('plan', 'show', c.id);
    expect(plan.status).toBe('paused');
    expect(plan.snapshot.goal).not.toBe('Edited while the plan changed');
    // Then the refusal: what happened, who did it and when; exit 1.
    expect(result.stderr).toMatch(refusal(c.id, 'paused', 'ben'));
    expect(result.code).toBe(1);
  });

  it('edit vs a billing run that makes the plan past due: past due stands', () => {
    const c = clinic();
    expect(c.run('plan', 'payment', '--yes', c.id, '--payment-method', 'pm_card_chargeDeclinedStolenCard').code).toBe(0);
    // The run happens on its date: the racing process has its clock there.
    const race = racingEditor('billing run --date 2031-02-15', 'billing-cron', 'export TXPLAN_NOW=2031-02-15\n');
    const result = txplan(['plan', 'edit', c.id, '--edit'], { cwd: c.ws, env: race.env });
    expect(readFileSync(race.log, 'utf8')).toMatch(/exit [03]/);
    const plan = c.json<PlanJson>('plan', 'show', c.id);
    expect(plan.status).toBe('past_due');
    expect(plan.snapshot.goal).not.toBe('Edited while the plan changed');
    // Then the refusal: what happened, who did it and when; exit 1.
    expect(result.stderr).toMatch(refusal(c.id, 'made past due', 'billing-cron'));
    expect(result.code).toBe(1);
  });

  it('edit vs template rollout: the rollout stands and the edit is refused, not merged over it', () => {
    const c = clinic();
    const file = join(c.ws, 'templates', `${ACNE}.yaml`);
    // The "editor" first publishes version 4 of the template, then rolls it out, then saves its own change.
    const bump = `sed -i -e "s/^version: 3$/version: 4/" -e "s/^goal: .*/goal: Version four goal/" "${file}"\n`;
    const race = racingEditor(`template rollout ${ACNE} --yes`, 'cara', bump);
    const result = txplan(['plan', 'edit', c.id, '--edit'], { cwd: c.ws, env: race.env });
    expect(readFileSync(race.log, 'utf8')).toContain('exit 0');
    const plan = c.json<PlanJson>('plan', 'show', c.id);
    expect(plan.provenance.template_version).toBe(4);
    expect(plan.snapshot.goal).toBe('Version four goal');
    expect(plan.status).toBe('active');
    // Then the refusal: what happened, who did it and when; exit 1.
    expect(result.stderr).toMatch(refusal(c.id, `rolled out to ${ACNE} v4`, 'cara'));
    expect(result.code).toBe(1);
  });

  it('edit vs a visit booked meanwhile: the booking stands', () => {
    const c = clinic();
    const race = racingEditor(`plan book ${c.id} 2 --at "2031-02-16 14:30"`, 'dan');
    const result = txplan(['plan', 'edit', c.id, '--edit'], { cwd: c.ws, env: race.env });
    expect(readFileSync(race.log, 'utf8')).toContain('exit 0');
    expect(query(c.ws, 'SELECT booked_at FROM steps WHERE plan_id = ? AND n = 2', Number(c.id))).toEqual([{ booked_at: '2031-02-16 14:30' }]);
    expect(c.json<PlanJson>('plan', 'show', c.id).snapshot.goal).not.toBe('Edited while the plan changed');
    // Then the refusal: what happened, who did it and when; exit 1.
    expect(result.stderr).toMatch(refusal(c.id, 'changed \\(step 2 booked\\)', 'dan'));
    expect(result.code).toBe(1);
  });

  it('an edit with nothing racing it still saves', () => {
    const c = clinic();
    const race = racingEditor('plan list', 'ana');
    const result = txplan(['plan', 'edit', c.id, '--edit'], { cwd: c.ws, env: race.env });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(c.json<PlanJson>('plan', 'show', c.id).snapshot.goal).toBe('Edited while the plan changed');
  });
});
