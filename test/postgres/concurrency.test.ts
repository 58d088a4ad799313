import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { binary, databaseEnv, query, runner, setUp, tempDir, workspace, type RunResult } from '../helpers.js';

/**
 * Many desks on one PostgreSQL database at once: eight processes apply plans,
 * record visits, edit one shared plan and pause their own, while a billing
 * run charges the month. Nothing may be lost, nothing charged twice, and every
 * conflict must be a clear refusal — never a crash, never a half-write.
 */

const MONTHLY = 'comprehensive-acne-resolution';
const VISITS = 'mild-acne-clearing';
const START = '2031-02-01';
const TODAY = '2031-03-01';
const WORKERS = 8;

/** Runs txplan without blocking the test (spawnSync would run the desks one after another). */
function runAsync(ws: string, args: readonly string[]): Promise<RunResult & { args: readonly string[] }> {
  return new Promise((resolve) => {
    const env = { ...process.env, NO_COLOR: '1', TXPLAN_ACTOR: 'desk', TXPLAN_NOW: TODAY, ...databaseEnv(ws, args) };
    const child = spawn(process.execPath, [binary, ...args], { cwd: ws, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr: stderr.replace(/^txplan: warning: TXPLAN_NOW is set[^\n]*\n/, ''), args }));
  });
}

/** What a refused write may say: another desk got there first, or the database was busy for too long. */
const CLEAR_REFUSAL = /^txplan: (Plan \d+ (was|changed)|.*changed since you (opened|read) it|.*is still busy after|Another billing run|The plan is paused|Plan \d+ is (paused|not active))/;

describe('eight desks and a billing run on one PostgreSQL database', () => {
  it('loses nothing, charges nothing twice, and refuses every conflict in one sentence', async () => {
    const ws = workspace();
    const patients = Array.from({ length: WORKERS * 2 }, (_, i) => `P-${i + 1}`);
    writeFileSync(join(ws, 'patients.csv'), `mrn,first_name,last_name\n${patients.map((mrn, i) => `${mrn},Desk${i},Patient`).join('\n')}\n`);
    const monthlyFile = join(tempDir(), 'monthly.txt');
    writeFileSync(monthlyFile, `${patients.slice(0, WORKERS).map((mrn) => `${mrn},pm_card_visa`).join('\n')}\n`);
    setUp(ws, [['clinic', 'add', 'main', '--name', 'Main', '--timezone', 'UTC'], ['patient', 'import', 'patients.csv']], START);
    setUp(ws, [['--yes', 'plan', 'apply', MONTHLY, '--patients-file', monthlyFile, '--mode', 'start', '--clinic', 'main', '--start', START]], START);
    const monthly = query<{ id: number; mrn: string }>(ws, 'SELECT p.id, pt.mrn FROM plans p JOIN patients pt ON pt.id = p.patient_id ORDER BY p.id');
    expect(monthly).toHaveLength(WORKERS);
    const shared = monthly[0]!.id;

    const desk = async (w: number) => {
      const results: Array<RunResult & { args: readonly string[] }> = [];
      const mine = patients[WORKERS + w]!;
      const applied = await runAsync(ws, ['--yes', '--json', 'plan', 'apply', mine, VISITS, '--mode', 'start', '--clinic', 'main', '--start', TODAY, '--payment-method', 'pm_card_visa']);
      results.push(applied);
      if (applied.code === 0) {
        const id = String((JSON.parse(applied.stdout) as { id: number }).id);
        results.push(await runAsync(ws, ['--yes', 'plan', 'step', id, '1', '--done', '--note', `desk ${w}`]));
      }
      results.push(await runAsync(ws, ['plan', 'edit', String(shared), '--set', `goal=Goal from desk ${w}`]));
      const own = String(monthly[w]!.id);
      results.push(await runAsync(ws, ['--yes', 'plan', 'pause', own]));
      results.push(await runAsync(ws, ['--yes', 'plan', 'resume', own]));
      return results;
    };
    const [billing, ...desks] = await Promise.all([runAsync(ws, ['billing', 'run', '--wait', '120']), ...Array.from({ length: WORKERS }, (_, w) => desk(w))]);
    const all = [billing!, ...desks.flat()];

    // Every command either did its work or was refused in one clear sentence.
    for (const r of all) {
      if (r.code === 0) continue;
      expect(r.stderr, r.args.join(' ')).toMatch(CLEAR_REFUSAL);
      expect(r.stderr).not.toMatch(/Unexpected error|\n\s+at /);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    expect([0, 3]).toContain(billing!.code);

    // Nothing lost: every plan applied is there, every visit recorded was charged once, every edit that succeeded is in the audit.
    const appliedOk = desks.flat().filter((r) => r.args.includes('apply') && r.code === 0).length;
    expect(query<{ n: number }>(ws, 'SELECT count(*) AS n FROM plans')[0]!.n).toBe(WORKERS + appliedOk);
    const stepsOk = desks.flat().filter((r) => r.args.includes('step') && r.code === 0).length;
    expect(query<{ n: number }>(ws, "SELECT count(*) AS n FROM steps s JOIN plans p ON p.id = s.plan_id WHERE p.template_id = ? AND s.n = 1 AND s.status = 'done'", VISITS)[0]!.n).toBe(stepsOk);
    expect(query<{ n: number }>(ws, "SELECT count(*) AS n FROM charges WHERE kind = 'step' AND status = 'succeeded'")[0]!.n).toBe(stepsOk);
    const editsOk = desks.flat().filter((r) => r.args.includes('edit') && r.code === 0);
    const edits = query<{ after: string }>(ws, "SELECT after FROM audit WHERE action = 'plan.edit' AND entity_id = ? ORDER BY id", String(shared));
    expect(edits).toHaveLength(editsOk.length);
    // The goal the plan ends with is one a desk saved successfully (a refused save never lands).
    const goal = (JSON.parse(query<{ snapshot: string }>(ws, 'SELECT snapshot FROM plans WHERE id = ?', shared)[0]!.snapshot) as { goal: string }).goal;
    const saved = editsOk.map((r) => r.args.find((a) => a.startsWith('goal='))!.slice('goal='.length));
    if (saved.length > 0) expect(saved).toContain(goal);

    // Nothing twice: one charge per installment and visit in txplan, one per key at the processor.
    expect(query(ws, 'SELECT plan_id, kind, installment, step_n FROM charges GROUP BY plan_id, kind, installment, step_n HAVING count(*) > 1')).toEqual([]);
    expect(query(ws, 'SELECT idempotency_key FROM sandbox_charges GROUP BY idempotency_key HAVING count(*) > 1')).toEqual([]);
    // The month was billed: every monthly plan has installment 2, unless a desk had it paused when the run came by.
    const second = query<{ plan_id: number }>(ws, "SELECT plan_id FROM charges WHERE kind = 'installment' AND installment = 2").map((r) => r.plan_id);
    const { run } = runner(ws, { now: TODAY });
    for (const plan of monthly) {
      if (second.includes(plan.id)) continue;
      expect(query(ws, "SELECT 1 FROM audit WHERE action = 'plan.pause' AND entity_id = ?", String(plan.id))).not.toEqual([]);
    }

    // Afterwards the database and the processor agree.
    const check = run('db', 'check');
    expect(check.stderr).toBe('');
    expect(check.code).toBe(0);
    const reconcile = run('billing', 'reconcile', '--json');
    expect(reconcile.code).toBe(0);
    expect(JSON.parse(reconcile.stdout)).toMatchObject({ ok: true, differences: [] });
  }, 300_000);
});
