import { relative, resolve } from 'node:path';
import type { Context } from '../../context.js';
import { assertNotArchived, assertPatientBillable, findPlan, withStore } from '../../store.js';
import { resolveWorkspace } from '../../workspace.js';
import { editSnapshot } from '../../editor.js';
import { FailedError, NotFoundError, UsageError } from '../../../errors.js';
import { checkTarget, writeFileAtomically } from '../../../files.js';
import { formatDate, parseDate, todayIn, type PlainDate } from '../../../domain/dates.js';
import { refuseCardNumbers } from '../../../domain/cards.js';
import { refuseControlCharacters } from '../../../domain/safe-text.js';
import { servicePrices } from '../../../domain/pricing.js';
import { getTemplate, loadRegistry, type Registry } from '../../../registry/registry.js';
import { templateDifferences, type TemplateDifference } from '../../../domain/template-diff.js';
import { DEFAULT_SETTINGS } from '../../../registry/workspace.js';
import { asNewTemplate, templateText, writeNewTemplate } from '../../../registry/write.js';
import { applyAssignments, checkSnapshot, parseAssignment } from '../../../plans/snapshot.js';
import { assertAllowed, cancelPlan, isCustomised, pausePlan, resumePlan, revisePlan, setPaymentMethod, startPlan, unstartPlan } from '../../../plans/lifecycle.js';
import { rolloutTarget, type RolloutTarget } from '../../../plans/rollout.js';
import { contentHash } from '../../../domain/plan.js';
import { cancelFeeCharge, reactivationCharges, startCharges } from '../../../billing/quote.js';
import { chargeConfirmation, confirmCharge } from '../../confirm.js';
import { customerOf, getPaymentMethod } from '../../../store/payment-methods.js';
import { chargesOfPlan } from '../../../store/charges.js';
import { getPrices, getSteps } from '../../../store/plans.js';
import { isPaid, unpricedFor } from '../../../plans/apply.js';
import { feeForInstallment, loadPlanView, planJson } from '../../../plans/view.js';
import { checkToken, type SavedPaymentMethod } from '../../../billing/gateway.js';
import { chargeEarlyFee, insideMinimumTerm, earlyFeeMinor, startProgram } from '../../../billing/points.js';
import { duesAtCancellation } from '../../../billing/plan.js';
import { billablePlan } from '../../../billing/billable.js';
import { describeOutcome } from '../../../billing/charging.js';
import { chargingContext } from '../../billing.js';
import { assertBillingOpen } from '../../../billing/hold.js';
import { formatMoney } from '../../../domain/money.js';
import { clinicZone, getClinic, listClinics } from '../../../store/clinics.js';
import { savePaymentMethod } from '../../../store/payment-methods.js';
import { getPlan } from '../../../store/plans.js';
import type { Store } from '../../../store/store.js';
import { getPatient } from '../../../store/patients.js';
import type { Template } from '../../../generated/schema-types.js';
import type { PlanRow } from '../../../domain/records.js';

/** The plan's clinic's today (or the workspace zone's, before it has a clinic). */
function today(ctx: Context, store: Store, plan: PlanRow, registry?: Registry): PlainDate {
  return todayIn(clinicZone(store, plan.clinic_id, registry?.settings.timezone ?? 'UTC'), ctx.now());
}

function date(text: string, flag: string): PlainDate {
  const value = parseDate(text);
  if (!value) throw new UsageError(`${flag} "${text}" is not a date; write it as YYYY-MM-DD`);
  return value;
}

function done(ctx: Context, store: Store, plan: PlanRow, message: string): number {
  if (ctx.options.json) ctx.json(planJson(loadPlanView(store, plan)));
  else ctx.out(`${ctx.color.green('✔')} ${message}`);
  return 0;
}

export interface StartOptions {
  clinic?: string;
  start?: string;
  paymentMethod?: string;
  asPrescribed?: boolean;
  currentVersion?: boolean;
  /** With a --start in the future: charge installment 1 now rather than on the start date. */
  chargeNow?: boolean;
}

