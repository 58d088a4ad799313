import { Chalk, type ChalkInstance } from 'chalk';
import { readEnvironment, type Environment } from '../config.js';
import type { Prompter } from './prompter.js';
import { parseClock } from '../domain/clock.js';
import { UsageError } from '../errors.js';
import { escapeJson, neutralise, neutraliseForTerminal } from './output/escape.js';

/** Global flags of SPEC §4, as every command receives them. */
export interface GlobalOptions {
  workspace?: string;
  db?: string;
  json?: boolean;
  color?: boolean;
  actor?: string;
  debug?: boolean;
  yes?: boolean;
  /** Tab-separated output without the spreadsheet-formula guard, for scripts. */
  raw?: boolean;
}

export interface Streams {
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
}

/**
 * What a command needs from the outside world, built once by the entry point
 * (the cli/cli "factory"): streams, colour, environment, clock, prompter.
 */
export interface Context {
  streams: Streams;
  env: Environment;
  cwd: string;
  now: () => Date;
  /** The instant TXPLAN_NOW fixes "now" at (a rehearsal clock), or undefined for the real clock. */
  simulatedNow: Date | undefined;
  options: GlobalOptions;
  /** Colours for stdout (off when piped, with --no-color, NO_COLOR or --json). */
  color: ChalkInstance;
  /** Colours for stderr. */
  colorErr: ChalkInstance;
  /** Who the audit log names: --actor, else TXPLAN_ACTOR, else the OS user. */
  actor: string;
  /** Whether stdout is a terminal: aligned tables for people, tab-separated lines for pipes. */
  tty: boolean;
  /** True when prompting is allowed: both ends are terminals and --yes was not given. */
  interactive: boolean;
  prompter: () => Promise<Prompter>;
  out(text: string): void;
  err(text: string): void;
  /** Prints one JSON document to stdout. */
  json(value: unknown): void;
}

export function createContext(options: GlobalOptions, overrides: Partial<Pick<Context, 'streams' | 'env' | 'cwd' | 'now' | 'prompter'>> = {}): Context {
  const given = overrides.streams ?? { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin };
  // Everything a command prints goes through these: no escape sequence or control character it did not mean.
  const streams = guardStreams(given);
  const env = overrides.env ?? readEnvironment();
  const colorAllowed = options.color !== false && !env.noColor && !options.json;
  const level = (tty: boolean | undefined) => (colorAllowed && tty ? 1 : 0);
  const simulatedNow = overrides.now ? undefined : simulatedClock(env.clock);
  const interactive = Boolean(streams.stdin.isTTY && streams.stdout.isTTY) && !options.yes && !options.json;
  return {
    streams,
    env,
    cwd: overrides.cwd ?? process.cwd(),
    now: overrides.now ?? (simulatedNow ? () => new Date(simulatedNow) : () => new Date()),
    simulatedNow,
    options,
    color: new Chalk({ level: level(streams.stdout.isTTY) }),
    colorErr: new Chalk({ level: level(streams.stderr.isTTY) }),
    actor: options.actor ?? env.actor,
    tty: Boolean(streams.stdout.isTTY),
    interactive,
    prompter: overrides.prompter ?? (async () => (await import('./prompter.js')).inquirerPrompter()),
    out: (text) => void streams.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
    err: (text) => void streams.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
    json: (value) => void streams.stdout.write(`${escapeJson(JSON.stringify(value, null, 2))}\n`),
  };
}

function simulatedClock(text: string | undefined): Date | undefined {
  if (text === undefined) return undefined;
  const at = parseClock(text);
  if (!at) throw new UsageError(`TXPLAN_NOW "${text}" is not an ISO date-time; write it like 2027-01-01T09:00:00Z (with Z or an offset such as +01:00), or a date alone, or unset it to use the real clock`, 'bad_clock');
  return at;
}

/** The one line a writing command prints while the simulated clock is set. */
export function simulatedClockWarning(at: Date): string {
  return `warning: TXPLAN_NOW is set: txplan's clock reads ${at.toISOString()} (a rehearsal clock); unset it for real work`;
}

export function guardStreams(streams: Streams): Streams {
  return { stdout: guarded(streams.stdout), stderr: guarded(streams.stderr), stdin: streams.stdin };
}

/**
 * A stream whose text writes are neutralised (see output/escape.ts): on a
 * terminal txplan's colour and cursor codes pass, elsewhere nothing but
 * newlines and tabs. Binary writes (a PDF on stdout) pass untouched.
 */
function guarded<S extends NodeJS.WritableStream & { isTTY?: boolean }>(stream: S): S {
  const clean = stream.isTTY ? neutraliseForTerminal : neutralise;
  const write = (chunk: unknown, ...rest: unknown[]) => (stream.write as (...a: unknown[]) => boolean).call(stream, typeof chunk === 'string' ? clean(chunk) : chunk, ...rest);
  return new Proxy(stream, {
    get(target, property) {
      if (property === 'write') return write;
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
