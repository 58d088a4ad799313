import { createHash } from 'node:crypto';
import type { PaymentItem, PaymentSummary } from '../billing/summary.js';
import type { PlanView } from '../plans/view.js';
import type { Money, When } from '../generated/schema-types.js';
import { addMonths, describeDuration, describeWhen, formatDate, parseDate, recommendedDate, todayIn } from '../domain/dates.js';
import { formatMoney, toMinor } from '../domain/money.js';
import { amountIn } from '../domain/pricing.js';
import { differsFromPlan, performedOf } from '../domain/performed.js';
import type { PlanStatus } from '../domain/records.js';

/**
 * The patient handout as words, before any layout: every string a patient
 * reads, in the order they read it. Built by a pure function from what the
 * store and registry already hold, so it is tested without a PDF, and the
 * renderer only decides where things go.
 */
export interface Handout {
  planId: number;
  /** The clinic's local date on the clock given: printed in the footer and the PDF's metadata. */
  generatedOn: string;
  /** The language of the words (handoutLanguage): English in the clinic's region, e.g. en-NO; the PDF's and the web page's language tag. */
  language: string;
  clinic: { name: string; details: string[] };
  patient: string;
  /** The patient's record number (empty when none), printed beside a name the handout's fonts cannot show. */
  mrn: string;
  title: string;
  status: { code: PlanStatus; label: string };
  /** A sentence on what the status means for the patient (prescribed, paused, overdue, …); none when active. */
  notice: string | null;
  goal: string;
  description: string | null;
  duration: { length: string; starts: string | null; ends: string | null };
  schedule: ScheduleRow[];
  homeCare: HomeCareGroup[];
  milestones: TimedNote[];
  followUp: TimedNote[];
  payment: PaymentSection;
  /** Only for started programs with a minimum term. */
  cancellation: { terms: string[] } | null;
  agreement: { statement: string; signer: string } | null;
  footer: { plan: string; provenance: string; generated: string };
  metadata: { title: string; author: string; subject: string; creationDate: Date; id: string };
}

export type StepMark = 'done' | 'skipped' | 'pending' | 'cancelled';

export interface ScheduleRow {
  n: number;
  when: string;
  date: string | null;
  booked: { date: string; time: string } | null;
  services: string[];
  alternatives: string[];
  /** What the visit delivered, when it differs from what was planned (an alternative, or something else). */
  performed: string[] | null;
  note: string | null;
  visitNote: string | null;
  outcome: string | null;
  mark: StepMark;
  markLabel: string;
  markDate: string | null;
}

export type HomeCareTime = 'am' | 'pm' | 'daily' | 'weekly' | 'monthly' | 'as-needed';

export interface HomeCareGroup {
  time: HomeCareTime;
  title: string;
  items: Array<{ product: string | null; instructions: string }>;
}

export interface TimedNote {
  when: string;
  date: string | null;
  text: string;
}

export interface PaymentSection {
  type: 'monthly' | 'pay-as-you-go';
  /** The price in a few words, for the summary at the top: "$249.00 × 6 months", "Per visit". */
  headline: string;
  /** `amount` marks a value that is a sum of money or a date to pay, which the page sets in bold. */
  rows: Array<{ label: string; value: string; detail: string | null; amount: boolean }>;
  /** Pay-as-you-go: the price of each visit. */
  visits: Array<{ n: number; when: string; services: string; price: string }> | null;
}

export interface HandoutSources {
  view: PlanView;
  payment: PaymentSummary;
  catalog: { services: ReadonlyMap<string, { name: string }>; products: ReadonlyMap<string, { name: string }> };
  settings: { name?: string | undefined; timezone: string; locale?: string | undefined };
  now: Date;
}

/** Times of day in the order a patient lives them, with the heading each group gets. */
export const HOME_CARE_TIMES: ReadonlyArray<{ time: HomeCareTime; title: string }> = [
  { time: 'am', title: 'Morning (AM)' },
  { time: 'pm', title: 'Evening (PM)' },
  { time: 'daily', title: 'Every day' },
  { time: 'weekly', title: 'Once a week' },
  { time: 'monthly', title: 'Once a month' },
  { time: 'as-needed', title: 'As needed' },
];

const STATUS_LABELS: Record<PlanStatus, string> = {
  prescribed: 'Prescribed',
  active: 'Active',
  paused: 'Paused',
  past_due: 'Payment overdue',
  completed: 'Completed',
  cancelled: 'Cancelled',
};

/**
 * The language of the handout's words: English, in the clinic's region
 * (nb-NO → en-NO, en-GB → en-GB, de → en), so dates and times follow the
 * clinic's conventions ("3 Mar 2025", "14:30" in Oslo; "Mar 3, 2025",
 * "2:30 PM" in New York) and a screen reader reads the page in English.
 */
