import type { Context } from '../../context.js';
import { renderTable } from '../../output/table.js';
import { withStore } from '../../store.js';
import { resolveWorkspace } from '../../workspace.js';
import { UsageError } from '../../../errors.js';
import { todayIn } from '../../../domain/dates.js';
import { formatMoney } from '../../../domain/money.js';
import { readSettings } from '../../../registry/settings.js';
import { emptyForecast, forecast, forecastMonths } from '../../../billing/forecast.js';
import { planCurrencies } from '../../../store/plans.js';

export async function run(ctx: Context, opts: { months?: string }): Promise<number> {
  const months = opts.months ?? '6';
  if (!/^[1-9]\d*$/.test(months) || Number(months) > 120) throw new UsageError(`--months "${months}" must be a whole number from 1 to 120`);
  const settings = readSettings(resolveWorkspace(ctx));
  return withStore(ctx, (store) => {
    const today = todayIn(settings.timezone, ctx.now());
    // Money in different currencies is never added up: one forecast per currency plans were sold in, the workspace's first.
    const { currency } = settings;
    const others = planCurrencies(store).filter((c) => c !== currency);
    const all = forecast(store, today, Number(months));
    const of = (c: string) => all.get(c) ?? emptyForecast(forecastMonths(today, Number(months)));
    const result = of(currency);
    const more = others.map((c) => ({ currency: c, ...of(c) }));
    if (ctx.options.json) {
      ctx.json({ currency, ...result, ...(more.length > 0 ? { other_currencies: more } : {}) });
      return 0;
    }
    for (const [i, part] of [{ currency, ...result }, ...more].entries()) {
      const money = (minor: number) => formatMoney(minor, part.currency);
      if (more.length > 0) ctx.out(`${i > 0 ? '\n' : ''}${ctx.color.bold(`In ${part.currency}`)}`);
      ctx.streams.stdout.write(
        renderTable(
          ['MONTH', 'INSTALLMENTS', 'VISITS', 'RETRIES', 'REFUNDS', 'EXPECTED'],
          part.months.map((m) => [m.month, `${m.installments} · ${money(m.installments_minor)}`, `${m.visits} · ${money(m.visits_minor)}`, money(m.retries_minor), m.refunds_minor > 0 ? `−${money(m.refunds_minor)}` : money(0), ctx.color.bold(money(m.total_minor))]),
          { tty: ctx.tty, raw: ctx.options.raw, heading: (t) => ctx.color.dim(t) },
        ),
      );
      if (ctx.tty) ctx.out(`\n${money(part.total_minor)} expected over ${months} months; ${part.installments_remaining} installments (${money(part.installments_remaining_minor)}) remain on active plans in all.`);
    }
    return 0;
  });
}
