import { copyFileSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { clinicWorkspace, ledgerRows, runner, tempDir } from '../helpers.js';

/**
 * Issue 8 item 3: a restored database must never make the processor replay an
 * old charge for a new patient. Keys carry the database's own random id, and
 * ids never go backwards: the high-water mark lives outside the database file.
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
  const databaseId = (): string => {
    const handle = new Database(dbFile, { readonly: true });
    try {
      return (handle.prepare('SELECT id FROM database_info').get() as { id: string }).id;
    } finally {
      handle.close();
    }
  };
  const start = (patient: string, token = 'pm_card_mastercard') => run('plan', 'apply', patient, ACNE, '--mode', 'start', '--clinic', 'main', '--start', '2031-01-15', '--payment-method', token, '--charge-now', '--json');
  return { ws, run, json, dbFile, ledger, databaseId, start };
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
    const other = clinic();
    expect(other.databaseId()).not.toBe(dbId);
  });

  it('restoring a backup and starting a new plan makes a new charge at the processor, not a replay', () => {
    const c = clinic();
    started(c.start('P-1'));
    const backup = join(tempDir(), 'backup');
    expect(c.run('db', 'backup', backup).code).toBe(0);
    const second = started(c.start('P-2'));
    expect(c.ledger()).toHaveLength(2);

    const restored = c.run('db', 'restore', backup, '--yes', '--force');
    expect(restored.stderr).toBe('');
    expect(restored.code).toBe(0);

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

  it('a database file copied back by hand is caught when opened: ids continue past what the processor saw', () => {
    const c = clinic();
    started(c.start('P-1'));
    const copy = join(tempDir(), 'copy.db');
    copyFileSync(c.dbFile, copy);
    const second = started(c.start('P-2'));
    for (const suffix of ['-wal', '-shm']) if (existsSync(c.dbFile + suffix)) rmSync(c.dbFile + suffix);
    copyFileSync(copy, c.dbFile);

    const refused = c.run('billing', 'run', '--date', '2031-02-01');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^txplan: The database is behind what the payment processor has seen.*"txplan billing reconcile"/);
    expect(c.start('P-3').code).toBe(1);
    // Only money waits: prescribing (no charge) goes on, with an id past what the processor saw.
    const prescribed = c.json<{ id: number }>('plan', 'apply', 'P-3', ACNE, '--mode', 'prescribe');
    expect(prescribed.id).toBeGreaterThan(second);
    expect(c.run('billing', 'reconcile', '--accept').code).toBe(0);
    const third = started(c.start('P-3', 'pm_card_amex'));
    expect(third).toBeGreaterThan(second);
    expect(c.ledger()).toHaveLength(3);
    expect(c.ledger()[2]).toMatchObject({ token: 'pm_card_amex', status: 'succeeded' });
  });
});
