import { Command } from 'commander';
import type { Context, GlobalOptions } from './context.js';
import { createContext } from './context.js';
import type { Action } from './action.js';

type Registrar = { register: (program: Command, action: Action) => void };

/** Each top-level command's module, in the order `txplan --help` lists them (init-demo registers both). */
const COMMANDS: ReadonlyArray<readonly [names: readonly string[], load: () => Promise<Registrar>]> = [
  [['init', 'demo'], () => import('./commands/init-demo.js')],
  [['template'], () => import('./commands/template/index.js')],
  [['catalog'], () => import('./commands/catalog/index.js')],
  [['clinic'], () => import('./commands/clinic/index.js')],
  [['patient'], () => import('./commands/patient/index.js')],
  [['plan'], () => import('./commands/plan/index.js')],
  [['audit'], () => import('./commands/audit/index.js')],
  [['billing'], () => import('./commands/billing/index.js')],
  [['report'], () => import('./commands/report/index.js')],
  [['db'], () => import('./commands/db/index.js')],
  [['handout'], () => import('./commands/handout/index.js')],
  [['doctor'], () => import('./commands/doctor/index.js')],
];

/** The global options that take a value: the word after them is not the command. */
const VALUED_GLOBALS = new Set(['--workspace', '--db', '--actor']);

/**
 * The top-level command `argv` runs, when it plainly names one and asks for no
 * help; undefined otherwise (help, a typo, no command), and then every command
 * is registered so that help and suggestions list them all.
 */
export function namedCommand(argv: readonly string[]): string | undefined {
  const words = argv.slice(2);
  if (words.some((word) => word === '--help' || word === '-h')) return undefined;
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    if (word === '--') return undefined;
    if (!word.startsWith('-')) return COMMANDS.some(([names]) => names.includes(word)) ? word : undefined;
    if (VALUED_GLOBALS.has(word)) i++;
  }
  return undefined;
}
import { cardNumberError, containsCardNumber } from '../domain/cards.js';
import { controlCharacterError, hasControlCharacter, normaliseNewlines } from '../domain/safe-text.js';

/**
 * The root command and its global flags. Each noun registers its verbs from
 * its own folder; every action loads its verb module on demand, so
 * `txplan --help` never pays for ajv or SQLite.
 */
export async function buildProgram(
  version: string,
  makeContext: (options: GlobalOptions) => Context = createContext,
  argv?: readonly string[],
): Promise<{ program: Command; exitCode: () => number }> {
  let exitCode = 0;
  const program = new Command('txplan')
    .description('Treatment plan templates for aesthetic clinics: validate the registry, apply plans, print handouts, run billing.')
    .version(version, '-V, --version', 'print the version')
    .option('--workspace <dir>', 'workspace folder (default: TXPLAN_WORKSPACE, else the nearest folder with txplan.yaml)')
    .option('--db <path|url>', 'database file or postgres:// URL (default: TXPLAN_DB, else database: in txplan.yaml, else .txplan/txplan.db in the workspace)')
    .option('--json', 'print one JSON document on stdout; errors as JSON on stderr')
    .option('--no-color', 'no colours (also NO_COLOR)')
    .option('--actor <name>', 'name recorded in the audit log (default: TXPLAN_ACTOR, else the OS user)')
    .option('--debug', 'print stack traces of unexpected errors')
    .option('-y, --yes', 'answer yes to confirmations and never prompt')
    .option('--raw', 'piped tables: keep cells that start with = + - @ as they are (no leading \' against spreadsheet formulas)')
    .showSuggestionAfterError(true)
    .configureHelp({ sortSubcommands: false, showGlobalOptions: true });

  /** Runs a verb with a context built from the global flags; the verb returns its exit code. */
  const action: Action = (run) =>
    async (...args: unknown[]) => {
      // Commander passes the positional arguments, the options, then the command itself.
      const command = args[args.length - 1] as Command;
      checkFreeText(command, args.slice(0, -1));
      const ctx = makeContext(command.optsWithGlobals<GlobalOptions>());
      checkText('The actor (--actor or TXPLAN_ACTOR)', ctx.actor, false);
      const verb = run as (ctx: Context, ...rest: unknown[]) => Promise<number | void>;
      exitCode = (await verb(ctx, ...args.slice(0, -1))) ?? 0;
    };

  // A command line that names its command loads and registers that one alone: start-up pays for one noun's verbs, not eleven.
  const named = argv && namedCommand(argv);
  const wanted = named ? COMMANDS.filter(([names]) => names.includes(named)) : COMMANDS;
  for (const { register } of await Promise.all(wanted.map(([, load]) => load()))) register(program, action);

  return { program, exitCode: () => exitCode };
}

/** Flags whose text may span lines (notes and outcomes of a visit). */
const MULTI_LINE_OPTIONS = new Set(['note', 'outcome']);
/** `--set field=value` fields whose value may span lines. */
const MULTI_LINE_FIELDS = new Set(['description']);

/**
 * The first line of defence, before any verb runs: no argument or option
 * value of any command may hold a card number (in any form), and only the
 * multi-line ones may hold line breaks (\r\n becomes \n). Errors name the
 * flag, never the value. Values arriving other ways (prompts, CSV cells,
 * editors, templates) are checked where they arrive, and the audit refuses
 * whatever slipped through.
 */
function checkFreeText(command: Command, values: unknown[]): void {
  const positional = command.registeredArguments;
  values.forEach((value, index) => {
    if (index < positional.length) {
      const name = `<${positional[index]!.name()}>`;
      for (const text of strings(value)) checkText(name, text, false);
    }
  });
  const local = values[positional.length];
  for (const cmd of ancestry(command)) {
    const opts = cmd === command && isRecord(local) ? local : cmd.opts();
    for (const option of cmd.options) {
      const key = option.attributeName();
      const value = opts[key];
      const flag = option.long ?? option.short ?? key;
      if (typeof value === 'string' && MULTI_LINE_OPTIONS.has(key)) {
        opts[key] = normaliseNewlines(value);
        checkText(flag, opts[key] as string, true);
        continue;
      }
      for (const text of strings(value)) {
        const field = key === 'set' ? /^([^=]*)=/.exec(text)?.[1]?.trim() : undefined;
        if (field !== undefined && MULTI_LINE_FIELDS.has(field) && Array.isArray(value)) {
          value[value.indexOf(text)] = normaliseNewlines(text);
          checkText(`--set ${field}`, normaliseNewlines(text), true);
        } else {
          checkText(field !== undefined && /^[\w.]+$/.test(field) ? `--set ${field}` : flag, text, false);
        }
      }
    }
  }
}

function checkText(field: string, text: string, multiline: boolean): void {
  if (containsCardNumber(text)) throw cardNumberError(field);
  if (hasControlCharacter(text, multiline)) throw controlCharacterError(field, multiline);
}

function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return [];
}

function ancestry(command: Command): Command[] {
  const list: Command[] = [];
  for (let c: Command | null = command; c; c = c.parent) list.push(c);
  return list;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