export function handoutLanguage(locale: string): string {
  try {
    const region = new Intl.Locale(locale).maximize().region;
    return region ? new Intl.Locale('en', { region }).toString() : 'en-US';
  } catch {
    return 'en-US';
  }
}

const dateFormats = new Map<string, Intl.DateTimeFormat>();

/** "2027-01-31" → "Jan 31, 2027" (en-US), "31 Jan 2027" (en-GB, en-NO). */
export function formatLongDate(iso: string, language = 'en-US'): string {
  const date = parseDate(iso);
  if (!date) return iso;
  let format = dateFormats.get(language);
  if (!format) dateFormats.set(language, (format = new Intl.DateTimeFormat(language, { year: 'numeric', month: 'short', day: 'numeric', timeZone: 'UTC' })));
  return format.format(new Date(Date.UTC(date.year, date.month - 1, date.day)));
}

/** A date as the handout writes it, in US English unless a language is given. */
export function longDate(iso: string, language = 'en-US'): string {
  return formatLongDate(iso, language);
}

/** "14:30" → "2:30 PM" where the clock has twelve hours (en-US), else "14:30" as it is (en-NO, en-GB). */
function clockTime(hhmm: string, language: string): string {
  const cycle = new Intl.DateTimeFormat(language, { hour: 'numeric' }).resolvedOptions().hourCycle;
  if (cycle === 'h23' || cycle === 'h24') return hhmm;
  const [h, m] = hhmm.split(':').map(Number) as [number, number];
  return `${((h + 11) % 12) + 1}:${String(m).padStart(2, '0')} ${h < 12 ? 'AM' : 'PM'}`;
}

export function buildHandout(sources: HandoutSources): Handout {
  const { view, payment, catalog, settings } = sources;
  const { plan, snapshot, patient, clinic } = view;
  // Money in the currency the plan was sold in, written the clinic's way (nb-NO: "1 500,00 kr").
  const locale = clinic?.locale ?? settings.locale ?? 'en-US';
  const money = (minor: number) => formatMoney(minor, payment.currency, locale);
  const language = handoutLanguage(locale);
  const longDate = (iso: string) => formatLongDate(iso, language);
  const serviceName = (id: string) => catalog.services.get(id)?.name ?? id;
  const start = plan.start_date ? parseDate(plan.start_date) : undefined;
  const dateOf = (when: When) => (start ? longDate(formatDate(recommendedDate(start, when))) : null);
  const generatedOn = formatDate(todayIn(clinic?.timezone ?? settings.timezone, sources.now));
  const patientName = `${patient.first_name} ${patient.last_name}`;
  const clinicName = clinic?.name ?? settings.name ?? 'Your clinic';
  const started = Boolean(start) && (plan.status === 'active' || plan.status === 'paused' || plan.status === 'past_due');

  const duration = {
    length: describeDuration(snapshot.duration),
    starts: plan.start_date ? longDate(plan.start_date) : null,
    ends: plan.end_date ? longDate(plan.end_date) : null,
  };

  const schedule: ScheduleRow[] = view.steps.map((step) => {
    const booked = step.booked_at ? /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2})/.exec(step.booked_at) : null;
    const mark: StepMark = step.status === 'pending' && plan.status === 'cancelled' ? 'cancelled' : step.status;
    return {
      n: step.n,
      when: describeWhen({ [step.when_unit]: step.when_value }),
      date: step.recommended_date ? longDate(step.recommended_date) : null,
      booked: booked ? { date: longDate(booked[1]!), time: clockTime(booked[2]!, language) } : null,
      services: (JSON.parse(step.services) as string[]).map(serviceName),
      alternatives: step.alternatives ? (JSON.parse(step.alternatives) as string[]).map(serviceName) : [],
      performed: step.status === 'done' && differsFromPlan(step) ? performedOf(step).map(serviceName) : null,
      note: step.note,
      // Only the note written for the patient: the clinical note (completion_note) stays in the chart.
      visitNote: step.patient_note,
      outcome: step.outcome,
      mark,
      markLabel: { done: 'Done', skipped: 'Skipped', pending: 'Upcoming', cancelled: 'Not done' }[mark],
      markDate: step.completed_on ? longDate(step.completed_on) : null,
    };
  });

  const homeCare: HomeCareGroup[] = HOME_CARE_TIMES.map(({ time, title }) => ({
    time,
    title,
    items: (snapshot.home_care ?? [])
      .filter((item) => (item.when as readonly string[]).includes(time))
      .map((item) => ({ product: item.product ? (catalog.products.get(item.product)?.name ?? item.product) : null, instructions: item.instructions })),
  })).filter((group) => group.items.length > 0);

  const timed = (when: When, text: string): TimedNote => ({ when: describeWhen(when), date: dateOf(when), text });
  const cancellation = started && snapshot.cancellation?.min_term_months ? cancellationTerms(snapshot.cancellation.min_term_months, snapshot.cancellation.early_fee, plan.start_date!, plan.currency, locale, longDate) : null;

  const handout: Omit<Handout, 'metadata'> = {
    planId: plan.id,
    generatedOn,
    language,
    clinic: { name: clinicName, details: [clinic?.address, clinic?.phone].filter((d): d is string => Boolean(d)) },
    patient: patientName,
    mrn: patient.mrn ?? '',
    title: snapshot.name,
    status: { code: plan.status, label: STATUS_LABELS[plan.status] },
    notice: notice(view, plan.type, longDate),
    goal: snapshot.goal,
    description: snapshot.description ?? null,
    duration,
    schedule,
    homeCare,
    milestones: (snapshot.milestones ?? []).map((m) => timed(m.when, m.expect)),
    followUp: (snapshot.follow_up ?? []).map((f) => timed(f.when, f.recommendation)),
    payment: paymentSection(view, payment, money, schedule, generatedOn, longDate),
    cancellation,
    agreement: cancellation
      ? {
          statement: 'I have read this treatment plan and discussed it with my provider. I understand the treatment schedule, the home care, the payment terms and the cancellation terms above, and I agree to them.',
          signer: patientName,
        }
      : null,
    footer: { plan: `Plan ${plan.id}`, provenance: `Template ${plan.template_id} v${plan.template_version}`, generated: `Generated ${longDate(generatedOn)}` },
  };
  const day = parseDate(generatedOn)!;
  return {
    ...handout,
    metadata: {
      title: `${snapshot.name}: treatment plan`,
      author: clinicName,
      subject: `Patient handout for plan ${plan.id}`,
      creationDate: new Date(Date.UTC(day.year, day.month - 1, day.day)),
      // Derived from the content, so the same plan on the same day is the same file, and another plan is another document.
      id: createHash('sha256').update(JSON.stringify(handout)).digest('hex').slice(0, 32),
    },
  };
}

