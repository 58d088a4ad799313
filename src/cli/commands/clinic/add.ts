import type { Context } from '../../context.js';
import { withStore } from '../../store.js';
import { resolveWorkspace } from '../../workspace.js';
import { readSettings } from '../../../registry/settings.js';
import { isTimeZone } from '../../../domain/dates.js';
import { checkClinic, clinicCurrency, clinicLocale, type ClinicFields } from '../../../domain/clinic.js';
import { isCurrency } from '../../../domain/money.js';
import { getClinic, insertClinic } from '../../../store/clinics.js';
import { recordAudit } from '../../../store/audit.js';
import { FailedError, UsageError } from '../../../errors.js';
import type { Clinic } from '../../../domain/records.js';

export interface AddClinicOptions {
  name?: string | undefined;
  timezone?: string | undefined;
  address?: string | undefined;
  phone?: string | undefined;
  currency?: string | undefined;
  locale?: string | undefined;
}

export async function run(ctx: Context, id: string, opts: AddClinicOptions): Promise<number> {
  const name = opts.name ?? (await askName(ctx));
  const fields = validate(id, { ...opts, name });
  const timezone = clinicTimeZone(ctx, opts.timezone);
  const currency = opts.currency === undefined ? null : currencyFlag(opts.currency);
  const locale = opts.locale === undefined ? null : localeFlag(opts.locale);

  const clinic: Clinic = { id: fields.id, name: fields.name, timezone, address: fields.address, phone: fields.phone, created_at: ctx.now().toISOString(), currency, locale, archived_at: null };
  await withStore(ctx, (store) =>
    store.transaction(() => {
      if (getClinic(store, clinic.id)) throw new FailedError(`Clinic "${clinic.id}" already exists; choose another id ("txplan clinic list" shows the clinics)`, 'exists');
      insertClinic(store, clinic);
      recordAudit(store, { at: clinic.created_at, actor: ctx.actor, action: 'clinic.add', entity: 'clinic', entityId: clinic.id, after: clinic });
    }),
  );

  if (ctx.options.json) ctx.json(clinic);
  else ctx.out(`${ctx.color.green('✔')} Added clinic ${ctx.color.bold(clinic.id)} (${clinic.name}, ${[clinic.timezone, clinic.currency, clinic.locale].filter(Boolean).join(', ')}).`);
  return 0;
}

async function askName(ctx: Context): Promise<string> {
  if (!ctx.interactive) throw new UsageError('Missing --name; give the clinic its name, e.g. --name "Lumen Downtown"');
  const prompter = await ctx.prompter();
  return prompter.input('Clinic name:', { validate: (v) => (v.trim() ? true : 'Write the name patients know the clinic by.') });
}

/** --currency: an ISO 4217 code (the plans sold at the clinic are in it). */
export function currencyFlag(text: string): string {
  const checked = clinicCurrency(text, isCurrency);
  if ('error' in checked) throw new UsageError(`--currency ${checked.error}`);
  return checked.currency;
}

/** --locale: a BCP 47 tag the runtime can format money in. */
export function localeFlag(text: string): string {
  const checked = clinicLocale(text);
  if ('error' in checked) throw new UsageError(`--locale ${checked.error}`);
  return checked.locale;
}

export function validate(id: string, input: { name: string; address?: string | undefined; phone?: string | undefined }): ClinicFields {
  const check = checkClinic({ id, name: input.name, address: input.address, phone: input.phone });
  if (check.ok) return check.clinic;
  // A card number is refused input (exit 1); any other bad value is a malformed argument (exit 2).
  const card = check.problems.find((p) => p.code === 'card_number');
  if (card) throw new FailedError(`--${card.field} ${card.message}`, 'card_number');
  const [first] = check.problems;
  const what = first!.field === 'id' ? `The clinic id "${id}"` : `--${first!.field}`;
  throw new UsageError(`${what} ${first!.message}`);
}

/** --timezone, else the workspace's default (SPEC §2); either must be an IANA zone. */
export function clinicTimeZone(ctx: Context, flag: string | undefined): string {
  if (flag !== undefined) {
    const zone = flag.trim();
    if (!isTimeZone(zone) || zone === '') throw new UsageError(`--timezone "${flag}" is not an IANA time zone; use one such as America/New_York or Europe/London`);
    return canonicalZone(zone);
  }
  const workspace = resolveWorkspace(ctx);
  const zone = readSettings(workspace).timezone;
  if (!isTimeZone(zone)) {
    throw new FailedError(`The default timezone "${zone}" in ${workspace.settingsFile} is not an IANA time zone; fix it there or pass --timezone, e.g. --timezone America/New_York`, 'invalid_timezone');
  }
  return canonicalZone(zone);
}

/** Intl accepts "europe/oslo"; store the zone as the tz database spells it. */
function canonicalZone(zone: string): string {
  return new Intl.DateTimeFormat('en', { timeZone: zone }).resolvedOptions().timeZone;
}