export async function start(ctx: Context, ref: string, opts: StartOptions): Promise<number> {
  if (opts.asPrescribed && opts.currentVersion) throw new UsageError('Give only one of --as-prescribed and --current-version');
  const registry = await loadRegistry(resolveWorkspace(ctx));
  return withStore(ctx, async (store) => {
    const plan = findPlan(store, ref);
    assertAllowed(plan, 'start');
    assertNotArchived(getPatient(store, plan.patient_id)!);
    const snapshot = JSON.parse(plan.snapshot) as Template;
    const clinics = (opts.clinic ?? plan.clinic_id) ? [] : listClinics(store, { all: false });
    const clinicId = opts.clinic ?? plan.clinic_id ?? (clinics.length === 1 ? clinics[0]!.id : undefined);
    if (!clinicId) throw new FailedError('Starting a program needs a clinic; add --clinic ID ("txplan clinic list" shows them)', 'clinic_required');
    const clinic = getClinic(store, clinicId);
    if (!clinic) throw new NotFoundError(`No clinic "${clinicId}"; "txplan clinic list" shows them`);
    if (clinic.archived_at && clinic.id !== plan.clinic_id) throw new FailedError(`Clinic "${clinic.id}" is archived and takes no new plans; pick another ("txplan clinic list") or bring it back with "txplan clinic unarchive ${clinic.id}"`, 'clinic_archived');
    if ((clinic.currency ?? registry.settings.currency) !== plan.currency && isPaid(snapshot, registry)) {
      const sells = clinic.currency ?? registry.settings.currency;
      throw new FailedError(`Clinic "${clinic.id}" sells in ${sells}, but plan ${plan.id} was prescribed in ${plan.currency} and prices are never converted; start it at a clinic that sells in ${plan.currency}, or cancel it and apply ${plan.template_id} again with --clinic ${clinic.id} to sell it in ${sells}`, 'currency_mismatch');
    }
    if (snapshot.clinics && !snapshot.clinics.includes(clinic.id)) throw new FailedError(`Plan ${plan.id} is offered only at ${snapshot.clinics.join(', ')}, not at ${clinic.id}`, 'clinic_not_offered');
    const startDate = opts.start !== undefined ? date(opts.start, '--start') : todayIn(clinic.timezone, ctx.now());
    const day = todayIn(clinic.timezone, ctx.now());
    // The template may have moved on since the plan was prescribed: the clinic chooses which version starts.
    const { newer, change } = await newerVersion(ctx, registry, plan, opts, day);
    const charging = chargingContext(ctx, store, registry.settings);
    try {
      let payment: SavedPaymentMethod | undefined;
      if (opts.paymentMethod !== undefined) payment = await charging.gateway.savePaymentMethod({ token: checkToken(opts.paymentMethod), patientId: plan.patient_id, customer: customerOf(store, plan.patient_id) });
      const saved = plan.payment_method_id !== null ? getPaymentMethod(store, plan.payment_method_id) : undefined;
      if (!payment && !saved && isPaid(newer?.target.template ?? snapshot, registry)) {
        throw new FailedError(`Plan ${plan.id} is a paid plan: it cannot start without a payment method; add --payment-method pm_… (a processor token)`, 'payment_required');
      }
      const revision = newer ? revisePlan(store, plan, newer.target.template, { ...newer.input, write: false }, { actor: ctx.actor, now: ctx.now() }) : undefined;
      const content = revision ? newer!.target.template : snapshot;
      if (content.type === 'monthly') {
        const prices = getPrices(store, plan.id);
        const fees = Array.from({ length: content.duration.months ?? 0 }, (_, i) => (revision?.price && i + 1 >= revision.price.fromInstallment ? revision.price.afterMinor : (feeForInstallment(prices, i + 1) ?? 0)));
        // What falls due at once: installment 1 (unless the start is in the future), and a backdated start's installments already due.
        const charges = startCharges(fees, startDate, day, { offsetMonths: plan.billing_offset_months, chargeNow: opts.chargeNow ?? false });
        await confirmCharge(ctx, chargeConfirmation({ subject: `Plan ${plan.id}, ${content.name}`, charges, currency: plan.currency, locale: clinic.locale ?? registry.settings.locale, card: payment ?? saved }));
      }
      let paymentMethodId = plan.payment_method_id;
      if (payment) paymentMethodId = store.transaction(() => savePaymentMethod(store, { patient_id: plan.patient_id, ...payment, created_at: ctx.now().toISOString() }));
      const current = newer ? revisePlan(store, plan, newer.target.template, { ...newer.input, write: true }, { actor: ctx.actor, now: ctx.now() }).plan : plan;
      const started = startPlan(store, current, { clinic, start: startDate, paymentMethodId }, { actor: ctx.actor, now: ctx.now() });
      // A declined first installment puts the plan back as it was: prescribed, without dates.
      const outcomes = await startProgram(charging, started, day, () => unstartPlan(store, current, started, { actor: ctx.actor, now: ctx.now() }), opts.chargeNow ?? false);
      for (const outcome of outcomes.filter((o) => o.charge.status !== 'succeeded')) ctx.err(`txplan: installment ${outcome.charge.installment} of ${formatMoney(outcome.charge.amount_minor, outcome.charge.currency, clinic.locale ?? registry.settings.locale)} was ${describeOutcome(outcome)}`);
      const charged = outcomes.filter((o) => o.charge.status === 'succeeded');
      const later = started.type === 'monthly' && charged.length === 0 && started.start_date! > formatDate(day) ? ` Installment 1 is charged on ${started.start_date} by the billing run.` : '';
      const paid = charged.length > 1 ? ` Charged installments ${charged.map((o) => o.charge.installment).join(', ')} (${formatMoney(charged.reduce((sum, o) => sum + o.charge.amount_minor, 0), started.currency, clinic.locale ?? registry.settings.locale)}), already due.` : '';
      const version = newer ? ` on ${plan.template_id} v${newer.target.template.version}` : change ? ` as prescribed (${plan.template_id} v${plan.template_version})` : '';
      const final = getPlan(store, started.id) ?? started;
      if (ctx.options.json) {
        ctx.json({ ...planJson(loadPlanView(store, final)), template_changes: changeJson(change) });
        return 0;
      }
      return done(ctx, store, final, `Started plan ${plan.id}${version} at ${clinic.name}: ${started.start_date} → ${started.end_date}.${later}${paid}`);
    } finally {
      charging.gateway.close();
    }
  });
}

