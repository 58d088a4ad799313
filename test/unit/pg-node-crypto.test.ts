/**
 * The start-up bundle's copy of pg logs in with scripts/pg-node-crypto.cjs in
 * place of pg's WebCrypto helpers: every helper must give pg's own result.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const pgCrypto = require(require.resolve('pg/lib/crypto/utils.js'));
const nodeCrypto = require('../../scripts/pg-node-crypto.cjs');
const bytes = (value: ArrayBuffer | Uint8Array) => Buffer.from(value as ArrayBuffer).toString('hex');

describe("pg's crypto helpers on node:crypto", () => {
  const salt = Buffer.from('d1a3c0ffee5a17ed', 'hex');

  it('derive the SCRAM password key as pg does, for non-ASCII passwords too', async () => {
    for (const password of ['secret', 'pässwörd', '密码🔑']) {
      expect(bytes(await nodeCrypto.deriveKey(password, salt, 4096))).toBe(bytes(await pgCrypto.deriveKey(password, salt, 4096)));
    }
  });

  it('sign, digest and hash by name as pg does', async () => {
    const key = await pgCrypto.deriveKey('secret', salt, 16);
    expect(bytes(await nodeCrypto.hmacSha256(key, 'Client Key'))).toBe(bytes(await pgCrypto.hmacSha256(key, 'Client Key')));
    expect(bytes(await nodeCrypto.sha256(Buffer.from('n=,r=abc')))).toBe(bytes(await pgCrypto.sha256(Buffer.from('n=,r=abc'))));
    for (const name of ['SHA-256', 'SHA-384', 'SHA-512']) {
      expect(bytes(await nodeCrypto.hashByName(name, Buffer.from('certificate')))).toBe(bytes(await pgCrypto.hashByName(name, Buffer.from('certificate'))));
    }
  });

  it('answer an MD5 password challenge as pg does', async () => {
    expect(await nodeCrypto.postgresMd5PasswordHash('txplan', 'secret', salt)).toBe(await pgCrypto.postgresMd5PasswordHash('txplan', 'secret', salt));
    expect(nodeCrypto.randomBytes(18)).toHaveLength(18);
  });
});
