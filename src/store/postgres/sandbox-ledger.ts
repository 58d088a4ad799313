import type { SandboxCharge, SandboxLedger, SandboxRefund } from '../../billing/gateways/sandbox-ledger.js';
import type { Store } from '../store.js';
// Types only: SQLite users load this module (through the gateways) and nothing of PostgreSQL's.
import type { PostgresError } from './connection.js';
import type { PostgresEngine } from './engine.js';

/** Tries of a batch the server broke off to undo a deadlock with another machine's batch. */
const DEADLOCK_TRIES = 3;

/**
 * The sandbox processor's ledger on PostgreSQL: the tables sandbox_charges and
 * sandbox_refunds in txplan's own database, so every machine billing that
 * database sees one processor. The ledger is the processor's, not txplan's:
 * its writes commit on their own, never inside one of txplan's transactions
 * (a txplan transaction that rolls back must not take the processor's record
 * with it). The idempotency key is unique: of two machines sending one key at
 * once, one row is inserted (ON CONFLICT DO NOTHING waits for the other
 * insert to commit), and both read back the row that won.
 */
export class PostgresSandboxLedger implements SandboxLedger {
  private readonly engine: PostgresEngine;

  constructor(private readonly store: Store) {
    if (store.kind !== 'postgres') throw new Error('PostgresSandboxLedger needs a store on PostgreSQL');
    this.engine = store.engine as PostgresEngine;
  }

  /**
   * One INSERT of the whole batch (its own commit), in key order so two
   * machines' overlapping batches take their keys in the same order, then one
   * read of what the ledger holds for those keys.
   */
  recordCharges(rows: readonly SandboxCharge[]): SandboxCharge[] {
    this.outsideTransactions();
    if (rows.length === 0) return [];
    retryDeadlock(() =>
      this.store
        .statement(
          `INSERT INTO sandbox_charges (id, idempotency_key, amount_minor, currency, token, status, decline_code, decline_message, hard, created_at)
           SELECT r.id, r.idempotency_key, r.amount_minor, r.currency, r.token, r.status, r.decline_code, r.decline_message, r.hard, r.created_at
           FROM jsonb_to_recordset(CAST(@rows AS jsonb)) AS r (id text, idempotency_key text, amount_minor bigint, currency text, token text, status text,
                decline_code text, decline_message text, hard integer, created_at text)
           ORDER BY r.idempotency_key COLLATE "C"
           -- No conflict target: the id is made from the key, so a second machine may meet either unique index first.
           ON CONFLICT DO NOTHING`,
        )
        .run({ rows: JSON.stringify(rows) }),
    );
    const stored = new Map(
      this.store
        .statement<[{ keys: string }], SandboxCharge>(`SELECT * FROM sandbox_charges WHERE idempotency_key IN (${this.store.dialect.textsIn('@keys')})`)
        .all({ keys: JSON.stringify(rows.map((row) => row.idempotency_key)) })
        .map((row) => [row.idempotency_key, row]),
    );
    return rows.map((row) => stored.get(row.idempotency_key)!);
  }

  /**
   * One short transaction. It first locks the charges refunded (in id
   * order), so two machines refunding one charge take turns and the second
   * sees the first's refund when it checks the room left; each statement
   * after the lock reads what is committed by then (READ COMMITTED).
   */
  recordRefunds(rows: readonly SandboxRefund[]): SandboxRefund[] {
    this.outsideTransactions();
    if (rows.length === 0) return [];
    const record = this.store.statement(
      `INSERT INTO sandbox_refunds (id, idempotency_key, charge_id, amount_minor, currency, reason, status, failure_code, failure_message, created_at)
       SELECT CAST(@id AS text), CAST(@idempotency_key AS text), CAST(@charge_id AS text), CAST(@amount_minor AS bigint), CAST(@currency AS text), CAST(@reason AS text),
              CASE WHEN v.problem IS NULL THEN 'succeeded' ELSE 'failed' END, v.problem,
              CASE v.problem WHEN 'charge_not_refundable' THEN 'No succeeded charge ' || CAST(@charge_id AS text) || ' to refund.' WHEN 'amount_too_large' THEN 'The refund is larger than what the charge has left.' END,
              CAST(@created_at AS text)
       FROM (SELECT CASE
               WHEN c.id IS NULL OR c.status != 'succeeded' OR c.currency != CAST(@currency AS text) THEN 'charge_not_refundable'
               WHEN c.amount_minor - (SELECT coalesce(sum(amount_minor), 0) FROM sandbox_refunds WHERE charge_id = CAST(@charge_id AS text) AND status = 'succeeded') < CAST(@amount_minor AS bigint) THEN 'amount_too_large'
             END AS problem
             FROM (SELECT 1) AS one LEFT JOIN sandbox_charges c ON c.id = CAST(@charge_id AS text)) v
       ON CONFLICT DO NOTHING`,
    );
    const read = this.store.statement<[string], SandboxRefund>('SELECT * FROM sandbox_refunds WHERE idempotency_key = ?');
    const lock = this.store.statement(`SELECT id FROM sandbox_charges WHERE id IN (${this.store.dialect.textsIn('@ids')}) ORDER BY id COLLATE "C" FOR UPDATE`);
    return retryDeadlock(() =>
      this.ownTransaction(() => {
        lock.all({ ids: JSON.stringify([...new Set(rows.map((row) => row.charge_id))]) });
        return rows.map((row) => (record.run(row), read.get(row.idempotency_key)!));
      }),
    );
  }

  charges(): Iterable<SandboxCharge> {
    return this.store.statement<[], SandboxCharge>('SELECT * FROM sandbox_charges ORDER BY idempotency_key COLLATE "C"').iterate();
  }

  refunds(): Iterable<SandboxRefund> {
    return this.store.statement<[], SandboxRefund>('SELECT * FROM sandbox_refunds ORDER BY idempotency_key COLLATE "C"').iterate();
  }

  /** The store is txplan's, and stays open for it. */
  close(): void {}

  /**
   * The store's transactions are synchronous and the processor is asked
   * between them, so a ledger write never finds one open; if it ever did, its
   * record would share txplan's fate, which a processor's never does.
   */
  private outsideTransactions(): void {
    if (this.engine.inTransaction) throw new Error('The sandbox ledger was written inside a txplan transaction');
  }

  private ownTransaction<T>(work: () => T): T {
    const connection = this.engine.connection;
    connection.query('BEGIN');
    try {
      const result = work();
      connection.query('COMMIT');
      return result;
    } catch (error) {
      try {
        connection.query('ROLLBACK');
      } catch {
        // a lost connection has rolled back already
      }
      throw error;
    }
  }
}

function retryDeadlock<T>(work: () => T): T {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return work();
    } catch (error) {
      if ((error as Partial<PostgresError>).code !== '40P01' || attempt >= DEADLOCK_TRIES) throw error;
    }
  }
}