/** What a prescribed plan's template has become since: shown before it starts, and in --json. */
interface TemplateChange {
  prescribedVersion: number;
  currentVersion: number;
  differences: TemplateDifference[];
  startedOn: 'prescribed' | 'current';
}

/**
 * When the plan's template has changed since it was prescribed: shows the
 * difference, then gives the version to start it on — chosen by flag or on a
 * terminal when there is a newer version; as prescribed when the file only
 * changed in place. `newer` undefined means "as prescribed". Off a terminal,
 * no choice is made for the clinic.
 */
async function newerVersion(ctx: Context, registry: Registry, plan: PlanRow, opts: StartOptions, day: PlainDate) {
  let current: Template;
  try {
    current = (await getTemplate(registry.workspace, plan.template_id)).template;
  } catch {
    return { newer: undefined, change: undefined }; // the template is gone from the library (or broken): the prescription is all there is
  }
  const prescribed = plan.template_version;
  const latest = current.version;
  if (latest === prescribed && contentHash(current) === plan.template_hash) return { newer: undefined, change: undefined };
  const snapshot = JSON.parse(plan.snapshot) as Template;
  const frozen = JSON.parse(plan.service_prices) as Record<string, number>;
  const basis = { currency: plan.currency, workspace: registry.settings.currency };
  const differences = templateDifferences(snapshot, current, {
    currency: plan.currency,
    afterPlain: registry.settings.currency,
    serviceName: (id) => registry.services.get(id)?.name ?? id,
    pricesBefore: { ...servicePrices(snapshot, registry.services, basis), ...frozen },
    pricesAfter: { ...servicePrices(current, registry.services, basis), ...frozen },
  });
  // A status change alone (retired and back) bumps the version but changes nothing the patient gets.
  if (differences.every((d) => d.what === 'version')) return { newer: undefined, change: undefined };
  const change: TemplateChange = { prescribedVersion: prescribed, currentVersion: latest, differences, startedOn: 'prescribed' };
  if (!ctx.options.json) {
    const headline = latest > prescribed
      ? `Plan ${plan.id} was prescribed from ${plan.template_id} v${prescribed}; the template is now at v${latest}:`
      : `Plan ${plan.id} was prescribed from ${plan.template_id} v${prescribed}, and the template file has changed since without a new version (it starts as prescribed):`;
    const own = isCustomised(plan) ? ` (compared with this plan's own content, so its adjustments for the patient show too)` : '';
    ctx.err([headline.replace(/:$/, `${own}:`), ...differences.filter((d) => d.what !== 'version').map((d) => `  ${d.text}`)].join('\n'));
  }
  if (latest <= prescribed) return { newer: undefined, change };
  let choice: 'prescribed' | 'current';
  if (opts.asPrescribed) choice = 'prescribed';
  else if (opts.currentVersion) choice = 'current';
  else if (ctx.interactive) {
    choice = await (await ctx.prompter()).select<'prescribed' | 'current'>(`Plan ${plan.id} was prescribed from ${plan.template_id} v${prescribed}; the template is now at v${latest}. Start it on which version?`, [
      { value: 'prescribed', name: `As prescribed (v${prescribed})`, description: 'the content and prices the patient was given' },
      { value: 'current', name: `Current version (v${latest})`, description: "the template's content and prices today" },
    ]);
  } else {
    throw new UsageError(`Plan ${plan.id} was prescribed from ${plan.template_id} v${prescribed} and the template is now at v${latest}; say which to start with --as-prescribed or --current-version`, 'version_choice_required');
  }
  if (choice === 'prescribed') return { newer: undefined, change };
  if (isCustomised(plan)) throw new FailedError(`Plan ${plan.id} was adjusted for its patient, and starting it on v${latest} would drop those adjustments; start it --as-prescribed, then change it with "txplan plan edit ${plan.id}"`, 'customised');
  if (current.type !== plan.type) throw new FailedError(`${plan.template_id} v${latest} is ${current.type}, plan ${plan.id} is ${plan.type}; start it --as-prescribed`, 'invalid_plan');
  const target: RolloutTarget = await rolloutTarget(registry, plan.template_id, undefined);
  const unpriced = unpricedFor(plan, target.template, registry, registry.settings.currency, `${plan.template_id} v${target.template.version}`);
  if (unpriced) throw new FailedError(`Plan ${plan.id} cannot start on the current version: ${unpriced.replace(/^plan \d+ /, 'it ')}, or start it --as-prescribed`, 'currency_unpriced');
  const input = {
    today: day,
    currency: plan.currency,
    action: 'plan.rollout' as const,
    source: { version: target.template.version, hash: contentHash(target.template), commit: target.commit, dirty: target.dirty },
    servicePrices: servicePrices(target.template, registry.services, basis),
  };
  return { newer: { target, input }, change: { ...change, startedOn: 'current' as const } };
}

