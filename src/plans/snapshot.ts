import type { Template } from '../generated/schema-types.js';
import { FailedError, UsageError } from '../errors.js';
import { cardNumberError } from '../domain/cards.js';
import { refuseControlCharacters } from '../domain/safe-text.js';
import { cardNumberFindings } from '../registry/rules.js';
import { templateErrors, type Registry } from '../registry/registry.js';

/** The scalar fields `--set` may change (SPEC §4). */
export const SETTABLE = ['name', 'goal', 'description', 'duration.months', 'duration.weeks', 'pricing.monthly_fee'] as const;
export type SettableField = (typeof SETTABLE)[number];

export interface Assignment {
  field: SettableField;
  value: string;
}

/** Parses `FIELD=VALUE`; a field outside the list is a usage error naming the list. */
export function parseAssignment(text: string): Assignment {
  const eq = text.indexOf('=');
  const field = (eq === -1 ? text : text.slice(0, eq)).trim();
  if (eq === -1) throw new UsageError(`--set ${text} has no value; write --set FIELD=VALUE, e.g. --set duration.months=4`);
  if (!(SETTABLE as readonly string[]).includes(field)) throw new UsageError(`--set cannot change "${field}"; it takes ${SETTABLE.join(', ')} (use --edit for the rest)`);
  return { field: field as SettableField, value: text.slice(eq + 1).trim() };
}

/** A copy of the snapshot with the assignments made; validity is checked separately. */
export function applyAssignments(snapshot: Template, assignments: readonly Assignment[]): Template {
  const next = structuredClone(snapshot);
  for (const { field, value } of assignments) {
    switch (field) {
      case 'name':
      case 'goal':
      case 'description':
        next[field] = value;
        break;
      case 'duration.months':
      case 'duration.weeks': {
        if (!/^[1-9]\d*$/.test(value)) throw new FailedError(`--set ${field}=${value}: a duration is a whole number above 0`, 'invalid_set');
        next.duration = field === 'duration.months' ? { months: Number(value) } : { weeks: Number(value) };
        break;
      }
      case 'pricing.monthly_fee':
        next.pricing = { monthly_fee: value };
        break;
    }
  }
  return next;
}

/**
 * A customised snapshot must pass what a template file must pass: the schema
 * and the business rules against the catalog. Nothing is stored otherwise.
 * A plan's single amounts are in `currency`, the currency it is sold in.
 */
export function checkSnapshot(snapshot: unknown, registry: Registry, origin: string, currency = registry.settings.currency): Template {
  // A plan keeps its template's id, so the id rule compares it with itself.
  const id = (snapshot as { id?: unknown } | null)?.id;
  const problems = templateErrors(snapshot, registry, typeof id === 'string' ? id : '', currency);
  if (problems.length > 0) {
    throw new FailedError(`${origin} would make the plan invalid: ${problems.slice(0, 3).join('; ')}${problems.length > 3 ? ` (and ${problems.length - 3} more)` : ''}. Nothing was saved`, 'invalid_plan');
  }
  const template = snapshot as Template;
  const card = cardNumberFindings(snapshot)[0];
  if (card) throw cardNumberError(`${origin}: ${card.path.length > 0 ? card.path.join('.') : 'the plan'}`);
  refuseControlCharacters({ [`${origin}: name`]: template.name, [`${origin}: goal`]: template.goal });
  refuseControlCharacters({ [`${origin}: description`]: template.description, ...Object.fromEntries(template.schedule.map((s, i) => [`${origin}: schedule[${i}].note`, s.note])) }, true);
  return template;
}
