// Bundles the command line's compiled modules (dist/) into dist/bundle/ for
// start-up: Node resolves and reads a few files instead of ~65 for a command,
// the dearest part of a short command's time after Node's own start. The
// verbs stay separate chunks, loaded when they run; packages from
// node_modules stay imports. dist/ keeps the module-per-file build for
// everything else (tests, benchmarks, debugging).
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const out = new URL('../dist/bundle/', import.meta.url);
rmSync(out, { recursive: true, force: true });
await build({
  // The PostgreSQL connection is its own entry: bin/txplan starts connecting before the rest loads.
  entryPoints: { main: 'dist/cli/main.js', connection: 'dist/store/postgres/connection.js' },
  outdir: 'dist/bundle',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  chunkNames: '[name]-[hash]',
  logLevel: 'warning',
});

// pg's crypto helpers on node:crypto (see pg-node-crypto.cjs), and node:dns loaded when used: a faster first login.
const pgNodeCrypto = {
  name: 'pg-node-crypto',
  setup(build) {
    // pg reads node:dns only to build a libpq string for its native binding; the module costs
    // a few milliseconds to load in a new thread, so it is loaded when first used.
    build.onResolve({ filter: /^dns$/ }, () => ({ path: 'lazy-dns', namespace: 'pg-node-crypto' }));
    build.onLoad({ filter: /^lazy-dns$/, namespace: 'pg-node-crypto' }, () => ({
      contents: "module.exports = new Proxy({}, { get: (_, name) => require('node:dns')[name] });",
      loader: 'js',
    }));
    build.onResolve({ filter: /^\.\/(crypto\/)?utils$/ }, (args) => {
      const target = join(args.resolveDir, args.path);
      if (!/[\\/]pg[\\/]lib[\\/]crypto[\\/]utils$/.test(target)) return undefined;
      return { path: fileURLToPath(new URL('./pg-node-crypto.cjs', import.meta.url)) };
    });
  },
};

/** One CommonJS file at dist/bundle/<name>.cjs made of `source`'s requires. */
async function bundleCjs(name, source) {
  const entry = new URL(`../dist/bundle/${name}-entry.cjs`, import.meta.url);
  writeFileSync(entry, source);
  await build({
    entryPoints: [entry.pathname],
    outfile: `dist/bundle/${name}.cjs`,
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    // pg loads these only when asked for them: the native binding and Cloudflare's sockets.
    external: ['pg-native', 'cloudflare:sockets'],
    plugins: [pgNodeCrypto],
    logLevel: 'warning',
  });
  rmSync(entry);
}

// The PostgreSQL client as one file for the connection's worker thread, which
// loads it while txplan loads itself: pg, its URL parser and its ~/.pgpass
// reader, read and compiled at once instead of file by file from node_modules.
await bundleCjs('postgres-client', "module.exports = { pg: require('pg'), parse: require('pg-connection-string').parse, pgpass: require('pgpass') };\n");

// The pieces of pg the session on the main thread uses (src/store/postgres/direct.ts): its wire
// format, its value parsers and preparation, SCRAM and the URL parser, without the client.
await bundleCjs(
  'postgres-wire',
  `module.exports = {
  serialize: require('pg-protocol').serialize,
  Parser: require('pg-protocol/dist/parser').Parser,
  types: require('pg-types'),
  prepareValue: require('pg/lib/utils').prepareValue,
  sasl: require('pg/lib/crypto/sasl'),
  parse: require('pg-connection-string').parse,
  md5: require(${JSON.stringify(fileURLToPath(new URL('./pg-node-crypto.cjs', import.meta.url)))}).postgresMd5PasswordHash,
};
`,
);

// V8's code cache for each file, made by this Node on the same source (a thread compiles from the
// source when the cache is not its own): about half of the load time, on every connection.
// Made after the code has run what a login runs, so those functions are in it.
const EXERCISE = {
  'postgres-client': 'new module.exports.pg.Client(module.exports.parse("postgres://user:secret@localhost/db"));',
  'postgres-wire': `const w = module.exports;
  w.parse("postgres://user:secret@localhost/db");
  w.serialize.startup({ user: "u", database: "d", application_name: "txplan" });
  w.serialize.parse({ name: "", text: "SELECT $1", types: [] });
  w.serialize.bind({ values: [1, "a", null], valueMapper: w.prepareValue });
  w.serialize.describe({ type: "P", name: "" }); w.serialize.execute({ portal: "", rows: 0 }); w.serialize.sync();
  const r = Buffer.from("5a0000000549", "hex"); new w.Parser().parse(r, () => {});
  w.types.getTypeParser(23, "text")("1");`,
};
for (const [name, exercise] of Object.entries(EXERCISE)) {
  const made = spawnSync(process.execPath, ['-e', `
  globalThis.navigator ??= { userAgent: 'Node.js' };
  const fs = require('node:fs'), vm = require('node:vm');
  const file = process.argv[1];
  // The same source text as the threads compile (see loadBundled in src/store/postgres/connection.ts, wire() in direct.ts).
  const wrapped = '(function (exports, require, module, __filename, __dirname) { ' + fs.readFileSync(file, 'utf8') + '\\n});';
  const script = new vm.Script(wrapped, { filename: file });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, require, module, file, require('node:path').dirname(file));
  ${exercise}
  fs.writeFileSync(file + '.cache', script.createCachedData());
`, fileURLToPath(new URL(`../dist/bundle/${name}.cjs`, import.meta.url))], { stdio: 'inherit' });
  if (made.status !== 0) throw new Error(`making the code cache of ${name}.cjs failed`);
}
