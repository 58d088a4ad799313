import { addDays, addMonths, formatDate, parseDate } from './dates.js';
import type { PlanStatus } from './records.js';

/**
 * The practice report: how each template, and each clinic, did over a period.
 * Every figure is computed here, by `computeReport`, from plain rows the store
 * reads (src/store/report.ts, grouped in SQL at the grain below) and the rows of
 * the billing forecast; nothing here reads a database or a clock.
 *
 * Which date puts what in the period [from, to] (both clinic-local calendar
 * dates, inclusive):
 * - a plan by its `start_date`, the day its program started (a plan only
 *   prescribed, with no start date, has not started and is not counted). The
 *   plans started in the period are followed to their status today: the
 *   report's plan figures are of that cohort.
 * - a visit (a step) by its recommended date.
 * - a charge by its due date — the date it was asked for, as billing dates
 *   installments; a declined charge paid later by a retry stays in the month it
 *   was due.
 * - a refund by the (UTC) date it was made, as `billing forecast` takes refunds
 *   off their month.
 * - forecast revenue by the month `billing forecast` expects it in: only the
 *   months from today's on are forecast.
 *
 * Money is in integer minor units and always keyed by currency: a group may
 * sell in several, and different currencies are never added together.
 */

/** Both inclusive, YYYY-MM-DD. */
export interface ReportPeriod {
  from: string;
  to: string;
}

/** Plans of one template and clinic that share a start date, status and cancellation reason. */
export interface ReportPlanRow {
  template_id: string;
  clinic_id: string | null;
  start_date: string;
  status: PlanStatus;
  cancel_reason: string | null;
  plans: number;
}

/** Visits of one template and clinic that share their recommended date, status, completion date and whether an outcome was written. */
export interface ReportVisitRow {
  template_id: string;
  clinic_id: string | null;
  /** The plan is cancelled: a visit of it still pending will never happen. */
  plan_cancelled: 0 | 1;
  recommended_date: string;
  status: 'pending' | 'done' | 'skipped';
  completed_on: string | null;
  /** 1 when the visit was done with a non-empty outcome. */
  with_outcome: 0 | 1;
  visits: number;
}

/** Charges of one template and clinic that share their currency, due date, status and whether a first attempt was declined. */
export interface ReportChargeRow {
  template_id: string;
  clinic_id: string | null;
  currency: string;
  due_date: string;
  status: 'pending' | 'succeeded' | 'failed';
  /** 1 when the charge needed more than one attempt (every attempt after the first follows a decline). */
  retried: 0 | 1;
  charges: number;
  amount_minor: number;
}

/** Refunds that went through, of one template and clinic, currency and day. */
export interface ReportRefundRow {
  template_id: string;
  clinic_id: string | null;
  currency: string;
  /** YYYY-MM-DD (UTC) the refund was made. */
  date: string;
  amount_minor: number;
}

/** Revenue `billing forecast` expects from one template and clinic in a month (installments, visits and retries; refunds are counted as refunds). */
export interface ReportForecastRow {
  template_id: string;
  clinic_id: string | null;
  currency: string;
  /** YYYY-MM. */
  month: string;
  amount_minor: number;
}

export interface ReportRows {
  plans: readonly ReportPlanRow[];
  visits: readonly ReportVisitRow[];
  charges: readonly ReportChargeRow[];
  refunds: readonly ReportRefundRow[];
  forecast: readonly ReportForecastRow[];
}

/** A visit done more than this many days after its recommended date was late. */
export const LATE_AFTER_DAYS = 7;

export interface Money {
  /** Charges due in the period that succeeded (recovered ones included). */
  collected_minor: number;
  /** Refunds made in the period that went through. */
  refunded_minor: number;
  /** Collected less refunded. */
  net_minor: number;
  /** Charges due in the period still declined (owed, awaiting a retry or a new card). */
  outstanding_minor: number;
  /** What `billing forecast` expects over the period's months from today's on. */
  forecast_minor: number;
}

