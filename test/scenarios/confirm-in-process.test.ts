import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import type { Prompter } from '../../src/cli/prompter.js';
import { clinicWorkspace, databaseEnv, query } from '../helpers.js';

/**
 * The confirmation before money moves, run in-process on fake terminal
 * streams with a fake prompter: what the question says, and that "no" or a
 * missing terminal leave nothing written.
 */

const ACNE = 'comprehensive-acne-resolution'; // monthly, 6 × $249.00, min term 3 months, early fee $150.00
const MILD = 'mild-acne-clearing'; // pay-as-you-go
const CLOCK = '2027-01-04T09:00:00Z';

interface Session {
  code: number;
  stdout: string;
  stderr: string;
  asked: string[];
}

/** One txplan command in-process; `tty` marks every stream a terminal, `answer` says yes or no to the charge question. */
async function txplanIn(ws: string, args: string[], options: { tty: boolean; answer?: boolean }): Promise<Session> {
  let stdout = '';
  let stderr = '';
  const asked: string[] = [];
  const sink = (append: (text: string) => void) => Object.assign(new Writable({ write: (chunk: Buffer | string, _encoding, done) => { append(chunk.toString()); done(); } }), { isTTY: options.tty, columns: 100 });
  const stdin = Object.assign(new PassThrough(), { isTTY: options.tty });
  const prompter: Prompter = {
    input: () => Promise.reject(new Error('no input expected')),
    select: () => Promise.reject(new Error('no choice expected')),
    confirm: (message) => {
      asked.push(message);
      // Only the charge question is answered with `answer`; the wizard's "adjust in your editor?" is declined.
      return Promise.resolve(/^Charge /m.test(message) ? (options.answer ?? false) : false);
    },
  };
  const code = await main(['node', 'txplan', ...args], {
    streams: { stdout: sink((t) => (stdout += t)), stderr: sink((t) => (stderr += t)), stdin },
    // On PostgreSQL, the workspace's own test database (as the txplan() helper gives a spawned binary).
    env: { ...process.env, ...databaseEnv(ws, args), TXPLAN_ACTOR: 'test', TXPLAN_NOW: CLOCK, NO_COLOR: '1' },
    cwd: ws,
    prompter: () => Promise.resolve(prompter),
  });
  return { code, stdout, stderr, asked };
}

const count = (ws: string, table: string) => query<{ n: number }>(ws, `SELECT count(*) AS n FROM ${table}`)[0]!.n;

