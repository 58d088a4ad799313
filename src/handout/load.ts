import type { Registry } from '../registry/registry.js';
import type { Store } from '../store/store.js';
import { loadPlanView } from '../plans/view.js';
import { paymentSummary } from '../billing/summary.js';
import { buildHandout, type Handout } from './view.js';
import type { PlanRow } from '../domain/records.js';

/** Reads what a plan's handout needs from the store and the registry, and builds its view model. */
export function loadHandout(store: Store, registry: Registry, plan: PlanRow, now: Date): Handout {
  return buildHandout({
    view: loadPlanView(store, plan),
    payment: paymentSummary(store, plan),
    catalog: { services: registry.services, products: registry.products },
    settings: registry.settings,
    now,
  });
}
