import { createHash } from 'node:crypto';
import type { PlanView } from './view.js';
import { localToUtc, parseDateTime, visitMinutes, zoneOffsetMinutes, type ServiceInfo } from './steps.js';
import type { Patient, PlanStatus, StepRow } from '../domain/records.js';
import { SERVICE_SYSTEM } from '../registry/fhir.js';

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

/** The identifier system of a patient without an MRN: txplan's own patient number, meaningful only beside this database. */
export const LOCAL_PATIENT_SYSTEM = 'urn:txplan:patient';

/**
 * The identifier system of the practice's MRNs when txplan.yaml names none
 * (`fhir.patient_identifier_system`): urn:txplan:mrn:<the practice's name as
 * lowercase letters, digits and dashes>, or urn:txplan:mrn without a name.
 */
export function defaultPatientSystem(practiceName: string | undefined): string {
  const slug = (practiceName ?? '')
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return slug ? `urn:txplan:mrn:${slug}` : 'urn:txplan:mrn';
}

export interface FhirExportOptions {
  /** Catalog services by id (names, and minutes for the length of a booked visit); ids stand in for names not found. */
  services: ReadonlyMap<string, ServiceInfo>;
  /** The zone of booked times when the plan has no clinic (the workspace's time zone). */
  timeZone: string;
  /** The identifier system of the practice's MRNs. */
  patientSystem: string;
}