function notice(view: PlanView, type: 'monthly' | 'pay-as-you-go', longDate: (iso: string) => string): string | null {
  const { plan } = view;
  switch (plan.status) {
    case 'prescribed':
      return type === 'monthly'
        ? 'This plan is recommended for you. Nothing is booked or charged until you decide to start the program; the dates are set on that day.'
        : 'This plan is recommended for you. Nothing is booked or charged until you decide to start; the dates are set on that day.';
    case 'paused':
      return `This plan is paused since ${longDate(plan.paused_on ?? '')}${plan.pause_until ? `, until ${longDate(plan.pause_until)}` : ''}. Visits and billing continue when it resumes, and the dates ahead move with it.`;
    case 'past_due':
      return 'A payment for this plan did not go through. Please update your payment method with the clinic so your treatments can continue.';
    case 'completed':
      return 'You have completed this plan. Keep up the home care below, and see the follow-up recommendations for what comes next.';
    case 'cancelled':
      return `This plan was cancelled on ${longDate(plan.cancelled_on ?? '')}. It is kept here for your records.`;
    default:
      return null;
  }
}

function paymentSection(view: PlanView, summary: PaymentSummary, money: (minor: number) => string, schedule: readonly ScheduleRow[], today: string, longDate: (iso: string) => string): PaymentSection {
  const { plan, paymentMethod } = view;
  const rows: PaymentSection['rows'] = [];
  const method = paymentMethod ? `${capitalize(paymentMethod.brand)} ending in ${paymentMethod.last4}` : null;
  if (summary.type === 'monthly' && summary.monthly) {
    const { installments, fees_minor: fees, paid_installments: paid, next_charge: next } = summary.monthly;
    const total = fees.reduce((sum, fee) => sum + fee, 0);
    rows.push({ label: 'Monthly fee', value: feeRuns(fees, money), detail: `${money(total)} in total`, amount: true });
    rows.push({ label: 'When you pay', value: 'The first month when the program starts, then on the 1st of each month', detail: null, amount: false });
    rows.push({ label: 'Paid so far', value: money(summary.paid_minor), detail: `${paid} of ${installments} installment${installments === 1 ? '' : 's'}`, amount: true });
    // A charge whose date has passed is due (the billing run has not reached it yet, or is retrying it).
    const nextValue = next ? `${money(next.amount_minor)} ${next.date <= today ? 'due since' : 'on'} ${longDate(next.date)}` : noNextCharge(plan.status);
    rows.push({ label: 'Next charge', value: nextValue, detail: next ? `Installment ${next.installment} of ${installments}` : null, amount: next !== null });
  } else {
    const visits = summary.visits ?? [];
    const total = visits.reduce((sum, v) => sum + v.amount_minor, 0);
    rows.push({ label: 'How you pay', value: 'Each visit when it is delivered, at the price listed below', detail: 'Complimentary services are free of charge', amount: false });
    rows.push({ label: 'Paid so far', value: money(summary.paid_minor), detail: null, amount: true });
    rows.push({ label: 'All visits', value: money(total), detail: `${visits.length} visit${visits.length === 1 ? '' : 's'}, if every visit takes place as planned`, amount: true });
  }
  const refunds = summary.refunds ?? [];
  if (refunds.length > 0) {
    const refunded = summary.refunded_minor ?? 0;
    rows.push({ label: 'Refunded', value: money(refunded), detail: `${refunds.length} refund${refunds.length === 1 ? '' : 's'}, to the card that paid`, amount: true });
    rows.push({ label: 'Paid, net of refunds', value: money(summary.net_minor ?? summary.paid_minor - refunded), detail: null, amount: true });
  }
  // A cancelled plan closes its account: every payment asked, and what became of it, line by line.
  if (plan.status === 'cancelled') for (const item of summary.items) rows.push(itemRow(item, money, longDate));
  if (summary.outstanding_minor > 0) rows.push({ label: 'Outstanding', value: money(summary.outstanding_minor), detail: 'A declined payment; please update your payment method', amount: true });
  if (method) rows.push({ label: 'Payment method', value: method, detail: null, amount: false });
  const visits = summary.type === 'pay-as-you-go'
    ? (summary.visits ?? []).map((v) => {
        const row = schedule.find((s) => s.n === v.n);
        return { n: v.n, when: row ? (row.date ? `${row.when}, ${row.date}` : row.when) : '', services: row ? (row.performed ?? row.services).join(', ') : '', price: v.amount_minor === 0 ? 'Complimentary' : money(v.amount_minor) };
      })
    : null;
  const fees = summary.monthly?.fees_minor ?? [];
  const headline = summary.type === 'pay-as-you-go' ? 'Per visit' : new Set(fees).size <= 1 ? `${money(fees[0] ?? 0)} × ${fees.length} month${fees.length === 1 ? '' : 's'}` : `From ${money(Math.min(...fees))} a month`;
  return { type: summary.type, headline, rows, visits };
}

