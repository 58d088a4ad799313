import type { Money, ScheduleEntry, Service, Template } from '../generated/schema-types.js';
import { toMinor } from './money.js';

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
