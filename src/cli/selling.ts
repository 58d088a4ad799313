import type { Context } from './context.js';
import { withStore } from './store.js';
import { NotFoundError } from '../errors.js';
import type { Registry } from '../registry/registry.js';
import { getClinic } from '../store/clinics.js';
import type { Clinic } from '../domain/records.js';

/** Where a listing's prices are read: the workspace's currency and locale, or with --clinic that clinic's own. */
export interface Selling {
  /** The currency prices are shown in. */
  currency: string;
  /** The currency of a single amount in templates and the catalog (txplan.yaml). */
  workspace: string;
  locale: string;
  clinic: Clinic | undefined;
}

export async function sellingAt(ctx: Context, registry: Registry, clinicId: string | undefined): Promise<Selling> {
  const { currency: workspace, locale } = registry.settings;
  if (clinicId === undefined) return { currency: workspace, workspace, locale, clinic: undefined };
  const clinic = await withStore(ctx, (store) => getClinic(store, clinicId));
  if (!clinic) throw new NotFoundError(`No clinic "${clinicId}"; "txplan clinic list --all" shows them`);
  return { currency: clinic.currency ?? workspace, workspace, locale: clinic.locale ?? locale, clinic };
}
