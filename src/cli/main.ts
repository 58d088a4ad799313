import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CommanderError } from 'commander';
import { FailedError, TxplanError } from '../errors.js';
import { readEnvironment } from '../config.js';
import { containsCardNumber } from '../domain/cards.js';
import { buildProgram } from './program.js';
import { createContext, guardStreams, type Streams } from './context.js';
import type { Prompter } from './prompter.js';
import { escapeJson, neutraliseValue } from './output/escape.js';
import { packageRoot } from '../paths.js';

/** What one run of txplan talks to; the process's own by default. */
export interface Io {
  streams: Streams;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** The questions' answers, for a test on fake terminal streams. */
  prompter?: () => Promise<Prompter>;
}

/**
 * The entry point: parses the command line, runs the verb and turns every
 * outcome into an exit code (SPEC §6). The only place that knows about exits.
 * `io` lets a test run txplan in-process with its own streams and environment.
 */
export async function main(argv: readonly string[], io?: Io): Promise<number> {
  const streams: Streams = guardStreams(io?.streams ?? { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin });
  const json = argv.includes('--json');
  const stderr = (text: string) => void streams.stderr.write(text);
  const report = ({ code, message, json }: { code: string; message: string; json: boolean }): void => {
    const safe = redact(message);
    if (json) stderr(`${escapeJson(JSON.stringify({ error: { code, message: safe } }))}\n`);
    else stderr(`txplan: ${safe}\n`);
  };
  if (!io) {
    // `txplan … | head` closes the pipe early: stop quietly, as Unix tools do.
    // Any other failure to write the output (a full disk, /dev/full, a bad
    // descriptor) is one sentence on stderr and exit 1.
    for (const stream of [process.stdout, process.stderr]) {
      stream.on('error', (error: NodeJS.ErrnoException) => {
        if (error.code === 'EPIPE') process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
        if (stream === process.stdout) {
          try {
            report({ code: 'output_failed', message: outputProblem(error), json });
          } catch {
            // stderr is gone too: the exit code is all that is left.
          }
        }
        process.exit(1);
      });
    }
  }
  const debug = argv.includes('--debug');
  const version = (JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;
  const { program, exitCode } = await buildProgram(
    version,
    io ? (options) => createContext(options, { streams: io.streams, env: readEnvironment(io.env), cwd: io.cwd, ...(io.prompter ? { prompter: io.prompter } : {}) }) : createContext,
    argv,
  );
  let usageMessage: string | undefined;
  program.exitOverride();
  for (const command of [program, ...allSubcommands(program)]) {
    command.exitOverride().configureOutput({
      writeOut: (text) => void streams.stdout.write(text),
      writeErr: (text) => stderr(text),
      // Commander's own error text becomes our one-sentence usage error below.
      outputError: (text) => {
        usageMessage = text.replace(/^error: /, '').trim();
      },
    });
  }
  try {
    await program.parseAsync(argv as string[]);
    return exitCode();
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help' && error.exitCode === 0) return 0;
      if (error.code === 'commander.help' || error.code === 'commander.executeSubCommandAsync') return 2;
      const message = usageMessage ?? error.message.replace(/^error: /, '');
      report({ code: 'usage', message: `${capitalize(message.replace(/\n/g, ' '))}${/[.?)]$/.test(message) ? '' : '.'} Run "${commandPath(program, argv)} --help" for usage.`, json });
      return 2;
    }
    const known = error instanceof TxplanError ? error : await mapFailure(error);
    if (known) {
      report({ code: known.code, message: known.message, json });
      if (debug && error instanceof Error && error.stack) stderr(`${redact(error.stack)}\n`);
      return known.exitCode;
    }
    const err = error instanceof Error ? error : new Error(String(error));
    report({ code: 'internal', message: `Unexpected error: ${err.message}. Run again with --debug for details, and report it if it persists.`, json });
    if (debug && err.stack) stderr(`${redact(err.stack)}\n`);
    return 1;
  }
}

/** Failures of the machine rather than of txplan, as one sentence: a damaged, read-only, busy or full database, a full or read-only disk. */
async function mapFailure(error: unknown): Promise<TxplanError | undefined> {
  // Loaded only here: a command on a PostgreSQL database never loads the SQLite modules.
  const { databaseError } = await import('../store/database.js');
  const database = databaseError(error);
  if (database) return database;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOSPC') return new FailedError('The disk is full: free some space and run the command again', 'disk_full');
  if (code === 'EROFS') return new FailedError('The disk txplan writes to is read-only: choose a writable place, or make it writable again', 'read_only');
  return undefined;
}

function outputProblem(error: NodeJS.ErrnoException): string {
  const why = error.code === 'ENOSPC' ? 'no space is left where it goes' : error.code === 'EBADF' ? 'the output is closed or not open for writing' : error.code === 'EIO' ? 'the terminal is gone' : (error.code ?? error.message);
  return `Could not write the output (${why}); the rest of it was not written`;
}

/**
 * The last look at any message before it is printed: a value quoted from the
 * command line ("unknown option '…'", "no patient with MRN …", "did you
 * mean …") never shows a card number or a processor's secret key, and control
 * characters are escaped.
 */
function redact(message: string): string {
  // A processor's secret key (sk_live_…, rk_test_…) is never printed, whatever message carries it.
  let text = message.replace(/\b(sk|rk)_(test|live)_[A-Za-z0-9*]+/g, '$1_$2_(key not shown)');
  if (containsCardNumber(text)) {
    text = text.replace(/(['"`“‘])[^'"`”’]*(['"`”’])/g, '$1(value not shown)$2');
    if (containsCardNumber(text)) text = text.replace(/\p{Nd}/gu, '#');
  }
  return text
    .split('\n')
    .map((line) => neutraliseValue(line))
    .join('\n');
}

function allSubcommands(command: import('commander').Command): import('commander').Command[] {
  return command.commands.flatMap((c) => [c, ...allSubcommands(c)]);
}

/** "txplan template validate": the deepest command the argv names, for the help hint. */
function commandPath(program: import('commander').Command, argv: readonly string[]): string {
  const names = [program.name()];
  let command = program;
  for (const word of argv.slice(2)) {
    const next = command.commands.find((c) => c.name() === word || c.aliases().includes(word));
    if (!next) continue;
    names.push(next.name());
    command = next;
  }
  return names.join(' ');
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
