import type { Context } from '../../context.js';
import { renderTable } from '../../output/table.js';
import { resolveWorkspace } from '../../workspace.js';
import { loadRegistry, loadTemplates } from '../../../registry/registry.js';
import { missingPrices, templatePrice } from '../../../domain/pricing.js';
import { sellingAt } from '../../selling.js';
import { describeDuration } from '../../../domain/dates.js';
import { formatMoney } from '../../../domain/money.js';

export async function run(ctx: Context, opts: { all?: boolean; clinic?: string }): Promise<number> {
  const workspace = resolveWorkspace(ctx);
  const registry = await loadRegistry(workspace);
  const { templates, invalid } = await loadTemplates(workspace);
  const selling = await sellingAt(ctx, registry, opts.clinic);
  const { currency, locale } = selling;
  // Drafts are always listed, after the active ones, so nobody wonders where a new template went; retired ones with --all.
  const order = { active: 0, draft: 1, retired: 2 } as const;
  const shown = templates.filter(({ template }) => opts.all || template.status !== 'retired').sort((a, b) => order[a.template.status] - order[b.template.status]);
  const withStatus = opts.all || shown.some(({ template }) => template.status !== 'active');
  // Prices are never converted: a template without one in the currency has none to show.
  const rows = shown.map(({ template }) => ({ template, price: missingPrices(template, registry.services, selling).length > 0 ? undefined : templatePrice(template, registry.services, selling) }));

  if (ctx.options.json) {
    ctx.json(
      rows.map(({ template, price }) => ({
        id: template.id,
        name: template.name,
        type: template.type,
        status: template.status,
        version: template.version,
        duration: template.duration,
        steps: template.schedule.length,
        clinics: template.clinics ?? null,
        tags: template.tags ?? [],
        price: price ? { ...price, currency } : null,
      })),
    );
  } else {
    const { color } = ctx;
    const headers = ['ID', 'NAME', 'TYPE', 'DURATION', 'PRICE', 'VERSION', ...(withStatus ? ['STATUS'] : [])];
    const table = rows.map(({ template, price }) => [
      color.bold(template.id),
      template.name,
      template.type,
      describeDuration(template.duration),
      !price ? color.dim(`no ${currency} price`) : price.type === 'monthly' ? `${formatMoney(price.monthly_fee_minor, currency, locale)}/month` : `per visit (${formatMoney(price.total_minor, currency, locale)} in all)`,
      `v${template.version}`,
      ...(withStatus ? [template.status === 'retired' ? color.dim('retired') : template.status === 'draft' ? color.yellow('draft') : 'active'] : []),
    ]);
    const { tty } = ctx;
    ctx.streams.stdout.write(renderTable(headers, table, { tty, raw: ctx.options.raw, heading: (t) => color.dim(t) }));
    if (rows.length === 0) ctx.err(opts.all ? 'No templates yet; create one with "txplan template new".' : 'No active templates; "txplan template list --all" shows retired ones too.');
    const drafts = rows.filter(({ template }) => template.status === 'draft').length;
    if (drafts > 0 && ctx.tty) ctx.err(ctx.colorErr.dim(`${drafts === 1 ? 'The draft' : `The ${drafts} drafts`} cannot be applied yet; "txplan template status <id> active" makes one ready.`));
  }
  if (invalid.length > 0) {
    ctx.err(ctx.colorErr.yellow(`${invalid.length} template file${invalid.length === 1 ? ' is' : 's are'} invalid and not listed (${invalid.join(', ')}); run "txplan template validate" to see why.`));
  }
  return 0;
}
