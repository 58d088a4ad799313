import { relative } from 'node:path';
import { parseDocument } from 'yaml';
import type { Context } from '../../context.js';
import { resolveWorkspace } from '../../workspace.js';
import { getTemplate, loadRegistry, templateIds, type Registry } from '../../../registry/registry.js';
import { MIN_MONTHLY_MONTHS } from '../../../registry/rules.js';
import { templateText, TEMPLATE_ID, writeNewTemplate } from '../../../registry/write.js';
import { FailedError, UsageError } from '../../../errors.js';
import type { Template } from '../../../generated/schema-types.js';
import { toMinor } from '../../../domain/money.js';
import { cardNumberError, containsCardNumber } from '../../../domain/cards.js';

export interface NewOptions {
  from?: string;
  name?: string;
  type?: string;
  months?: string;
  weeks?: string;
  goal?: string;
  fee?: string;
}

export async function run(ctx: Context, idArg: string | undefined, opts: NewOptions): Promise<number> {
  const workspace = resolveWorkspace(ctx);
  const registry = await loadRegistry(workspace);
  const existing = new Set(await templateIds(workspace));
  const checkId = (value: string): string | true =>
    !TEMPLATE_ID.test(value) ? 'Use lowercase letters, digits and dashes, e.g. severe-acne-program.' : existing.has(value) ? `templates/${value}.yaml exists already; choose another id.` : true;

  const prompter = ctx.interactive ? await ctx.prompter() : undefined;
  let id = idArg;
  if (id === undefined) {
    if (!prompter) throw new UsageError('Missing the new template id; run "txplan template new <id>" (lowercase letters, digits and dashes)');
    id = await prompter.input('Template id (file name):', { validate: checkId });
  }
  const idProblem = checkId(id);
  if (idProblem !== true) throw existing.has(id) ? new FailedError(`Refusing to overwrite: ${idProblem}`, 'exists') : new UsageError(`"${id}" is not a valid template id. ${idProblem}`);
  if (opts.months !== undefined && opts.weeks !== undefined) throw new UsageError('Give --months or --weeks, not both');

  const text = opts.from !== undefined ? await copyOf(ctx, opts.from, id, opts) : await scaffold(registry, id, opts, prompter);
  // Flags are checked before the verb runs; this catches prompt answers and what --from copies.
  if (containsCardNumber(text)) throw cardNumberError('The new template');
  const file = await writeNewTemplate(registry, id, text);
  const shown = relative(ctx.cwd, file);
  if (ctx.options.json) ctx.json({ id, file: shown, version: 1, status: 'draft' });
  else ctx.out(`${ctx.color.green('✔')} Created ${ctx.color.bold(shown)} (v1) as a draft. Edit its schedule and home care, check it with "txplan template validate ${shown}", then run "txplan template status ${id} active" to let staff apply it.`);
  return 0;
}

/** A copy keeps the source's comments and layout; only identity fields change. */
async function copyOf(ctx: Context, fromId: string, id: string, opts: NewOptions): Promise<string> {
  const { text, template } = await getTemplate(resolveWorkspace(ctx), fromId);
  const doc = parseDocument(text);
  doc.set('id', id);
  doc.set('version', 1);
  doc.set('name', opts.name ?? `${template.name} (copy)`);
  // A new template is a draft until someone makes it active on purpose.
  doc.set('status', 'draft');
  if (opts.goal !== undefined) doc.set('goal', opts.goal);
  if (opts.type !== undefined) doc.set('type', opts.type);
  if (opts.fee !== undefined) doc.setIn(['pricing', 'monthly_fee'], opts.fee);
  if (opts.months !== undefined) doc.set('duration', { months: positive(opts.months, '--months') });
  if (opts.weeks !== undefined) doc.set('duration', { weeks: positive(opts.weeks, '--weeks') });
  return doc.toString({ lineWidth: 0 });
}

async function scaffold(registry: Registry, id: string, opts: NewOptions, prompter: Awaited<ReturnType<import('../../context.js').Context['prompter']>> | undefined): Promise<string> {
  const name = opts.name ?? (prompter ? await prompter.input('Name:', { default: titleCase(id) }) : titleCase(id));
  const type = (opts.type ?? (prompter ? await prompter.select('Type:', [
    { value: 'monthly', description: 'a fixed fee on the 1st of each month' },
    { value: 'pay-as-you-go', description: 'each visit paid at catalog prices' },
  ]) : 'pay-as-you-go')) as Template['type'];
  let duration: Template['duration'];
  if (opts.months !== undefined) duration = { months: positive(opts.months, '--months') };
  else if (opts.weeks !== undefined) duration = { weeks: positive(opts.weeks, '--weeks') };
  else if (prompter && type === 'monthly') duration = { months: positive(await prompter.input('Duration in months:', { default: '6', validate: (v) => (/^\d+$/.test(v) && Number(v) >= MIN_MONTHLY_MONTHS ? true : `Monthly plans last at least ${MIN_MONTHLY_MONTHS} months.`) }), 'months') };
  else if (prompter) duration = { weeks: positive(await prompter.input('Duration in weeks:', { default: '8', validate: (v) => (/^[1-9]\d*$/.test(v) ? true : 'Enter a whole number of weeks.') }), 'weeks') };
  else duration = type === 'monthly' ? { months: 6 } : { weeks: 8 };
  const goal = opts.goal ?? (prompter ? await prompter.input('Goal (one sentence, for the patient):', { validate: (v) => (v.trim() ? true : 'Write the goal.') }) : `Describe the goal of ${name}`);
  let fee: string | undefined;
  if (type === 'monthly') {
    const currency = registry.settings.currency;
    const check = (v: string) => (/^\d+(\.\d+)?$/.test(v) && !('error' in toMinor(v, currency)) ? true : `Enter an amount like 199.00 in ${currency}.`);
    if (opts.fee !== undefined) {
      const problem = check(opts.fee);
      if (problem !== true) throw new UsageError(`--fee "${opts.fee}" is not an amount. ${problem}`);
      fee = opts.fee;
    } else if (prompter) {
      fee = await prompter.input(`Monthly fee (${currency}):`, { validate: check });
    } else {
      throw new UsageError('A monthly template needs its fee; add --fee AMOUNT (e.g. --fee 199.00), or --type pay-as-you-go');
    }
  }

  const first = registry.catalog.services.find((s) => s.id.includes('consultation')) ?? registry.catalog.services[0];
  if (!first) throw new FailedError('The catalog has no services yet; add the services this plan uses to catalog.yaml first', 'empty_catalog');
  const template: Template = {
    id,
    version: 1,
    name,
    type,
    status: 'draft',
    goal,
    duration,
    ...(fee !== undefined ? { pricing: { monthly_fee: fee } } : {}),
    schedule: [{ when: duration.months !== undefined ? { month: 1 } : { week: 1 }, services: [first.id], note: 'Consultation and baseline photos' }],
    home_care: [],
    milestones: [],
    follow_up: [],
    tags: [],
  };
  return templateText(template);
}

function positive(value: string, flag: string): number {
  if (!/^[1-9]\d*$/.test(value)) throw new UsageError(`${flag} must be a whole number above 0, not "${value}"`);
  return Number(value);
}

function titleCase(id: string): string {
  return id.split('-').map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join(' ');
}