/** A name-based UUID (RFC 4122 version 5 layout), so exporting again gives the same urn:uuid references. */
function stableUuid(text: string): string {
  const hex = createHash('sha1').update(`txplan:${text}`).digest('hex');
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** The patient's identifier another system can match: the MRN in the practice's system, else txplan's own number. */
export function patientIdentifier(patient: Patient, patientSystem: string) {
  return patient.mrn
    ? { use: 'usual', type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR', display: 'Medical record number' }] }, system: patientSystem, value: patient.mrn }
    : { system: LOCAL_PATIENT_SYSTEM, value: String(patient.id) };
}

/** A FHIR R4 Patient: identifier, name and birth date, enough to match the patient and nothing more. */
export function fhirPatient(patient: Patient, patientSystem: string) {
  return {
    resourceType: 'Patient',
    identifier: [patientIdentifier(patient, patientSystem)],
    name: [{ text: `${patient.first_name} ${patient.last_name}`, family: patient.last_name, given: [patient.first_name] }],
    ...(patient.dob ? { birthDate: patient.dob } : {}),
  };
}

/** An instant as a FHIR dateTime on the wall clock of `zone`, with that zone's offset ("2026-03-09T10:30:00+01:00"). */
function zonedDateTime(instant: Date, zone: string): string {
  const offset = zoneOffsetMinutes(zone, instant);
  const wall = new Date(instant.getTime() + offset * 60_000).toISOString().slice(0, 19);
  const abs = Math.abs(offset);
  return `${wall}${offset < 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

/** A booked visit as a period: from the booked clinic-local time, for as long as its services take. */
function bookedPeriod(step: StepRow, ids: readonly string[], zone: string, services: ReadonlyMap<string, ServiceInfo>) {
  const local = parseDateTime(step.booked_at!);
  if (!local) return undefined;
  const start = localToUtc(local, zone).instant;
  const end = new Date(start.getTime() + visitMinutes(ids, services) * 60_000);
  return { start: zonedDateTime(start, zone), end: zonedDateTime(end, zone) };
}

type Subject = { reference: string; display: string } | { identifier: ReturnType<typeof patientIdentifier>; display: string };

/**
 * What a done visit delivered, as a contained FHIR R4 Procedure: the
 * activity's `outcomeReference` points at it ("the reference to an event
 * resource, such as Procedure, is the result of the activity itself"), while
 * `detail.code` stays what was planned. Codes are the catalog's service ids.
 */
function performedProcedure(step: StepRow, subject: Subject, coded: (ids: readonly string[]) => { coding: object[]; text: string }) {
  return {
    resourceType: 'Procedure',
    id: `step-${step.n}-performed`,
    status: 'completed',
    code: coded(JSON.parse(step.performed!) as string[]),
    subject,
    ...(step.completed_on ? { performedDateTime: step.completed_on } : {}),
  };
}

/**
 * A FHIR R4 CarePlan resource for one plan (JSON, no extensions). Its subject
 * is `subject`: a reference to the Patient beside it in a Bundle, or the
 * patient's identifier when the CarePlan travels alone.
 */
export function fhirCarePlan(view: PlanView, options: FhirExportOptions, subject: Subject = { identifier: patientIdentifier(view.patient, options.patientSystem), display: `${view.patient.first_name} ${view.patient.last_name}` }) {
  const { plan, snapshot } = view;
  const mapped = STATUS[plan.status];
  const revoked = plan.status === 'cancelled';
  const zone = view.clinic?.timezone ?? options.timeZone;
  const name = (id: string) => options.services.get(id)?.name ?? id;
  const coded = (ids: readonly string[]) => ({ coding: ids.map((id) => ({ system: SERVICE_SYSTEM, code: id, display: name(id) })), text: ids.map(name).join(' + ') });
  const performed = view.steps.filter((s) => s.status === 'done' && s.performed !== null);
  // A revoked plan ends on its cancellation date; a plan cancelled before it started has no start.
  const end = revoked && plan.cancelled_on ? plan.cancelled_on : plan.end_date;
  const start = plan.start_date && !(end && plan.start_date > end) ? plan.start_date : null;
  const description = [snapshot.goal, snapshot.description].filter(Boolean).join('\n\n');
  return {
    resourceType: 'CarePlan',
    id: String(plan.id),
    meta: { lastUpdated: plan.updated_at },
    identifier: [{ system: 'urn:txplan:plan', value: String(plan.id) }],
    ...(performed.length ? { contained: performed.map((step) => performedProcedure(step, subject, coded)) } : {}),
    instantiatesCanonical: [`urn:txplan:template:${plan.template_id}|${plan.template_version}`],
    status: mapped.status,
    intent: mapped.intent,
    title: snapshot.name,
    ...(description ? { description } : {}),
    subject,
    ...(start || end ? { period: { ...(start ? { start } : {}), ...(end ? { end } : {}) } } : {}),
    created: plan.created_at,
    ...(snapshot.goal ? { goal: [{ display: snapshot.goal }] } : {}),
    activity: view.steps.map((step) => {
      const ids = JSON.parse(step.services) as string[];
      const period = step.booked_at ? bookedPeriod(step, ids, zone, options.services) : undefined;
      return {
        detail: {
          kind: 'ServiceRequest',
          code: coded(ids),
          status: revoked && step.status === 'pending' ? 'cancelled' : STEP_STATUS[step.status],
          ...(period ? { scheduledPeriod: period } : step.recommended_date ? { scheduledPeriod: { start: step.recommended_date } } : {}),
          description: step.note ?? `${step.when_unit === 'week' ? 'Week' : 'Month'} ${step.when_value}`,
        },
        ...(step.status === 'done' && step.performed !== null ? { outcomeReference: [{ reference: `#step-${step.n}-performed` }] } : {}),
        ...(step.outcome || step.completion_note ? { progress: [{ text: [step.completion_note, step.outcome].filter(Boolean).join(' — ') }] } : {}),
      };
    }),
    ...(plan.cancel_reason ? { note: [{ text: `Cancelled ${plan.cancelled_on}: ${plan.cancel_reason}` }] } : {}),
  };
}

/**
 * A FHIR R4 Bundle (type collection) of the plan's Patient and its CarePlan,
 * the CarePlan's subject (and its performed procedures') referring to the
 * Patient entry by its urn:uuid fullUrl, so the receiver links the plan to
 * the patient it matches by MRN.
 */
export function fhirPlanBundle(view: PlanView, options: FhirExportOptions, now: Date) {
  const identifier = patientIdentifier(view.patient, options.patientSystem);
  const patientUrl = `urn:uuid:${stableUuid(`patient|${identifier.system}|${identifier.value}`)}`;
  const carePlanUrl = `urn:uuid:${stableUuid(`careplan|${identifier.system}|${identifier.value}|${view.plan.id}`)}`;
  const subject = { reference: patientUrl, display: `${view.patient.first_name} ${view.patient.last_name}` };
  return {
    resourceType: 'Bundle',
    type: 'collection',
    timestamp: now.toISOString(),
    entry: [
      { fullUrl: patientUrl, resource: fhirPatient(view.patient, options.patientSystem) },
      { fullUrl: carePlanUrl, resource: fhirCarePlan(view, options, subject) },
    ],
  };
}
