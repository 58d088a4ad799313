import { formatDate, type PlainDate } from '../domain/dates.js';
import { installmentDueDate } from '../domain/plan.js';
import type { ChargeKind, ChargeStatus } from '../domain/records.js';

/**
 * What a command would charge before it charges it — pure, so the
 * confirmation a person sees and the charging code read the same numbers.
 */

export interface QuotedCharge {
  /** In the clinic's words: "installment 1 of 6", "visit 2", "early cancellation fee". */
  what: string;
  amountMinor: number;
}

/**
 * The installments a monthly program charges when it is entered on `today`
 * to start on `start`: installment 1, and with it every later installment
 * already due (a backdated start). A start in the future charges nothing on
 * the day it is entered unless the clinic asks for it now (`chargeNow`).
 */
export function startCharges(fees: readonly number[], start: PlainDate, today: PlainDate, options: { offsetMonths?: number; chargeNow: boolean }): QuotedCharge[] {
  const day = formatDate(today);
  if (formatDate(start) > day && !options.chargeNow) return [];
  const quoted: QuotedCharge[] = [];
  for (let k = 1; k <= fees.length; k++) {
    if (k > 1 && formatDate(installmentDueDate(start, k, options.offsetMonths ?? 0)) > day) break;
    if (fees[k - 1]! > 0) quoted.push({ what: `installment ${k} of ${fees.length}`, amountMinor: fees[k - 1]! });
  }
  return quoted;
}

/** A pay-as-you-go visit: the frozen prices of the services performed (a complimentary visit costs nothing). */
export function visitQuote(n: number, amountMinor: number): QuotedCharge[] {
  return amountMinor > 0 ? [{ what: `visit ${n}`, amountMinor }] : [];
}

/** An early-cancellation fee, when one is owed. */
export function cancelFeeCharge(feeMinor: number): QuotedCharge[] {
  return feeMinor > 0 ? [{ what: 'early cancellation fee', amountMinor: feeMinor }] : [];
}

/**
 * A past-due plan given a new payment method: the declined charges the next
 * billing run retries on it.
 */
export function reactivationCharges(charges: ReadonlyArray<{ kind: ChargeKind; installment: number | null; step_n: number | null; status: ChargeStatus; amount_minor: number }>): QuotedCharge[] {
  return charges.filter((c) => c.status === 'failed').map((c) => ({ what: describeChargeKind(c), amountMinor: c.amount_minor }));
}

export function describeChargeKind(charge: { kind: ChargeKind; installment: number | null; step_n: number | null }): string {
  return charge.kind === 'installment' ? `installment ${charge.installment}` : charge.kind === 'step' ? `visit ${charge.step_n}` : 'early cancellation fee';
}

export function totalOf(charges: readonly QuotedCharge[]): number {
  return charges.reduce((sum, c) => sum + c.amountMinor, 0);
}
