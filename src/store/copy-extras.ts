import { createHash } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import Database from 'better-sqlite3';
import { FailedError } from '../errors.js';
import { makeFolder } from '../files.js';
import type { SandboxCharge, SandboxRefund } from '../billing/gateways/sandbox-ledger.js';
import { insertRows, type CopiedExtra } from './copy.js';
import type { Store } from './store.js';
import { readAttachmentBlob, storeAttachmentBlob } from './postgres/attachment-blobs.js';
import { SqliteSandboxLedger } from './sandbox-ledger.js';

/**
 * Where a SQLite database keeps what is not in its file: photos in a folder
 * (their paths relative to `root`, the workspace), the sandbox processor's
 * ledger in a file beside the database. A PostgreSQL database keeps both in
 * its own tables, so it needs no place.
 */
export interface FilePlace {
  root: string;
  attachmentsDir: string;
  ledgerPath: string;
}

const IN_DATABASE = 'db:';

/** `<sha256>.<ext>` from an attachment's path, on either engine. */
function photoName(path: string, sha256: string): string {
  const base = path.slice(path.lastIndexOf('/') + 1).replace(/^db:/, '');
  const dot = base.lastIndexOf('.');
  return `${sha256}${dot >= 0 ? base.slice(dot) : ''}`;
}

/** The attachments table's path as the target keeps it: `db:<name>` on PostgreSQL, the file relative to the workspace on SQLite. */
export function attachmentPathRewrite(target: Store, place: FilePlace | undefined): (row: Record<string, unknown>) => Record<string, unknown> {
  return (row) => {
    const name = photoName(String(row.path), String(row.sha256));
    const path = target.kind === 'postgres' ? `${IN_DATABASE}${name}` : relative(place!.root, join(place!.attachmentsDir, name)).split(sep).join('/');
    return { ...row, path };
  };
}

/**
 * The photos: every distinct content the attachments table names, read from
 * the source (files or attachment_blobs), checked against its sha256, and
 * written to the target (files, or attachment_blobs in the copy's
 * transaction), then read back from the target and checked again.
 */
export function photosExtra(source: Store, sourcePlace: FilePlace | undefined, target: Store, targetPlace: FilePlace | undefined): CopiedExtra {
  const created: string[] = [];
  const photos = (): Array<{ sha256: string; path: string; created_at: string }> =>
    source.statement<[], { sha256: string; path: string; created_at: string }>('SELECT sha256, min(path) AS path, min(created_at) AS created_at FROM attachments GROUP BY sha256 ORDER BY sha256').all();
  const read = (store: Store, place: FilePlace | undefined, sha256: string, path: string): Buffer | undefined => {
    if (store.kind === 'postgres') return readAttachmentBlob(store, sha256);
    const file = path.startsWith(IN_DATABASE) ? join(place!.attachmentsDir, photoName(path, sha256)) : join(place!.root, path);
    return existsSync(file) ? readFileSync(file) : undefined;
  };
  return {
    name: 'photos',
    held() {
      if (target.kind !== 'postgres') return undefined; // files of equal content are the same photo; a folder shared with other databases is fine
      const n = target.statement<[], { n: number }>('SELECT count(*) AS n FROM attachment_blobs').get()!.n;
      return n > 0 ? `${n} photos` : undefined;
    },
    copy() {
      const hash = createHash('sha256');
      const list = photos();
      for (const { sha256, path, created_at } of list) {
        const bytes = read(source, sourcePlace, sha256, path);
        if (!bytes || createHash('sha256').update(bytes).digest('hex') !== sha256) {
          throw new FailedError(`The photo ${path} in ${source.name} is ${bytes ? 'damaged (its content does not match its sha256)' : 'missing'}; restore it from a backup before copying; nothing was copied`, 'photo_missing');
        }
        const name = photoName(path, sha256);
        if (target.kind === 'postgres') storeAttachmentBlob(target, { sha256, bytes, created_at });
        else {
          makeFolder(targetPlace!.attachmentsDir, 0o700);
          const file = join(targetPlace!.attachmentsDir, name);
          if (!existsSync(file)) {
            writeFileSync(file, bytes, { mode: 0o600, flag: 'wx' });
            created.push(file);
          }
        }
        const back = read(target, targetPlace, sha256, target.kind === 'postgres' ? `${IN_DATABASE}${name}` : join(relative(targetPlace!.root, targetPlace!.attachmentsDir), name));
        if (!back || !back.equals(bytes)) throw new FailedError(`The photo ${name} could not be written to ${target.name} as it was read; nothing was copied`, 'copy_mismatch');
        hash.update(`${sha256} ${bytes.length}\n`);
      }
      return { rows: list.length, digest: hash.digest('hex') };
    },
    undo() {
      for (const file of created) if (existsSync(file)) unlinkSync(file);
    },
  };
}

const CHARGE_COLUMNS = ['id', 'idempotency_key', 'amount_minor', 'currency', 'token', 'status', 'decline_code', 'decline_message', 'hard', 'created_at'] as const;
const REFUND_COLUMNS = ['id', 'idempotency_key', 'charge_id', 'amount_minor', 'currency', 'reason', 'status', 'failure_code', 'failure_message', 'created_at'] as const;

