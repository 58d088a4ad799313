import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { clinicWorkspace, engine, ledgerRows, query, runner, setUp, tempDir, withoutClockWarning, type RunResult, type TestClock } from '../helpers.js';
import { dumpDatabase, restoreDatabase } from '../postgres.js';

/**
 * Issue 8 item 10: `db backup` writes the database, the attachments and the
 * sandbox processor's ledger together with a manifest of hashes; `db restore`
 * checks it, refuses a newer database without --force, and never rolls the
 * processor back, so billing waits for `billing reconcile`.
 *
 * On PostgreSQL backups are the server's own tools' (pg_dump, pg_restore):
 * `db backup` and `db restore` refuse in one sentence naming them and write
 * nothing, and a database put back from a pg_dump is caught by the
 * workspace's high-water mark just as a restored file is.
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
  const ws = clinicWorkspace(2, [['plan', 'apply', 'P-1', 'mild-acne-clearing', '--mode', 'start', '--yes', '--clinic', 'main', '--start', '2026-01-05', '--payment-method', 'pm_card_visa']]);
  const clock: TestClock = { now: undefined };
  const { run, json } = runner(ws, clock);
  writeFileSync(join(ws, 'week1.png'), PNG);
  setUp(ws, [['plan', 'step', '--yes', '1', '1', '--done', '--photo', 'week1.png', '--date', '2026-01-05']]);
  const count = (sql: string): number => Number(query<{ n: number }>(ws, sql)[0]!.n);
  return { ws, clock, run, json, count };
}

const manifestOf = (dir: string) => JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;

/** PostgreSQL: the command refuses in one sentence naming the server's own tools, and writes nothing to `dest`. */
function refusedOnPostgres(result: RunResult, command: string, dest: string, before: string[] | undefined): void {
  expect(result.code).toBe(1);
  expect(result.stdout).toBe('');
  expect(result.stderr).toMatch(new RegExp(`^txplan: "txplan db ${command}" works on a SQLite database file, and .+ is a PostgreSQL database; use PostgreSQL's own tools \\(pg_dump, pg_restore\\) there\\n$`));
  if (before === undefined) expect(existsSync(dest)).toBe(false);
  else expect(readdirSync(dest).sort()).toEqual(before);
}

describe('txplan db backup', () => {
  it('writes the database, attachments and the processor ledger with a manifest, private, never over an existing path (PostgreSQL: refuses, naming pg_dump, writing nothing)', () => {
    const c = clinic();
    const dest = join(tempDir(), 'nightly');
    if (engine === 'postgres') {
      refusedOnPostgres(c.run('db', 'backup', dest), 'backup', dest, undefined);
      const json = c.run('db', 'backup', dest, '--json');
      expect(json.code).toBe(1);
      expect(JSON.parse(json.stderr)).toEqual({ error: { code: 'not_sqlite', message: expect.stringContaining('pg_dump') } });
      expect(existsSync(dest)).toBe(false);
      return;
    }
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
  it('refuses a backup with an altered or missing file, changing nothing (PostgreSQL: refuses any folder, naming pg_restore)', () => {
    const c = clinic();
    const dest = join(tempDir(), 'b');
    if (engine === 'postgres') {
      // Whatever the folder holds (a pg_dump, nothing, an altered file), nothing is restored.
      mkdirSync(dest);
      dumpDatabase(c.ws, join(dest, 'nightly.dump'));
      setUp(c.ws, [['patient', 'add', '--first', 'Alan', '--last', 'Turing', '--mrn', 'P-3']]);
      for (const args of [[dest, '--yes', '--force'], [tempDir(), '--yes'], [dest]]) {
        const listing = readdirSync(args[0]!).sort();
        refusedOnPostgres(c.run('db', 'restore', ...args), 'restore', args[0]!, listing);
        expect(c.count('SELECT count(*) AS n FROM patients')).toBe(3);
      }
      return;
    }
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

  it('refuses to overwrite a newer database without --force, and asks first (refusing off a terminal without --yes); attachments go back with the database', () => {
    const c = clinic();
    const dest = join(tempDir(), 'b');
    if (engine === 'postgres') {
      // The server's own tools put the database back, and the photos with it (they are stored in the database).
      dumpDatabase(c.ws, dest);
      setUp(c.ws, [['patient', 'add', '--first', 'Alan', '--last', 'Turing', '--mrn', 'P-3']]);
      const empty = tempDir();
      refusedOnPostgres(c.run('db', 'restore', empty, '--yes', '--force'), 'restore', empty, []);
      expect(c.count('SELECT count(*) AS n FROM patients')).toBe(3);
      restoreDatabase(c.ws, dest);
      expect(c.count('SELECT count(*) AS n FROM patients')).toBe(2);
      expect(query(c.ws, 'SELECT b.sha256, b.size FROM attachments a JOIN attachment_blobs b ON b.sha256 = a.sha256')).toEqual([{ sha256: sha256(PNG), size: PNG.length }]);
      expect(existsSync(join(c.ws, '.txplan', 'txplan.db'))).toBe(false);
      // Nothing sequenced was issued since the dump: the restored database is not behind, so nothing is held.
      expect(c.run('billing', 'reconcile').code).toBe(0);
      return;
    }
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

  it('never rolls the processor back: after a restore billing waits until reconcile has been seen (PostgreSQL: a database put back from pg_dump)', () => {
    const c = clinic();
    const dest = join(tempDir(), 'b');
    if (engine === 'sqlite') expect(c.run('db', 'backup', dest).code).toBe(0);
    else dumpDatabase(c.ws, dest);
    const ledgerBefore = engine === 'sqlite' ? readFileSync(join(c.ws, '.txplan', 'sandbox-gateway.db')) : undefined;
    setUp(c.ws, [['plan', 'apply', 'P-2', 'comprehensive-acne-resolution', '--mode', 'start', '--yes', '--clinic', 'main', '--start', '2031-01-15', '--payment-method', 'pm_card_visa', '--yes']], '2031-01-15');
    const keys = () => ledgerRows<{ idempotency_key: string }>(c.ws, 'SELECT idempotency_key FROM charges ORDER BY idempotency_key').map((r) => r.idempotency_key);
    const held = keys();
    expect(held).toHaveLength(2);
    if (engine === 'sqlite') {
      expect(c.run('db', 'restore', dest, '--yes', '--force').code).toBe(0);
      expect(readFileSync(join(c.ws, '.txplan', 'sandbox-gateway.db')).equals(ledgerBefore!)).toBe(false);
    } else {
      // pg_restore into the database made anew; the processor (its ledger tables stand for one elsewhere) keeps what it saw.
      restoreDatabase(c.ws, dest);
      expect(c.count('SELECT count(*) AS n FROM plans')).toBe(1);
    }
    expect(keys()).toEqual(held); // the ledger was not rolled back

    c.clock.now = '2031-02-01';
    const run = c.run('billing', 'run', '--date', '2031-02-01');
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^txplan: warning: TXPLAN_NOW is set: .*\ntxplan: The database is behind what the payment processor has seen.*"txplan billing reconcile"/);
    expect(withoutClockWarning(run.stderr).trim().split('\n')).toHaveLength(1);

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
