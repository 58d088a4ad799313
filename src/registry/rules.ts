import type { Amount, Catalog, Money, Settings, Template, When } from '../generated/schema-types.js';
import { approximateOffsetDays, describeDuration, describeWhen, isTimeZone, monthsWithin, whenFitsDuration } from '../domain/dates.js';
import { isCurrency, toMinor } from '../domain/money.js';
import { closest } from '../domain/text.js';
import { clinicLocale } from '../domain/clinic.js';
import { containsCardNumber } from '../domain/cards.js';
import { databaseSettingProblem } from '../store/location.js';
import type { Finding, PathSegment } from './diagnostics.js';
import { formatPath } from './diagnostics.js';

/**
 * The rules a schema cannot express. Each is a pure function of the parsed,
 * schema-valid document and returns findings by document path; the caller
 * places them in the source file.
 */
export interface CatalogIndex {
  services: ReadonlySet<string>;
  products: ReadonlySet<string>;
}

export interface TemplateContext {
  /** The file name without extension: the id the template must have. */
  fileId: string;
  currency: string;
  /** Undefined when the catalog could not be read: inventory is then not checked. */
  catalog: CatalogIndex | undefined;
}

export const MIN_MONTHLY_MONTHS = 3;

export function indexCatalog(catalog: Catalog): CatalogIndex {
  return { services: new Set(catalog.services.map((s) => s.id)), products: new Set(catalog.products.map((p) => p.sku)) };
}

export function checkTemplate(template: Template, context: TemplateContext): Finding[] {
  const findings: Finding[] = [];
  const add = (path: PathSegment[], code: string, message: string, severity: 'error' | 'warning' = 'error') =>
    findings.push({ path, code, message, severity });

  if (template.id !== context.fileId) {
    add(['id'], 'id-filename', `id is "${template.id}", but the file is named ${context.fileId}.yaml; rename the file to ${template.id}.yaml or set id: ${context.fileId}`);
  }

  const { duration } = template;
  if (template.type === 'monthly') {
    if (duration.months === undefined) {
      add(['duration'], 'monthly-duration-unit', `a monthly plan lasts whole months, but duration is ${describeDuration(duration)}; write duration: {months: ${Math.max(MIN_MONTHLY_MONTHS, Math.round((duration.weeks ?? 0) / 4.345))}}`);
    } else if (duration.months < MIN_MONTHLY_MONTHS) {
      add(['duration', 'months'], 'monthly-min-duration', `duration.months is ${duration.months}, but monthly plans last at least ${MIN_MONTHLY_MONTHS} months; lengthen it or make the plan pay-as-you-go`);
    }
    if (!template.pricing) {
      add(['type'], 'monthly-fee-missing', 'a monthly plan needs a monthly fee; add pricing: {monthly_fee: "199.00"}');
    }
  } else if (template.pricing) {
    findings.push({ path: ['pricing'], atKey: true, code: 'payg-has-fee', message: 'a pay-as-you-go plan has no monthly fee (each service is charged at its catalog price); remove pricing or set type: monthly' });
  }

  checkMoney(template.pricing?.monthly_fee, ['pricing', 'monthly_fee'], context.currency, findings);
  if (template.cancellation) {
    const { min_term_months: minTerm, early_fee: earlyFee } = template.cancellation;
    checkMoney(earlyFee, ['cancellation', 'early_fee'], context.currency, findings);
    if (earlyFee !== undefined && minTerm === undefined) {
      add(['cancellation', 'early_fee'], 'early-fee-without-term', 'cancellation.early_fee applies only inside a minimum term; add cancellation.min_term_months');
    }
    if (minTerm !== undefined && !monthsWithin(minTerm, duration)) {
      add(['cancellation', 'min_term_months'], 'min-term-exceeds-duration', `cancellation.min_term_months is ${minTerm}, but the plan lasts ${describeDuration(duration)}; shorten the minimum term`);
    }
  }

  const checkWhen = (when: When, path: PathSegment[], code: string) => {
    if (whenFitsDuration(when, duration)) return;
    const unit = when.week !== undefined ? 'week' : 'month';
    add([...path, 'when', unit], code, `${formatPath([...path, 'when', unit])} is ${when[unit]}, but the plan lasts ${describeDuration(duration)}; move it inside the plan or lengthen duration`);
  };
  template.schedule.forEach((entry, i) => checkWhen(entry.when, ['schedule', i], 'when-outside-duration'));
  template.milestones?.forEach((m, i) => checkWhen(m.when, ['milestones', i], 'milestone-outside-duration'));
  template.follow_up?.forEach((f, i) => checkWhen(f.when, ['follow_up', i], 'follow-up-outside-duration'));

  for (let i = 1; i < template.schedule.length; i++) {
    const previous = template.schedule[i - 1]!.when;
    const current = template.schedule[i]!.when;
    if (approximateOffsetDays(current) < approximateOffsetDays(previous)) {
      add(['schedule', i, 'when'], 'schedule-order', `schedule[${i}] (${describeWhen(current)}) comes before schedule[${i - 1}] (${describeWhen(previous)}); list visits in date order`, 'warning');
    }
  }

  if (context.catalog) {
    const { services, products } = context.catalog;
    const known = [...services];
    template.schedule.forEach((entry, i) => {
      entry.services.forEach((id, j) => {
        if (!services.has(id)) add(['schedule', i, 'services', j], 'unknown-service', unknownMessage(`schedule[${i}].services[${j}]`, id, 'service', known));
      });
      entry.alternatives?.forEach((id, j) => {
        if (!services.has(id)) add(['schedule', i, 'alternatives', j], 'unknown-alternative', unknownMessage(`schedule[${i}].alternatives[${j}]`, id, 'service', known));
        else if (entry.services.includes(id)) add(['schedule', i, 'alternatives', j], 'alternative-repeats-service', `schedule[${i}].alternatives[${j}] "${id}" is already one of the visit's services; remove it from alternatives`, 'warning');
      });
    });
    const skus = [...products];
    template.home_care?.forEach((item, i) => {
      if (item.product !== undefined && !products.has(item.product)) add(['home_care', i, 'product'], 'unknown-product', unknownMessage(`home_care[${i}].product`, item.product, 'product', skus));
    });
  }
  return findings;
}

