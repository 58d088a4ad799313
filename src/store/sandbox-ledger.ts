import { closeSync, existsSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { makeFolder } from '../files.js';
import type { SandboxCharge, SandboxLedger, SandboxRefund } from '../billing/gateways/sandbox-ledger.js';

/**
 * The sandbox processor's ledger beside a SQLite database: a file of its own
 * (.txplan/sandbox-gateway.db in a workspace), apart from txplan's database as
 * a real processor's records are. Opened on first use; the refunds table is
 * made the first time refunds are touched.
 */
export class SqliteSandboxLedger implements SandboxLedger {
  private opened: { db: Database.Database; insert: Database.Statement; read: Database.Statement } | undefined;
  private refundsOpened: { record: Database.Statement; read: Database.Statement } | undefined;

  constructor(readonly path: string) {}

  /** One IMMEDIATE transaction; a key already there (here or from another process) is left as it is and read back. */
  recordCharges(rows: readonly SandboxCharge[]): SandboxCharge[] {
    const { db, insert, read } = this.open();
    return db.transaction(() => rows.map((row) => (insert.run(row), read.get(row.idempotency_key) as SandboxCharge))).immediate();
  }

  recordRefunds(rows: readonly SandboxRefund[]): SandboxRefund[] {
    const { record, read } = this.openRefunds();
    // In order within the batch, each refund sees those before it: the room left is checked as it is taken.
    return this.open().db.transaction(() => rows.map((row) => (record.run(row), read.get(row.idempotency_key) as SandboxRefund))).immediate();
  }

  charges(): Iterable<SandboxCharge> {
    const { db } = this.open();
    return db.prepare('SELECT * FROM charges ORDER BY idempotency_key').iterate() as Iterable<SandboxCharge>;
  }

  refunds(): Iterable<SandboxRefund> {
    const { db } = this.open();
    this.openRefunds();
    return db.prepare('SELECT * FROM refunds ORDER BY idempotency_key').iterate() as Iterable<SandboxRefund>;
  }

  close(): void {
    this.opened?.db.close();
    this.opened = undefined;
    this.refundsOpened = undefined;
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

  private open(): { db: Database.Database; insert: Database.Statement; read: Database.Statement } {
    if (this.opened) return this.opened;
    makeFolder(dirname(this.path), 0o700);
    if (!existsSync(this.path)) closeSync(openSync(this.path, 'wx', 0o600));
    const db = new Database(this.path);
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
