import { NotFoundError } from '../../../errors.js';
import { getClinic } from '../../../store/clinics.js';
import type { Store } from '../../../store/store.js';
import type { Clinic } from '../../../domain/records.js';

/** The clinic named on the command line; an unknown id is a refusal (exit 1), as everywhere a clinic is looked up. */
export function findClinic(store: Store, id: string): Clinic {
  const clinic = getClinic(store, id);
  if (!clinic) throw new NotFoundError(`No clinic "${id}"; "txplan clinic list --all" shows them`);
  return clinic;
}
