import { describe, expect, it } from 'vitest';
import { buildProgram, namedCommand } from '../../src/cli/program.js';

const argv = (...words: string[]) => ['node', 'txplan', ...words];
const registered = async (...words: string[]) => (await buildProgram('0.0.0', undefined, argv(...words))).program.commands.map((c) => c.name());

describe('start-up registers only the command the line names', () => {
  it('finds the command after the global options, skipping their values', () => {
    expect(namedCommand(argv('plan', 'list'))).toBe('plan');
    expect(namedCommand(argv('--workspace', 'plan', 'billing', 'run'))).toBe('billing');
    expect(namedCommand(argv('--db', 'x.db', '--json', '--actor', 'db', 'patient', 'list'))).toBe('patient');
    expect(namedCommand(argv('--db=plan.db', 'audit'))).toBe('audit');
    expect(namedCommand(argv('-y', 'demo'))).toBe('demo');
  });

  it('registers every command for help, a typo, an unknown word or no command at all', async () => {
    const all = await registered();
    expect(all).toEqual(['init', 'demo', 'template', 'catalog', 'clinic', 'patient', 'plan', 'audit', 'billing', 'report', 'db', 'handout', 'doctor']);
    for (const words of [['plan', '--help'], ['-h'], ['help', 'plan'], ['pln', 'list'], ['--', 'plan'], ['--workspace']]) {
      expect(namedCommand(argv(...words)), words.join(' ')).toBeUndefined();
      expect(await registered(...words), words.join(' ')).toEqual(all);
    }
  });

  it('registers the named command with all its verbs, and init with demo (one module)', async () => {
    expect(await registered('plan', 'list')).toEqual(['plan']);
    expect(await registered('demo')).toEqual(['init', 'demo']);
    expect(await registered('doctor')).toEqual(['doctor']);
    const { program } = await buildProgram('0.0.0', undefined, argv('plan', 'list'));
    const full = (await buildProgram('0.0.0')).program;
    expect(program.commands[0]!.commands.map((c) => c.name())).toEqual(full.commands.find((c) => c.name() === 'plan')!.commands.map((c) => c.name()));
  });
});
