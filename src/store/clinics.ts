import type { Store } from './store.js';
import type { Clinic } from '../domain/records.js';

export function insertClinic(store: Store, clinic: Clinic): void {
  store
    .statement('INSERT INTO clinics (id, name, timezone, address, phone, created_at, currency, locale, archived_at) VALUES (@id, @name, @timezone, @address, @phone, @created_at, @currency, @locale, @archived_at)')
    .run({ ...clinic, currency: clinic.currency ?? null, locale: clinic.locale ?? null, archived_at: clinic.archived_at ?? null });
}

export function getClinic(store: Store, id: string): Clinic | undefined {
  return store.statement<[string], Clinic>('SELECT * FROM clinics WHERE id = ?').get(id);
}

/** The clinics in use, or with `all` the archived ones too. */
export function listClinics(store: Store, options: { all?: boolean } = { all: true }): Clinic[] {
  return store.statement<[number], Clinic>('SELECT * FROM clinics WHERE ? = 1 OR archived_at IS NULL ORDER BY id').all(options.all ? 1 : 0);
}

export type ClinicProfile = Pick<Clinic, 'name' | 'timezone' | 'address' | 'phone'> & { currency: string | null; locale: string | null; archived_at: string | null };

/**
 * Writes `next` over the clinic only if its row still holds what was `read`
 * (no lost update: another desk's edit in between leaves this one unwritten).
 * Returns whether it was written.
 */
export function updateClinic(store: Store, read: Clinic, next: ClinicProfile): boolean {
  const was = profileOf(read);
  const result = store
    .statement(
      `UPDATE clinics SET name = @name, timezone = @timezone, address = @address, phone = @phone, currency = @currency, locale = @locale, archived_at = @archived_at
       WHERE id = @id AND name = @was_name AND timezone = @was_timezone
         AND ((address IS NULL AND @was_address IS NULL) OR address = @was_address)
         AND ((phone IS NULL AND @was_phone IS NULL) OR phone = @was_phone)
         AND ((currency IS NULL AND @was_currency IS NULL) OR currency = @was_currency)
         AND ((locale IS NULL AND @was_locale IS NULL) OR locale = @was_locale)
         AND ((archived_at IS NULL AND @was_archived_at IS NULL) OR archived_at = @was_archived_at)`,
    )
    .run({
      id: read.id,
      ...next,
      was_name: was.name,
      was_timezone: was.timezone,
      was_address: was.address,
      was_phone: was.phone,
      was_currency: was.currency,
      was_locale: was.locale,
      was_archived_at: was.archived_at,
    });
  return result.changes === 1;
}

export function profileOf(clinic: Clinic): ClinicProfile {
  return { name: clinic.name, timezone: clinic.timezone, address: clinic.address, phone: clinic.phone, currency: clinic.currency ?? null, locale: clinic.locale ?? null, archived_at: clinic.archived_at ?? null };
}

/** The time zone of a plan's clinic, or `fallback` when it has none (a prescribed plan). */
export function clinicZone(store: Store, clinicId: string | null, fallback: string): string {
  return (clinicId ? getClinic(store, clinicId)?.timezone : undefined) ?? fallback;
}

/** The locale money is written in for a plan of this clinic, or `fallback` when it has none or sets none. */
export function clinicLocale(store: Store, clinicId: string | null, fallback: string): string {
  return (clinicId ? getClinic(store, clinicId)?.locale : undefined) ?? fallback;
}

/** How many booked visits of the clinic's active or paused plans fall at or after `now` (an ISO instant). */
export function futureBookings(store: Store, clinicId: string, now: string): number {
  const row = store
    .statement<[string, string], { n: number }>(
      `SELECT count(*) AS n FROM steps JOIN plans ON plans.id = steps.plan_id
       WHERE plans.clinic_id = ? AND steps.booked_at IS NOT NULL AND steps.booked_at >= ? AND steps.status = 'pending' AND plans.status IN ('active', 'paused', 'past_due')`,
    )
    .get(clinicId, now);
  return Number(row?.n ?? 0);
}

/** How many plans of the clinic are still running (prescribed, active or paused). */
export function runningPlans(store: Store, clinicId: string): number {
  const row = store
    .statement<[string], { n: number }>(`SELECT count(*) AS n FROM plans WHERE clinic_id = ? AND status IN ('prescribed', 'active', 'paused', 'past_due')`)
    .get(clinicId);
  return Number(row?.n ?? 0);
}

/** The locale of each plan whose clinic sets one, by plan id: money in listings is written the plan's clinic's way. */
export function planLocales(store: Store): Map<number, string> {
  const rows = store.statement<[], { id: number; locale: string }>('SELECT plans.id AS id, clinics.locale AS locale FROM plans JOIN clinics ON clinics.id = plans.clinic_id WHERE clinics.locale IS NOT NULL').all();
  return new Map(rows.map((r) => [Number(r.id), r.locale]));
}
