import { createHash } from 'node:crypto';
import { FailedError } from '../../errors.js';
import { SqliteSandboxLedger } from '../../store/sandbox-ledger.js';
import type { SandboxCharge, SandboxLedger, SandboxRefund } from './sandbox-ledger.js';
import { IdempotencyConflictError, type ChargeRequest, type ChargeResult, type Gateway, type LedgerEntry, type PaymentMethodDetails, type RefundLedgerEntry, type RefundRequest, type RefundResult, type SaveRequest, type SavedPaymentMethod } from '../gateway.js';

interface SandboxMethod extends Omit<PaymentMethodDetails, 'token'> {
  /** How charges to it end (SPEC §5, after Stripe's test payment methods). */
  outcome: 'succeed' | 'decline' | 'hard_decline';
  code?: string;
  message?: string;
}

export const SANDBOX_METHODS: Readonly<Record<string, SandboxMethod>> = {
  pm_card_visa: { brand: 'visa', last4: '4242', exp_month: 12, exp_year: 2034, outcome: 'succeed' },
  pm_card_mastercard: { brand: 'mastercard', last4: '4444', exp_month: 12, exp_year: 2034, outcome: 'succeed' },
  pm_card_amex: { brand: 'amex', last4: '8431', exp_month: 12, exp_year: 2034, outcome: 'succeed' },
  pm_card_chargeDeclined: { brand: 'visa', last4: '0002', exp_month: 12, exp_year: 2034, outcome: 'decline', code: 'generic_decline', message: 'Your card was declined.' },
  pm_card_chargeDeclinedInsufficientFunds: { brand: 'visa', last4: '9995', exp_month: 12, exp_year: 2034, outcome: 'decline', code: 'insufficient_funds', message: 'Your card has insufficient funds.' },
  pm_card_chargeDeclinedStolenCard: { brand: 'visa', last4: '9979', exp_month: 12, exp_year: 2034, outcome: 'hard_decline', code: 'stolen_card', message: 'Your card was declined.' },
  // Accepted when saved; every charge to it then declines.
  pm_card_chargeCustomerFail: { brand: 'visa', last4: '0341', exp_month: 12, exp_year: 2034, outcome: 'decline', code: 'generic_decline', message: 'Your card was declined.' },
};

/**
 * The offline test processor. It keeps its own ledger apart from txplan's
 * records, as a real processor would (a file beside a SQLite database, its
 * own tables on a PostgreSQL server: see SandboxLedger), replays the stored
 * result for a repeated idempotency key and refuses a repeated key with
 * another amount.
 */
export class SandboxGateway implements Gateway {
  readonly name = 'sandbox';
  readonly live = false;
  // A whole chunk of a billing run (1,000 charges) in flight at once, so its ledger rows are one commit.
  readonly concurrency = 1000;
  /** Requests that arrived in the same tick, committed together (a processor's group commit). */
  private queue: Array<Waiting<SandboxCharge>> = [];
  private refundQueue: Array<Waiting<SandboxRefund>> = [];
  private readonly records: SandboxLedger;

  /** `ledger` is where the records are kept, or the path of a SQLite ledger file. */
  constructor(
    ledger: SandboxLedger | string,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.records = typeof ledger === 'string' ? new SqliteSandboxLedger(ledger) : ledger;
  }

  async describePaymentMethod(token: string): Promise<PaymentMethodDetails> {
    const method = SANDBOX_METHODS[token];
    if (!method) throw new FailedError(`The sandbox processor has no payment method "${token}"; use one of ${Object.keys(SANDBOX_METHODS).join(', ')}`, 'unknown_payment_method');
    return { token, brand: method.brand, last4: method.last4, exp_month: method.exp_month, exp_year: method.exp_year };
  }

  /** The sandbox has no customers: saving a token is looking it up. */
  async savePaymentMethod(request: SaveRequest): Promise<SavedPaymentMethod> {
    return { ...(await this.describePaymentMethod(request.token)), customer: null };
  }

