import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { createContext } from '../../src/cli/context.js';
import type { Prompter } from '../../src/cli/prompter.js';
import { run } from '../../src/cli/commands/template/new.js';
import { CancelledError } from '../../src/errors.js';
import { workspace, fakeTerminal } from '../helpers.js';

const terminal = fakeTerminal;

/** Answers questions in order and records them. */
function scripted(answers: string[]): Prompter & { asked: string[] } {
  const asked: string[] = [];
  const next = (message: string) => {
    asked.push(message);
    const answer = answers.shift();
    if (answer === undefined) throw new Error(`unexpected question: ${message}`);
    return answer;
  };
  return {
    asked,
    input: async (message, options) => {
      const answer = next(message);
      const verdict = options?.validate?.(answer) ?? true;
      if (verdict !== true) throw new Error(`answer "${answer}" to "${message}" was refused: ${verdict}`);
      return answer;
    },
    select: async <T extends string>(message: string) => next(message) as T,
    confirm: async (message) => next(message) === 'yes',
  };
}

const env = { workspace: undefined, db: undefined, actor: 'test', noColor: true, editor: undefined };

describe('template new on a terminal', () => {
  it('asks for every missing value and writes a valid monthly template', async () => {
    const ws = workspace();
    const term = terminal();
    const prompter = scripted(['hydra-club', 'Hydra Club', 'monthly', '12', 'Keep skin hydrated all year', '129.00']);
    const ctx = createContext({}, { streams: term.streams, prompter: async () => prompter, cwd: ws, env });
    expect(await run(ctx, undefined, {})).toBe(0);
    expect(prompter.asked).toEqual(['Template id (file name):', 'Name:', 'Type:', 'Duration in months:', 'Goal (one sentence, for the patient):', 'Monthly fee (USD):']);
    const template = parse(readFileSync(join(ws, 'templates', 'hydra-club.yaml'), 'utf8'));
    expect(template).toMatchObject({ id: 'hydra-club', name: 'Hydra Club', type: 'monthly', duration: { months: 12 }, pricing: { monthly_fee: '129.00' }, version: 1 });
    expect(term.output()).toContain('Created templates/hydra-club.yaml');
  });

  it('refuses an id that exists at the prompt itself', async () => {
    const ws = workspace();
    const prompter = scripted(['pre-event-glow']);
    const ctx = createContext({}, { streams: terminal().streams, prompter: async () => prompter, cwd: ws, env });
    await expect(run(ctx, undefined, {})).rejects.toThrow('answer "pre-event-glow" to "Template id (file name):" was refused: templates/pre-event-glow.yaml exists already');
  });

  it('asks nothing with --yes, and a cancelled prompt becomes exit 130', async () => {
    const ws = workspace();
    const silent = createContext({ yes: true }, { streams: terminal().streams, prompter: async () => scripted([]), cwd: ws, env });
    await expect(run(silent, undefined, {})).rejects.toThrow('Missing the new template id');

    const cancelling: Prompter = { input: async () => { throw new CancelledError(); }, select: async () => { throw new CancelledError(); }, confirm: async () => false };
    const ctx = createContext({}, { streams: terminal().streams, prompter: async () => cancelling, cwd: ws, env });
    await expect(run(ctx, undefined, {})).rejects.toMatchObject({ exitCode: 130 });
  });
});
