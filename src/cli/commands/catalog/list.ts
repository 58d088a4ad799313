import type { Context } from '../../context.js';
import { renderTable } from '../../output/table.js';
import { resolveWorkspace } from '../../workspace.js';
import { loadRegistry } from '../../../registry/registry.js';
import { minorOf } from '../../../domain/pricing.js';
import { formatMoney } from '../../../domain/money.js';

export async function run(ctx: Context): Promise<number> {
  const registry = await loadRegistry(resolveWorkspace(ctx));
  const { currency } = registry.settings;
  const { services, products } = registry.catalog;
  if (ctx.options.json) {
    ctx.json({
      currency,
      services: services.map((s) => ({ id: s.id, name: s.name, minutes: s.minutes, complimentary: s.complimentary ?? false, price: { amount_minor: minorOf(s.price, currency), currency } })),
      products: products.map((p) => ({ id: p.sku, sku: p.sku, name: p.name, size: p.size ?? null, price: { amount_minor: minorOf(p.price, currency), currency } })),
    });
    return 0;
  }
  const { color } = ctx;
  const { tty } = ctx;
  const heading = (t: string) => color.dim(t);
  const money = (value: string | number) => formatMoney(minorOf(value, currency), currency);
  if (tty) ctx.out(color.bold(`Services (${services.length})`));
  ctx.streams.stdout.write(
    renderTable(['ID', 'NAME', 'MINUTES', 'PRICE'], services.map((s) => [...(tty ? [] : ['service']), s.id, s.name, String(s.minutes), s.complimentary ? `${money(s.price)} ${color.green('complimentary')}` : money(s.price)]), { tty, raw: ctx.options.raw, heading }),
  );
  if (tty) ctx.out(`\n${color.bold(`Products (${products.length})`)}`);
  ctx.streams.stdout.write(renderTable(['SKU', 'NAME', 'SIZE', 'PRICE'], products.map((p) => [...(tty ? [] : ['product']), p.sku, p.name, p.size ?? '', money(p.price)]), { tty, raw: ctx.options.raw, heading }));
  return 0;
}
