import { processorLabel } from '../../../billing/gateway.js';
import type { Context } from '../../context.js';
import { withStore } from '../../store.js';
import { resolveWorkspace } from '../../workspace.js';
import { chargingContext } from '../../billing.js';
import { readSettings } from '../../../registry/settings.js';
import { acceptDifferences, liftHoldIfClean, reconcile, type Difference } from '../../../billing/reconcile.js';
import { billingHold } from '../../../store/database-info.js';

export async function run(ctx: Context, opts: { accept?: boolean } = {}): Promise<number> {
  const settings = readSettings(resolveWorkspace(ctx));
  return withStore(ctx, async (store) => {
    const charging = chargingContext(ctx, store, settings, 'look-up');
    let differences: Difference[];
    try {
      differences = await reconcile(store, charging.gateway);
    } finally {
      charging.gateway.close();
    }
    const gateway = charging.gateway.name;
    const name = processorLabel(gateway);
    const who = { actor: ctx.actor, now: ctx.now() };
    if (opts.accept) {
      const accepted = acceptDifferences(store, differences, who);
      if (ctx.options.json) ctx.json({ gateway, ok: accepted.remaining.length === 0, on_hold: false, acknowledged: accepted.acknowledged, differences: accepted.remaining });
      else {
        for (const key of accepted.acknowledged) ctx.out(`${key}: acknowledged (held by the processor, unknown to this database)`);
        for (const d of accepted.remaining) ctx.out(`${d.idempotency_key}${d.plan_id !== null ? ` (plan ${d.plan_id})` : ''}: ${d.message}`);
        const count = accepted.acknowledged.length;
        ctx.out(`${ctx.color.green('✔')} ${count} processor charge${count === 1 ? '' : 's'} acknowledged${accepted.wasHeld ? '; billing is open again' : ''}.`);
      }
      return accepted.remaining.length === 0 ? 0 : 1;
    }
    const lifted = liftHoldIfClean(store, differences, who);
    const onHold = billingHold(store) !== undefined;
    if (ctx.options.json) ctx.json({ gateway, ok: differences.length === 0, on_hold: onHold, differences });
    else {
      if (differences.length === 0) ctx.out(`${ctx.color.green('✔')} Every charge matches the ${name} processor's records.`);
      else {
        for (const d of differences) ctx.out(`${d.idempotency_key}${d.plan_id !== null ? ` (plan ${d.plan_id})` : ''}: ${d.message}`);
        ctx.out(ctx.color.red(`✖ ${differences.length} difference${differences.length === 1 ? '' : 's'} with the ${name} processor`));
      }
      if (lifted) ctx.out('Billing was on hold after a restore; nothing is missing from this database, so it is open again.');
      if (onHold) {
        ctx.out('Billing is on hold: this database is behind what the processor has seen (it was restored from an older copy). Check the charges above, then run "txplan billing reconcile --accept" to record that they were seen and resume billing.');
      }
    }
    return differences.length === 0 ? 0 : 1;
  });
}
