import { copyFileSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { at, clinicWorkspace, engine, ledgerRows, query, runner, tempDir, txplan, withoutClockWarning } from '../helpers.js';
import { copyDatabase, dumpDatabase, putBackDatabase, restoreDatabase } from '../postgres.js';

/**
 * Issue 8 item 3: a restored database must never make the processor replay an
 * old charge for a new patient. Keys carry the database's own random id, and
 * ids never go backwards: the high-water mark lives outside the database file.
 * On PostgreSQL the mark is the workspace's .txplan/high-water.json (the
 * machine that bills keeps it), and an older copy is put back with the
 * server's own tools (pg_dump / pg_restore, CREATE DATABASE … TEMPLATE).
 */

const ACNE = 'comprehensive-acne-resolution'; // monthly, 6 × $249.00

interface LedgerRow {
  id: string;
  idempotency_key: string;
  amount_minor: number;
  token: string;
  status: string;
}

function clinic() {
  const ws = clinicWorkspace(3);
  const { run, json } = runner(ws);
  const dbFile = join(ws, '.txplan', 'txplan.db');
  const ledger = (): LedgerRow[] => ledgerRows<LedgerRow>(ws, 'SELECT * FROM charges ORDER BY created_at, idempotency_key');
  const databaseId = (): string => query<{ id: string }>(ws, 'SELECT id FROM database_info')[0]!.id;
  // Plans are entered on their start date: txplan's clock (TXPLAN_NOW) is set there.
  const start = (patient: string, token = 'pm_card_mastercard') =>
    txplan(['plan', 'apply', patient, ACNE, '--mode', 'start', '--yes', '--clinic', 'main', '--start', '2031-01-15', '--payment-method', token, '--json', '--yes'], { cwd: ws, env: at('2031-01-15') });
  return { ws, run, json, dbFile, ledger, databaseId, start };
}

/** The workspace's high-water mark for its database: beside the SQLite file, in .txplan of the workspace for PostgreSQL. */
function highWater(ws: string, id: string): { plans: number; charges: number } {
  const marks = JSON.parse(readFileSync(join(ws, '.txplan', 'high-water.json'), 'utf8')) as { databases: Record<string, { plans: number; charges: number }> };
  return marks.databases[id]!;
}

function started(result: { code: number; stdout: string; stderr: string }): number {
  if (result.code !== 0) throw new Error(`plan apply exited ${result.code}: ${result.stderr}`);
  return (JSON.parse(result.stdout) as { id: number }).id;
}

describe('idempotency keys across restores', () => {
  it('keys carry the database id, and every database gets its own', () => {
    const c = clinic();
    const id = started(c.start('P-1'));
    const dbId = c.databaseId();
    expect(dbId).toMatch(/^[a-z]{24}$/);
    expect(c.ledger().map((r) => r.idempotency_key)).toEqual([`txp_${dbId}_plan-${id}-installment-1`]);
    // The mark of what the processor saw is kept outside the database, in the workspace (on either engine).
    expect(highWater(c.ws, dbId)).toMatchObject({ plans: id, charges: 1 });
    if (engine === 'postgres') expect(existsSync(c.dbFile)).toBe(false);
    const other = clinic();
    expect(other.databaseId()).not.toBe(dbId);
  });

  it('restoring a backup and starting a new plan makes a new charge at the processor, not a replay', () => {
    const c = clinic();
    started(c.start('P-1'));
    const backup = join(tempDir(), 'backup');
    if (engine === 'sqlite') expect(c.run('db', 'backup', backup).code).toBe(0);
    else {
      // On PostgreSQL backups are the server's own tools' (txplan's refusal is in backup-restore): pg_dump, then pg_restore.
      dumpDatabase(c.ws, backup);
    }
    const second = started(c.start('P-2'));
    expect(c.ledger()).toHaveLength(2);

    if (engine === 'sqlite') {
      const restored = c.run('db', 'restore', backup, '--yes', '--force');
      expect(restored.stderr).toBe('');
      expect(restored.code).toBe(0);
    } else {
      restoreDatabase(c.ws, backup);
      expect(query(c.ws, 'SELECT count(*) AS n FROM plans')).toEqual([{ n: 1 }]);
    }

    // The processor holds a charge the restored database does not: no money moves until it is reconciled.
    const refused = c.start('P-3');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('billing reconcile');
    expect(c.ledger()).toHaveLength(2);

    const listed = c.run('billing', 'reconcile');
    expect(listed.code).toBe(1);
    expect(listed.stdout).toContain(`_plan-${second}-installment-1`);
    expect(c.run('billing', 'reconcile', '--accept').code).toBe(0);

    const third = started(c.start('P-3', 'pm_card_amex'));
    expect(third).toBeGreaterThan(second);
    const ledger = c.ledger();
    expect(ledger).toHaveLength(3);
    expect(ledger[2]).toMatchObject({ token: 'pm_card_amex', status: 'succeeded', idempotency_key: `txp_${c.databaseId()}_plan-${third}-installment-1` });
    const charge = c.json<Array<{ plan_id: number; gateway_charge_id: string }>>('billing', 'charges', '--plan', String(third));
    expect(charge.map((ch) => ch.gateway_charge_id)).toEqual([ledger[2]!.id]);
  });

  it('a database copied back by hand is caught when opened: ids continue past what the processor saw', () => {
    const c = clinic();
    started(c.start('P-1'));
    const copy = join(tempDir(), 'copy.db');
    // SQLite: the file copied aside and back. PostgreSQL: a copy made with CREATE DATABASE … TEMPLATE, later put back in its place.
    if (engine === 'sqlite') copyFileSync(c.dbFile, copy);
    else copyDatabase(c.ws, copy);
    const second = started(c.start('P-2'));
    if (engine === 'sqlite') {
      for (const suffix of ['-wal', '-shm']) if (existsSync(c.dbFile + suffix)) rmSync(c.dbFile + suffix);
      copyFileSync(copy, c.dbFile);
    } else {
      putBackDatabase(c.ws, copy);
      expect(query(c.ws, 'SELECT count(*) AS n FROM plans')).toEqual([{ n: 1 }]);
    }

    const refused = txplan(['billing', 'run', '--date', '2031-02-01'], { cwd: c.ws, env: at('2031-02-01') });
    expect(refused.code).toBe(1);
    expect(withoutClockWarning(refused.stderr)).toMatch(/^txplan: The database is behind what the payment processor has seen.*"txplan billing reconcile"/);
    expect(c.start('P-3').code).toBe(1);
    // Only money waits: prescribing (no charge) goes on, with an id past what the processor saw.
    // (For P-2, whose plan went with the copy put back: P-3 is started below, and a second plan of the template would be refused.)
    const prescribed = c.json<{ id: number }>('plan', 'apply', 'P-2', ACNE, '--mode', 'prescribe');
    expect(prescribed.id).toBeGreaterThan(second);
    expect(c.run('billing', 'reconcile', '--accept').code).toBe(0);
    const third = started(c.start('P-3', 'pm_card_amex'));
    expect(third).toBeGreaterThan(second);
    expect(c.ledger()).toHaveLength(3);
    expect(c.ledger()[2]).toMatchObject({ token: 'pm_card_amex', status: 'succeeded' });
  });
});