function unknownMessage(where: string, id: string, kind: 'service' | 'product', known: readonly string[]): string {
  const guess = closest(id, known);
  return `${where} "${id}" is not a ${kind} in the catalog; ${guess ? `did you mean "${guess}"? Otherwise add` : 'add'} it to catalog.yaml first`;
}

/**
 * One amount (in the workspace currency) or amounts by currency: each code an
 * ISO 4217 currency, each amount within that currency's minor digits, and the
 * workspace currency among them — every clinic without a currency of its own,
 * and every listing, prices in it.
 */
function checkMoney(value: Money | undefined, path: PathSegment[], currency: string, findings: Finding[]): void {
  if (value === undefined) return;
  const precision = (amount: Amount, code: string, at: PathSegment[]) => {
    const parsed = toMinor(amount, code);
    if ('error' in parsed) findings.push({ path: at, code: 'money-precision', message: `${formatPath(at)} ${parsed.error}` });
  };
  if (typeof value !== 'object') return precision(value, currency, path);
  const codes = Object.keys(value);
  for (const code of codes) {
    if (!isCurrency(code)) {
      const upper = code.toUpperCase();
      findings.push({ path: [...path, code], atKey: true, code: 'money-currency', message: `${formatPath(path)} has "${code}", which is not an ISO 4217 currency code; ${isCurrency(upper) ? `write it in capitals: ${upper}` : 'use codes such as USD, EUR, NOK or JPY'}` });
    } else precision(value[code]!, code, [...path, code]);
  }
  if (!codes.includes(currency)) {
    findings.push({ path, code: 'money-workspace-currency', message: `${formatPath(path)} is priced in ${codes.join(', ')} but not in ${currency}, the workspace currency (txplan.yaml); add ${currency}: "…" so clinics without a currency of their own can sell it too` });
  }
}

export function checkCatalog(catalog: Catalog, currency: string): Finding[] {
  const findings: Finding[] = [];
  const firstSeen = new Map<string, number>();
  catalog.services.forEach((service, i) => {
    const first = firstSeen.get(service.id);
    if (first !== undefined) findings.push({ path: ['services', i, 'id'], code: 'catalog-duplicate-id', message: `service id "${service.id}" is already used by services[${first}]; give each service its own id` });
    else firstSeen.set(service.id, i);
    checkMoney(service.price, ['services', i, 'price'], currency, findings);
  });
  const firstSku = new Map<string, number>();
  catalog.products.forEach((product, i) => {
    const first = firstSku.get(product.sku);
    if (first !== undefined) findings.push({ path: ['products', i, 'sku'], code: 'catalog-duplicate-id', message: `product sku "${product.sku}" is already used by products[${first}]; give each product its own sku` });
    else firstSku.set(product.sku, i);
    checkMoney(product.price, ['products', i, 'price'], currency, findings);
  });
  return findings;
}

export function checkSettings(settings: Settings): Finding[] {
  const findings: Finding[] = [];
  if (settings.currency !== undefined && !isCurrency(settings.currency)) {
    findings.push({ path: ['currency'], code: 'settings-currency', message: `currency "${settings.currency}" is not an ISO 4217 currency code; use one such as USD, EUR or GBP` });
  }
  if (settings.locale !== undefined && 'error' in clinicLocale(settings.locale)) {
    findings.push({ path: ['locale'], code: 'settings-locale', message: `locale "${settings.locale}" is not a locale txplan can write money in; use a BCP 47 tag such as en-US, en-GB or nb-NO` });
  }
  if (settings.timezone !== undefined && !isTimeZone(settings.timezone)) {
    findings.push({ path: ['timezone'], code: 'settings-timezone', message: `timezone "${settings.timezone}" is not an IANA time zone; use one such as America/New_York or Europe/London` });
  }
  const database = settings.database === undefined ? undefined : databaseSettingProblem(settings.database);
  if (database) findings.push({ path: ['database'], code: 'settings-database', message: database });
  return findings;
}



/**
 * Any text of a parsed file (names, goal, description, notes, home care,
 * milestones, follow-ups, keys too) that holds a card number. Templates are
 * shared and kept in git history, where a number could never be removed.
 */
export function cardNumberFindings(data: unknown): Finding[] {
  const findings: Finding[] = [];
  const stack: Array<{ value: unknown; path: PathSegment[] }> = [{ value: data, path: [] }];
  while (stack.length > 0) {
    const { value, path } = stack.pop()!;
    if (typeof value === 'string') {
      if (containsCardNumber(value)) findings.push({ path, code: 'card-number', message: `${path.length ? formatPath(path) : 'this value'} holds what looks like a card number; remove it (txplan never keeps card numbers, and templates are shared and kept in git history)` });
    } else if (Array.isArray(value)) {
      value.forEach((item, index) => stack.push({ value: item, path: [...path, index] }));
    } else if (value !== null && typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) {
        if (containsCardNumber(key)) findings.push({ path: [...path, key], atKey: true, code: 'card-number', message: 'a key holds what looks like a card number; remove it (txplan never keeps card numbers)' });
        else stack.push({ value: item, path: [...path, key] });
      }
    }
  }
  return findings.reverse();
}
