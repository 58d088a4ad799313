import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/store/database.js';
import { Store } from '../../src/store/store.js';
import { listAudit, recordAudit } from '../../src/store/audit.js';
import { FailedError } from '../../src/errors.js';
import { findCardNumbers } from '../../src/store/maintenance.js';
import { tempDir } from '../helpers.js';

describe('recordAudit: the last line of defence', () => {
  it('refuses an entry holding a card number anywhere, so nothing reaches the append-only audit', () => {
    const store = new Store(openDatabase(join(tempDir(), 'txplan.db')));
    const base = { at: '2026-03-01T10:00:00.000Z', actor: 'ana', action: 'update', entity: 'patient', entityId: 1 };
    recordAudit(store, { ...base, after: { note: 'call back 2026-03-04, +44 20 7946 0958' } });
    const attempts = [
      { ...base, after: { note: 'paid 4111\u00a01111\u00a01111\u00a01111' } },
      { ...base, before: { nested: [{ text: '５５５５ ５５５５ ５５５５ ４４４４' }] } },
      { ...base, actor: '3782-822463-10005' },
      { ...base, after: { '4111.1111.1111.1111': true } },
    ];
    for (const entry of attempts) expect(() => recordAudit(store, entry)).toThrow(FailedError);
    expect(listAudit(store, {})).toHaveLength(1);
    store.close();
  });

  it('reads digests, commits and processor charge ids as generated values, not as text someone typed', () => {
    const store = new Store(openDatabase(join(tempDir(), 'txplan.db')));
    const base = { at: '2026-03-01T10:00:00.000Z', actor: 'ana', action: 'update', entity: 'plan', entityId: 1 };
    // A hex digest whose digit run passes the card check, as about one SHA-256 in 200 does.
    const digest = `4111111111111111${'ab'.repeat(24)}`;
    recordAudit(store, { ...base, after: { template_hash: digest, template_commit: digest.slice(0, 40), photos: [digest], gateway_charge_id: `ch_${digest.slice(0, 24)}` } });
    expect(() => recordAudit(store, { ...base, after: { note: digest } })).toThrow(FailedError);
    expect(listAudit(store, {})).toHaveLength(1);
    expect(findCardNumbers(store)).toEqual([]);
    // The same value in a column people write is found, and named by place only.
    store.db.prepare("INSERT INTO clinics (id, name, timezone, created_at) VALUES ('c', ?, 'UTC', '2026-03-01T10:00:00.000Z')").run(digest);
    expect(findCardNumbers(store)).toEqual([{ table: 'clinics', column: 'name', row: 1 }]);
    store.close();
  });
});