interface Ledger {
  charges: SandboxCharge[];
  refunds: SandboxRefund[];
}

function byKey<T extends { idempotency_key: string }>(rows: T[]): T[] {
  return rows.sort((a, b) => (a.idempotency_key < b.idempotency_key ? -1 : a.idempotency_key > b.idempotency_key ? 1 : 0));
}

function readLedger(store: Store, place: FilePlace | undefined): Ledger {
  if (store.kind === 'postgres') {
    return {
      charges: byKey(store.statement<[], SandboxCharge>('SELECT * FROM sandbox_charges').all()),
      refunds: byKey(store.statement<[], SandboxRefund>('SELECT * FROM sandbox_refunds').all()),
    };
  }
  const path = place!.ledgerPath;
  if (!existsSync(path) || statSync(path).size === 0) return { charges: [], refunds: [] };
  // Read-only: the source's ledger is left exactly as it is (no table made, no mode changed).
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const has = (table: string) => db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = ?").get(table) as { n: number };
    return db.transaction(() => ({
      charges: has('charges').n > 0 ? byKey(db.prepare('SELECT * FROM charges').all() as SandboxCharge[]) : [],
      refunds: has('refunds').n > 0 ? byKey(db.prepare('SELECT * FROM refunds').all() as SandboxRefund[]) : [],
    }))();
  } finally {
    db.close();
  }
}

function ledgerDigest(ledger: Ledger): { rows: number; digest: string } {
  const hash = createHash('sha256');
  for (const row of ledger.charges) hash.update(`c${JSON.stringify(CHARGE_COLUMNS.map((c) => (c === 'amount_minor' || c === 'hard' ? Number(row[c]) : row[c])))}\n`);
  for (const row of ledger.refunds) hash.update(`r${JSON.stringify(REFUND_COLUMNS.map((c) => (c === 'amount_minor' ? Number(row[c]) : row[c])))}\n`);
  return { rows: ledger.charges.length + ledger.refunds.length, digest: hash.digest('hex') };
}

/**
 * The sandbox processor's ledger: a file beside a SQLite database, the
 * sandbox_charges and sandbox_refunds tables on PostgreSQL (written in the
 * copy's transaction). Copied row for row, outcomes and all: the ledger is
 * the processor's record, never decided again.
 */
export function sandboxLedgerExtra(source: Store, sourcePlace: FilePlace | undefined, target: Store, targetPlace: FilePlace | undefined): CopiedExtra {
  let createdFile: string | undefined;
  return {
    name: 'sandbox ledger',
    held() {
      const there = readLedger(target, targetPlace);
      const n = there.charges.length + there.refunds.length;
      return n > 0 ? `${n} sandbox processor records${target.kind === 'sqlite' ? ` in ${targetPlace!.ledgerPath}` : ''}` : undefined;
    },
    copy() {
      const ledger = readLedger(source, sourcePlace);
      const expected = ledgerDigest(ledger);
      if (expected.rows === 0) return expected;
      if (target.kind === 'postgres') {
        insertRows(target, 'sandbox_charges', CHARGE_COLUMNS, ledger.charges as unknown as Record<string, unknown>[]);
        insertRows(target, 'sandbox_refunds', REFUND_COLUMNS, ledger.refunds as unknown as Record<string, unknown>[]);
      } else {
        const path = targetPlace!.ledgerPath;
        if (!existsSync(path)) createdFile = path;
        // The ledger's own class makes the file (0600) and its tables; the rows then go in as they are.
        const made = new SqliteSandboxLedger(path);
        try {
          [...made.refunds()];
        } finally {
          made.close();
        }
        const db = new Database(path, { fileMustExist: true });
        try {
          db.pragma('busy_timeout = 10000');
          const charge = db.prepare(`INSERT INTO charges (${CHARGE_COLUMNS.join(', ')}) VALUES (${CHARGE_COLUMNS.map((c) => `@${c}`).join(', ')})`);
          const refund = db.prepare(`INSERT INTO refunds (${REFUND_COLUMNS.join(', ')}) VALUES (${REFUND_COLUMNS.map((c) => `@${c}`).join(', ')})`);
          db.transaction(() => {
            for (const row of ledger.charges) charge.run(row);
            for (const row of ledger.refunds) refund.run(row);
          }).immediate();
        } finally {
          db.close();
        }
        chmodSync(path, 0o600);
      }
      const found = ledgerDigest(readLedger(target, targetPlace));
      if (found.rows !== expected.rows || found.digest !== expected.digest) {
        throw new FailedError(`The copy of the sandbox processor's ledger in ${target.name} differs from the source (${expected.rows} records read, ${found.rows} found); nothing was copied`, 'copy_mismatch');
      }
      return expected;
    },
    undo() {
      if (target.kind !== 'sqlite') return; // rolled back with the copy's transaction
      const path = targetPlace!.ledgerPath;
      if (createdFile) {
        for (const file of [path, `${path}-wal`, `${path}-shm`]) if (existsSync(file)) unlinkSync(file);
        return;
      }
      // The file was there, empty of records: empty it again.
      const db = new Database(path, { fileMustExist: true });
      try {
        db.exec('DELETE FROM charges; DELETE FROM refunds;');
      } finally {
        db.close();
      }
    },
  };
}