export interface Figures {
  plans: {
    /** Plans whose start date is in the period. */
    started: number;
    /** Of those, running today: active, paused or past due. */
    active: number;
    completed: number;
    cancelled: number;
    /** completed / (completed + cancelled): of the plans that ended, the share that ended complete; null when none ended. */
    completion_rate: number | null;
    /** The cancelled ones' reasons, grouped ignoring case and surrounding spaces, most frequent first (then alphabetically). */
    cancellation_reasons: Array<{ reason: string; plans: number }>;
  };
  visits: {
    /** Visits recommended in the period: on_time + late + skipped + pending. */
    due: number;
    /** Done no later than LATE_AFTER_DAYS after the recommended date (earlier counts as on time). */
    on_time: number;
    /** Done more than LATE_AFTER_DAYS after it. */
    late: number;
    skipped: number;
    /** Neither done nor skipped yet, on a plan not cancelled (pending visits of cancelled plans are left out). */
    pending: number;
    /** Done visits (on time or late) with an outcome written. */
    outcomes: number;
  };
  payments: {
    /** Charges due in the period, whatever their state. */
    charges: number;
    /** Of those, charges whose first attempt was declined (still failed, or retried). */
    declined: number;
    /** Declined charges a retry later paid. */
    recovered: number;
    /** declined / charges; null without charges. */
    failed_rate: number | null;
    /** recovered / declined; null when nothing was declined. */
    recovery_rate: number | null;
  };
  /** Keyed by currency (ISO code), in code order. */
  money: Record<string, Money>;
}

export interface TemplateFigures extends Figures {
  template_id: string;
}

export interface ClinicFigures extends Figures {
  /** null for plans not tied to a clinic. */
  clinic_id: string | null;
}

export interface MonthFigures {
  /** YYYY-MM */
  month: string;
  /** Keyed by currency; every currency of the report appears in every month. */
  money: Record<string, { collected_minor: number; refunded_minor: number; forecast_minor: number }>;
}

export interface Report {
  from: string;
  to: string;
  today: string;
  /** Every currency the report's money is in, in code order. */
  currencies: string[];
  totals: Figures;
  /** By template id. */
  templates: TemplateFigures[];
  /** By clinic id, plans with no clinic last. */
  clinics: ClinicFigures[];
  /** Each calendar month the period touches, in order. */
  months: MonthFigures[];
}

/** Every figure of the report, from the store's rows, for the period as seen on `today` (YYYY-MM-DD). */
export function computeReport(rows: ReportRows, period: ReportPeriod, today: string): Report {
  const inPeriod = (date: string) => date >= period.from && date <= period.to;
  const templates = new Map<string, Tally>();
  const clinics = new Map<string, Tally>();
  const totals = new Tally();
  const currencies = new Set<string>();
  const months = monthsOf(period);
  const monthly = new Map<string, Map<string, { collected_minor: number; refunded_minor: number; forecast_minor: number }>>(months.map((m) => [m, new Map()]));
  const tallies = (row: { template_id: string; clinic_id: string | null }): Tally[] => [
    getOr(templates, row.template_id, () => new Tally()),
    getOr(clinics, clinicKey(row.clinic_id), () => new Tally()),
    totals,
  ];
  const monthMoney = (month: string, currency: string) => {
    const byCurrency = monthly.get(month);
    return byCurrency ? getOr(byCurrency, currency, () => ({ collected_minor: 0, refunded_minor: 0, forecast_minor: 0 })) : undefined;
  };

  for (const row of rows.plans) {
    if (!inPeriod(row.start_date)) continue;
    for (const t of tallies(row)) t.plan(row);
  }
  for (const row of rows.visits) {
    if (!inPeriod(row.recommended_date)) continue;
    const kind = visitKind(row);
    if (!kind) continue;
    for (const t of tallies(row)) t.visit(kind, row);
  }
  for (const row of rows.charges) {
    if (!inPeriod(row.due_date)) continue;
    currencies.add(row.currency);
    for (const t of tallies(row)) t.charge(row);
    if (row.status === 'succeeded') monthMoney(row.due_date.slice(0, 7), row.currency)!.collected_minor += row.amount_minor;
  }
  for (const row of rows.refunds) {
    if (!inPeriod(row.date)) continue;
    currencies.add(row.currency);
    for (const t of tallies(row)) t.money(row.currency).refunded_minor += row.amount_minor;
    monthMoney(row.date.slice(0, 7), row.currency)!.refunded_minor += row.amount_minor;
  }
  const firstForecast = today.slice(0, 7);
  for (const row of rows.forecast) {
    const month = monthMoney(row.month, row.currency);
    if (!month || row.month < firstForecast) continue;
    currencies.add(row.currency);
    for (const t of tallies(row)) t.money(row.currency).forecast_minor += row.amount_minor;
    month.forecast_minor += row.amount_minor;
  }

  const codes = [...currencies].sort();
  return {
    from: period.from,
    to: period.to,
    today,
    currencies: codes,
    totals: totals.figures(codes),
    templates: [...templates.keys()].sort().map((id) => ({ template_id: id, ...templates.get(id)!.figures(codes) })),
    clinics: [...clinics.keys()]
      .sort((a, b) => (a === NO_CLINIC ? 1 : b === NO_CLINIC ? -1 : a < b ? -1 : a > b ? 1 : 0))
      .map((key) => ({ clinic_id: key === NO_CLINIC ? null : key, ...clinics.get(key)!.figures(codes) })),
    months: months.map((month) => ({
      month,
      money: Object.fromEntries(codes.map((c) => [c, monthly.get(month)!.get(c) ?? { collected_minor: 0, refunded_minor: 0, forecast_minor: 0 }])),
    })),
  };
}