  async charge(request: ChargeRequest): Promise<ChargeResult> {
    const method = SANDBOX_METHODS[request.token];
    const outcome = method?.outcome ?? 'hard_decline';
    const row: SandboxCharge = {
      id: processorId('ch', request.idempotencyKey),
      idempotency_key: request.idempotencyKey,
      amount_minor: request.amountMinor,
      currency: request.currency,
      token: request.token,
      status: outcome === 'succeed' ? 'succeeded' : 'declined',
      decline_code: outcome === 'succeed' ? null : (method?.code ?? 'invalid_payment_method'),
      decline_message: outcome === 'succeed' ? null : (method?.message ?? 'No such payment method.'),
      hard: outcome === 'hard_decline' ? 1 : 0,
      created_at: this.now().toISOString(),
    };
    const stored = await waitForCommit(this.queue, row, () => this.flush());
    if (stored.amount_minor !== request.amountMinor || stored.currency !== request.currency) throw new IdempotencyConflictError(request.idempotencyKey);
    return stored.status === 'succeeded'
      ? { status: 'succeeded', id: stored.id }
      : { status: 'declined', id: stored.id, code: stored.decline_code ?? 'card_declined', message: stored.decline_message ?? 'Declined.', hard: stored.hard === 1 };
  }

  /**
   * Records a batch in one commit. The key is unique: of two requests with
   * the same key (here or in another process) one inserts, the other reads what
   * the first stored. Every answer is given only after its commit.
   */
  private flush(): void {
    this.commit(this.queue.splice(0), (rows) => this.records.recordCharges(rows));
  }

  /** Writes a batch in one commit and answers each request only after it, or fails them all. */
  private commit<R>(batch: ReadonlyArray<Waiting<R>>, write: (rows: R[]) => R[]): void {
    try {
      const stored = write(batch.map(({ row }) => row));
      batch.forEach(({ resolve }, i) => resolve(stored[i]!));
    } catch (error) {
      for (const { reject } of batch) reject(error);
    }
  }

  async *ledger(): AsyncIterable<LedgerEntry> {
    for (const row of this.records.charges()) {
      yield { id: row.id, idempotencyKey: row.idempotency_key, amountMinor: row.amount_minor, currency: row.currency, status: row.status, createdAt: row.created_at };
    }
  }

  /**
   * Refunds are kept in their own table of the same ledger, with the same
   * group commit and replay as charges. Like a real processor, it refunds only
   * a succeeded charge it holds, never beyond what that charge has left; it
   * answers any other request as a failed refund.
   */
  async refund(request: RefundRequest): Promise<RefundResult> {
    const row: SandboxRefund = {
      id: processorId('re', request.idempotencyKey),
      idempotency_key: request.idempotencyKey,
      charge_id: request.chargeId,
      amount_minor: request.amountMinor,
      currency: request.currency,
      reason: request.reason,
      status: 'succeeded',
      failure_code: null,
      failure_message: null,
      created_at: this.now().toISOString(),
    };
    const stored = await waitForCommit(this.refundQueue, row, () => this.flushRefunds());
    if (stored.amount_minor !== request.amountMinor || stored.currency !== request.currency || stored.charge_id !== request.chargeId) throw new IdempotencyConflictError(request.idempotencyKey);
    return stored.status === 'succeeded' ? { status: 'succeeded', id: stored.id } : { status: 'failed', id: stored.id, code: stored.failure_code ?? 'refund_failed', message: stored.failure_message ?? 'The refund failed.' };
  }

  private flushRefunds(): void {
    // In order within the batch, each refund sees those before it: the room left is checked as it is taken.
    this.commit(this.refundQueue.splice(0), (rows) => this.records.recordRefunds(rows));
  }

  async *refunds(): AsyncIterable<RefundLedgerEntry> {
    for (const row of this.records.refunds()) {
      yield { id: row.id, idempotencyKey: row.idempotency_key, chargeId: row.charge_id, amountMinor: row.amount_minor, currency: row.currency, status: row.status, createdAt: row.created_at };
    }
  }

  close(): void {
    this.records.close();
  }
}

/** A request waiting for its batch's commit: answered with what the ledger holds for its key. */
interface Waiting<R> {
  row: R;
  resolve: (stored: R) => void;
  reject: (error: unknown) => void;
}

/** Queues a row; the first of a tick schedules the flush, so requests arriving together commit together. */
function waitForCommit<R>(queue: Array<Waiting<R>>, row: R, flush: () => void): Promise<R> {
  return new Promise<R>((resolve, reject) => {
    queue.push({ row, resolve, reject });
    if (queue.length === 1) queueMicrotask(flush);
  });
}

/** The processor's own id for what a key asked (ch_…, re_…): the same key always names the same object. */
function processorId(prefix: 'ch' | 're', key: string): string {
  return `${prefix}_${createHash('sha256').update(key).digest('hex').slice(0, 24)}`;
}
