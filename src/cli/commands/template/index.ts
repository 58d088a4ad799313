import { Argument, Option, type Command } from 'commander';
import type { Action } from '../../action.js';
import { formatNames } from '../../output/diagnostics.js';

export function register(program: Command, action: Action): void {
  const template = program.command('template').description('list, show, validate and scaffold treatment plan templates');
  template
    .command('list')
    .description('list the templates of the workspace')
    .option('--all', 'include retired templates (drafts are always listed, apart)')
    .option('--clinic <id>', "prices in that clinic's currency and locale (default: the workspace's)")
    .addHelpText('after', '\nExamples:\n  $ txplan template list\n  $ txplan template list --all --json\n  $ txplan template list --clinic oslo')
    .action(action(async (ctx, opts: { all?: boolean; clinic?: string }) => (await import('./list.js')).run(ctx, opts)));
  template
    .command('show')
    .description('show one template with prices from the catalog')
    .argument('<id>', 'template id')
    .option('--yaml', 'print the template file as written')
    .option('--clinic <id>', "prices in that clinic's currency and locale (default: the workspace's)")
    .addHelpText('after', '\nExamples:\n  $ txplan template show comprehensive-acne-resolution\n  $ txplan template show comprehensive-acne-resolution --yaml\n  $ txplan template show comprehensive-acne-resolution --clinic oslo')
    .action(action(async (ctx, id: string, opts: { yaml?: boolean; clinic?: string }) => (await import('./show.js')).run(ctx, id, opts)));
  template
    .command('validate')
    .description('check templates, catalog and settings; exit 1 on any error')
    .argument('[paths...]', 'files or folders to check (default: the whole workspace)')
    .addOption(new Option('--format <format>', 'output format').choices(formatNames).default('stylish'))
    .option('--base <rev>', 'git revision to compare with: changed templates must have a higher version')
    .addHelpText('after', '\nExamples:\n  $ txplan template validate\n  $ txplan template validate templates/acne.yaml\n  $ txplan template validate --format github --base origin/main')
    .action(action(async (ctx, paths: string[], opts: { format: string; base?: string }) => (await import('./validate.js')).run(ctx, paths, opts)));
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
    .action(action(async (ctx, id: string | undefined, opts: Record<string, string | undefined>) => (await import('./new.js')).run(ctx, id, opts)));
  template
    .command('status')
    .description('make a template active, or retire it; bumps its version in the same write')
    .argument('<id>', 'template id')
    .addArgument(new Argument('<status>', 'the new status').choices(['active', 'retired', 'draft']))
    .addHelpText('after', '\nA draft becomes active when it is ready; active and retired swap. Nothing goes back to draft.\n\nExamples:\n  $ txplan template status brow-lamination active\n  $ txplan template status pre-event-glow retired')
    .action(action(async (ctx, id: string, status: 'active' | 'retired' | 'draft') => (await import('./status.js')).run(ctx, id, status)));
  template
    .command('rollout')
    .description('move running plans of a template to its current version: future steps only, a diff per plan')
    .argument('<id>', 'template id')
    .option('--to-version <n>', 'roll out this version (from git history) instead of the current file')
    .option('--dry-run', 'print what would change per plan; write nothing')
    .option('--allow-duplicate', 'also move the plans of patients who hold more than one plan of this template (skipped and listed otherwise)')
    .addHelpText('after', '\nExamples:\n  $ txplan template rollout comprehensive-acne-resolution --dry-run\n  $ txplan template rollout comprehensive-acne-resolution --to-version 4')
    .action(action(async (ctx, id: string, opts: { toVersion?: string; dryRun?: boolean; allowDuplicate?: boolean }) => (await import('./rollout.js')).run(ctx, id, opts)));
  template
    .command('export')
    .description('a template as a FHIR R4 PlanDefinition (JSON)')
    .argument('<id>', 'template id')
    .option('--format <format>', 'fhir', 'fhir')
    .addHelpText('after', '\nExamples:\n  $ txplan template export comprehensive-acne-resolution --format fhir > acne.json')
    .action(action(async (ctx, id: string, opts: { format?: string }) => (await import('./export.js')).run(ctx, id, opts)));
}
