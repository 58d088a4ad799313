import type { PlanView } from './view.js';
import type { PlanStatus } from '../store/plans.js';

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

/** A FHIR R4 CarePlan resource for one plan (JSON, no extensions). */
export function fhirCarePlan(view: PlanView) {
  const { plan, snapshot, patient } = view;
  const mapped = STATUS[plan.status];
  return {
    resourceType: 'CarePlan',
    id: String(plan.id),
    meta: { lastUpdated: plan.updated_at },
    identifier: [{ system: 'urn:txplan:plan', value: String(plan.id) }],
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
      ...(step.outcome || step.completion_note ? { progress: [{ text: [step.completion_note, step.outcome].filter(Boolean).join(' — ') }] } : {}),
    })),
    ...(plan.cancel_reason ? { note: [{ text: `Cancelled ${plan.cancelled_on}: ${plan.cancel_reason}` }] } : {}),
  };
}
