import type { Template } from '../generated/schema-types.js';
import { canonicalJson } from './plan.js';
import { describeDuration, describeWhen } from './dates.js';
import { formatMoney } from './money.js';
import type { Money } from '../generated/schema-types.js';
import { priceIn } from './pricing.js';

/** One difference between two versions of a template, in the words the front desk uses. */
export interface TemplateDifference {
  what: 'version' | 'name' | 'type' | 'duration' | 'monthly_fee' | 'cancellation' | 'step' | 'schedule_price' | 'other';
  /** The schedule step (1-based), for `step`. */
  step?: number;
  before: string | null;
  after: string | null;
  /** The whole difference as one short line, e.g. "monthly fee: $249.00 → $259.00". */
  text: string;
}

export interface DiffOptions {
  currency: string;
  /** The currency a single amount of `after` is in, when not `currency`: a template's is the workspace's, a plan's its own. */
  afterPlain?: string;
  /** Display names of catalog services; an unknown id is shown as it is. */
  serviceName: (id: string) => string;
  /** Price of each service in minor units, before and after (a plan's frozen prices, the catalog's today). */
  pricesBefore: Readonly<Record<string, number>>;
  pricesAfter: Readonly<Record<string, number>>;
}

const OTHER_FIELDS: ReadonlyArray<[keyof Template, string]> = [
  ['goal', 'goal'],
  ['description', 'description'],
  ['home_care', 'home care'],
  ['milestones', 'milestones'],
  ['follow_up', 'follow-up'],
  ['clinics', 'clinics'],
  ['tags', 'tags'],
];

/**
 * What changed from one template version to another: services and dates of
 * each step, the price, the duration, and the names of any other fields that
 * changed. Pure; the order is the order a clinician reads a plan in.
 */
export function templateDifferences(before: Template, after: Template, options: DiffOptions): TemplateDifference[] {
  const out: TemplateDifference[] = [];
  const add = (what: TemplateDifference['what'], label: string, b: string | null, a: string | null, step?: number) => {
    if (b === a) return;
    out.push({ what, ...(step !== undefined ? { step } : {}), before: b, after: a, text: `${label}: ${b ?? '(none)'} → ${a ?? '(none)'}` });
  };
  const money = (minor: number) => formatMoney(minor, options.currency);
  add('version', 'version', `v${before.version}`, `v${after.version}`);
  add('name', 'name', before.name, after.name);
  add('type', 'type', before.type, after.type);
  add('duration', 'duration', describeDuration(before.duration), describeDuration(after.duration));
  // Prices are never converted: an amount missing in the plan's currency says so.
  const amount = (value: Money, plain: string) => {
    const minor = priceIn(value, options.currency, plain);
    return minor === undefined ? `no ${options.currency} price` : money(minor);
  };
  const [beforeAmount, afterAmount] = [(value: Money) => amount(value, options.currency), (value: Money) => amount(value, options.afterPlain ?? options.currency)];
  const fee = (t: Template, of: (value: Money) => string) => (t.type === 'monthly' && t.pricing ? `${of(t.pricing.monthly_fee)}/month` : null);
  add('monthly_fee', 'monthly fee', fee(before, beforeAmount), fee(after, afterAmount));
  add('cancellation', 'cancellation', cancellationText(before, beforeAmount), cancellationText(after, afterAmount));

  const visit = (entry: Template['schedule'][number]) => `${describeWhen(entry.when)}: ${entry.services.map(options.serviceName).join(' + ')}`;
  for (let n = 1; n <= Math.max(before.schedule.length, after.schedule.length); n++) {
    const old = before.schedule[n - 1];
    const next = after.schedule[n - 1];
    if (old && !next) out.push({ what: 'step', step: n, before: visit(old), after: null, text: `- step ${n}, ${visit(old)}` });
    else if (!old && next) out.push({ what: 'step', step: n, before: null, after: visit(next), text: `+ step ${n}, ${visit(next)}` });
    else if (old && next && canonicalJson(old) !== canonicalJson(next)) {
      const [b, a] = [visit(old), visit(next)];
      const extra = [canonicalJson(old.alternatives ?? []) !== canonicalJson(next.alternatives ?? []) ? 'alternatives' : '', (old.note ?? '') !== (next.note ?? '') ? 'note' : ''].filter(Boolean);
      const services = (e: typeof old) => e.services.map(options.serviceName).join(' + ');
      const sameWhen = describeWhen(old.when) === describeWhen(next.when);
      const text = b === a ? `~ step ${n}, ${a}` : sameWhen ? `~ step ${n}, ${describeWhen(next.when)}: ${services(old)} → ${services(next)}` : `~ step ${n}, ${b} → ${a}`;
      out.push({ what: 'step', step: n, before: b, after: a, text: extra.length ? `${text} (${extra.join(' and ')} changed)` : text });
    }
  }

  // What the whole schedule costs a pay-as-you-go patient, at the prices each side would charge.
  if (before.type === 'pay-as-you-go' || after.type === 'pay-as-you-go') {
    const total = (t: Template, prices: Readonly<Record<string, number>>) => (t.type === 'pay-as-you-go' ? money(t.schedule.reduce((sum, e) => sum + e.services.reduce((s, id) => s + (prices[id] ?? 0), 0), 0)) : null);
    add('schedule_price', 'price of the whole schedule', total(before, options.pricesBefore), total(after, options.pricesAfter));
  }

  const others = OTHER_FIELDS.filter(([field]) => canonicalJson(before[field] ?? null) !== canonicalJson(after[field] ?? null)).map(([, label]) => label);
  if (others.length > 0) out.push({ what: 'other', before: null, after: null, text: `also changed: ${others.join(', ')}` });
  return out;
}

function cancellationText(t: Template, amount: (value: Money) => string): string | null {
  if (!t.cancellation) return null;
  const { min_term_months: term, early_fee: fee } = t.cancellation;
  return [term !== undefined ? `${term}-month minimum` : '', fee !== undefined ? `${amount(fee)} early fee` : ''].filter(Boolean).join(', ') || null;
}
