import type { Context } from './context.js';
import { databasePath } from './store.js';
import { resolveWorkspace } from './workspace.js';
import type { ResolvedSettings } from '../registry/settings.js';
import type { Store } from '../store/store.js';
import { gatewayFor } from '../billing/gateways/index.js';
import type { ChargingContext } from '../billing/charging.js';

/** The processor and billing settings for a command that takes money. The caller closes the gateway. */
export function chargingContext(ctx: Context, store: Store, settings: ResolvedSettings): ChargingContext {
  const gateway = gatewayFor(settings, databasePath(ctx, () => resolveWorkspace(ctx)), ctx.now);
  return { store, gateway, retryDays: settings.billing.retry_days, actor: ctx.actor, now: ctx.now };
}