/** One itemised payment as a row: "Installment 2 of 6 · $249.00 · Paid, due Feb 1, 2027". */
function itemRow(item: PaymentItem, money: (minor: number) => string, longDate: (iso: string) => string): PaymentSection['rows'][number] {
  const due = item.date ? `, due ${longDate(item.date)}` : '';
  const detail = {
    paid: `Paid${due}`,
    pending: `Pending${due}: the payment processor has not answered yet`,
    declined: `Declined${due}; still owed`,
    waived: 'Waived by the clinic',
    owed: 'Owed; not yet charged',
    refunded: `Refunded${item.date ? ` on ${longDate(item.date)}` : ''}`,
  }[item.state];
  return { label: item.label, value: item.kind === 'refund' ? `−${money(item.amount_minor)}` : money(item.amount_minor), detail, amount: true };
}

/** "$249.00 × 6 months", or the runs of a fee changed by an edit: "$249.00 × 3 months, then $199.00 × 3 months". */
function feeRuns(fees: readonly number[], money: (minor: number) => string): string {
  const runs: Array<{ fee: number; months: number }> = [];
  for (const fee of fees) {
    const last = runs[runs.length - 1];
    if (last && last.fee === fee) last.months++;
    else runs.push({ fee, months: 1 });
  }
  return runs.map((r) => `${money(r.fee)} × ${r.months} month${r.months === 1 ? '' : 's'}`).join(', then ');
}

function noNextCharge(status: PlanStatus): string {
  switch (status) {
    case 'prescribed':
      return 'None until the program starts';
    case 'paused':
      return 'None while the plan is paused';
    case 'cancelled':
      return 'None: the plan is cancelled';
    default:
      return 'None: every installment is paid';
  }
}

function cancellationTerms(months: number, earlyFee: Money | undefined, startDate: string, currency: string, locale: string, longDate: (iso: string) => string): { terms: string[] } {
  const until = longDate(formatDate(addMonths(parseDate(startDate)!, months)));
  const terms = [`This program has a minimum term of ${months} month${months === 1 ? '' : 's'}, until ${until}.`];
  // A plan's single amount is in its own currency; amounts by currency give the plan's.
  const amount = earlyFee === undefined ? undefined : amountIn(earlyFee, currency, currency);
  const fee = amount === undefined ? undefined : toMinor(amount, currency);
  if (fee && 'minor' in fee) terms.push(`If you cancel before ${until}, an early cancellation fee of ${formatMoney(fee.minor, currency, locale)} is charged.`);
  terms.push('You can cancel at any time by telling the clinic; cancelling stops all future charges.');
  return { terms };
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