function changeJson(change: TemplateChange | undefined) {
  if (!change) return null;
  return {
    prescribed_version: change.prescribedVersion,
    current_version: change.currentVersion,
    started_on: change.startedOn,
    differences: change.differences.map((d) => ({ what: d.what, ...(d.step !== undefined ? { step: d.step } : {}), before: d.before, after: d.after, text: d.text })),
  };
}

/** Pending visits booked from `from` up to (not including) `until`, or on and after `from` when the pause has no end. */
function bookingsInPause(store: Store, planId: number, from: string, until: string | null): Array<{ step: number; booked_at: string }> {
  return getSteps(store, planId)
    .filter((s) => s.status === 'pending' && s.booked_at !== null && s.booked_at.slice(0, 10) >= from && (until === null || s.booked_at.slice(0, 10) < until))
    .map((s) => ({ step: s.n, booked_at: s.booked_at! }));
}

/** A pause's bookings are not moved: each is named on stderr for the front desk, and listed in --json. */
function pauseDone(ctx: Context, store: Store, plan: PlanRow, message: string, flagged: Array<{ step: number; booked_at: string }>, during: string): number {
  for (const b of flagged) {
    ctx.err(`txplan: step ${b.step} of plan ${plan.id} is booked for ${b.booked_at}, ${during}; rebook it with "txplan plan book ${plan.id} ${b.step} --at …" or remove it with --clear`);
  }
  if (ctx.options.json) ctx.json({ ...planJson(loadPlanView(store, plan)), bookings_in_pause: flagged });
  else ctx.out(`${ctx.color.green('✔')} ${message}`);
  return 0;
}

export async function pause(ctx: Context, ref: string, opts: { until?: string }): Promise<number> {
  return withStore(ctx, (store) => {
    const plan = findPlan(store, ref);
    const paused = pausePlan(store, plan, { today: today(ctx, store, plan), until: opts.until !== undefined ? date(opts.until, '--until') : undefined }, { actor: ctx.actor, now: ctx.now() });
    const flagged = bookingsInPause(store, plan.id, paused.paused_on!, paused.pause_until);
    return pauseDone(ctx, store, paused, `Paused plan ${plan.id}${paused.pause_until ? ` until ${paused.pause_until}` : ''}: no billing while paused; "txplan plan resume ${plan.id}" continues it.`, flagged, 'inside the pause');
  });
}

