import type { Context } from './context.js';

/**
 * Wraps a verb for commander: builds the context from the global flags, runs
 * the verb (loaded on demand) and records its exit code.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Action = <A extends any[]>(run: (ctx: Context, ...args: A) => Promise<number | void>) => (...args: unknown[]) => Promise<void>;
