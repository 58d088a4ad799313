import type { Context } from '../../context.js';
import { withStore } from '../../store.js';
import { workspaceZone } from '../../workspace.js';
import { CancelledError, UsageError } from '../../../errors.js';
import { billingLock, describeHolder, unlockBilling } from '../../../billing/lock.js';

/**
 * Removes the billing lock by hand, for the case nothing else foresaw (a run
 * on another computer that will never come back). Asks on a terminal; off
 * one, only with --yes. Audited as billing.unlock.
 */
export async function run(ctx: Context): Promise<number> {
  return withStore(ctx, async (store) => {
    const lock = billingLock(store);
    if (!lock) {
      if (ctx.options.json) ctx.json({ id: null, unlocked: null });
      else ctx.out('No billing lock is held; nothing to do.');
      return 0;
    }
    const shown = describeHolder(lock, lock.state, workspaceZone(ctx));
    if (!ctx.options.yes) {
      if (!ctx.interactive) throw new UsageError(`The billing lock is ${shown}; removing it needs a confirmation: run "txplan billing unlock" on a terminal, or add --yes`);
      const warning = lock.state === 'alive' ? ' That process is still running: a second run could then bill beside it.' : '';
      if (!(await (await ctx.prompter()).confirm(`The billing lock is ${shown}.${warning} Remove it?`, false))) throw new CancelledError();
    }
    const removed = unlockBilling(store, { actor: ctx.actor, now: ctx.now() });
    if (ctx.options.json) ctx.json({ id: 1, unlocked: removed ? { pid: removed.pid, host: removed.host, since: removed.started_at, state: lock.state } : null });
    else ctx.out(removed ? `${ctx.color.green('✔')} Removed the billing lock (${shown}).` : 'No billing lock is held any more; nothing to do.');
    return 0;
  });
}