export async function resume(ctx: Context, ref: string): Promise<number> {
  return withStore(ctx, (store) => {
    const plan = findPlan(store, ref);
    const day = today(ctx, store, plan);
    const resumed = resumePlan(store, plan, { today: day }, { actor: ctx.actor, now: ctx.now() });
    // Bookings made for the days the plan was paused are kept as booked: the front desk decides.
    const flagged = plan.paused_on ? bookingsInPause(store, plan.id, plan.paused_on, formatDate(day)) : [];
    return pauseDone(ctx, store, resumed, `Resumed plan ${plan.id}; its pending visits' recommended dates moved with the pause, and it now ends ${resumed.end_date}.`, flagged, `inside the pause (${plan.paused_on} to ${formatDate(day)})`);
  });
}

export async function cancel(ctx: Context, ref: string, opts: { reason?: string; waiveFee?: boolean; waiveDue?: boolean }): Promise<number> {
  const reason = opts.reason?.trim();
  if (!reason) throw new UsageError('Cancelling needs a reason for the record; add --reason "…"');
  refuseCardNumbers({ '--reason': reason });
  refuseControlCharacters({ '--reason': reason });
  const registry = await loadRegistry(resolveWorkspace(ctx));
  return withStore(ctx, async (store) => {
    const plan = findPlan(store, ref);
    const day = today(ctx, store, plan, registry);
    const feeDue = insideMinimumTerm(plan, day) && earlyFeeMinor(plan) > 0;
    // A fee that could not be charged must not be lost behind a recorded cancellation.
    if (feeDue && !opts.waiveFee) {
      assertAllowed(plan, 'cancel'); // a plan that cannot be cancelled is refused before anyone is asked about a fee
      assertBillingOpen(store);
      assertPatientBillable(store, plan, `the early cancellation fee of plan ${plan.id}`, ', or cancel with --waive-fee');
      const card = plan.payment_method_id !== null ? getPaymentMethod(store, plan.payment_method_id) : undefined;
      await confirmCharge(ctx, chargeConfirmation({ subject: `Cancelling plan ${plan.id}, ${plan.name}`, charges: cancelFeeCharge(earlyFeeMinor(plan)), currency: plan.currency, card }));
    }
    const dues = duesAtCancellation(billablePlan(store, plan.id), chargesOfPlan(store, plan.id), day);
    const cancelled = cancelPlan(store, plan, { today: day, reason, waiveFee: opts.waiveFee ?? false, waiveDue: opts.waiveDue ?? false, dues }, { actor: ctx.actor, now: ctx.now() });
    // Cancelling is recorded first; the early fee is then a charge of its own (retried by billing runs if declined).
    let fee = '';
    if (feeDue && !opts.waiveFee) {
      const charging = chargingContext(ctx, store, registry.settings);
      try {
        const outcome = await chargeEarlyFee(charging, cancelled, day);
        if (outcome && outcome.charge.status !== 'succeeded') {
          throw new FailedError(`Plan ${plan.id} is cancelled, but its early cancellation fee of ${formatMoney(outcome.charge.amount_minor, outcome.charge.currency)} was ${describeOutcome(outcome)}`, 'declined');
        }
        if (outcome) fee = ` The early cancellation fee of ${formatMoney(outcome.charge.amount_minor, outcome.charge.currency)} was charged.`;
      } finally {
        charging.gateway.close();
      }
    } else if (feeDue) fee = ` The early cancellation fee of ${formatMoney(earlyFeeMinor(plan), plan.currency)} was waived.`;
    return done(ctx, store, cancelled, `Cancelled plan ${plan.id}; nothing that falls due later is charged.${describeDues(dues, plan.currency, opts.waiveDue ?? false)}${fee}`);
  });
}

