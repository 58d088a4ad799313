import { Command, Option } from 'commander';
import type { Context, GlobalOptions } from './context.js';
import { createContext } from './context.js';
import { formatNames } from './output/diagnostics.js';

/**
 * Commander wiring only: flags, arguments and help. Each action loads its
 * verb module on demand, so `txplan --help` never pays for ajv or SQLite.
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
  const action = <A extends unknown[]>(load: (ctx: Context, ...args: A) => Promise<number | void>) =>
    async (...args: unknown[]) => {
      const command = args[args.length - 1] as Command;
      const ctx = makeContext(command.optsWithGlobals<GlobalOptions>());
      exitCode = (await load(ctx, ...(args.slice(0, -1) as A))) ?? 0;
    };

  program
    .command('init')
    .description('create a workspace with the starter template library')
    .argument('[dir]', 'folder to create it in', '.')
    .addHelpText('after', '\nExamples:\n  $ txplan init my-clinic\n  $ cd my-clinic && txplan template list')
    .action(action(async (ctx, dir: string) => (await import('./commands/init.js')).run(ctx, { dir })));

  program
    .command('demo')
    .description('guided end-to-end run on sample data, in a fresh folder')
    .option('--dir <dir>', 'folder for the demo workspace (must be new or empty; default: a new temporary folder)')
    .addHelpText('after', '\nExamples:\n  $ txplan demo\n  $ txplan demo --dir ./demo-clinic')
    .action(action(async (ctx, opts: { dir?: string }) => (await import('./commands/demo.js')).run(ctx, opts)));

  const template = program.command('template').description('list, show, validate and scaffold treatment plan templates');
  template
    .command('list')
    .description('list the templates of the workspace')
    .option('--all', 'include retired templates')
    .addHelpText('after', '\nExamples:\n  $ txplan template list\n  $ txplan template list --all --json')
    .action(action(async (ctx, opts: { all?: boolean }) => (await import('./commands/template/list.js')).run(ctx, opts)));
  template
    .command('show')
    .description('show one template with prices from the catalog')
    .argument('<id>', 'template id')
    .option('--yaml', 'print the template file as written')
    .addHelpText('after', '\nExamples:\n  $ txplan template show comprehensive-acne-resolution\n  $ txplan template show comprehensive-acne-resolution --yaml')
    .action(action(async (ctx, id: string, opts: { yaml?: boolean }) => (await import('./commands/template/show.js')).run(ctx, id, opts)));
  template
    .command('validate')
    .description('check templates, catalog and settings; exit 1 on any error')
    .argument('[paths...]', 'files or folders to check (default: the whole workspace)')
    .addOption(new Option('--format <format>', 'output format').choices(formatNames).default('stylish'))
    .option('--base <rev>', 'git revision to compare with: changed templates must have a higher version')
    .addHelpText('after', '\nExamples:\n  $ txplan template validate\n  $ txplan template validate templates/acne.yaml\n  $ txplan template validate --format github --base origin/main')
    .action(action(async (ctx, paths: string[], opts: { format: string; base?: string }) => (await import('./commands/template/validate.js')).run(ctx, paths, opts)));
  template
    .command('new')
    .description('scaffold a new template file (asks on a terminal)')
    .argument('[id]', 'id of the new template: lowercase letters, digits and dashes')
    .option('--from <template-id>', 'start from a copy of this template')
    .option('--name <name>', 'template name')
    .addOption(new Option('--type <type>', 'payment type').choices(['monthly', 'pay-as-you-go']))
    .option('--months <n>', 'duration in months')
    .option('--weeks <n>', 'duration in weeks')
    .option('--goal <text>', 'the goal, in one sentence')
    .option('--fee <amount>', 'monthly fee of a monthly template, e.g. 199.00')
    .addHelpText('after', '\nExamples:\n  $ txplan template new\n  $ txplan template new severe-acne-program --from comprehensive-acne-resolution\n  $ txplan template new brow-lamination --type pay-as-you-go --weeks 6 --name "Brow Lamination"\n  $ txplan template new glow-club --type monthly --months 12 --fee 149.00')
    .action(action(async (ctx, id: string | undefined, opts: Record<string, string | undefined>) => (await import('./commands/template/new.js')).run(ctx, id, opts)));

  const catalog = program.command('catalog').description("the clinic's services and products");
  catalog
    .command('list')
    .description('list services and products with prices')
    .action(action(async (ctx) => (await import('./commands/catalog/list.js')).run(ctx)));

  return { program, exitCode: () => exitCode };
}
