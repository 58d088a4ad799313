import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDate } from '../../src/domain/dates.js';
import { stepsFor } from '../../src/domain/plan.js';
import type { Template } from '../../src/generated/schema-types.js';
import { MAX_PHOTO_BYTES, readAttachment, readPhoto, recordStep, type Photo, type StepRecord } from '../../src/plans/steps.js';
import { getAttachments, getPlan, getSteps, insertPlan, insertSteps } from '../../src/store/plans.js';
import type { PlanRow } from '../../src/domain/records.js';
import type { Store } from '../../src/store/store.js';
import { migrateScratch, scratchDatabase, type ScratchDatabase } from './scratch.js';

const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8ffff3f0005fe02fea7d6a4b20000000049454e44ae426082', 'hex');
const who = { actor: 'front desk', now: new Date('2026-11-27T12:00:00Z') };

let pg: ScratchDatabase;
let store: Store;
let dir: string;

beforeAll(() => {
  pg = scratchDatabase('ledger_photos');
  store = pg.store();
  migrateScratch(store);
  store.statement("INSERT INTO patients (id, mrn, first_name, last_name, created_at, updated_at) VALUES (1, 'P-1', 'Photo', 'Patient', 'x', 'x')").run();
  dir = mkdtempSync(join(tmpdir(), 'txplan-photos-'));
});

afterAll(() => {
  pg?.drop();
  rmSync(dir, { recursive: true, force: true });
});

function newPlan(): PlanRow {
  const snapshot: Template = {
    id: 'recovery',
    version: 1,
    name: 'Recovery',
    type: 'pay-as-you-go',
    status: 'active',
    goal: 'Heal',
    duration: { weeks: 4 },
    schedule: [
      { when: { week: 1 }, services: ['check-in'] },
      { when: { week: 2 }, services: ['facial'] },
      { when: { week: 3 }, services: ['facial'] },
    ],
  } as Template;
  const now = who.now.toISOString();
  const id = insertPlan(store, {
    patient_id: 1, clinic_id: null, template_id: 'recovery', template_version: 1, template_hash: 'x', template_commit: null, template_dirty: null, name: 'Recovery',
    type: 'pay-as-you-go', status: 'active', snapshot: JSON.stringify(snapshot), currency: 'USD', start_date: '2026-11-02', end_date: '2026-11-30', paused_on: null,
    pause_until: null, cancelled_on: null, cancel_reason: null, payment_method_id: null, service_prices: '{}', created_at: now, updated_at: now,
  });
  insertSteps(store, id, stepsFor(snapshot, parseDate('2026-11-02')));
  return getPlan(store, id)!;
}

/** A step done with photos, given no attachments folder: on PostgreSQL none is needed. */
function done(n: number, photos: Photo[]): StepRecord {
  return { n, mark: 'done', date: parseDate('2026-11-20')!, today: parseDate('2026-11-27')!, note: null, outcome: null, photos };
}

function photoFile(name: string, data: Buffer): Photo {
  writeFileSync(join(dir, name), data);
  return readPhoto(join(dir, name), name);
}

const count = (table: string) => store.statement<[], { n: number }>(`SELECT count(*) AS n FROM ${table}`).get()!.n;

describe('photos on PostgreSQL', () => {
  it('are stored once per content in the database, and read back byte for byte from any connection', () => {
    // Three MiB past a PNG signature: big enough to cross the connection in more than one piece.
    const picture = photoFile('before.png', Buffer.concat([PNG, randomBytes(3 * 1024 * 1024)]));
    const plan = newPlan();
    const first = recordStep(store, plan, done(1, [picture]), who);
    expect(first.attachments).toHaveLength(1);
    expect(first.attachments[0]).toMatchObject({ sha256: picture.sha256, path: `db:${picture.sha256}.png`, original_name: 'before.png', bytes: picture.bytes });
    expect(count('attachment_blobs')).toBe(1);
    expect(store.statement<[], { sha256: string; size: number }>('SELECT sha256, size FROM attachment_blobs').get()).toEqual({ sha256: picture.sha256, size: picture.bytes });

    // The same picture under another name, at the next visit: a second attachment, the same stored bytes.
    const again = photoFile('after.png', picture.data);
    const second = recordStep(store, getPlan(store, plan.id)!, done(2, [again]), who);
    expect(second.attachments).toHaveLength(1);
    expect(second.attachments[0]!.original_name).toBe('after.png');
    expect(count('attachment_blobs')).toBe(1);
    expect(getAttachments(store, plan.id).map((a) => a.sha256)).toEqual([picture.sha256, picture.sha256]);

    // Another terminal (its own connection) gets the very same bytes, with no file anywhere.
    const terminal = pg.store();
    for (const attachment of getAttachments(terminal, plan.id)) expect(readAttachment(terminal, attachment, undefined).equals(picture.data)).toBe(true);
  });

  it('refuses a photo over 25 MiB with the usual sentence, and writes nothing', () => {
    const plan = newPlan();
    const data = Buffer.concat([PNG, Buffer.alloc(MAX_PHOTO_BYTES + 1 - PNG.length)]);
    const big: Photo = { source: join(dir, 'big.png'), name: 'big.png', bytes: data.length, sha256: 'f'.repeat(64), kind: 'png', data };
    const small = photoFile('small.png', PNG);
    const before = { blobs: count('attachment_blobs'), attachments: count('attachments'), audit: count('audit') };
    expect(() => recordStep(store, plan, done(1, [small, big]), who)).toThrow('The photo big.png is 25.0 MiB, more than the 25 MiB allowed; export a smaller copy');
    expect({ blobs: count('attachment_blobs'), attachments: count('attachments'), audit: count('audit') }).toEqual(before);
    expect(getSteps(store, plan.id)[0]!.status).toBe('pending');
    expect(getPlan(store, plan.id)!.version).toBe(plan.version);
  });

  it('writes the bytes in the step\'s transaction: a refused step leaves no photo behind', () => {
    const plan = newPlan();
    recordStep(store, plan, done(1, []), who);
    const photo = photoFile('late.png', Buffer.concat([PNG, randomBytes(64)]));
    const blobs = count('attachment_blobs');
    // The plan changed since it was read: the step is refused, and its photo goes with it.
    expect(() => recordStep(store, plan, done(2, [photo]), who)).toThrow(/Plan \d+ was .* after this command read it; nothing was saved/);
    expect(count('attachment_blobs')).toBe(blobs);
    expect(store.statement<[string], { n: number }>('SELECT count(*) AS n FROM attachment_blobs WHERE sha256 = ?').get(photo.sha256)!.n).toBe(0);
  });

  it('never passes on bytes that do not match the recorded sha256', () => {
    const plan = newPlan();
    const photo = photoFile('check.png', Buffer.concat([PNG, randomBytes(32)]));
    const [attachment] = recordStep(store, plan, done(1, [photo]), who).attachments;
    expect(readAttachment(store, attachment!, undefined).equals(photo.data)).toBe(true);
    store.statement('UPDATE attachment_blobs SET bytes = ?, size = ? WHERE sha256 = ?').run(PNG, PNG.length, photo.sha256);
    expect(() => readAttachment(store, attachment!, undefined)).toThrow(`The photo check.png at db:${photo.sha256}.png does not match its recorded sha256; restore it from a backup`);
  });
});
