import { describe, expect, it } from 'vitest';
import { createContext } from '../../src/cli/context.js';
import type { Prompter } from '../../src/cli/prompter.js';
import { run } from '../../src/cli/commands/plan/step.js';
import { query, setUp, workspace, fakeTerminal } from '../helpers.js';

const terminal = fakeTerminal;

const env = { workspace: undefined, db: undefined, actor: 'test', noColor: true, editor: undefined };
const now = () => new Date('2027-03-01T09:00:00Z');

describe('plan step --done on a terminal, at a visit with alternatives', () => {
  it('asks which alternative was performed, records it and charges its price', async () => {
    const ws = workspace();
    setUp(ws, [
      ['clinic', 'add', 'main', '--name', 'Main Street', '--timezone', 'UTC'],
      ['patient', 'add', '--first', 'Ada', '--last', 'Lovelace', '--mrn', 'P-1'],
      ['plan', 'apply', 'P-1', 'laser-hair-reduction', '--mode', 'start', '--clinic', 'main', '--start', '2027-01-04', '--payment-method', 'pm_card_visa', '--yes'],
    ]);
    const questions: Array<{ message: string; choices: string[] }> = [];
    const prompter: Prompter = {
      input: async (message) => {
        throw new Error(`unexpected question: ${message}`);
      },
      select: async <T extends string>(message: string, choices: ReadonlyArray<{ value: T; name?: string }>) => {
        questions.push({ message, choices: choices.map((c) => c.name ?? c.value) });
        return choices.find((c) => c.value === 'laser-hair-large')!.value;
      },
      confirm: async () => true, // a confirmation before charging, where there is one
    };
    const term = terminal();
    const ctx = createContext({}, { streams: term.streams, prompter: async () => prompter, cwd: ws, env, now });

    expect(await run(ctx, '1', '2', { done: true, date: '2027-01-11' })).toBe(0);
    expect(questions).toEqual([
      { message: 'Step 2: which was performed?', choices: ['Laser Hair Reduction, Medium Area (as planned)', 'Laser Hair Reduction, Small Area', 'Laser Hair Reduction, Large Area'] },
    ]);
    expect(term.output()).toContain('; charged $395.00.');
    expect(query(ws, 'SELECT n, performed FROM steps WHERE n = 2')).toEqual([{ n: 2, performed: '["laser-hair-large"]' }]);
    expect(query(ws, 'SELECT step_n, amount_minor, note FROM charges')).toEqual([{ step_n: 2, amount_minor: 39500, note: null }]);

    // Recorded once: another --service for the same step is refused as already recorded, not judged again.
    await expect(run(ctx, '1', '2', { done: true, service: ['laser-genesis'] })).rejects.toMatchObject({ code: 'step_recorded', exitCode: 1 });
    // A skipped visit performed nothing.
    await expect(run(ctx, '1', '3', { skip: true, service: ['laser-hair-small'] })).rejects.toMatchObject({ exitCode: 2, message: expect.stringContaining('a skipped visit performed nothing') });
    expect(questions).toHaveLength(1);
  });
});
