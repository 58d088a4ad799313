import type { Context } from '../../context.js';
import { withStore } from '../../store.js';
import { FailedError, UsageError } from '../../../errors.js';
import { formatInstant } from '../../../domain/instants.js';
import { futureBookings, profileOf, runningPlans, updateClinic, type ClinicProfile } from '../../../store/clinics.js';
import { recordAudit } from '../../../store/audit.js';
import { clinicTimeZone, currencyFlag, localeFlag, validate } from './add.js';
import { findClinic } from './find.js';

export interface EditClinicOptions {
  name?: string | undefined;
  address?: string | undefined;
  phone?: string | undefined;
  timezone?: string | undefined;
  currency?: string | undefined;
  locale?: string | undefined;
}

const FIELDS = ['name', 'address', 'phone', 'timezone', 'currency', 'locale'] as const;

/**
 * Changes a clinic's profile: only the fields given, written only if the row
 * still holds what was read, with one audit entry of before and after.
 */
export async function run(ctx: Context, id: string, opts: EditClinicOptions): Promise<number> {
  if (FIELDS.every((f) => opts[f] === undefined)) throw new UsageError(`Nothing to change; give at least one of ${FIELDS.map((f) => `--${f}`).join(', ')}`);
  // Flags are checked before the database is opened: a bad value is exit 2 and nothing is read or written.
  const timezone = opts.timezone === undefined ? undefined : clinicTimeZone(ctx, opts.timezone);
  const currency = opts.currency === undefined ? undefined : currencyFlag(opts.currency);
  const locale = opts.locale === undefined ? undefined : localeFlag(opts.locale);

  const { message, clinic } = await withStore(ctx, (store) =>
    store.transaction(() => {
      const read = findClinic(store, id);
      const was = profileOf(read);
      const fields = validate(read.id, { name: opts.name ?? was.name, address: opts.address ?? was.address ?? undefined, phone: opts.phone ?? was.phone ?? undefined });
      const next: ClinicProfile = {
        ...was,
        name: fields.name,
        address: fields.address,
        phone: fields.phone,
        timezone: timezone ?? was.timezone,
        currency: currency ?? was.currency,
        locale: locale ?? was.locale,
      };
      const changed = (Object.keys(next) as (keyof ClinicProfile)[]).filter((k) => next[k] !== was[k]);
      if (changed.length === 0) return { clinic: read, message: `Clinic ${read.id} already has these details; nothing changed.` };

      const notes: string[] = [];
      if (next.timezone !== was.timezone) {
        // Bookings are kept as the clinic's wall-clock time ("2026-12-03 10:00"), so after the change each is the same local time at another instant.
        const localNow = formatInstant(ctx.now(), was.timezone).slice(0, 16);
        const booked = futureBookings(store, read.id, localNow);
        if (booked > 0 && !ctx.options.yes) {
          throw new FailedError(
            `Clinic ${read.id} has ${plural(booked, 'booked visit')} from now on; a booking keeps its local time (10:00 stays 10:00), so each would fall at a different moment once the time zone is ${next.timezone}. See its plans with "txplan plan list --clinic ${read.id}", then add --yes to change the time zone anyway`,
            'future_bookings',
          );
        }
        if (booked > 0) notes.push(`${plural(booked, 'booked visit')} ${booked === 1 ? 'keeps its local time and now falls' : 'keep their local time and now fall'} in ${next.timezone} (a different moment than before); export ${booked === 1 ? 'its calendar' : 'their calendars'} again.`);
      }
      if (next.currency !== was.currency) {
        const running = runningPlans(store, read.id);
        if (running > 0) notes.push(`${plural(running, 'running plan')} ${running === 1 ? 'keeps the currency it was' : 'keep the currency they were'} sold in; new plans are sold in ${next.currency}.`);
      }

      if (!updateClinic(store, read, next)) {
        throw new FailedError(`Clinic ${read.id} changed since you opened it; nothing was saved. Run "txplan clinic list" and edit it again`, 'conflict');
      }
      const before = Object.fromEntries(changed.map((k) => [k, was[k]]));
      const after = Object.fromEntries(changed.map((k) => [k, next[k]]));
      recordAudit(store, { at: ctx.now().toISOString(), actor: ctx.actor, action: 'clinic.edit', entity: 'clinic', entityId: read.id, before, after });
      const message = [`${ctx.color.green('✔')} Changed clinic ${ctx.color.bold(read.id)}: ${changed.map((k) => `${k} ${show(was[k])} → ${show(next[k])}`).join(', ')}.`, ...notes].join('\n');
      return { clinic: { ...read, ...next }, message };
    }),
  );
  // Printed once the change is committed.
  if (ctx.options.json) ctx.json(clinic);
  else ctx.out(message);
  return 0;
}

function show(value: string | null): string {
  return value === null ? '(none)' : `"${value}"`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
