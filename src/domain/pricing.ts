import type { Money, ScheduleEntry, Service, Template } from '../generated/schema-types.js';
import { formatMoney, toMinor } from './money.js';

/** Minor units of a schema-valid amount; validation has already refused bad precision. */
export function minorOf(value: Money, currency: string): number {
  const parsed = toMinor(value, currency);
  if ('error' in parsed) throw new Error(`invalid amount ${String(value)}: ${parsed.error}`);
  return parsed.minor;
}

/** What one visit costs a pay-as-you-go patient: its services at catalog prices, complimentary ones free. */
export function visitPriceMinor(entry: ScheduleEntry, services: ReadonlyMap<string, Service>, currency: string): number {
  let total = 0;
  for (const id of entry.services) {
    const service = services.get(id);
    if (service && !service.complimentary) total += minorOf(service.price, currency);
  }
  return total;
}

export type TemplatePrice =
  | { type: 'monthly'; monthly_fee_minor: number; installments: number; total_minor: number }
  | { type: 'pay-as-you-go'; total_minor: number };

export function templatePrice(template: Template, services: ReadonlyMap<string, Service>, currency: string): TemplatePrice {
  if (template.type === 'monthly' && template.pricing) {
    const fee = minorOf(template.pricing.monthly_fee, currency);
    const installments = template.duration.months ?? 0;
    return { type: 'monthly', monthly_fee_minor: fee, installments, total_minor: fee * installments };
  }
  return { type: 'pay-as-you-go', total_minor: template.schedule.reduce((sum, entry) => sum + visitPriceMinor(entry, services, currency), 0) };
}

/**
 * Prices of every service a plan may deliver (its visits and their
 * alternatives), frozen when the plan is applied: a pay-as-you-go visit is
 * charged at these, whatever the catalog says later. Complimentary services are 0.
 */
export function servicePrices(template: Template, services: ReadonlyMap<string, Service>, currency: string): Record<string, number> {
  const prices: Record<string, number> = {};
  for (const entry of template.schedule) {
    for (const id of [...entry.services, ...(entry.alternatives ?? [])]) {
      const service = services.get(id);
      if (service) prices[id] = service.complimentary ? 0 : minorOf(service.price, currency);
    }
  }
  return prices;
}

export interface VisitLine {
  id: string;
  name: string;
  amount_minor: number;
  /** Where the amount comes from: the price frozen in the plan, the catalog's current price, or free. */
  basis: 'plan' | 'catalog' | 'complimentary';
}

export interface VisitCharge {
  amount_minor: number;
  lines: VisitLine[];
  /** For the charge, when some service was not in the plan and is charged at the catalog price. */
  note: string | null;
}

/**
 * What a pay-as-you-go visit costs for the services performed: a service the
 * plan includes (its visits or their alternatives) at the price frozen when
 * the plan was applied; any other at the catalog's current price, said in a
 * note on the charge; complimentary services free either way.
 */
export function visitCharge(
  performed: readonly string[],
  planPrices: Readonly<Record<string, number>>,
  catalog: ReadonlyMap<string, Pick<Service, 'name' | 'price'> & { complimentary?: boolean | undefined }>,
  currency: string,
): VisitCharge {
  const lines = performed.map((id): VisitLine => {
    const service = catalog.get(id);
    const name = service?.name ?? id;
    if (Object.hasOwn(planPrices, id)) {
      const amount = planPrices[id]!;
      return { id, name, amount_minor: amount, basis: amount === 0 ? 'complimentary' : 'plan' };
    }
    if (!service) throw new Error(`visitCharge: "${id}" is neither in the plan nor in the catalog`);
    if (service.complimentary) return { id, name, amount_minor: 0, basis: 'complimentary' };
    return { id, name, amount_minor: minorOf(service.price, currency), basis: 'catalog' };
  });
  const outside = lines.filter((l) => l.basis === 'catalog');
  return {
    amount_minor: lines.reduce((sum, l) => sum + l.amount_minor, 0),
    lines,
    note: outside.length ? `Not in the plan, charged at the catalog price: ${outside.map((l) => `${l.name} ${formatMoney(l.amount_minor, currency)}`).join(', ')}` : null,
  };
}
