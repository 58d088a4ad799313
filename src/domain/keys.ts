/**
 * Idempotency keys: the one place they are built. A key names what is paid
 * for and the database it was issued from — `txp_<database id>_plan-42-installment-3`
 * — so a key from another database, or from a restored copy whose ids were
 * moved past what the processor saw, can never replay someone else's charge.
 */
/**
 * A new database id: 24 random lower-case letters (about 112 bits). Letters
 * only, so that no id, nor a key or audit entry carrying one, can ever hold a
 * run of digits that reads as a card number.
 */
export function newDatabaseId(random: (size: number) => Uint8Array): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz';
  let id = '';
  while (id.length < 24) {
    for (const byte of random(32)) {
      // 234 = 9 × 26: dropping bytes at or above it keeps every letter equally likely.
      if (byte < 234 && id.length < 24) id += alphabet[byte % 26];
    }
  }
  return id;
}

export type ChargeFor =
  | { kind: 'installment'; planId: number; installment: number }
  | { kind: 'step'; planId: number; step: number }
  | { kind: 'cancel_fee'; planId: number };

export function chargeKey(databaseId: string, what: ChargeFor): string {
  const suffix = what.kind === 'installment' ? `installment-${what.installment}` : what.kind === 'step' ? `step-${what.step}` : 'cancel-fee';
  return `txp_${databaseId}_plan-${what.planId}-${suffix}`;
}

/**
 * The key sent to the processor for one attempt of a charge. The first attempt
 * uses the charge's stored key (charges made before keys carried the database
 * id keep theirs); a retry after a recorded decline needs a new key, since the
 * processor replays the first result of a key.
 */
export function attemptKey(storedKey: string, attempt: number): string {
  return attempt === 1 ? storedKey : `${storedKey}-attempt-${attempt}`;
}

/**
 * The key of a refund: the refunded charge's stored key and the refund's
 * sequence number on that charge (1, 2, …). A rerun after a crash sends the
 * same refund under the same key, so the processor replays it instead of
 * refunding again; "-refund-" never appears in a charge or attempt key.
 */
export function refundKey(chargeKey: string, seq: number): string {
  return `${chargeKey}-refund-${seq}`;
}

/**
 * The key of making a patient's customer at the processor: the same patient
 * always asks under the same key, so a save retried after a lost answer never
 * makes a second customer.
 */
export function customerKey(databaseId: string, patientId: number): string {
  return `txp_${databaseId}_patient-${patientId}-customer`;
}

/** The key of saving a token to a patient's customer: a repeat replays the first save. */
export function attachKey(databaseId: string, patientId: number, token: string): string {
  return `txp_${databaseId}_patient-${patientId}-attach-${token}`;
}
