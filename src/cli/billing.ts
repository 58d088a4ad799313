import { processorLabel } from '../billing/gateway.js';
import type { Context } from './context.js';
import { existsSync } from 'node:fs';
import { FailedError } from '../errors.js';
import { settingsErrors } from '../registry/validate.js';
import { highWaterOf } from './store.js';
import { resolveWorkspace } from './workspace.js';
import type { ResolvedSettings } from '../registry/settings.js';
import type { Store } from '../store/store.js';
import { gatewayFor } from '../billing/gateways/index.js';
import type { ChargingContext } from '../billing/charging.js';
import type { Gateway } from '../billing/gateway.js';
import { assertBillingOpen } from '../billing/hold.js';
import { databaseId } from '../store/database-info.js';
import { recordIssued } from '../store/high-water.js';

/**
 * The processor and billing settings for a command that takes money (refused
 * while billing is held after a restore), or only looks at the processor
 * (`look-up`: reconcile, checking a payment method). The caller closes the gateway.
 */
export function chargingContext(ctx: Context, store: Store, settings: ResolvedSettings, purpose: 'charge' | 'look-up' = 'charge'): ChargingContext {
  if (purpose === 'charge') assertBillingOpen(store);
  refuseBrokenSettings(ctx);
  const id = databaseId(store);
  const gateway = gatewayFor(settings, { store, databasePath: store.kind === 'sqlite' ? store.name : '', databaseId: id, env: ctx.env, now: ctx.now });
  refuseLiveGatewayUnderSimulatedClock(ctx, gateway);
  return {
    store,
    gateway,
    retryDays: settings.billing.retry_days,
    actor: ctx.actor,
    now: ctx.now,
    databaseId: id,
    issued: () => {
      const mark = highWaterOf(store);
      if (mark) recordIssued(store, mark, ctx.now().toISOString());
    },
  };
}

/** A simulated clock is for rehearsals: a processor that moves real money is closed and refused under it. */
export function refuseLiveGatewayUnderSimulatedClock(ctx: Pick<Context, 'simulatedNow'>, gateway: Pick<Gateway, 'name' | 'live' | 'close'>): void {
  if (!ctx.simulatedNow || !gateway.live) return;
  gateway.close();
  throw new FailedError(`TXPLAN_NOW is set, and the ${processorLabel(gateway.name)} processor moves real money: a simulated clock is for rehearsals with the sandbox processor; unset TXPLAN_NOW, or set payments.gateway: sandbox in txplan.yaml`, 'simulated_clock_live');
}

/** A command that talks to the processor refuses a txplan.yaml with errors, rather than fall back to defaults (the sandbox). */
function refuseBrokenSettings(ctx: Context): void {
  let workspace;
  try {
    workspace = resolveWorkspace(ctx);
  } catch {
    return; // a database used without a workspace (--db) has only the defaults
  }
  if (!existsSync(workspace.settingsFile)) return;
  const [first, ...more] = settingsErrors(workspace, ctx.cwd);
  if (!first) return;
  throw new FailedError(`${first.file}:${first.line}: ${first.message}${more.length ? ` (and ${more.length} more)` : ''}; txplan takes no payment while its settings are broken — fix txplan.yaml ("txplan template validate" lists every problem)`, 'settings_invalid');
}
