import type { Context } from '../../context.js';
import { renderTable } from '../../output/table.js';
import { resolveWorkspace } from '../../workspace.js';
import { loadRegistry } from '../../../registry/registry.js';
import type { Money } from '../../../generated/schema-types.js';
import { priceIn } from '../../../domain/pricing.js';
import { sellingAt } from '../../selling.js';
import { formatMoney } from '../../../domain/money.js';

export async function run(ctx: Context, opts: { clinic?: string } = {}): Promise<number> {
  const registry = await loadRegistry(resolveWorkspace(ctx));
  const { currency, workspace, locale } = await sellingAt(ctx, registry, opts.clinic);
  const { services, products } = registry.catalog;
  // Prices are never converted: one without an amount in the currency is null (JSON) or says so.
  const priced = (value: Money) => {
    const minor = priceIn(value, currency, workspace);
    return minor === undefined ? null : { amount_minor: minor, currency };
  };
  if (ctx.options.json) {
    ctx.json({
      currency,
      services: services.map((s) => ({ id: s.id, name: s.name, minutes: s.minutes, complimentary: s.complimentary ?? false, price: priced(s.price) })),
      products: products.map((p) => ({ id: p.sku, sku: p.sku, name: p.name, size: p.size ?? null, price: priced(p.price) })),
    });
    return 0;
  }
  const { color } = ctx;
  const { tty } = ctx;
  const heading = (t: string) => color.dim(t);
  const money = (value: Money) => {
    const price = priced(value);
    return price ? formatMoney(price.amount_minor, currency, locale) : color.dim(`no ${currency} price`);
  };
  if (tty) ctx.out(color.bold(`Services (${services.length})`));
  ctx.streams.stdout.write(
    renderTable(['ID', 'NAME', 'MINUTES', 'PRICE'], services.map((s) => [...(tty ? [] : ['service']), s.id, s.name, String(s.minutes), s.complimentary ? `${money(s.price)} ${color.green('complimentary')}` : money(s.price)]), { tty, raw: ctx.options.raw, heading }),
  );
  if (tty) ctx.out(`\n${color.bold(`Products (${products.length})`)}`);
  ctx.streams.stdout.write(renderTable(['SKU', 'NAME', 'SIZE', 'PRICE'], products.map((p) => [...(tty ? [] : ['product']), p.sku, p.name, p.size ?? '', money(p.price)]), { tty, raw: ctx.options.raw, heading }));
  return 0;
}
