/**
 * Where the sandbox processor keeps its records. Beside a SQLite database it
 * is a file of its own (.txplan/sandbox-gateway.db); on PostgreSQL it is a
 * pair of tables in the same server, so every machine billing that database
 * talks to one processor. Both keep an idempotency key once: of two requests
 * with one key (in this process or another) one is recorded, and both are
 * answered with what was recorded.
 */
export interface SandboxLedger {
  /**
   * Records each charge unless its key is already there, all in one commit,
   * and answers, in the same order, what the ledger holds for each key.
   */
  recordCharges(rows: readonly SandboxCharge[]): SandboxCharge[];
  /**
   * Records each refund unless its key is already there, all in one commit.
   * The ledger decides the outcome as it records: it refunds only a succeeded
   * charge it holds, never beyond what that charge has left (each refund of a
   * batch sees those before it), and records anything else as failed.
   * Answers, in order, what the ledger holds for each key.
   */
  recordRefunds(rows: readonly SandboxRefund[]): SandboxRefund[];
  /** Every charge, by idempotency key (in byte order). */
  charges(): Iterable<SandboxCharge>;
  /** Every refund, by idempotency key (in byte order). */
  refunds(): Iterable<SandboxRefund>;
  close(): void;
}

/** A charge as the sandbox records it. */
export interface SandboxCharge {
  id: string;
  idempotency_key: string;
  amount_minor: number;
  currency: string;
  token: string;
  status: 'succeeded' | 'declined';
  decline_code: string | null;
  decline_message: string | null;
  hard: number;
  created_at: string;
}

/** A refund as the sandbox records it; `status` and the failure are decided by the ledger. */
export interface SandboxRefund {
  id: string;
  idempotency_key: string;
  charge_id: string;
  amount_minor: number;
  currency: string;
  reason: string;
  status: 'succeeded' | 'failed';
  failure_code: string | null;
  failure_message: string | null;
  created_at: string;
}
