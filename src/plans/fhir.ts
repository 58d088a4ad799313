import type { PlanView } from './view.js';
import type { PlanStatus, StepRow } from '../domain/records.js';

/** SPEC §1: how plan statuses map onto FHIR R4 CarePlan status and intent. */
const STATUS: Record<PlanStatus, { status: string; intent: string }> = {
  prescribed: { status: 'draft', intent: 'proposal' },
  active: { status: 'active', intent: 'plan' },
  paused: { status: 'on-hold', intent: 'plan' },
  past_due: { status: 'on-hold', intent: 'plan' },
  completed: { status: 'completed', intent: 'plan' },
  cancelled: { status: 'revoked', intent: 'plan' },
};

const STEP_STATUS = { pending: 'not-started', done: 'completed', skipped: 'cancelled' } as const;

/**
 * What a done visit delivered, as a contained FHIR R4 Procedure: the
 * activity's `outcomeReference` points at it ("the reference to an event
 * resource, such as Procedure, is the result of the activity itself"), while
 * `detail.code` stays what was planned. Codes are the catalog's service ids.
 */
function performedProcedure(view: PlanView, step: StepRow, name: (id: string) => string) {
  const ids = JSON.parse(step.performed!) as string[];
  return {
    resourceType: 'Procedure',
    id: `step-${step.n}-performed`,
    status: 'completed',
    code: { coding: ids.map((id) => ({ system: 'urn:txplan:service', code: id, display: name(id) })), text: ids.map(name).join(' + ') },
    subject: { reference: `Patient/${view.patient.id}` },
    ...(step.completed_on ? { performedDateTime: step.completed_on } : {}),
  };
}

/** A FHIR R4 CarePlan resource for one plan (JSON, no extensions). `serviceName` gives catalog names where known. */
export function fhirCarePlan(view: PlanView, serviceName: (id: string) => string = (id) => id) {
  const { plan, snapshot, patient } = view;
  const mapped = STATUS[plan.status];
  const performed = view.steps.filter((s) => s.status === 'done' && s.performed !== null);
  return {
    resourceType: 'CarePlan',
    id: String(plan.id),
    meta: { lastUpdated: plan.updated_at },
    identifier: [{ system: 'urn:txplan:plan', value: String(plan.id) }],
    ...(performed.length ? { contained: performed.map((step) => performedProcedure(view, step, serviceName)) } : {}),
    instantiatesCanonical: [`urn:txplan:template:${plan.template_id}|${plan.template_version}`],
    status: mapped.status,
    intent: mapped.intent,
    title: snapshot.name,
    description: [snapshot.goal, snapshot.description].filter(Boolean).join('\n\n'),
    subject: { reference: `Patient/${patient.id}`, display: `${patient.first_name} ${patient.last_name}` },
    ...(plan.start_date ? { period: { start: plan.start_date, ...(plan.end_date ? { end: plan.end_date } : {}) } } : {}),
    created: plan.created_at,
    goal: [{ display: snapshot.goal }],
    activity: view.steps.map((step) => ({
      detail: {
        kind: 'ServiceRequest',
        code: { text: (JSON.parse(step.services) as string[]).join(', ') },
        status: STEP_STATUS[step.status],
        ...(step.booked_at ? { scheduledString: `booked ${step.booked_at}` } : step.recommended_date ? { scheduledPeriod: { start: step.recommended_date } } : {}),
        description: step.note ?? `${step.when_unit === 'week' ? 'Week' : 'Month'} ${step.when_value}`,
      },
      ...(step.status === 'done' && step.performed !== null ? { outcomeReference: [{ reference: `#step-${step.n}-performed` }] } : {}),
      ...(step.outcome || step.completion_note ? { progress: [{ text: [step.completion_note, step.outcome].filter(Boolean).join(' — ') }] } : {}),
    })),
    ...(plan.cancel_reason ? { note: [{ text: `Cancelled ${plan.cancelled_on}: ${plan.cancel_reason}` }] } : {}),
  };
}
