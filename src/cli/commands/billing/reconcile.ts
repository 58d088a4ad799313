import type { Context } from '../../context.js';
import { withStore } from '../../store.js';
import { resolveWorkspace } from '../../workspace.js';
import { chargingContext } from '../../billing.js';
import { readSettings } from '../../../registry/settings.js';
import { reconcile } from '../../../billing/reconcile.js';

export async function run(ctx: Context): Promise<number> {
  const settings = readSettings(resolveWorkspace(ctx));
  return withStore(ctx, async (store) => {
    const charging = chargingContext(ctx, store, settings);
    let differences;
    try {
      differences = await reconcile(store, charging.gateway);
    } finally {
      charging.gateway.close();
    }
    if (ctx.options.json) ctx.json({ gateway: charging.gateway.name, ok: differences.length === 0, differences });
    else if (differences.length === 0) ctx.out(`${ctx.color.green('✔')} Every charge matches the ${charging.gateway.name} processor's records.`);
    else {
      for (const d of differences) ctx.out(`${d.idempotency_key}${d.plan_id !== null ? ` (plan ${d.plan_id})` : ''}: ${d.message}`);
      ctx.out(ctx.color.red(`✖ ${differences.length} difference${differences.length === 1 ? '' : 's'} with the ${charging.gateway.name} processor`));
    }
    return differences.length === 0 ? 0 : 1;
  });
}
