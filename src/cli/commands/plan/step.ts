import { join, resolve } from 'node:path';
import type { Context } from '../../context.js';
import { findPlan, withStore } from '../../store.js';
import { resolveWorkspace } from '../../workspace.js';
import { UsageError } from '../../../errors.js';
import { formatDate, parseDate, todayIn } from '../../../domain/dates.js';
import { assertAllowed } from '../../../plans/lifecycle.js';
import { chargeVisit } from '../../../billing/points.js';
import { describeOutcome } from '../../../billing/charging.js';
import { chargingContext } from '../../billing.js';
import { assertBillingOpen } from '../../../billing/hold.js';
import { loadRegistry } from '../../../registry/registry.js';
import { formatMoney } from '../../../domain/money.js';
import { FailedError } from '../../../errors.js';
import { getPlan, getSteps } from '../../../store/plans.js';
import { getPaymentMethod } from '../../../store/payment-methods.js';
import { visitCharge } from '../../../billing/quote.js';
import { chargeConfirmation, confirmCharge } from '../../confirm.js';
import { parseStepNumber, readPhoto, recordStep, type StepMark } from '../../../plans/steps.js';
import { clinicZone } from '../../../store/clinics.js';
import type { AttachmentRow, StepRow } from '../../../store/plans.js';

export interface StepOptions {
  done?: boolean;
  skip?: boolean;
  note?: string;
  outcome?: string;
  photo?: string[];
  date?: string;
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
    outcome: step.outcome,
    attachments: attachments.filter((a) => a.step_id === step.id).map((a) => ({ id: a.id, sha256: a.sha256, path: a.path, original_name: a.original_name, bytes: a.bytes })),
  };
}

export async function run(ctx: Context, ref: string, nText: string, opts: StepOptions): Promise<number> {
  if (Boolean(opts.done) === Boolean(opts.skip)) throw new UsageError('Say what happened with exactly one of --done or --skip');
  const mark: StepMark = opts.done ? 'done' : 'skipped';
  const n = parseStepNumber(nText);
  if (n === undefined) throw new UsageError(`"${nText}" is not a step number; steps are numbered from 1 (see "txplan plan schedule ${ref}")`);
  const date = opts.date !== undefined ? parseDate(opts.date) : undefined;
  if (opts.date !== undefined && !date) throw new UsageError(`--date "${opts.date}" is not a date; write it as YYYY-MM-DD`);
  const text = (value: string | undefined) => (value?.trim() ? value.trim() : null);

  return withStore(ctx, async (store) => {
    const plan = findPlan(store, ref);
    assertAllowed(plan, 'step', 'record a step of');
    // Active and past-due plans always have a clinic; UTC only guards a damaged row.
    const today = todayIn(clinicZone(store, plan.clinic_id, 'UTC'), ctx.now());
    // A visit is charged once recorded: while billing is held the visit is not recorded either, so its charge is never lost.
    if (mark === 'done' && plan.type === 'pay-as-you-go') {
      assertBillingOpen(store);
      const step = getSteps(store, plan.id).find((s) => s.n === n);
      if (step?.status === 'pending') {
        const charges = visitCharge(n, JSON.parse(step.services) as string[], JSON.parse(plan.service_prices) as Record<string, number>);
        const card = plan.payment_method_id !== null ? getPaymentMethod(store, plan.payment_method_id) : undefined;
        await confirmCharge(ctx, chargeConfirmation({ subject: `Visit ${n} of plan ${plan.id}, ${plan.name}`, charges, currency: plan.currency, card }));
      }
    }
    const photos = (opts.photo ?? []).map((file) => readPhoto(resolve(ctx.cwd, file), file));
    const attachments = photos.length > 0 ? (() => {
      const workspace = resolveWorkspace(ctx);
      return { root: workspace.root, dir: join(workspace.dataDir, 'attachments') };
    })() : undefined;
    const result = recordStep(
      store,
      plan,
      { n, mark, date: date ?? today, today, note: text(opts.note), outcome: text(opts.outcome), photos, ...(attachments ? { attachments } : {}) },
      { actor: ctx.actor, now: ctx.now() },
    );
    // A pay-as-you-go visit is charged after it is safely recorded, never inside its transaction.
    let charged = '';
    if (mark === 'done' && plan.type === 'pay-as-you-go') {
      const registry = await loadRegistry(resolveWorkspace(ctx));
      const charging = chargingContext(ctx, store, registry.settings);
      try {
        const outcome = await chargeVisit(charging, getPlan(store, plan.id)!, n, today);
        if (outcome && outcome.charge.status !== 'succeeded') {
          throw new FailedError(`Step ${n} of plan ${plan.id} is recorded as done, but its charge of ${formatMoney(outcome.charge.amount_minor, outcome.charge.currency)} was ${describeOutcome(outcome)}`, 'declined');
        }
        if (outcome) charged = `; charged ${formatMoney(outcome.charge.amount_minor, outcome.charge.currency)}`;
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
