import type { Service, Template, When } from '../generated/schema-types.js';

/** A UCUM duration from the plan start, as FHIR expresses a `when`. */
function offset(when: When): { value: number; unit: string; system: string; code: string } {
  return when.week !== undefined
    ? { value: 7 * (when.week - 1), unit: 'days', system: 'http://unitsofmeasure.org', code: 'd' }
    : { value: (when.month ?? 1) - 1, unit: 'months', system: 'http://unitsofmeasure.org', code: 'mo' };
}

/** A template as a FHIR R4 PlanDefinition (type clinical-protocol), for systems that import care protocols. */
export function fhirPlanDefinition(template: Template, services: ReadonlyMap<string, Service>) {
  const name = (id: string) => services.get(id)?.name ?? id;
  return {
    resourceType: 'PlanDefinition',
    id: template.id,
    url: `urn:txplan:template:${template.id}`,
    version: String(template.version),
    name: template.id.replace(/(^|-)([a-z0-9])/g, (_m, _dash, c: string) => c.toUpperCase()),
    title: template.name,
    type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/plan-definition-type', code: 'clinical-protocol' }] },
    status: template.status === 'retired' ? 'retired' : 'active',
    description: [template.goal, template.description].filter(Boolean).join('\n\n'),
    ...(template.tags?.length ? { topic: template.tags.map((tag) => ({ text: tag })) } : {}),
    goal: [
      {
        description: { text: template.goal },
        target: (template.milestones ?? []).map((m) => ({ detailString: m.expect, due: offset(m.when) })),
      },
    ],
    action: [
      ...template.schedule.map((entry, i) => ({
        id: `step-${i + 1}`,
        title: entry.services.map(name).join(' + '),
        ...(entry.note ? { description: entry.note } : {}),
        code: entry.services.map((id) => ({ coding: [{ system: 'urn:txplan:service', code: id, display: name(id) }] })),
        timingDuration: offset(entry.when),
        ...(entry.alternatives?.length
          ? { selectionBehavior: 'exactly-one', action: [entry.services, ...entry.alternatives.map((a) => [a])].map((ids) => ({ title: ids.map(name).join(' + ') })) }
          : {}),
      })),
      ...(template.follow_up ?? []).map((f, i) => ({ id: `follow-up-${i + 1}`, title: 'Follow-up', description: f.recommendation, timingDuration: offset(f.when) })),
    ],
  };
}