/** " Installments 2, 3 and visit 4 ($747.00), due by today and unpaid, stay owed: …" */
function describeDues(dues: { installments: number[]; steps: number[]; amount_minor: number }, currency: string, waived: boolean): string {
  const what = [...(dues.installments.length ? [`installment${dues.installments.length > 1 ? 's' : ''} ${dues.installments.join(', ')}`] : []), ...(dues.steps.length ? [`visit${dues.steps.length > 1 ? 's' : ''} ${dues.steps.join(', ')}`] : [])];
  if (what.length === 0) return '';
  const text = what.join(' and ');
  return ` ${text.charAt(0).toUpperCase()}${text.slice(1)} (${formatMoney(dues.amount_minor, currency)}), due by today and unpaid, ${waived ? 'were waived' : 'stay owed: the next billing run charges them'}.`;
}

export async function payment(ctx: Context, ref: string, opts: { paymentMethod?: string }): Promise<number> {
  if (opts.paymentMethod === undefined) throw new UsageError('Missing --payment-method TOKEN (a processor token such as pm_card_visa)');
  const token = checkToken(opts.paymentMethod);
  const registry = await loadRegistry(resolveWorkspace(ctx));
  return withStore(ctx, async (store) => {
    const plan = findPlan(store, ref);
    assertAllowed(plan, 'payment', 'change the payment method of');
    const charging = chargingContext(ctx, store, registry.settings, 'look-up');
    let details;
    try {
      details = await charging.gateway.savePaymentMethod({ token, patientId: plan.patient_id, customer: customerOf(store, plan.patient_id) });
    } finally {
      charging.gateway.close();
    }
    if (plan.status === 'past_due') {
      // Reactivating hands the declined charges to the next billing run, on this card.
      const charges = reactivationCharges(chargesOfPlan(store, plan.id));
      await confirmCharge(ctx, chargeConfirmation({ subject: `Reactivating plan ${plan.id}, ${plan.name}`, charges, currency: plan.currency, card: details, when: 'by the next billing run' }));
    }
    const updated = setPaymentMethod(store, plan, details, { today: today(ctx, store, plan, registry), retries: registry.settings.billing.retry_days.length }, { actor: ctx.actor, now: ctx.now() });
    const back = plan.status === 'past_due' ? ' It is active again; the next billing run retries what was declined.' : '';
    return done(ctx, store, updated, `Plan ${plan.id} now pays with ${details.brand} •••• ${details.last4}.${back}`);
  });
}

export async function edit(ctx: Context, ref: string, opts: { set?: string[]; edit?: boolean }): Promise<number> {
  const assignments = (opts.set ?? []).map(parseAssignment);
  if (assignments.length === 0 && !opts.edit) throw new UsageError('Nothing to change; give --set FIELD=VALUE or --edit');
  const registry = await loadRegistry(resolveWorkspace(ctx));
  return withStore(ctx, (store) => {
    // The version read here, before the editor opens, is the one the save is conditional on.
    const plan = findPlan(store, ref);
    assertAllowed(plan, 'edit');
    let next = applyAssignments(JSON.parse(plan.snapshot) as Template, assignments);
    // The plan's own single amounts are in the currency it was sold in.
    if (assignments.length > 0) next = checkSnapshot(next, registry, `--set ${assignments.map((a) => `${a.field}=${a.value}`).join(' --set ')}`, plan.currency);
    if (opts.edit) next = editSnapshot(ctx, registry, next, `plan-${plan.id}.yaml`, plan.currency);
    if (next.type !== plan.type) throw new FailedError(`A plan cannot change from ${plan.type} to ${next.type}; cancel it and apply another template`, 'invalid_plan');
    const unpriced = unpricedFor(plan, next, registry, plan.currency, 'the change');
    if (unpriced) throw new FailedError(`${unpriced.charAt(0).toUpperCase()}${unpriced.slice(1)}; nothing was saved`, 'currency_unpriced');
    const prices = servicePrices(next, registry.services, { currency: plan.currency, workspace: registry.settings.currency });
    const revision = revisePlan(store, plan, next, { today: today(ctx, store, plan, registry), currency: plan.currency, action: 'plan.edit', servicePrices: prices, write: true }, { actor: ctx.actor, now: ctx.now() });
    if (ctx.options.json) {
      const price = revision.price ? { from_installment: revision.price.fromInstallment, before_minor: revision.price.beforeMinor ?? null, after_minor: revision.price.afterMinor } : null;
      ctx.json({ ...planJson(loadPlanView(store, revision.plan)), revision: { changes: revision.changes, steps: revision.steps, price } });
      return 0;
    }
    if (revision.changes.length === 0) ctx.out(`Plan ${plan.id} is unchanged.`);
    else ctx.out(`${ctx.color.green('✔')} Updated plan ${plan.id}: ${revision.changes.map((c) => c.path).join(', ')}${revision.price ? `; the new fee applies from installment ${revision.price.fromInstallment}` : ''}.`);
    return 0;
  });
}

