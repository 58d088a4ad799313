import { join, resolve } from 'node:path';
import type { Context } from '../../context.js';
import { assertPatientBillable, findPlan, withStore } from '../../store.js';
import { resolveWorkspace } from '../../workspace.js';
import { UsageError } from '../../../errors.js';
import { formatDate, parseDate, todayIn } from '../../../domain/dates.js';
import { assertAllowed } from '../../../plans/lifecycle.js';
import { chargeVisit, visitChargeOf } from '../../../billing/points.js';
import { describeOutcome } from '../../../billing/charging.js';
import { chargingContext } from '../../billing.js';
import { assertBillingOpen } from '../../../billing/hold.js';
import { loadRegistry } from '../../../registry/registry.js';
import { formatMoney } from '../../../domain/money.js';
import { FailedError } from '../../../errors.js';
import { getPlan } from '../../../store/plans.js';
import { amendStep, checkedServices, findStep, parseStepNumber, readPhoto, recordStep, refuseUnchosen, stepOffer, undoStep, visitChargeFor, type StepMark } from '../../../plans/steps.js';
import { getAttachments } from '../../../store/plans.js';
import type { Service } from '../../../generated/schema-types.js';
import type { Store } from '../../../store/store.js';
import { getPaymentMethod } from '../../../store/payment-methods.js';
import { visitQuote } from '../../../billing/quote.js';
import { chargeConfirmation, confirmCharge } from '../../confirm.js';
import { performedOf } from '../../../domain/performed.js';
import { clinicLocale, clinicZone } from '../../../store/clinics.js';
import { workspaceLocale } from '../../locale.js';
import { getSteps } from '../../../store/plans.js';
import type { AttachmentRow, PlanRow, StepRow } from '../../../domain/records.js';

export interface StepOptions {
  done?: boolean;
  skip?: boolean;
  note?: string;
  patientNote?: string;
  outcome?: string;
  amend?: boolean;
  undo?: boolean;
  photo?: string[];
  date?: string;
  service?: string[];
}

/** A step as --json shows it after a change: its id, its plan's, and its photos. */
export function stepJson(planId: number, step: StepRow, attachments: readonly AttachmentRow[]) {
  return {
    id: step.id,
    plan_id: planId,
    n: step.n,
    when: { [step.when_unit]: step.when_value },
    services: JSON.parse(step.services) as string[],
    recommended_date: step.recommended_date,
    booked_at: step.booked_at,
    status: step.status,
    completed_on: step.completed_on,
    completion_note: step.completion_note,
    patient_note: step.patient_note,
    outcome: step.outcome,
    performed: step.performed === null ? null : (JSON.parse(step.performed) as string[]),
    attachments: attachments.filter((a) => a.step_id === step.id).map((a) => ({ id: a.id, sha256: a.sha256, path: a.path, original_name: a.original_name, bytes: a.bytes })),
  };
}

