import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engine, txplan, type RunResult } from '../helpers.js';
import { redactUrl } from '../../src/store/location.js';
import { scratchDatabase, type ScratchDatabase } from '../postgres/scratch.js';

/**
 * Issue 11, item 5: `txplan db copy --to URL|FILE` moves a whole clinic —
 * patients, plans, steps, charges, refunds, the audit, a photo and the
 * sandbox processor's ledger — into an empty database and back. What every
 * command shows afterwards is what it showed before, for plans of every kind:
 * monthly and pay-as-you-go, paid, declined, refunded, paused, resumed with a
 * later price, cancelled, prescribed and edited, with done, skipped and booked
 * visits. On the sqlite project
 * the copy goes from one SQLite file to another; on the postgres project from
 * SQLite to PostgreSQL and back to a new SQLite file.
 */

const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8ffff3f0005fe02fea7d6a4b20000000049454e44ae426082', 'hex');
const PHOTO = createHash('sha256').update(PNG).digest('hex');
const GLOW = 'glow-membership'; // monthly, 12 × $169.00
const MILD = 'mild-acne-clearing'; // pay-as-you-go, 4 visits

interface Shown {
  plans: string[];
  charges: string;
  audit: unknown[];
}

describe('txplan db copy', () => {
  let folder: string;
  let ws: string;
  let original: string;
  let on: (db: string, now?: string) => (...args: string[]) => RunResult;
  let shownBefore: Shown;
  let planIds: number[];

  /** Everything the clinic sees: every plan, the charges, the audit without the copies' own entries. */
  const shown = (db: string): Shown => {
    const run = on(db);
    const ok = (...args: string[]) => {
      const result = run(...args, '--json');
      if (result.code !== 0) throw new Error(`txplan ${args.join(' ')} on ${db}: ${result.stderr}`);
      return result.stdout;
    };
    const audit = (JSON.parse(ok('audit')) as Array<{ action: string }>).filter((entry) => entry.action !== 'db.copy');
    return { plans: planIds.map((id) => ok('plan', 'show', String(id))), charges: ok('billing', 'charges'), audit };
  };

  beforeAll(() => {
    folder = mkdtempSync(join(tmpdir(), 'txplan-db-copy-'));
    ws = join(folder, 'clinic');
    original = join(ws, '.txplan', 'txplan.db');
    // Every command names its database, so the clinic starts on SQLite on both projects.
    on = (db, now) => (...args) => txplan(args, { cwd: ws, env: { TXPLAN_DB: db, ...(now ? { TXPLAN_NOW: now } : {}) } });
    const must = (now: string | undefined, ...args: string[]) => {
      const result = on(original, now)(...args);
      if (result.code !== 0) throw new Error(`setup ${args.join(' ')}: ${result.stderr}`);
      return result;
    };
    const init = txplan(['init', ws], { env: { TXPLAN_DB: original } });
    if (init.code !== 0) throw new Error(init.stderr);
    must(undefined, 'clinic', 'add', 'main', '--name', 'Main Street', '--timezone', 'UTC');
    for (const [i, [first, last]] of [['Ada', 'Lovelace'], ['Grace', 'Hopper'], ['Alan', 'Turing'], ['Edsger', 'Dijkstra'], ['Barbara', 'Liskov']].entries()) {
      must(undefined, 'patient', 'add', '--first', first!, '--last', last!, '--mrn', `P-${i + 1}`);
    }
    const start = (patient: string, card = 'pm_card_visa') => must('2031-01-15T09:00:00Z', 'plan', 'apply', patient, GLOW, '--mode', 'start', '--clinic', 'main', '--start', '2031-01-15', '--payment-method', card, '--yes');
    start('P-1');
    start('P-2');
    start('P-3');
    start('P-4');
    must('2031-01-16T09:00:00Z', 'plan', 'payment', '2', '--payment-method', 'pm_card_chargeDeclined', '--yes');
    must('2031-02-15T09:00:00Z', 'plan', 'pause', '3');
    must('2031-02-15T09:00:00Z', 'plan', 'cancel', '4', '--reason', 'Moved away', '--yes');
    // The second installments: plan 1 paid, plan 2 declined.
    on(original, '2031-02-15T10:00:00Z')('billing', 'run', '--yes');
    // Pay-as-you-go (plan 5): a visit done and charged, one skipped, one booked.
    must('2031-01-15T09:00:00Z', 'plan', 'apply', 'P-5', MILD, '--mode', 'start', '--clinic', 'main', '--start', '2031-01-15', '--payment-method', 'pm_card_visa', '--yes');
    must('2031-01-20T09:00:00Z', 'plan', 'step', '5', '1', '--done', '--date', '2031-01-20', '--outcome', 'Less redness', '--yes');
    must('2031-02-20T09:00:00Z', 'plan', 'step', '5', '2', '--skip', '--yes');
    must('2031-02-20T09:00:00Z', 'plan', 'book', '5', '3', '--at', '2031-03-12 10:30');
    // Prescribed and edited (plan 6); plan 3 resumed, then a new fee from a later installment.
    must('2031-02-20T09:00:00Z', 'plan', 'apply', 'P-5', GLOW, '--mode', 'prescribe');
    must('2031-02-20T09:00:00Z', 'plan', 'edit', '6', '--set', 'goal=Glow before the wedding', '--set', 'pricing.monthly_fee=150', '--yes');
    must('2031-02-20T09:00:00Z', 'plan', 'resume', '3', '--yes');
    must('2031-02-20T09:00:00Z', 'plan', 'edit', '3', '--set', 'pricing.monthly_fee=159', '--set', 'name=Glow, Alan', '--yes');
    must('2031-02-20T09:00:00Z', 'billing', 'refund', '1', '--amount', '50', '--reason', 'missed session', '--yes');
    writeFileSync(join(ws, 'week1.png'), PNG);
    must('2031-02-20T09:00:00Z', 'plan', 'step', '1', '1', '--done', '--note', 'Healing well', '--photo', 'week1.png', '--date', '2031-02-20', '--yes');
    const db = new Database(original, { readonly: true });
    try {
      planIds = (db.prepare('SELECT id FROM plans ORDER BY id').all() as Array<{ id: number }>).map((r) => r.id);
      const statuses = db.prepare('SELECT status FROM charges').all() as Array<{ status: string }>;
      // The data set holds what the copy must carry: paid, declined and refunded charges, a photo.
      expect(new Set(statuses.map((s) => s.status))).toEqual(new Set(['succeeded', 'failed']));
      expect((db.prepare('SELECT count(*) AS n FROM refunds').get() as { n: number }).n).toBe(1);
      expect((db.prepare('SELECT count(*) AS n FROM attachments').get() as { n: number }).n).toBe(1);
      const plans = db.prepare('SELECT type, status FROM plans ORDER BY id').all();
      expect(plans).toEqual([
        { type: 'monthly', status: 'active' },
        { type: 'monthly', status: 'active' }, // its declined installment waits for a retry
        { type: 'monthly', status: 'active' },
        { type: 'monthly', status: 'cancelled' },
        { type: 'pay-as-you-go', status: 'active' },
        { type: 'monthly', status: 'prescribed' },
      ]);
      const steps = db.prepare("SELECT status, booked_at IS NOT NULL AS booked FROM steps WHERE plan_id = 5 ORDER BY n").all();
      expect(steps).toEqual([{ status: 'done', booked: 0 }, { status: 'skipped', booked: 0 }, { status: 'pending', booked: 1 }, { status: 'pending', booked: 0 }]);
      expect(db.prepare('SELECT plan_id, from_installment, monthly_fee_minor FROM plan_prices WHERE plan_id IN (3, 6) ORDER BY plan_id, from_installment').all()).toEqual([
        { plan_id: 3, from_installment: 1, monthly_fee_minor: 16900 },
        { plan_id: 3, from_installment: 2, monthly_fee_minor: 15900 },
        { plan_id: 6, from_installment: 1, monthly_fee_minor: 15000 },
      ]);
    } finally {
      db.close();
    }
    shownBefore = shown(original);
  });
  afterAll(() => {
    if (folder) rmSync(folder, { recursive: true, force: true });
  });

  /** The ledger file's rows, to compare with another ledger. */
  const ledgerFile = (file: string) => {
    const db = new Database(file, { readonly: true });
    try {
      return { charges: db.prepare('SELECT * FROM charges ORDER BY idempotency_key').all(), refunds: db.prepare('SELECT * FROM refunds ORDER BY idempotency_key').all() };
    } finally {
      db.close();
    }
  };

  /** Copies the clinic's database from `from` to the new SQLite file `file` (in a folder of its own: the ledger goes beside it). */
  const copyToFile = (from: string, file: string) => {
    const result = on(from)('db', 'copy', '--to', file);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    return result;
  };

  it('says in one sentence what is wrong with --to, and writes nothing', () => {
    const other = on(original)('db', 'copy', '--to', 'mysql://clinic@db/txplan');
    expect(other).toEqual({ code: 2, stdout: '', stderr: 'txplan: --to names a mysql:// database, which txplan cannot use; give a SQLite file path or a postgres:// (or postgresql://) URL\n' });
    const itself = on(original)('db', 'copy', '--to', original);
    expect(itself).toEqual({ code: 2, stdout: '', stderr: `txplan: --to names the database being copied (${original}); name a new file or a postgres:// URL\n` });
  });

  if (engine === 'sqlite') {
    it('copies a SQLite database into a new file: every table verified, the same plans, charges, audit, photo and processor ledger', () => {
      const moved = join(ws, 'moved', 'txplan.db');
      const result = copyToFile(original, moved);
      expect(result.stdout).toMatch(/^ {2}patients +5 rows {2}✔ same on both sides$/m);
      expect(result.stdout).toMatch(/^ {2}photos +1 row {3}✔ same on both sides$/m);
      expect(result.stdout).toMatch(/^ {2}sandbox ledger +\d+ rows {2}✔ same on both sides$/m);
      expect(result.stdout).toContain(`point txplan at it (TXPLAN_DB=${moved}, or database: in txplan.yaml)`);
      expect(statSync(moved).mode & 0o777).toBe(0o600);
      expect(shown(moved)).toEqual(shownBefore);
      expect(ledgerFile(join(ws, 'moved', 'sandbox-gateway.db'))).toEqual(ledgerFile(join(ws, '.txplan', 'sandbox-gateway.db')));
      const copyEntries = (JSON.parse(on(moved)('audit', '--json').stdout) as Array<{ action: string; after: { from: string; rows: Record<string, number> } }>).filter((e) => e.action === 'db.copy');
      expect(copyEntries).toEqual([expect.objectContaining({ after: expect.objectContaining({ from: original, rows: expect.objectContaining({ patients: 5, plans: 6, photos: 1 }) }) })]);
      // The source is untouched: no copy entry there.
      expect((JSON.parse(on(original)('audit', '--json').stdout) as Array<{ action: string }>).some((e) => e.action === 'db.copy')).toBe(false);

      // --json gives the same counts and a digest per table.
      const again = join(ws, 'again', 'txplan.db');
      const json = JSON.parse(on(original)('db', 'copy', '--to', again, '--json').stdout) as { tables: Array<{ table: string; rows: number; digest: string }> };
      const plans = json.tables.find((t) => t.table === 'plans')!;
      expect(plans).toMatchObject({ rows: 6, digest: expect.stringMatching(/^[0-9a-f]{64}$/) });
    });

    it('refuses a file that already exists, and leaves it as it was', () => {
      const taken = join(ws, 'taken', 'txplan.db');
      copyToFile(original, taken);
      const before = readFileSync(taken);
      const result = on(original)('db', 'copy', '--to', taken);
      expect(result.code).toBe(1);
      expect(result.stderr).toBe(`txplan: The file ${taken} already exists; db copy writes only a new database: choose another file name (or move that file away); nothing was changed\n`);
      expect(readFileSync(taken).equals(before)).toBe(true);
    });

    it('stops at a missing photo and leaves no target behind', () => {
      const file = join(ws, '.txplan', 'attachments', `${PHOTO}.png`);
      const aside = join(ws, 'photo-aside.png');
      renameSync(file, aside);
      try {
        const target = join(ws, 'broken', 'txplan.db');
        const result = on(original)('db', 'copy', '--to', target);
        expect(result.code).toBe(1);
        expect(result.stderr).toContain(`The photo .txplan/attachments/${PHOTO}.png in ${original} is missing; restore it from a backup before copying; nothing was copied`);
        expect(existsSync(target)).toBe(false);
        expect(existsSync(join(ws, 'broken', 'sandbox-gateway.db'))).toBe(false);
      } finally {
        renameSync(aside, file);
      }
    });
  } else {
    let server: ScratchDatabase;
    beforeAll(() => {
      server = scratchDatabase('dbcopy');
    });
    afterAll(() => server?.drop());

    it('copies a SQLite workspace into PostgreSQL and back: the same plans, charges, audit, photo and processor ledger on all three', () => {
      const result = copyToFile(original, server.url);
      expect(result.stdout).toMatch(/^ {2}plans +6 rows {2}✔ same on both sides$/m);
      expect(result.stdout).toMatch(/^ {2}photos +1 row {3}✔ same on both sides$/m);
      const shownUrl = redactUrl(server.url);
      expect(result.stdout).toContain(`point txplan at it (${shownUrl === server.url ? `TXPLAN_DB=${server.url}` : 'TXPLAN_DB set to the URL given to --to'}, or database: in txplan.yaml)`);
      expect(result.stdout).toContain(`Copied ${original} to ${shownUrl}.`);
      const onServer = shown(server.url);
      // On PostgreSQL a photo's bytes are in the database, and its path says so.
      const inDatabase = (s: Shown) => ({ ...s, plans: s.plans.map((p) => p.replaceAll(`.txplan/attachments/${PHOTO}.png`, `db:${PHOTO}.png`)) });
      expect(onServer).toEqual(inDatabase(shownBefore));
      const store = server.store();
      const blob = store.statement<[], { sha256: string; size: number }>('SELECT sha256, size FROM attachment_blobs').all();
      expect(blob).toEqual([{ sha256: PHOTO, size: PNG.length }]);
      const ledger = ledgerFile(join(ws, '.txplan', 'sandbox-gateway.db'));
      expect({
        charges: store.statement('SELECT * FROM sandbox_charges ORDER BY idempotency_key COLLATE "C"').all(),
        refunds: store.statement('SELECT * FROM sandbox_refunds ORDER BY idempotency_key COLLATE "C"').all(),
      }).toEqual(ledger);

      // Back to a new SQLite file; the photo comes back out of the database.
      rmSync(join(ws, '.txplan', 'attachments'), { recursive: true });
      const back = join(ws, 'back', 'txplan.db');
      mkdirSync(join(ws, 'back'));
      copyToFile(server.url, back);
      expect(shown(back)).toEqual(shownBefore);
      expect(readdirSync(join(ws, '.txplan', 'attachments'))).toEqual([`${PHOTO}.png`]);
      expect(readFileSync(join(ws, '.txplan', 'attachments', `${PHOTO}.png`)).equals(PNG)).toBe(true);
      expect(ledgerFile(join(ws, 'back', 'sandbox-gateway.db'))).toEqual(ledger);
      // Each copy audited on its target.
      const copies = (JSON.parse(on(back)('audit', '--reverse', '--json').stdout) as Array<{ action: string; after: { from: string } }>).filter((e) => e.action === 'db.copy').map((e) => e.after.from);
      expect(copies).toEqual([original, redactUrl(server.url)]);
    });

    it('refuses a PostgreSQL database that holds data, and changes nothing in it', () => {
      const count = () => server.store().statement<[], { n: number }>('SELECT count(*) AS n FROM audit').get()!.n;
      const before = count();
      const result = on(original)('db', 'copy', '--to', server.url);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(new RegExp(`^txplan: The database ${redactUrl(server.url).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} already holds txplan data \\(\\d+ clinics, 5 patients, .*\\); db copy fills only an empty database: create a new one, or choose another file; nothing was changed\\n$`));
      expect(count()).toBe(before);
    });

    it('stops at a missing photo and leaves the PostgreSQL database empty', () => {
      const empty = scratchDatabase('dbcopy_empty');
      try {
        const file = join(ws, '.txplan', 'attachments', `${PHOTO}.png`);
        rmSync(file);
        const result = on(original)('db', 'copy', '--to', empty.url);
        expect(result.code).toBe(1);
        expect(result.stderr).toContain('is missing; restore it from a backup before copying; nothing was copied');
        const store = empty.store();
        for (const table of ['patients', 'plans', 'charges', 'audit', 'attachment_blobs', 'sandbox_charges']) {
          expect(store.statement<[], { n: number }>(`SELECT count(*) AS n FROM ${table}`).get()!.n).toBe(0);
        }
      } finally {
        empty.drop();
      }
    });
  }
});
