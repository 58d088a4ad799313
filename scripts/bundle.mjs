// Bundles the command line's compiled modules (dist/) into dist/bundle/ for
// start-up, as CommonJS files that bin/load-bundle.cjs compiles with a V8 code
// cache made here (Node 20 keeps none for modules): a short command reads and
// compiles one file instead of resolving, reading and compiling dozens, the
// dearest part of its time after Node's own start. dist/ keeps the
// module-per-file build for everything else (tests, benchmarks, debugging).
//
// - txplan.cjs: the command line, with the small packages it loads on every
//   command (commander, chalk, …); packages a command loads only when it needs
//   them stay in node_modules, required or imported from there.
// - connection.cjs: the PostgreSQL connection, which bin/txplan loads first to
//   start logging in while txplan.cjs loads; txplan.cjs requires it.
// - postgres-client.cjs, postgres-wire.cjs: pg, for the connection's worker
//   thread and for the session on the calling thread.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const out = new URL('../dist/bundle/', import.meta.url);
rmSync(out, { recursive: true, force: true });

/** import.meta.url in a bundle: the bundle file's own URL, as the modules' relative paths expect from dist/bundle/. */
const importMeta = {
  define: { 'import.meta.url': 'import_meta_url' },
  inject: [fileURLToPath(new URL('./import-meta-url.mjs', import.meta.url))],
};
const common = { bundle: true, format: 'cjs', platform: 'node', target: 'node20', logLevel: 'warning', ...importMeta };

await build({ ...common, entryPoints: ['dist/store/postgres/connection.js'], outfile: 'dist/bundle/connection.cjs', packages: 'external' });

/**
 * Packages loaded only by the commands that need them: left in node_modules rather than compiled into
 * every start. A bundle requires them, so each is CommonJS or has a CommonJS build of the same code as
 * its ES module one (pdfkit, fontkit, csv-parse); ical-generator's CommonJS build has no default
 * export, so it is compiled in from its ES module build.
 */
const ON_DEMAND = [
  'better-sqlite3', 'pg', 'vega', 'stripe', 'pdfkit', 'fontkit', 'svg-to-pdfkit', 'bidi-js', '@expo-google-fonts/*',
  '@inquirer/prompts', 'cli-progress', 'csv-parse', 'ajv', 'ajv-formats', 'yaml',
];
await build({
  ...common,
  entryPoints: ['dist/cli/main.js'],
  outfile: 'dist/bundle/txplan.cjs',
  external: ON_DEMAND,
  plugins: [
    {
      // Two modules are taken from elsewhere at run time, through the loader: the connection (one module
      // for both bundles: the session bin/txplan starts is the one the command takes), and import() of a
      // package (see src/packages.ts).
      name: 'from-the-loader',
      setup(build) {
        const replaced = new Map([
          [fileURLToPath(new URL('../dist/store/postgres/connection.js', import.meta.url)), './connection.cjs'],
          [fileURLToPath(new URL('../dist/packages.js', import.meta.url)), './load-bundle.cjs'],
        ]);
        build.onResolve({ filter: /\/(connection|packages)\.js$/ }, (args) => {
          const path = replaced.get(join(args.resolveDir, args.path));
          return path ? { path, external: true } : undefined;
        });
      },
    },
  ],
});
// Code compiled from a code cache has no import() of its own (see src/packages.ts): none may be left.
for (const name of ['txplan', 'connection']) {
  const left = readFileSync(new URL(`../dist/bundle/${name}.cjs`, import.meta.url), 'utf8').match(/\bimport\([^)]{0,40}/g);
  if (left) throw new Error(`dist/bundle/${name}.cjs still calls import() (${left.join(', ')}): load packages with importPackage (src/packages.ts)`);
}

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

// V8's code cache for each file, made by this Node on the very text bin/load-bundle.cjs compiles (V8
// compiles from the source when the cache is not its own): most of the load time, on every start.
// Made after the code has run what a start or a login runs, so those functions are in it.
const EXERCISE = {
  'postgres-client': 'new bundled.pg.Client(bundled.parse("postgres://user:secret@localhost/db"));',
  'postgres-wire': `const w = bundled;
  w.parse("postgres://user:secret@localhost/db");
  w.serialize.startup({ user: "u", database: "d", application_name: "txplan" });
  w.serialize.parse({ name: "", text: "SELECT $1", types: [] });
  w.serialize.bind({ values: [1, "a", null], valueMapper: w.prepareValue });
  w.serialize.describe({ type: "P", name: "" }); w.serialize.execute({ portal: "", rows: 0 }); w.serialize.sync();
  const r = Buffer.from("5a0000000549", "hex"); new w.Parser().parse(r, () => {});
  w.types.getTypeParser(23, "text")("1");`,
  connection: '',
  txplan: '',
};
for (const [name, exercise] of Object.entries(EXERCISE)) {
  const made = spawnSync(process.execPath, ['-e', `
  globalThis.navigator ??= { userAgent: 'Node.js' };
  const loader = require(process.argv[1]);
  const file = process.argv[2];
  const script = loader.compile(file);
  const bundled = loader.run(script, file, loader.ownRequire);
  ${exercise}
  require('node:fs').writeFileSync(file + '.cache', script.createCachedData());
`, fileURLToPath(new URL('../bin/load-bundle.cjs', import.meta.url)), fileURLToPath(new URL(`../dist/bundle/${name}.cjs`, import.meta.url))], { stdio: 'inherit' });
  if (made.status !== 0) throw new Error(`making the code cache of ${name}.cjs failed`);
}
