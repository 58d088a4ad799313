import type { Context } from '../../context.js';
import { findPlan, withStore } from '../../store.js';
import { UsageError } from '../../../errors.js';
import { bookStep, parseDateTime, parseStepNumber } from '../../../plans/steps.js';
import { getAttachments } from '../../../store/plans.js';
import { getClinic } from '../../../store/clinics.js';
import { stepJson } from './step.js';

export async function run(ctx: Context, ref: string, nText: string, opts: { at?: string; force?: boolean; clear?: boolean }): Promise<number> {
  const n = parseStepNumber(nText);
  if (n === undefined) throw new UsageError(`"${nText}" is not a step number; steps are numbered from 1 (see "txplan plan schedule ${ref}")`);
  if (opts.clear && opts.at !== undefined) throw new UsageError('Give either --at to book a time or --clear to remove the booking, not both');
  if (opts.clear && opts.force) throw new UsageError('--force books a time outside the plan\'s dates; leave it out with --clear');
  if (!opts.clear && opts.at === undefined) throw new UsageError('Missing --at "YYYY-MM-DD HH:MM", the booked time at the clinic (or --clear to remove the booking)');
  const at = opts.at !== undefined ? parseDateTime(opts.at) : null;
  if (at === undefined) throw new UsageError(`--at "${opts.at}" is not a date and time; write it as "YYYY-MM-DD HH:MM" (24-hour, the clinic's local time)`);

  return withStore(ctx, (store) => {
    const plan = findPlan(store, ref);
    const clinic = plan.clinic_id ? getClinic(store, plan.clinic_id) : undefined;
    const { step, changed, previous } = bookStep(store, plan, { n, at, timeZone: clinic?.timezone, force: opts.force ?? false }, { actor: ctx.actor, now: ctx.now() });
    if (ctx.options.json) ctx.json({ ...stepJson(plan.id, step, getAttachments(store, plan.id)), previous_booking: previous });
    else if (!changed) ctx.out(step.booked_at ? `Step ${n} of plan ${plan.id} is already booked for ${step.booked_at}; nothing changed.` : `Step ${n} of plan ${plan.id} has no booking; nothing changed.`);
    else if (!step.booked_at) ctx.out(`${ctx.color.green('✔')} Cleared the booking of step ${n} of plan ${plan.id} (was ${previous}).`);
    else {
      const was = previous ? ` (was ${previous}, now ${step.booked_at})` : '';
      ctx.out(`${ctx.color.green('✔')} Booked step ${n} of plan ${plan.id} for ${step.booked_at} at ${clinic!.name} (${clinic!.timezone})${was}.`);
    }
    return 0;
  });
}
