import type { Context } from '../../context.js';
import { findPlan, withStore } from '../../store.js';
import { UsageError } from '../../../errors.js';
import { bookStep, parseDateTime, parseStepNumber } from '../../../plans/steps.js';
import { getAttachments } from '../../../store/plans.js';
import { getClinic } from '../../../store/clinics.js';
import { stepJson } from './step.js';

export async function run(ctx: Context, ref: string, nText: string, opts: { at?: string }): Promise<number> {
  const n = parseStepNumber(nText);
  if (n === undefined) throw new UsageError(`"${nText}" is not a step number; steps are numbered from 1 (see "txplan plan schedule ${ref}")`);
  if (opts.at === undefined) throw new UsageError('Missing --at "YYYY-MM-DD HH:MM", the booked time at the clinic');
  const at = parseDateTime(opts.at);
  if (!at) throw new UsageError(`--at "${opts.at}" is not a date and time; write it as "YYYY-MM-DD HH:MM" (24-hour, the clinic's local time)`);

  return withStore(ctx, (store) => {
    const plan = findPlan(store, ref);
    const clinic = plan.clinic_id ? getClinic(store, plan.clinic_id) : undefined;
    const { step, changed } = bookStep(store, plan, { n, at, timeZone: clinic?.timezone }, { actor: ctx.actor, now: ctx.now() });
    if (ctx.options.json) ctx.json(stepJson(plan.id, step, getAttachments(store, plan.id)));
    else if (!changed) ctx.out(`Step ${n} of plan ${plan.id} is already booked for ${step.booked_at}; nothing changed.`);
    else ctx.out(`${ctx.color.green('✔')} Booked step ${n} of plan ${plan.id} for ${step.booked_at} at ${clinic!.name} (${clinic!.timezone}).`);
    return 0;
  });
}
