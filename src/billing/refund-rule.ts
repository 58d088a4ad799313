/**
 * The refund rule, pure: a succeeded charge gives back at most what it took,
 * less what was already given back or is on its way (refunds succeeded or
 * still pending). A failed refund gives nothing back and frees its amount,
 * but keeps its sequence number, since its key has reached the processor.
 */
export interface RefundableCharge {
  amount_minor: number;
  status: 'pending' | 'succeeded' | 'failed';
}

export interface RefundSoFar {
  seq: number;
  amount_minor: number;
  status: 'pending' | 'succeeded' | 'failed';
}

export type RefundDecision =
  | { kind: 'refund'; amountMinor: number; seq: number }
  | { kind: 'refused'; problem: 'not_paid' | 'nothing_left' | 'over' | 'not_positive'; remainingMinor: number };

export function refundableMinor(charge: RefundableCharge, refunds: readonly RefundSoFar[]): number {
  if (charge.status !== 'succeeded') return 0;
  const given = refunds.filter((r) => r.status !== 'failed').reduce((sum, r) => sum + r.amount_minor, 0);
  return Math.max(0, charge.amount_minor - given);
}

/** `requestedMinor` undefined refunds everything that remains. */
export function planRefund(charge: RefundableCharge, refunds: readonly RefundSoFar[], requestedMinor: number | undefined): RefundDecision {
  const remainingMinor = refundableMinor(charge, refunds);
  if (charge.status !== 'succeeded') return { kind: 'refused', problem: 'not_paid', remainingMinor };
  if (requestedMinor !== undefined && requestedMinor <= 0) return { kind: 'refused', problem: 'not_positive', remainingMinor };
  if (remainingMinor === 0) return { kind: 'refused', problem: 'nothing_left', remainingMinor };
  const amountMinor = requestedMinor ?? remainingMinor;
  if (amountMinor > remainingMinor) return { kind: 'refused', problem: 'over', remainingMinor };
  return { kind: 'refund', amountMinor, seq: refunds.reduce((max, r) => Math.max(max, r.seq), 0) + 1 };
}
