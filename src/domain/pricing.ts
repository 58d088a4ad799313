import type { Amount, Money, ScheduleEntry, Service, Template } from '../generated/schema-types.js';
import { FailedError } from '../errors.js';
import { formatMoney, toMinor } from './money.js';

/**
 * Money in a template or the catalog is either one amount or amounts by
 * currency ({USD: "249.00", NOK: "2490.00"}). One amount is in `plain`: the
 * workspace currency for templates and the catalog, the plan's own currency
 * for a plan's content (a plan is sold in one currency). Prices are never
 * converted: an amount in another currency is simply not there (but a single
 * 0 is free in any).
 */
export function amountIn(value: Money, currency: string, plain: string): Amount | undefined {
  if (typeof value === 'object') return Object.hasOwn(value, currency) ? value[currency] : undefined;
  // Nothing is nothing in every currency.
  return currency === plain || Number(value) === 0 ? value : undefined;
}

/** Minor units of `value` in `currency`, or undefined when it has no price in that currency (see amountIn). */
export function priceIn(value: Money, currency: string, plain: string): number | undefined {
  const amount = amountIn(value, currency, plain);
  return amount === undefined ? undefined : minorOf(amount, currency);
}

/** Whether `value` asks for money in any currency it is priced in (0 is free everywhere). */
export function isPositive(value: Money): boolean {
  return (typeof value === 'object' ? Object.values(value) : [value]).some((amount) => Number(amount) > 0);
}

/**
 * Minor units of a schema-valid amount in `currency`: one amount is taken to
 * be in that currency (a plan's content), amounts by currency give theirs.
 * Validation has already refused bad precision; a missing currency is a bug here.
 */
export function minorOf(value: Money, currency: string): number {
  const amount = typeof value !== 'object' ? value : Object.hasOwn(value, currency) ? value[currency] : undefined;
  if (amount === undefined) throw new Error(`no ${currency} amount in ${JSON.stringify(value)}`);
  const parsed = toMinor(amount, currency);
  if ('error' in parsed) throw new Error(`invalid amount ${String(amount)}: ${parsed.error}`);
  return parsed.minor;
}

/** Where prices are read: the currency sold in, and the currency a single amount is in (templates and the catalog: the workspace's). */
export interface PriceBasis {
  currency: string;
  /** The currency of a single amount in the catalog (and in the template, unless said otherwise). */
  workspace: string;
}

/** A catalog service's price in the basis currency; a service without one is a bug here (checked by missingPrices first). */
function servicePrice(service: Pick<Service, 'id' | 'price'>, basis: PriceBasis): number {
  const price = priceIn(service.price, basis.currency, basis.workspace);
  if (price === undefined) throw new Error(`service "${service.id}" has no ${basis.currency} price`);
  return price;
}

/** What one visit costs a pay-as-you-go patient: its services at catalog prices, complimentary ones free. */
export function visitPriceMinor(entry: ScheduleEntry, services: ReadonlyMap<string, Service>, basis: PriceBasis): number {
  let total = 0;
  for (const id of entry.services) {
    const service = services.get(id);
    if (service && !service.complimentary) total += servicePrice(service, basis);
  }
  return total;
}

export type TemplatePrice =
  | { type: 'monthly'; monthly_fee_minor: number; installments: number; total_minor: number }
  | { type: 'pay-as-you-go'; total_minor: number };

/** A template's price in `basis.currency` (its single amounts in the workspace currency); check missingPrices first. */
export function templatePrice(template: Template, services: ReadonlyMap<string, Service>, basis: PriceBasis): TemplatePrice {
  if (template.type === 'monthly' && template.pricing) {
    const fee = priceIn(template.pricing.monthly_fee, basis.currency, basis.workspace);
    if (fee === undefined) throw new Error(`template "${template.id}" has no ${basis.currency} monthly fee`);
    const installments = template.duration.months ?? 0;
    return { type: 'monthly', monthly_fee_minor: fee, installments, total_minor: fee * installments };
  }
  return { type: 'pay-as-you-go', total_minor: template.schedule.reduce((sum, entry) => sum + visitPriceMinor(entry, services, basis), 0) };
}

/**
 * What a plan of `template` would charge that has no price in
 * `basis.currency`, as a person names it ("the monthly fee", "the catalog
 * price of Hydrafacial"); empty when it can be sold in that currency.
 * `plain` is the currency the template's single amounts are in.
 */
export function missingPrices(template: Template, services: ReadonlyMap<string, Service>, basis: PriceBasis & { plain?: string }): string[] {
  const plain = basis.plain ?? basis.workspace;
  const missing: string[] = [];
  if (template.type === 'monthly' && template.pricing && amountIn(template.pricing.monthly_fee, basis.currency, plain) === undefined) missing.push('the monthly fee');
  if (template.cancellation?.early_fee !== undefined && amountIn(template.cancellation.early_fee, basis.currency, plain) === undefined) missing.push('the early cancellation fee');
  // A monthly fee covers the visits: only a pay-as-you-go plan charges catalog prices.
  if (template.type !== 'pay-as-you-go') return missing;
  const seen = new Set<string>();
  for (const entry of template.schedule) {
    for (const id of [...entry.services, ...(entry.alternatives ?? [])]) {
      const service = services.get(id);
      if (!service || service.complimentary || seen.has(id)) continue;
      seen.add(id);
      if (amountIn(service.price, basis.currency, basis.workspace) === undefined) missing.push(`the catalog price of ${service.name}`);
    }
  }
  return missing;
}

/**
 * Prices of every service a plan may deliver (its visits and their
 * alternatives), frozen when the plan is applied: a pay-as-you-go visit is
 * charged at these, whatever the catalog says later. Complimentary services
 * are 0; one without a price in the currency is left out (missingPrices
 * refuses such a plan first).
 */
export function servicePrices(template: Template, services: ReadonlyMap<string, Service>, basis: PriceBasis): Record<string, number> {
  const prices: Record<string, number> = {};
  for (const entry of template.schedule) {
    for (const id of [...entry.services, ...(entry.alternatives ?? [])]) {
      const service = services.get(id);
      const price = !service ? undefined : service.complimentary ? 0 : priceIn(service.price, basis.currency, basis.workspace);
      if (price !== undefined) prices[id] = price;
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
  basis: PriceBasis,
): VisitCharge {
  const { currency } = basis;
  const lines = performed.map((id): VisitLine => {
    const service = catalog.get(id);
    const name = service?.name ?? id;
    if (Object.hasOwn(planPrices, id)) {
      const amount = planPrices[id]!;
      return { id, name, amount_minor: amount, basis: amount === 0 ? 'complimentary' : 'plan' };
    }
    if (!service) throw new Error(`visitCharge: "${id}" is neither in the plan nor in the catalog`);
    if (service.complimentary) return { id, name, amount_minor: 0, basis: 'complimentary' };
    const price = priceIn(service.price, currency, basis.workspace);
    if (price === undefined) throw new FailedError(`${name} is not among the plan's prices and the catalog has no ${currency} price for it; add ${currency} to its price in catalog.yaml, e.g. price: {${basis.workspace}: "95.00", ${currency}: "950.00"}`, 'currency_unpriced');
    return { id, name, amount_minor: price, basis: 'catalog' };
  });
  const outside = lines.filter((l) => l.basis === 'catalog');
  return {
    amount_minor: lines.reduce((sum, l) => sum + l.amount_minor, 0),
    lines,
    note: outside.length ? `Not in the plan, charged at the catalog price: ${outside.map((l) => `${l.name} ${formatMoney(l.amount_minor, currency)}`).join(', ')}` : null,
  };
}
