import { CancelledError } from '../errors.js';
import { neutraliseValue } from './output/escape.js';
import { importPackage } from '../packages.js';

/** Questions a command may ask; tests pass a fake, the terminal gets @inquirer/prompts. */
export interface Prompter {
  input(message: string, options?: { default?: string; validate?: (value: string) => string | true }): Promise<string>;
  select<T extends string>(message: string, choices: ReadonlyArray<{ value: T; name?: string; description?: string }>, defaultValue?: T): Promise<T>;
  confirm(message: string, defaultValue?: boolean): Promise<boolean>;
}

export async function inquirerPrompter(): Promise<Prompter> {
  const prompts = await importPackage<typeof import('@inquirer/prompts')>('@inquirer/prompts');
  // Ctrl-C at a prompt rejects with ExitPromptError: exit 130, no stack trace.
  const guard = async <T>(ask: () => Promise<T>): Promise<T> => {
    try {
      return await ask();
    } catch (error) {
      if (error instanceof Error && error.name === 'ExitPromptError') throw new CancelledError();
      throw error;
    }
  };
  return {
    // Questions and choices may quote stored text: shown without control characters.
    input: (message, options = {}) =>
      guard(() => prompts.input({ message: neutraliseValue(message), ...(options.default !== undefined ? { default: options.default } : {}), ...(options.validate ? { validate: options.validate } : {}) })),
    select: (message, choices, defaultValue) =>
      guard(() => prompts.select({ message: neutraliseValue(message), choices: choices.map((c) => ({ value: c.value, name: neutraliseValue(c.name ?? c.value), ...(c.description ? { description: neutraliseValue(c.description) } : {}) })), ...(defaultValue !== undefined ? { default: defaultValue } : {}) })),
    confirm: (message, defaultValue = true) => guard(() => prompts.confirm({ message: neutraliseValue(message), default: defaultValue })),
  };
}
