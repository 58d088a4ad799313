import { createHash } from 'node:crypto';
import type { Template } from '../generated/schema-types.js';
import { addMonths, endDate, formatDate, parseDate, recommendedDate, type PlainDate } from './dates.js';
import type { ChargeKind, NewStep, PlanStatus } from './records.js';

/**
 * The plan rules that need no database: steps from a snapshot, the lifecycle,
 * installment dates, and how a plan differs from its template.
 */

export type PlanAction = 'start' | 'edit' | 'pause' | 'resume' | 'cancel' | 'payment' | 'step' | 'book' | 'rollout';

const ALLOWED: Record<PlanAction, readonly PlanStatus[]> = {
  start: ['prescribed'],
  edit: ['prescribed', 'active', 'paused', 'past_due'],
  pause: ['active'],
  resume: ['paused'],
  cancel: ['prescribed', 'active', 'paused', 'past_due'],
  payment: ['prescribed', 'active', 'paused', 'past_due'],
  step: ['active', 'past_due'],
  book: ['prescribed', 'active', 'paused', 'past_due'],
  // A prescribed plan moves to the current version when it is started on it.
  rollout: ['prescribed', 'active', 'paused', 'past_due'],
};

const HINTS: Partial<Record<PlanAction, Partial<Record<PlanStatus, string>>>> = {
  start: { active: 'it is already active', paused: 'it is paused; resume it instead', past_due: 'it is past due; update its payment method instead' },
  resume: { active: 'it is not paused', prescribed: 'it has not started; start it instead', past_due: 'it is past due; update its payment method instead' },
  pause: { paused: 'it is already paused', prescribed: 'it has not started yet', past_due: 'it is past due; update its payment method first' },
  step: { prescribed: 'it has not started; start it first', paused: 'it is paused; resume it first' },
};

/** The reason an action is refused in a status, or undefined when it is allowed. */
export function refusal(action: PlanAction, status: PlanStatus): string | undefined {
  if (ALLOWED[action].includes(status)) return undefined;
  return HINTS[action]?.[status] ?? `it is ${status.replace('_', ' ')}`;
}

/** One step per schedule entry, with its recommended date once the plan has a start. */
export function stepsFor(snapshot: Template, start: PlainDate | undefined): NewStep[] {
  return snapshot.schedule.map((entry, index) => ({
    n: index + 1,
    when_unit: entry.when.week !== undefined ? 'week' : 'month',
    when_value: entry.when.week ?? entry.when.month ?? 1,
    services: JSON.stringify(entry.services),
    alternatives: entry.alternatives?.length ? JSON.stringify(entry.alternatives) : null,
    note: entry.note ?? null,
    recommended_date: start ? formatDate(recommendedDate(start, entry.when)) : null,
    booked_at: null,
    status: 'pending',
    completed_on: null,
    completion_note: null,
    outcome: null,
    performed: null,
  }));
}

export function planEndDate(snapshot: Template, start: string): string {
  return formatDate(endDate(parseDate(start)!, snapshot.duration));
}

/**
 * SPEC §5: installment 1 at the start, installment k ≥ 2 on the 1st of the
 * (k−1)-th month after the start month — later by the months a pause pushed
 * the plan back (`offsetMonths`).
 */
export function installmentDueDate(start: PlainDate, k: number, offsetMonths = 0): PlainDate {
  if (k === 1) return start;
  return addMonths({ year: start.year, month: start.month, day: 1 }, k - 1 + offsetMonths);
}

/**
 * On resume, installments not yet charged continue from the next 1st (SPEC
 * §5): the months to add to the plan's offset so the first of them falls due
 * on the first 1st on or after the resume date, never earlier than before.
 */
export function resumeOffset(plan: { start_date: string | null; billing_offset_months: number; fees: readonly number[] }, charges: readonly { kind: ChargeKind; installment: number | null }[], resumedOn: PlainDate): number {
  if (!plan.start_date) return 0;
  const start = parseDate(plan.start_date)!;
  const charged = new Set(charges.filter((c) => c.kind === 'installment').map((c) => c.installment));
  let first = 0;
  for (let k = 2; k <= plan.fees.length; k++) {
    if (!charged.has(k)) {
      first = k;
      break;
    }
  }
  if (first === 0) return 0;
  const nextFirst = resumedOn.day === 1 ? resumedOn : { year: resumedOn.year + (resumedOn.month === 12 ? 1 : 0), month: (resumedOn.month % 12) + 1, day: 1 };
  const current = installmentDueDate(start, first, plan.billing_offset_months);
  const months = (nextFirst.year - current.year) * 12 + (nextFirst.month - current.month);
  return Math.max(0, months);
}

/** The first installment not yet due on `today` (the one a price change applies from). */
export function nextInstallment(start: PlainDate, today: PlainDate, installments: number, offsetMonths = 0): number {
  for (let k = 1; k <= installments; k++) {
    const due = installmentDueDate(start, k, offsetMonths);
    if (formatDate(due) > formatDate(today)) return k;
  }
  return installments + 1;
}

/** Content hash of a template: stable across key order, comments and layout. */
export function contentHash(template: unknown): string {
  return createHash('sha256').update(canonicalJson(template)).digest('hex');
}

export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

export interface Change {
  path: string;
  before: unknown;
  after: unknown;
}

/** Field-level differences between two documents, e.g. duration.months 6 → 4. */
export function diff(before: unknown, after: unknown, path = ''): Change[] {
  if (canonicalJson(before) === canonicalJson(after)) return [];
  const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((key) => diff(before[key], after[key], path ? `${path}.${key}` : key));
  }
  if (Array.isArray(before) && Array.isArray(after) && before.length === after.length && before.some((v) => v !== null && typeof v === 'object')) {
    return before.flatMap((item, i) => diff(item, after[i], `${path}[${i}]`));
  }
  return [{ path, before, after }];
}
