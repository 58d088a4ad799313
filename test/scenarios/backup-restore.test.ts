import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { clinicWorkspace, runner, setUp, tempDir } from '../helpers.js';

/**
 * Issue 8 item 10: `db backup` writes the database, the attachments and the
 * sandbox processor's ledger together with a manifest of hashes; `db restore`
 * checks it, refuses a newer database without --force, and never rolls the
 * processor back, so billing waits for `billing reconcile`.
 */

const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8ffff3f0005fe02fea7d6a4b20000000049454e44ae426082', 'hex');
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

interface Manifest {
  format: string;
  database_id: string;
  schema_version: number;
  created_at: string;
  files: Array<{ name: string; bytes: number; sha256: string }>;
}

function clinic() {
  const ws = clinicWorkspace(2, [['plan', 'apply', 'P-1', 'mild-acne-clearing', '--mode', 'start', '--clinic', 'main', '--start', '2026-01-05', '--payment-method', 'pm_card_visa']]);
  const { run, json } = runner(ws);
  writeFileSync(join(ws, 'week1.png'), PNG);
  setUp(ws, [['plan', 'step', '1', '1', '--done', '--photo', 'week1.png', '--date', '2026-01-05']]);
  const count = (sql: string): number => {
    const handle = new Database(join(ws, '.txplan', 'txplan.db'), { readonly: true });
    try {
      return (handle.prepare(sql).get() as { n: number }).n;
    } finally {
      handle.close();
    }
  };
  return { ws, run, json, count };
}

const manifestOf = (dir: string) => JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;

describe('txplan db backup', () => {
  it('writes the database, attachments and the processor ledger with a manifest, private, never over an existing path', () => {
    const c = clinic();
    const dest = join(tempDir(), 'nightly');
    const result = c.run('db', 'backup', dest);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(statSync(dest).mode & 0o777).toBe(0o700);
    const manifest = manifestOf(dest);
    expect(manifest.database_id).toMatch(/^[a-z]{24}$/);
    expect(manifest.schema_version).toBeGreaterThanOrEqual(5);
    expect(Number.isNaN(Date.parse(manifest.created_at))).toBe(false);
    const names = manifest.files.map((f) => f.name).sort();
    expect(names).toContain('txplan.db');
    expect(names).toContain('sandbox-gateway.db');
    expect(names.filter((n) => n.startsWith('attachments/'))).toHaveLength(1);
    for (const file of manifest.files) {
      const data = readFileSync(join(dest, file.name));
      expect({ name: file.name, bytes: data.length, sha256: sha256(data) }).toEqual(file);
      expect(statSync(join(dest, file.name)).mode & 0o777).toBe(0o600);
    }
    expect(statSync(join(dest, 'manifest.json')).mode & 0o777).toBe(0o600);
    const copy = new Database(join(dest, 'txplan.db'), { readonly: true });
    expect(copy.prepare('SELECT count(*) AS n FROM plans').get()).toEqual({ n: 1 });
    copy.close();

    const again = c.run('db', 'backup', dest);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/exists; .*choose a new/);
    expect(manifestOf(dest)).toEqual(manifest);
  });
});

