import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { containsCardNumber } from '../../src/domain/cards.js';
import { attemptKey, chargeKey, newDatabaseId } from '../../src/domain/keys.js';

describe('database ids and idempotency keys', () => {
  it('a database id is 24 letters, so no key built on it can hold a card number', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 2_000; i++) {
      const id = newDatabaseId(randomBytes);
      expect(id).toMatch(/^[a-z]{24}$/);
      ids.add(id);
      const key = attemptKey(chargeKey(id, { kind: 'installment', planId: 4111, installment: 12 }), 3);
      expect(containsCardNumber(key)).toBe(false);
    }
    expect(ids.size).toBe(2_000);
  });

  it('uses every letter evenly (bytes past the last whole alphabet are dropped)', () => {
    // A source that always returns 255 then 0: the 255s are dropped, never folded onto early letters.
    let n = 0;
    const id = newDatabaseId((size) => Uint8Array.from({ length: size }, () => (n++ % 2 === 0 ? 255 : 25)));
    expect(id).toBe('z'.repeat(24));
  });

  it('names what a key pays for and the database it came from', () => {
    expect(chargeKey('abc', { kind: 'step', planId: 7, step: 2 })).toBe('txp_abc_plan-7-step-2');
    expect(chargeKey('abc', { kind: 'cancel_fee', planId: 7 })).toBe('txp_abc_plan-7-cancel-fee');
    expect(attemptKey('txp_abc_plan-7-step-2', 1)).toBe('txp_abc_plan-7-step-2');
  });
});