describe('confirming a charge (in-process)', () => {
  it('on a terminal, names the amount, what it is for and the card, and "no" writes nothing', async () => {
    const ws = clinicWorkspace(1);
    const start = ['plan', 'apply', 'P-1', ACNE, '--mode', 'start', '--clinic', 'main', '--start', '2027-01-04', '--payment-method', 'pm_card_visa'];
    const refused = await txplanIn(ws, start, { tty: true, answer: false });
    expect(refused.stderr).toContain('Cancelled.');
    expect(refused.code).toBe(130);
    const question = refused.asked.find((m) => /^Charge /m.test(m));
    expect(question).toBeDefined();
    expect(question).toContain('$249.00');
    expect(question).toContain('installment 1 of 6');
    expect(question).toContain('Visa •••• 4242');
    expect(question).toMatch(/Charge \$249\.00 to Visa •••• 4242 now\?$/);
    expect(count(ws, 'plans')).toBe(0);
    expect(count(ws, 'charges')).toBe(0);

    const accepted = await txplanIn(ws, start, { tty: true, answer: true });
    expect(accepted.code).toBe(0);
    expect(query<{ amount_minor: number; status: string }>(ws, 'SELECT amount_minor, status FROM charges')).toEqual([{ amount_minor: 24900, status: 'succeeded' }]);
  });

  it('off a terminal, refuses with exit 2 and one sentence naming --yes, and --yes goes ahead without asking', async () => {
    const ws = clinicWorkspace(2);
    const before = { plans: count(ws, 'plans'), charges: count(ws, 'charges'), audit: count(ws, 'audit') };
    const start = ['plan', 'apply', 'P-2', ACNE, '--mode', 'start', '--clinic', 'main', '--payment-method', 'pm_card_mastercard'];
    const refused = await txplanIn(ws, start, { tty: false });
    expect(refused.code).toBe(2);
    expect(refused.asked).toEqual([]);
    expect(refused.stderr).toMatch(/^txplan: This would charge \$249\.00 to Mastercard •••• 4444 now \(.*installment 1 of 6\), which needs a confirmation: run it on a terminal to be asked, or add --yes\n$/m);
    expect({ plans: count(ws, 'plans'), charges: count(ws, 'charges'), audit: count(ws, 'audit') }).toEqual(before);

    const yes = await txplanIn(ws, [...start, '--yes'], { tty: false });
    expect(yes.code).toBe(0);
    expect(yes.asked).toEqual([]);
    expect(count(ws, 'charges')).toBe(before.charges + 1);
  });

  it('does not ask when nothing is charged: a prescription, a cancellation without fee', async () => {
    const ws = clinicWorkspace(1);
    const prescribed = await txplanIn(ws, ['plan', 'apply', 'P-1', ACNE, '--mode', 'prescribe'], { tty: false });
    expect(prescribed.code).toBe(0);
    expect(prescribed.asked).toEqual([]);
    // Moving no money: a cancellation of a prescribed plan (no fee).
    const id = query<{ id: number }>(ws, "SELECT max(id) AS id FROM plans WHERE status = 'prescribed'")[0]!.id;
    const cancelled = await txplanIn(ws, ['plan', 'cancel', String(id), '--reason', 'changed her mind'], { tty: false });
    expect(cancelled.code).toBe(0);
    expect(cancelled.asked).toEqual([]);
  });

  it('asks before a pay-as-you-go visit is charged, and before an early-cancellation fee', async () => {
    const ws = clinicWorkspace(2, [
      ['plan', 'apply', 'P-1', ACNE, '--mode', 'start', '--clinic', 'main', '--payment-method', 'pm_card_visa', '--yes'],
      ['plan', 'apply', 'P-2', MILD, '--mode', 'start', '--clinic', 'main', '--payment-method', 'pm_card_visa', '--yes'],
    ]);
    const visitPlan = query<{ id: number }>(ws, 'SELECT max(id) AS id FROM plans')[0]!.id;
    const charges = count(ws, 'charges');
    const visit = await txplanIn(ws, ['plan', 'step', String(visitPlan), '1', '--done'], { tty: true, answer: false });
    expect(visit.code).toBe(130);
    expect(visit.asked.at(-1)).toMatch(/visit 1/);
    expect(visit.asked.at(-1)).toMatch(/Charge \$[\d,.]+ to Visa •••• 4242 now\?$/);
    expect(query<{ status: string }>(ws, 'SELECT status FROM steps WHERE plan_id = ? AND n = 1', visitPlan)).toEqual([{ status: 'pending' }]);
    expect(count(ws, 'charges')).toBe(charges);

    const acne = query<{ id: number }>(ws, "SELECT min(id) AS id FROM plans WHERE status = 'active' AND template_id = ?", ACNE)[0]!.id;
    const cancel = await txplanIn(ws, ['plan', 'cancel', String(acne), '--reason', 'moving away'], { tty: true, answer: false });
    expect(cancel.code).toBe(130);
    expect(cancel.asked.at(-1)).toContain('$150.00  early cancellation fee');
    expect(query<{ status: string }>(ws, 'SELECT status FROM plans WHERE id = ?', acne)).toEqual([{ status: 'active' }]);
    const offTerminal = await txplanIn(ws, ['plan', 'cancel', String(acne), '--reason', 'moving away'], { tty: false });
    expect(offTerminal.code).toBe(2);
    expect(offTerminal.stderr).toContain('$150.00');
    expect(offTerminal.stderr).toContain('--yes');
    expect(query<{ status: string }>(ws, 'SELECT status FROM plans WHERE id = ?', acne)).toEqual([{ status: 'active' }]);
  });
});
