import type { Service, Template, When } from '../generated/schema-types.js';

/** A UCUM duration from the plan start, as FHIR expresses a `when`. */
function offset(when: When): { value: number; unit: string; system: string; code: string } {
  return when.week !== undefined
    ? { value: 7 * (when.week - 1), unit: 'days', system: 'http://unitsofmeasure.org', code: 'd' }
    : { value: (when.month ?? 1) - 1, unit: 'months', system: 'http://unitsofmeasure.org', code: 'mo' };
}

/** The code system of catalog services in FHIR exports: the code is the service id. */
export const SERVICE_SYSTEM = 'urn:txplan:service';

/**
 * A template id as a PlanDefinition `name` (invariant pdf-0: a letter, then
 * letters, digits and underscores, "usable as an identifier ... for code
 * generation"): PascalCase, with "Template" in front of an id that starts with
 * a digit ("3-step-peel" → "Template3StepPeel").
 */
export function planDefinitionName(id: string): string {
  const pascal = id.replace(/(^|-)([a-z0-9])/g, (_m, _dash, c: string) => c.toUpperCase()).replace(/[^A-Za-z0-9_]/g, '');
  return (/^[A-Z]/.test(pascal) ? pascal : `Template${pascal}`).slice(0, 255);
}

/** A template as a FHIR R4 PlanDefinition (type clinical-protocol), for systems that import care protocols. */
export function fhirPlanDefinition(template: Template, services: ReadonlyMap<string, Service>) {
  const name = (id: string) => services.get(id)?.name ?? id;
  const code = (ids: readonly string[]) => ids.map((id) => ({ coding: [{ system: SERVICE_SYSTEM, code: id, display: name(id) }], text: name(id) }));
  return {
    resourceType: 'PlanDefinition',
    id: template.id,
    url: `urn:txplan:template:${template.id}`,
    version: String(template.version),
    name: planDefinitionName(template.id),
    title: template.name,
    type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/plan-definition-type', code: 'clinical-protocol' }] },
    status: template.status,
    description: [template.goal, template.description].filter(Boolean).join('\n\n'),
    ...(template.tags?.length ? { topic: template.tags.map((tag) => ({ text: tag })) } : {}),
    // The plan's goal, then each milestone as a goal of its own: what to expect, due that long after the start.
    goal: [
      { id: 'goal', description: { text: template.goal } },
      ...(template.milestones ?? []).map((m, i) => ({ id: `milestone-${i + 1}`, description: { text: m.expect }, target: [{ due: offset(m.when) }] })),
    ],
    action: [
      ...template.schedule.map((entry, i) => ({
        id: `step-${i + 1}`,
        title: entry.services.map(name).join(' + '),
        ...(entry.note ? { description: entry.note } : {}),
        code: code(entry.services),
        timingDuration: offset(entry.when),
        ...(entry.alternatives?.length
          ? { selectionBehavior: 'exactly-one', action: [entry.services, ...entry.alternatives.map((a) => [a])].map((ids) => ({ title: ids.map(name).join(' + '), code: code(ids) })) }
          : {}),
      })),
      ...(template.follow_up ?? []).map((f, i) => ({ id: `follow-up-${i + 1}`, title: 'Follow-up', description: f.recommendation, timingDuration: offset(f.when) })),
    ],
  };
}
