// Bundles the command line's compiled modules (dist/) into dist/bundle/ for
// start-up: Node resolves and reads a few files instead of ~65 for a command,
// the dearest part of a short command's time after Node's own start. The
// verbs stay separate chunks, loaded when they run; packages from
// node_modules stay imports. dist/ keeps the module-per-file build for
// everything else (tests, benchmarks, debugging).
import { build } from 'esbuild';
import { rmSync, writeFileSync } from 'node:fs';

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
  logLevel: 'warning',
});
rmSync(entry);