export async function run(ctx: Context, ref: string, nText: string, opts: StepOptions): Promise<number> {
  if ([opts.done, opts.skip, opts.amend, opts.undo].filter(Boolean).length !== 1) throw new UsageError('Say what happened with exactly one of --done or --skip (or change a recorded step with --amend or --undo)');
  const n = parseStepNumber(nText);
  if (n === undefined) throw new UsageError(`"${nText}" is not a step number; steps are numbered from 1 (see "txplan plan schedule ${ref}")`);
  if (opts.undo) return undo(ctx, ref, n, opts);
  if (opts.amend) return amend(ctx, ref, n, opts);
  const mark: StepMark = opts.done ? 'done' : 'skipped';
  const date = opts.date !== undefined ? parseDate(opts.date) : undefined;
  if (opts.date !== undefined && !date) throw new UsageError(`--date "${opts.date}" is not a date; write it as YYYY-MM-DD`);
  const given = opts.service ?? [];
  if (given.length > 0 && mark === 'skipped') throw new UsageError('--service says what was performed at a visit, and a skipped visit performed nothing; leave --service out with --skip');

  return withStore(ctx, async (store) => {
    const plan = findPlan(store, ref);
    assertAllowed(plan, 'step', 'record a step of');
    // Active and past-due plans always have a clinic; UTC only guards a damaged row.
    const today = todayIn(clinicZone(store, plan.clinic_id, 'UTC'), ctx.now());
    // A visit is charged once recorded: while billing is held the visit is not recorded either, so its charge is never lost.
    if (mark === 'done' && plan.type === 'pay-as-you-go') {
      assertBillingOpen(store);
      assertPatientBillable(store, plan, `visit ${n} of plan ${plan.id}`);
    }
    const { performed, services } = mark === 'done' ? await servicesPerformed(ctx, store, plan, n, given) : { performed: undefined, services: undefined };
    if (mark === 'done' && plan.type === 'pay-as-you-go') {
      // The price of what was performed, shown and confirmed before anything is written.
      const step = getSteps(store, plan.id).find((s) => s.n === n);
      if (step?.status === 'pending') {
        const registry = await loadRegistry(resolveWorkspace(ctx));
        const visit = visitChargeOf(plan, performed ?? performedOf(step), services ?? registry.services, registry.settings.currency);
        const card = plan.payment_method_id !== null ? getPaymentMethod(store, plan.payment_method_id) : undefined;
        await confirmCharge(ctx, chargeConfirmation({ subject: `Visit ${n} of plan ${plan.id}, ${plan.name}`, charges: visitQuote(n, visit.amount_minor), currency: plan.currency, locale: clinicLocale(store, plan.clinic_id, workspaceLocale(ctx)), card }));
      }
    }
    const photos = (opts.photo ?? []).map((file) => readPhoto(resolve(ctx.cwd, file), file));
    // On PostgreSQL photos go in the database; on SQLite, into the workspace's attachments folder.
    const attachments = photos.length > 0 && store.kind === 'sqlite' ? (() => {
      const workspace = resolveWorkspace(ctx);
      return { root: workspace.root, dir: join(workspace.dataDir, 'attachments') };
    })() : undefined;
    const result = recordStep(
      store,
      plan,
      { n, mark, date: date ?? today, today, note: text(opts.note), patientNote: text(opts.patientNote), outcome: text(opts.outcome), photos, ...(performed ? { performed } : {}), ...(attachments ? { attachments } : {}) },
      { actor: ctx.actor, now: ctx.now() },
    );
    // A pay-as-you-go visit is charged after it is safely recorded, never inside its transaction.
    let charged = '';
    if (mark === 'done' && plan.type === 'pay-as-you-go') {
      const registry = await loadRegistry(resolveWorkspace(ctx));
      const charging = chargingContext(ctx, store, registry.settings);
      try {
        const outcome = await chargeVisit(charging, getPlan(store, plan.id)!, n, today, services ?? registry.services, registry.settings.currency);
        if (outcome && outcome.charge.status !== 'succeeded') {
          throw new FailedError(`Step ${n} of plan ${plan.id} is recorded as done, but its charge of ${formatMoney(outcome.charge.amount_minor, outcome.charge.currency, clinicLocale(store, plan.clinic_id, workspaceLocale(ctx)))} was ${describeOutcome(outcome)}`, 'declined');
        }
        if (outcome) charged = `; charged ${formatMoney(outcome.charge.amount_minor, outcome.charge.currency, clinicLocale(store, plan.clinic_id, workspaceLocale(ctx)))}`;
        const earlier = outcome ? undefined : visitChargeFor(store, plan.id, n);
        if (earlier && earlier.charge.status === 'succeeded' && earlier.refundedMinor >= earlier.charge.amount_minor) {
          // A visit has one charge (its key names the plan and the step): one undone after its refund is not charged again here.
          ctx.err(`txplan: visit ${n} of plan ${plan.id} was charged before (charge ${earlier.charge.id}) and that charge was refunded, so this visit is not charged again; charge it at the desk if it is owed`);
        }
      } finally {
        charging.gateway.close();
      }
    }

    if (ctx.options.json) ctx.json(stepJson(plan.id, result.step, result.attachments));
    else {
      const added = result.attachments.length;
      ctx.out(`${ctx.color.green('✔')} Step ${n} of plan ${plan.id} ${mark} on ${formatDate(date ?? today)}${added ? `, with ${added} photo${added === 1 ? '' : 's'}` : ''}${charged}.`);
    }
    return 0;
  });
}

const text = (value: string | undefined) => (value?.trim() ? value.trim() : null);

/** Where photos go: in the database on PostgreSQL, the workspace's attachments folder on SQLite. */
function attachmentsFolder(ctx: Context, store: Store, photos: number) {
  if (photos === 0 || store.kind !== 'sqlite') return undefined;
  const workspace = resolveWorkspace(ctx);
  return { root: workspace.root, dir: join(workspace.dataDir, 'attachments') };
}

/** --undo: a recorded step back to pending, unless a charge for it stands. */
async function undo(ctx: Context, ref: string, n: number, opts: StepOptions): Promise<number> {
  const extra = (['note', 'patientNote', 'outcome', 'photo', 'date', 'service'] as const).filter((key) => opts[key] !== undefined);
  if (extra.length > 0) throw new UsageError(`--undo returns the step to pending and takes no --${extra[0]!.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}; record it again afterwards with --done or --skip`);
  return withStore(ctx, (store) => {
    const plan = findPlan(store, ref);
    const before = findStep(getSteps(store, plan.id), plan, n);
    const { step, closedCharge } = undoStep(store, plan, { n }, { actor: ctx.actor, now: ctx.now() });
    if (ctx.options.json) ctx.json({ ...stepJson(plan.id, step, getAttachments(store, plan.id)), closed_charge: closedCharge?.id ?? null });
    else {
      const closed = closedCharge ? ` Its failed charge ${closedCharge.id} is no longer retried; recording the visit again retries it.` : '';
      ctx.out(`${ctx.color.green('✔')} Step ${n} of plan ${plan.id} is pending again (it was ${before.status} on ${before.completed_on ?? 'an earlier date'}).${closed}`);
    }
    return 0;
  });
}