describe('txplan db restore', () => {
  it('refuses a backup with an altered or missing file, changing nothing', () => {
    const c = clinic();
    const dest = join(tempDir(), 'b');
    expect(c.run('db', 'backup', dest).code).toBe(0);
    setUp(c.ws, [['patient', 'add', '--first', 'Alan', '--last', 'Turing', '--mrn', 'P-3']]);
    const before = c.count('SELECT count(*) AS n FROM patients');

    const photo = manifestOf(dest).files.find((f) => f.name.startsWith('attachments/'))!.name;
    appendFileSync(join(dest, photo), 'x');
    const tampered = c.run('db', 'restore', dest, '--yes', '--force');
    expect(tampered.code).toBe(1);
    expect(tampered.stderr).toMatch(/^txplan: The backup .* is damaged or altered: .*attachments\/.* does not match its manifest; nothing was restored/);
    expect(c.count('SELECT count(*) AS n FROM patients')).toBe(before);

    writeFileSync(join(dest, photo), PNG);
    rmSync(join(dest, 'txplan.db'));
    const missing = c.run('db', 'restore', dest, '--yes', '--force');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/txplan\.db is missing; nothing was restored/);
    expect(c.count('SELECT count(*) AS n FROM patients')).toBe(before);

    const noManifest = c.run('db', 'restore', tempDir(), '--yes');
    expect(noManifest.code).toBe(1);
    expect(noManifest.stderr).toMatch(/has no manifest\.json/);
  });

  it('refuses to overwrite a newer database without --force, and asks first (refusing off a terminal without --yes)', () => {
    const c = clinic();
    const dest = join(tempDir(), 'b');
    expect(c.run('db', 'backup', dest).code).toBe(0);
    setUp(c.ws, [['patient', 'add', '--first', 'Alan', '--last', 'Turing', '--mrn', 'P-3']]);

    const unconfirmed = c.run('db', 'restore', dest);
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.stderr).toContain('--yes');
    const newer = c.run('db', 'restore', dest, '--yes');
    expect(newer.code).toBe(1);
    expect(newer.stderr).toMatch(/newer than the backup.*--force/);
    expect(c.count('SELECT count(*) AS n FROM patients')).toBe(3);

    // Attachments go back with the database: a photo lost since the backup returns.
    const folder = join(c.ws, '.txplan', 'attachments');
    rmSync(folder, { recursive: true });
    mkdirSync(folder);
    const restored = c.run('db', 'restore', dest, '--yes', '--force');
    expect(restored.stderr).toBe('');
    expect(restored.code).toBe(0);
    expect(c.count('SELECT count(*) AS n FROM patients')).toBe(2);
    const files = readdirSync(folder, { recursive: true }).map(String).filter((f) => statSync(join(folder, f)).isFile());
    expect(files).toHaveLength(1);
    expect(sha256(readFileSync(join(folder, files[0]!)))).toBe(sha256(PNG));
    expect(existsSync(join(c.ws, '.txplan', 'txplan.db'))).toBe(true);
    // The restore itself is in the audit of the restored database.
    expect(c.json<Array<{ action: string }>>('audit', '--entity', 'database').map((e) => e.action)).toEqual(['database.restore']);
  });

  it('never rolls the processor back: after a restore billing waits until reconcile has been seen', () => {
    const c = clinic();
    const dest = join(tempDir(), 'b');
    expect(c.run('db', 'backup', dest).code).toBe(0);
    const ledgerBefore = readFileSync(join(c.ws, '.txplan', 'sandbox-gateway.db'));
    setUp(c.ws, [['plan', 'apply', 'P-2', 'comprehensive-acne-resolution', '--mode', 'start', '--clinic', 'main', '--start', '2031-01-15', '--payment-method', 'pm_card_visa', '--charge-now']]);
    const keys = () => {
      const handle = new Database(join(c.ws, '.txplan', 'sandbox-gateway.db'), { readonly: true });
      try {
        return (handle.prepare('SELECT idempotency_key FROM charges ORDER BY idempotency_key').all() as Array<{ idempotency_key: string }>).map((r) => r.idempotency_key);
      } finally {
        handle.close();
      }
    };
    const held = keys();
    expect(held).toHaveLength(2);
    expect(c.run('db', 'restore', dest, '--yes', '--force').code).toBe(0);
    expect(keys()).toEqual(held); // the ledger was not rolled back
    expect(readFileSync(join(c.ws, '.txplan', 'sandbox-gateway.db')).equals(ledgerBefore)).toBe(false);

    const run = c.run('billing', 'run', '--date', '2031-02-01');
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^txplan: The database is behind what the payment processor has seen.*"txplan billing reconcile"/);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);

    const listed = c.run('billing', 'reconcile', '--json');
    expect(listed.code).toBe(1);
    const report = JSON.parse(listed.stdout) as { ok: boolean; on_hold: boolean; differences: Array<{ idempotency_key: string; problem: string }> };
    expect(report).toMatchObject({ ok: false, on_hold: true });
    expect(report.differences).toEqual([expect.objectContaining({ idempotency_key: expect.stringMatching(/_plan-2-installment-1$/), problem: 'unknown_to_txplan' })]);

    const accepted = c.run('billing', 'reconcile', '--accept');
    expect(accepted.code).toBe(0);
    expect(accepted.stdout).toContain('acknowledged');
    expect(c.json<Array<{ action: string }>>('audit', '--entity', 'billing').map((e) => e.action)).toContain('billing.reconcile_accept');
    // Seen and acknowledged: reconcile now passes and billing runs again.
    expect(c.run('billing', 'reconcile').code).toBe(0);
    expect(c.run('billing', 'run', '--date', '2031-02-01').code).toBe(0);
  });
});
