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

// The PostgreSQL client as one file for the connection's worker thread, which
// loads it while txplan loads itself: pg, its URL parser and its ~/.pgpass
// reader, read and compiled at once instead of file by file from node_modules.
const entry = new URL('../dist/bundle/postgres-client-entry.cjs', import.meta.url);
writeFileSync(entry, "module.exports = { pg: require('pg'), parse: require('pg-connection-string').parse, pgpass: require('pgpass') };\n");
await build({
  entryPoints: [entry.pathname],
  outfile: 'dist/bundle/postgres-client.cjs',
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  // pg loads these only when asked for them: the native binding and Cloudflare's sockets.
  external: ['pg-native', 'cloudflare:sockets'],
  // pg's crypto helpers on node:crypto (see pg-node-crypto.cjs), and node:dns loaded when used: a faster first login.
  plugins: [
    {
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
    },
  ],
  logLevel: 'warning',
});
rmSync(entry);

// V8's code cache for that file, made by this Node on the same source (the worker compiles from the
// source when the cache is not its own): about half of the client's load time, on every connection.
// Made after the client has built a connection, so the functions a login runs are in it.
const made = spawnSync(process.execPath, ['-e', `
  globalThis.navigator ??= { userAgent: 'Node.js' };
  const fs = require('node:fs'), vm = require('node:vm');
  const file = process.argv[1];
  // The same source text as the worker compiles (see loadBundled in src/store/postgres/connection.ts).
  const wrapped = '(function (exports, require, module, __filename, __dirname) { ' + fs.readFileSync(file, 'utf8') + '\\n});';
  const script = new vm.Script(wrapped, { filename: file });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, require, module, file, require('node:path').dirname(file));
  new module.exports.pg.Client(module.exports.parse('postgres://user:secret@localhost/db'));
  fs.writeFileSync(file + '.cache', script.createCachedData());
`, fileURLToPath(new URL('../dist/bundle/postgres-client.cjs', import.meta.url))], { stdio: 'inherit' });
if (made.status !== 0) throw new Error('making the PostgreSQL client code cache failed');
