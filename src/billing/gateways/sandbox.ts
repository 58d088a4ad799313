import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync } from 'node:fs';
import { makeFolder } from '../../files.js';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { FailedError } from '../../errors.js';
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

interface Row {
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

interface RefundRow {
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

/**
 * The offline test processor. It keeps its own ledger in its own database
 * (as a real processor would, apart from txplan's), replays the stored result
 * for a repeated idempotency key and refuses a repeated key with another amount.
 */
export class SandboxGateway implements Gateway {
  readonly name = 'sandbox';
  readonly live = false;
  // A whole chunk of a billing run (1,000 charges) in flight at once, so its ledger rows are one commit.
  readonly concurrency = 1000;
  private opened: { db: Database.Database; insert: Database.Statement; read: Database.Statement } | undefined;
  /** Requests that arrived in the same tick, committed together (a processor's group commit). */
  private queue: Array<Waiting<Row>> = [];
  private refundsOpened: { record: Database.Statement; read: Database.Statement } | undefined;
  private refundQueue: Array<Waiting<RefundRow>> = [];

  constructor(
    private readonly ledgerPath: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

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
    const row: Row = {
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
   * Records a batch in one transaction. The key is unique: of two requests with
   * the same key (here or in another process) one inserts, the other reads what
   * the first stored. Every answer is given only after its commit.
   */
  private flush(): void {
    this.commit(this.queue.splice(0), () => {
      const { insert, read } = this.open();
      return (row) => (insert.run(row), read.get(row.idempotency_key) as Row);
    });
  }

  /** Writes a batch in one transaction and answers each request only after the commit, or fails them all. */
  private commit<R>(batch: ReadonlyArray<Waiting<R>>, prepare: () => (row: R) => R): void {
    try {
      const write = prepare();
      const stored = this.open().db.transaction(() => batch.map(({ row }) => write(row))).immediate();
      batch.forEach(({ resolve }, i) => resolve(stored[i]!));
    } catch (error) {
      for (const { reject } of batch) reject(error);
    }
  }

  async *ledger(): AsyncIterable<LedgerEntry> {
    const { db } = this.open();
    for (const row of db.prepare('SELECT * FROM charges ORDER BY idempotency_key').iterate() as Iterable<Row>) {
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
    const row: RefundRow = {
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
    this.commit(this.refundQueue.splice(0), () => {
      const { record, read } = this.openRefunds();
      return (row) => (record.run(row), read.get(row.idempotency_key) as RefundRow);
    });
  }

  async *refunds(): AsyncIterable<RefundLedgerEntry> {
    const { db } = this.open();
    this.openRefunds();
    for (const row of db.prepare('SELECT * FROM refunds ORDER BY idempotency_key').iterate() as Iterable<RefundRow>) {
      yield { id: row.id, idempotencyKey: row.idempotency_key, chargeId: row.charge_id, amountMinor: row.amount_minor, currency: row.currency, status: row.status, createdAt: row.created_at };
    }
  }

  private openRefunds(): { record: Database.Statement; read: Database.Statement } {
    if (this.refundsOpened) return this.refundsOpened;
    const { db } = this.open();
    db.exec(`CREATE TABLE IF NOT EXISTS refunds (
      id TEXT PRIMARY KEY,
      idempotency_key TEXT NOT NULL UNIQUE,
      charge_id TEXT NOT NULL,
      amount_minor INTEGER NOT NULL,
      currency TEXT NOT NULL,
      reason TEXT NOT NULL,
      status TEXT NOT NULL,
      failure_code TEXT,
      failure_message TEXT,
      created_at TEXT NOT NULL
    ) STRICT`);
    db.exec('CREATE INDEX IF NOT EXISTS refunds_charge ON refunds (charge_id)');
    // The outcome is decided in the insert itself, from the charge and the refunds already made of it.
    const record = db.prepare(
      `INSERT INTO refunds (id, idempotency_key, charge_id, amount_minor, currency, reason, status, failure_code, failure_message, created_at)
       SELECT @id, @idempotency_key, @charge_id, @amount_minor, @currency, @reason, CASE WHEN v.problem IS NULL THEN 'succeeded' ELSE 'failed' END, v.problem,
              CASE v.problem WHEN 'charge_not_refundable' THEN 'No succeeded charge ' || @charge_id || ' to refund.' WHEN 'amount_too_large' THEN 'The refund is larger than what the charge has left.' END,
              @created_at
       FROM (SELECT CASE
               WHEN c.id IS NULL OR c.status != 'succeeded' OR c.currency != @currency THEN 'charge_not_refundable'
               WHEN c.amount_minor - (SELECT coalesce(sum(amount_minor), 0) FROM refunds WHERE charge_id = @charge_id AND status = 'succeeded') < @amount_minor THEN 'amount_too_large'
             END AS problem
             FROM (SELECT 1) LEFT JOIN charges c ON c.id = @charge_id) v
       WHERE true
       ON CONFLICT (idempotency_key) DO NOTHING`,
    );
    this.refundsOpened = { record, read: db.prepare('SELECT * FROM refunds WHERE idempotency_key = ?') };
    return this.refundsOpened;
  }

  close(): void {
    this.opened?.db.close();
    this.opened = undefined;
    this.refundsOpened = undefined;
  }

  private open(): { db: Database.Database; insert: Database.Statement; read: Database.Statement } {
    if (this.opened) return this.opened;
    makeFolder(dirname(this.ledgerPath), 0o700);
    if (!existsSync(this.ledgerPath)) closeSync(openSync(this.ledgerPath, 'wx', 0o600));
    const db = new Database(this.ledgerPath);
    db.pragma('busy_timeout = 10000');
    db.pragma('journal_mode = WAL');
    // A commit survives the process being killed at any moment (WAL); a test processor need not survive power loss.
    db.pragma('synchronous = NORMAL');
    db.exec(`CREATE TABLE IF NOT EXISTS charges (
      id TEXT PRIMARY KEY,
      idempotency_key TEXT NOT NULL UNIQUE,
      amount_minor INTEGER NOT NULL,
      currency TEXT NOT NULL,
      token TEXT NOT NULL,
      status TEXT NOT NULL,
      decline_code TEXT,
      decline_message TEXT,
      hard INTEGER NOT NULL,
      created_at TEXT NOT NULL
    ) STRICT`);
    const insert = db.prepare(
      `INSERT INTO charges (id, idempotency_key, amount_minor, currency, token, status, decline_code, decline_message, hard, created_at)
       VALUES (@id, @idempotency_key, @amount_minor, @currency, @token, @status, @decline_code, @decline_message, @hard, @created_at)
       ON CONFLICT (idempotency_key) DO NOTHING`,
    );
    this.opened = { db, insert, read: db.prepare('SELECT * FROM charges WHERE idempotency_key = ?') };
    return this.opened;
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
