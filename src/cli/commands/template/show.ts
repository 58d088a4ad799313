import type { Context } from '../../context.js';
import { resolveWorkspace } from '../../workspace.js';
import { getTemplate, loadRegistry } from '../../../registry/registry.js';
import type { Money } from '../../../generated/schema-types.js';
import { missingPrices, priceIn, templatePrice, visitPriceMinor } from '../../../domain/pricing.js';
import { sellingAt } from '../../selling.js';
import { describeDuration, describeWhen } from '../../../domain/dates.js';
import { formatMoney } from '../../../domain/money.js';

export async function run(ctx: Context, id: string, opts: { yaml?: boolean; clinic?: string }): Promise<number> {
  const workspace = resolveWorkspace(ctx);
  const { template, text } = await getTemplate(workspace, id);
  if (opts.yaml && !ctx.options.json) {
    ctx.streams.stdout.write(text);
    return 0;
  }
  const registry = await loadRegistry(workspace);
  const selling = await sellingAt(ctx, registry, opts.clinic);
  const { currency, workspace: plain, locale } = selling;
  // Prices are never converted: what has no price in the currency says so.
  const missing = missingPrices(template, registry.services, selling);
  const price = missing.length > 0 ? undefined : templatePrice(template, registry.services, selling);
  if (ctx.options.json) {
    ctx.json({ ...template, price: price ? { ...price, currency } : null, ...(missing.length > 0 ? { unpriced: { currency, missing } } : {}) });
    return 0;
  }

  const { color } = ctx;
  const serviceName = (sid: string) => registry.services.get(sid)?.name ?? sid;
  const productName = (sku: string) => registry.products.get(sku)?.name ?? sku;
  const money = (minor: number) => formatMoney(minor, currency, locale);
  const amount = (value: Money) => {
    const minor = priceIn(value, currency, plain);
    return minor === undefined ? `no ${currency} price` : money(minor);
  };
  const out: string[] = [];
  const section = (title: string) => out.push('', color.bold(title));
  const pad = (label: string, width: number) => label + ' '.repeat(Math.max(1, width - label.length));
  const timeOfDay = (when: readonly string[]) => when.map((w) => (w === 'am' || w === 'pm' ? w.toUpperCase() : w)).join(', ');
  // One label column for every section, wide enough for the longest label.
  const labels = [
    ...template.schedule.map((e, i) => `${i + 1}. ${describeWhen(e.when)}`),
    ...(template.home_care ?? []).map((h) => timeOfDay(h.when)),
    ...[...(template.milestones ?? []), ...(template.follow_up ?? [])].map((m) => describeWhen(m.when)),
  ];
  const column = Math.max(...labels.map((l) => l.length)) + 2;

  out.push(`${color.bold(template.name)}  ${color.dim(`${template.id} v${template.version}`)}`);
  const priceText = !price
    ? color.yellow(`no ${currency} price for ${missing.join(', ')}`)
    : price.type === 'monthly'
      ? `${money(price.monthly_fee_minor)}/month × ${price.installments} = ${money(price.total_minor)}`
      : `pay per visit, ${money(price.total_minor)} for the whole schedule at catalog prices`;
  out.push(`${template.type} · ${describeDuration(template.duration)} · ${priceText}${template.status !== 'active' ? ` · ${color.yellow(template.status)}` : ''}`);
  out.push('', `${color.bold('Goal')}  ${template.goal}`);
  if (template.description) out.push('', template.description.trim());
  if (template.cancellation) {
    const { min_term_months: term, early_fee: fee } = template.cancellation;
    out.push('', `${color.bold('Cancellation')}  ${term !== undefined ? `minimum term ${term} month${term === 1 ? '' : 's'}` : 'no minimum term'}${fee !== undefined ? `; early fee ${amount(fee)}` : ''}`);
  }

  section('Schedule');
  template.schedule.forEach((entry, i) => {
    const services = entry.services.map((sid) => {
      const service = registry.services.get(sid);
      const cost = !service ? '' : service.complimentary ? ' (complimentary)' : template.type === 'pay-as-you-go' ? ` (${amount(service.price)})` : '';
      return `${serviceName(sid)}${cost}`;
    });
    out.push(`  ${pad(`${i + 1}. ${describeWhen(entry.when)}`, column)}${services.join(' + ')}${template.type === 'pay-as-you-go' && price ? color.dim(`  visit ${money(visitPriceMinor(entry, registry.services, selling))}`) : ''}`);
    if (entry.alternatives?.length) out.push(`  ${' '.repeat(column)}${color.dim('or instead:')} ${entry.alternatives.map(serviceName).join(', ')}`);
    if (entry.note) out.push(`  ${' '.repeat(column)}${color.dim(entry.note)}`);
  });

  if (template.home_care?.length) {
    section('Home care');
    for (const item of template.home_care) {
      out.push(`  ${pad(timeOfDay(item.when), column)}${item.product ? `${productName(item.product)}: ` : ''}${item.instructions}`);
    }
  }
  if (template.milestones?.length) {
    section('Milestones');
    for (const m of template.milestones) out.push(`  ${pad(describeWhen(m.when), column)}${m.expect}`);
  }
  if (template.follow_up?.length) {
    section('Follow-up');
    for (const f of template.follow_up) out.push(`  ${pad(describeWhen(f.when), column)}${f.recommendation}`);
  }
  out.push('', `${color.dim('Clinics:')} ${template.clinics?.join(', ') ?? 'all'}${template.tags?.length ? `   ${color.dim('Tags:')} ${template.tags.join(', ')}` : ''}`);
  ctx.out(out.join('\n'));
  return 0;
}
