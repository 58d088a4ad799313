// pg's crypto helpers (pg/lib/crypto/utils.js) on node:crypto's one-shot
// functions instead of WebCrypto, for the start-up bundle's copy of pg only.
// The first WebCrypto call of a thread builds its key machinery: a few
// milliseconds of every PostgreSQL login (SCRAM derives the password key
// with 4,096 rounds of PBKDF2) that node:crypto does without. Same exports,
// same results: ArrayBuffer-like values where pg expects them.
const nodeCrypto = require('node:crypto');

const md5 = async (text) => nodeCrypto.createHash('md5').update(text, 'utf-8').digest('hex');

module.exports = {
  md5,
  async postgresMd5PasswordHash(user, password, salt) {
    const inner = await md5(password + user);
    const outer = await md5(Buffer.concat([Buffer.from(inner), salt]));
    return 'md5' + outer;
  },
  randomBytes: (length) => nodeCrypto.randomBytes(length),
  // On libuv's thread pool: the thread logging in (the main thread, for the session started as a
  // command launches) goes on loading txplan meanwhile.
  deriveKey: (password, salt, iterations) =>
    new Promise((resolve, reject) => nodeCrypto.pbkdf2(password, salt, iterations, 32, 'sha256', (error, key) => (error ? reject(error) : resolve(key)))),
  sha256: async (text) => nodeCrypto.createHash('sha256').update(Buffer.from(text)).digest(),
  hashByName: async (hashName, text) => nodeCrypto.createHash(hashName.replace('-', '').toLowerCase()).update(text).digest(),
  hmacSha256: async (key, message) => nodeCrypto.createHmac('sha256', Buffer.from(key)).update(message).digest(),
};
