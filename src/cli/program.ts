import { Command } from 'commander';
import type { Context, GlobalOptions } from './context.js';
import { createContext } from './context.js';
import type { Action } from './action.js';
import { register as registerInit } from './commands/init-demo.js';
import { register as registerTemplate } from './commands/template/index.js';
import { register as registerCatalog } from './commands/catalog/index.js';
import { register as registerClinic } from './commands/clinic/index.js';
import { register as registerPatient } from './commands/patient/index.js';
import { register as registerPlan } from './commands/plan/index.js';
import { register as registerAudit } from './commands/audit/index.js';
import { register as registerDb } from './commands/db/index.js';
import { register as registerHandout } from './commands/handout/index.js';
import { register as registerBilling } from './commands/billing/index.js';

/**
 * The root command and its global flags. Each noun registers its verbs from
 * its own folder; every action loads its verb module on demand, so
 * `txplan --help` never pays for ajv or SQLite.
 */
export function buildProgram(version: string, makeContext: (options: GlobalOptions) => Context = createContext): { program: Command; exitCode: () => number } {
  let exitCode = 0;
  const program = new Command('txplan')
    .description('Treatment plan templates for aesthetic clinics: validate the registry, apply plans, print handouts, run billing.')
    .version(version, '-V, --version', 'print the version')
    .option('--workspace <dir>', 'workspace folder (default: TXPLAN_WORKSPACE, else the nearest folder with txplan.yaml)')
    .option('--db <path>', 'database file (default: TXPLAN_DB, else .txplan/txplan.db in the workspace)')
    .option('--json', 'print one JSON document on stdout; errors as JSON on stderr')
    .option('--no-color', 'no colours (also NO_COLOR)')
    .option('--actor <name>', 'name recorded in the audit log (default: TXPLAN_ACTOR, else the OS user)')
    .option('--debug', 'print stack traces of unexpected errors')
    .option('-y, --yes', 'answer yes to confirmations and never prompt')
    .showSuggestionAfterError(true)
    .configureHelp({ sortSubcommands: false, showGlobalOptions: true });

  /** Runs a verb with a context built from the global flags; the verb returns its exit code. */
  const action: Action = (run) =>
    async (...args: unknown[]) => {
      // Commander passes the positional arguments, the options, then the command itself.
      const command = args[args.length - 1] as Command;
      const ctx = makeContext(command.optsWithGlobals<GlobalOptions>());
      const verb = run as (ctx: Context, ...rest: unknown[]) => Promise<number | void>;
      exitCode = (await verb(ctx, ...args.slice(0, -1))) ?? 0;
    };

  registerInit(program, action);
  registerTemplate(program, action);
  registerCatalog(program, action);
  registerClinic(program, action);
  registerPatient(program, action);
  registerPlan(program, action);
  registerAudit(program, action);
  registerBilling(program, action);
  registerDb(program, action);
  registerHandout(program, action);

  return { program, exitCode: () => exitCode };
}