/** The calendar months (YYYY-MM) from the period's first to its last, in order. */
export function monthsOf(period: ReportPeriod): string[] {
  const first = parseDate(`${period.from.slice(0, 7)}-01`)!;
  const last = period.to.slice(0, 7);
  const out: string[] = [];
  for (let i = 0; ; i++) {
    const month = formatDate(addMonths(first, i)).slice(0, 7);
    if (month > last) return out;
    out.push(month);
  }
}

/** A rate rounded to four decimals, or null with nothing to divide by. */
export function rate(part: number, whole: number): number | null {
  return whole === 0 ? null : Math.round((part / whole) * 10000) / 10000;
}

type VisitKind = 'on_time' | 'late' | 'skipped' | 'pending';

function visitKind(row: ReportVisitRow): VisitKind | undefined {
  if (row.status === 'skipped') return 'skipped';
  if (row.status === 'pending') return row.plan_cancelled ? undefined : 'pending';
  const recommended = parseDate(row.recommended_date)!;
  const deadline = formatDate(addDays(recommended, LATE_AFTER_DAYS));
  // A visit recorded done without a date is taken as done on time.
  return row.completed_on === null || row.completed_on.slice(0, 10) <= deadline ? 'on_time' : 'late';
}

const NO_CLINIC = '\u0000';
const clinicKey = (id: string | null) => id ?? NO_CLINIC;

function getOr<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = make();
    map.set(key, value);
  }
  return value;
}

/** The running sums of one group (a template, a clinic, or all). */
class Tally {
  private readonly plans = { started: 0, active: 0, completed: 0, cancelled: 0 };
  /** By folded reason: the first spelling seen, and the count. */
  private readonly reasons = new Map<string, { reason: string; plans: number }>();
  private readonly visits = { on_time: 0, late: 0, skipped: 0, pending: 0, outcomes: 0 };
  private readonly payments = { charges: 0, declined: 0, recovered: 0 };
  private readonly byCurrency = new Map<string, Money>();

  plan(row: ReportPlanRow): void {
    this.plans.started += row.plans;
    if (row.status === 'active' || row.status === 'paused' || row.status === 'past_due') this.plans.active += row.plans;
    else if (row.status === 'completed') this.plans.completed += row.plans;
    else if (row.status === 'cancelled') {
      this.plans.cancelled += row.plans;
      const reason = (row.cancel_reason ?? '').trim().replace(/\s+/g, ' ') || '(no reason given)';
      getOr(this.reasons, reason.toLowerCase(), () => ({ reason, plans: 0 })).plans += row.plans;
    }
  }

  visit(kind: VisitKind, row: ReportVisitRow): void {
    this.visits[kind] += row.visits;
    if ((kind === 'on_time' || kind === 'late') && row.with_outcome) this.visits.outcomes += row.visits;
  }

  charge(row: ReportChargeRow): void {
    this.payments.charges += row.charges;
    if (row.status === 'failed' || row.retried) this.payments.declined += row.charges;
    if (row.status === 'succeeded' && row.retried) this.payments.recovered += row.charges;
    const money = this.money(row.currency);
    if (row.status === 'succeeded') money.collected_minor += row.amount_minor;
    if (row.status === 'failed') money.outstanding_minor += row.amount_minor;
  }

  money(currency: string): Money {
    return getOr(this.byCurrency, currency, () => ({ collected_minor: 0, refunded_minor: 0, net_minor: 0, outstanding_minor: 0, forecast_minor: 0 }));
  }

  /** The group's figures; its money in every one of `currencies` it has any in. */
  figures(currencies: readonly string[]): Figures {
    const money: Record<string, Money> = {};
    for (const code of currencies) {
      const m = this.byCurrency.get(code);
      if (m) money[code] = { ...m, net_minor: m.collected_minor - m.refunded_minor };
    }
    return {
      plans: {
        ...this.plans,
        completion_rate: rate(this.plans.completed, this.plans.completed + this.plans.cancelled),
        cancellation_reasons: [...this.reasons.values()].sort((a, b) => b.plans - a.plans || (a.reason.toLowerCase() < b.reason.toLowerCase() ? -1 : 1)),
      },
      visits: { due: this.visits.on_time + this.visits.late + this.visits.skipped + this.visits.pending, ...this.visits },
      payments: { ...this.payments, failed_rate: rate(this.payments.declined, this.payments.charges), recovery_rate: rate(this.payments.recovered, this.payments.declined) },
      money,
    };
  }
}