export async function saveTemplate(ctx: Context, ref: string, newId: string): Promise<number> {
  const registry = await loadRegistry(resolveWorkspace(ctx));
  return withStore(ctx, async (store) => {
    const plan = findPlan(store, ref);
    const file = await writeNewTemplate(registry, newId, templateText(asNewTemplate(JSON.parse(plan.snapshot) as Template, newId)));
    const shown = relative(ctx.cwd, file) || file;
    if (ctx.options.json) ctx.json({ id: newId, file: shown, version: 1, from_plan: plan.id });
    else ctx.out(`${ctx.color.green('✔')} Saved plan ${plan.id}'s content as ${ctx.color.bold(shown)} (v1).`);
    return 0;
  });
}

export async function exportPlan(ctx: Context, ref: string, opts: { format?: string; resource?: string; output?: string; force?: boolean }): Promise<number> {
  const format = opts.format ?? 'json';
  if (format !== 'json' && format !== 'fhir') throw new UsageError(`--format "${format}" is not an export format; use json or fhir`);
  if (opts.resource !== undefined && format !== 'fhir') throw new UsageError('--resource applies to --format fhir only; add --format fhir, or leave --resource out');
  const resource = opts.resource ?? 'bundle';
  if (resource !== 'bundle' && resource !== 'careplan') throw new UsageError(`--resource "${resource}" is not a FHIR export; use bundle (the Patient and the CarePlan) or careplan (the CarePlan alone)`);
  const output = opts.output === undefined ? undefined : resolve(ctx.cwd, opts.output);
  if (output) checkTarget(output, opts.force ?? false);
  const fhir = format === 'fhir' ? await fhirOptions(ctx) : undefined;
  return withStore(ctx, async (store) => {
    const view = loadPlanView(store, findPlan(store, ref));
    let exported: unknown;
    if (!fhir) exported = planJson(view);
    else {
      const { fhirCarePlan, fhirPlanBundle } = await import('../../../plans/fhir.js');
      exported = resource === 'careplan' ? fhirCarePlan(view, fhir) : fhirPlanBundle(view, fhir, ctx.now());
    }
    if (!output) {
      ctx.json(exported);
      return 0;
    }
    writeFileAtomically(output, `${JSON.stringify(exported, null, 2)}\n`, opts.force ?? false);
    const what = !fhir ? 'the plan as JSON' : resource === 'careplan' ? 'the FHIR R4 CarePlan' : 'a FHIR R4 Bundle (the Patient and the CarePlan)';
    if (ctx.options.json) ctx.json({ plan: view.plan.id, format, ...(fhir ? { resource } : {}), file: output });
    else ctx.out(`${ctx.color.green('✔')} Wrote ${what} of plan ${view.plan.id} to ${output}`);
    return 0;
  });
}

/**
 * What a FHIR export needs from the workspace: catalog names and minutes,
 * the time zone, and the MRN system (txplan.yaml's fhir.patient_identifier_system,
 * else one made from the practice's name). Without a readable workspace,
 * service ids stand in for names and the defaults apply.
 */
async function fhirOptions(ctx: Context): Promise<import('../../../plans/fhir.js').FhirExportOptions> {
  const { defaultPatientSystem } = await import('../../../plans/fhir.js');
  let registry: Registry;
  try {
    registry = await loadRegistry(resolveWorkspace(ctx));
  } catch {
    return { services: new Map(), timeZone: DEFAULT_SETTINGS.timezone, patientSystem: defaultPatientSystem(undefined) };
  }
  const { services, settings } = registry;
  const system: unknown = settings.fhir?.patient_identifier_system;
  if (system !== undefined && (typeof system !== 'string' || !/^[A-Za-z][A-Za-z0-9+.-]*:\S+$/.test(system))) {
    throw new FailedError(`fhir.patient_identifier_system in ${registry.workspace.settingsFile} is ${JSON.stringify(system)}, not a URI; write one (e.g. https://records.example-clinic.com/mrn), or remove it for the default`, 'settings_invalid');
  }
  return { services, timeZone: settings.timezone, patientSystem: system ?? defaultPatientSystem(settings.name) };
}
