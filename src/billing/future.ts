import { formatDate, type PlainDate } from '../domain/dates.js';

/** A today the billing run goes by: a clinic's own, or the workspace's for plans without a clinic. */
export interface ClinicToday {
  clinic: string | null;
  zone: string;
  today: PlainDate;
}

/**
 * A billing run charges what is due by today, never the future: `--date` may
 * catch up on the past, but not run ahead of the earliest today among the
 * clinics the run bills. The sentence that refuses it, or undefined when the
 * date is allowed. Rehearsals move the clock itself (TXPLAN_NOW) or do not
 * charge (--dry-run).
 */
export function futureDateRefusal(date: PlainDate, todays: readonly ClinicToday[]): string | undefined {
  let earliest: ClinicToday | undefined;
  // YYYY-MM-DD compares as text; clinics with the same today are named by the first id, whatever order they came in.
  for (const t of todays) {
    const [day, first] = [formatDate(t.today), earliest && formatDate(earliest.today)];
    if (!earliest || day < first! || (day === first && (t.clinic ?? '') < (earliest.clinic ?? ''))) earliest = t;
  }
  if (!earliest || formatDate(date) <= formatDate(earliest.today)) return undefined;
  const where = earliest.clinic === null ? `in the workspace's zone, ${earliest.zone}` : `at clinic "${earliest.clinic}", ${earliest.zone}`;
  const day = formatDate(date);
  return `--date ${day} is after today (${formatDate(earliest.today)} ${where}), and a billing run never charges the future; leave out --date to bill what is due today, or rehearse that date with --dry-run or TXPLAN_NOW=${day}`;
}