/** --amend: changes only the given fields of a recorded step. */
async function amend(ctx: Context, ref: string, n: number, opts: StepOptions): Promise<number> {
  if (opts.date !== undefined) throw new UsageError('--amend does not move a visit to another date; undo the step with --undo and record it again with --date');
  const given = opts.service ?? [];
  const photoFiles = opts.photo ?? [];
  if (opts.note === undefined && opts.patientNote === undefined && opts.outcome === undefined && photoFiles.length === 0 && given.length === 0) {
    throw new UsageError('--amend needs something to change: --note, --patient-note, --outcome, --photo or --service');
  }
  return withStore(ctx, async (store) => {
    const plan = findPlan(store, ref);
    const step = findStep(getSteps(store, plan.id), plan, n);
    let performed: string[] | undefined;
    if (given.length > 0 && step.status === 'done') {
      // The price of a charged visit depends on what was performed: changing it means undoing the visit (after a refund) and recording it again.
      const visit = visitChargeFor(store, plan.id, n);
      if (visit) throw new FailedError(`Step ${n} of plan ${plan.id} was charged by charge ${visit.charge.id} for the services recorded, so they cannot be amended; undo the step with --undo (refunding the charge first with "txplan billing refund ${visit.charge.id}") and record it again with --service`, 'charged');
      const { services } = await loadRegistry(resolveWorkspace(ctx));
      performed = checkedServices(plan, step, given, [...services.keys()]);
    } else if (given.length > 0) throw new UsageError(`Step ${n} of plan ${plan.id} is ${step.status}, so it performed nothing; leave --service out`);
    const photos = photoFiles.map((file) => readPhoto(resolve(ctx.cwd, file), file));
    const result = amendStep(
      store,
      plan,
      {
        n,
        ...(opts.note !== undefined ? { note: text(opts.note) } : {}),
        ...(opts.patientNote !== undefined ? { patientNote: text(opts.patientNote) } : {}),
        ...(opts.outcome !== undefined ? { outcome: text(opts.outcome) } : {}),
        ...(performed ? { performed } : {}),
        photos,
        ...(attachmentsFolder(ctx, store, photos.length) ? { attachments: attachmentsFolder(ctx, store, photos.length)! } : {}),
      },
      { actor: ctx.actor, now: ctx.now() },
    );
    if (ctx.options.json) ctx.json({ ...stepJson(plan.id, result.step, result.attachments), changed: result.changed });
    else if (result.changed.length === 0) ctx.out(`Step ${n} of plan ${plan.id} already holds that; nothing changed.`);
    else ctx.out(`${ctx.color.green('✔')} Amended step ${n} of plan ${plan.id}: ${result.changed.join(', ')}.`);
    return 0;
  });
}

/**
 * The services a done visit delivered: those given with --service (checked
 * against the catalog and the step's choices), the alternative chosen at the
 * prompt, or, left out, the planned ones. Off a terminal a pay-as-you-go
 * visit with alternatives must say which was performed: its price depends on it.
 */
async function servicesPerformed(ctx: Context, store: Store, plan: PlanRow, n: number, given: readonly string[]): Promise<{ performed: string[] | undefined; services: ReadonlyMap<string, Service> | undefined }> {
  const step = findStep(getSteps(store, plan.id), plan, n);
  // A step already recorded is refused as such by recordStep, whatever --service says.
  if (step.status !== 'pending') return { performed: undefined, services: undefined };
  const offer = stepOffer(step);
  const choosing = offer.alternatives.length > 0;
  if (given.length === 0 && !choosing) return { performed: undefined, services: undefined };
  if (given.length === 0 && !ctx.interactive) {
    if (plan.type === 'pay-as-you-go') refuseUnchosen(plan, step);
    return { performed: undefined, services: undefined };
  }
  const { services } = await loadRegistry(resolveWorkspace(ctx));
  if (given.length > 0) return { performed: checkedServices(plan, step, given, [...services.keys()]), services };
  const name = (id: string) => services.get(id)?.name ?? id;
  const prompter = await ctx.prompter();
  const choice = await prompter.select(
    `Step ${n}: which was performed?`,
    [{ value: '', name: `${offer.services.map(name).join(' + ')} (as planned)` }, ...offer.alternatives.map((id) => ({ value: id, name: name(id) }))],
    '',
  );
  return { performed: choice === '' ? [...offer.services] : [choice], services };
}
