import type { Context } from '../../context.js';
import { withStore } from '../../store.js';
import { FailedError } from '../../../errors.js';
import { profileOf, runningPlans, updateClinic } from '../../../store/clinics.js';
import { recordAudit } from '../../../store/audit.js';
import { findClinic } from './find.js';

/**
 * Archives a clinic (hidden from "clinic list", no new plans; its plans and
 * history untouched) or brings it back. Archiving one where plans still run
 * takes --yes: those plans go on (visits, billing) at a clinic no one can
 * pick any more.
 */
export async function run(ctx: Context, id: string, archive: boolean): Promise<number> {
  const { message, clinic } = await withStore(ctx, (store) =>
    store.transaction(() => {
      const read = findClinic(store, id);
      const was = profileOf(read);
      if ((was.archived_at !== null) === archive) return { clinic: read, message: `Clinic ${read.id} is already ${archive ? 'archived' : 'in use'}; nothing changed.` };
      const running = archive ? runningPlans(store, read.id) : 0;
      if (running > 0 && !ctx.options.yes) {
        throw new FailedError(`Clinic ${read.id} still has ${running} running plan${running === 1 ? '' : 's'} (prescribed, active or paused); they would go on at an archived clinic. Finish or move them first, or add --yes to archive it anyway`, 'running_plans');
      }
      const at = ctx.now().toISOString();
      const next = { ...was, archived_at: archive ? at : null };
      if (!updateClinic(store, read, next)) throw new FailedError(`Clinic ${read.id} changed since you opened it; nothing was saved. Run the command again`, 'conflict');
      recordAudit(store, { at, actor: ctx.actor, action: archive ? 'clinic.archive' : 'clinic.unarchive', entity: 'clinic', entityId: read.id, before: { archived_at: was.archived_at }, after: { archived_at: next.archived_at } });
      const clinic = { ...read, ...next };
      if (!archive) return { clinic, message: `${ctx.color.green('✔')} Clinic ${read.id} is in use again: it is listed and takes new plans.` };
      const kept = running > 0 ? ` Its ${running} running plan${running === 1 ? ' goes' : 's go'} on unchanged.` : '';
      return { clinic, message: `${ctx.color.green('✔')} Archived clinic ${read.id}: hidden from "txplan clinic list" (see --all) and closed to new plans.${kept}` };
    }),
  );
  // Printed once the change is committed.
  if (ctx.options.json) ctx.json(clinic);
  else ctx.out(message);
  return 0;
}
