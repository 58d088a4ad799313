import { parseDate } from './dates.js';

const DATE_TIME = /^(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * TXPLAN_NOW: an ISO 8601 date-time with its offset (2027-01-01T09:00:00Z,
 * 2027-01-01T09:00+01:00), or a date alone, read as noon UTC of that day so
 * that it is the same date in every clinic between UTC−11 and UTC+11. A
 * date-time without an offset is refused: it would mean a different instant
 * on every machine.
 */
export function parseClock(text: string): Date | undefined {
  const value = text.trim();
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) return parseDate(value) ? new Date(`${value}T12:00:00Z`) : undefined;
  const match = DATE_TIME.exec(value);
  if (!match || !parseDate(match[1]!)) return undefined;
  const [hours, minutes, seconds] = [Number(match[2]), Number(match[3]), Number(match[4] ?? 0)];
  if (hours > 23 || minutes > 59 || seconds > 59) return undefined;
  const at = new Date(value);
  return Number.isNaN(at.getTime()) ? undefined : at;
}
