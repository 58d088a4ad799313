// Loads the start-up bundle's CommonJS files (dist/bundle/*.cjs, made by
// scripts/bundle.mjs), each compiled with the V8 code cache saved beside it.
// Node 20 keeps no code cache for modules of its own, and compiling txplan's
// code was the largest part of a short command's time after Node's own start.
// The cache was made by this same wrapped text (see scripts/bundle.mjs): V8
// checks that a cache is its own and of this very source, and compiles from
// the source otherwise, so a stale or missing cache only costs time.
//
// Plain CommonJS with no dependencies: bin/txplan, the PostgreSQL session on
// the calling thread (src/store/postgres/direct.ts) and the connection's worker
// thread all load bundled files through it.
'use strict';
const fs = require('node:fs');
const { createRequire } = require('node:module');
const path = require('node:path');
const vm = require('node:vm');

/** `file` compiled as a CommonJS module's function, with its code cache when there is one. */
function compile(file) {
  let cachedData;
  try {
    cachedData = fs.readFileSync(`${file}.cache`);
  } catch {
    cachedData = undefined;
  }
  const wrapped = `(function (exports, require, module, __filename, __dirname) { ${fs.readFileSync(file, 'utf8')}\n});`;
  return new vm.Script(wrapped, { filename: file, cachedData });
}

/** Runs a compiled file as a module whose `require` is the one given; its exports. */
function run(script, file, require) {
  const module = { exports: {} };
  script.runInThisContext()(module.exports, require, module, file, path.dirname(file));
  return module.exports;
}

const folder = path.join(__dirname, '..', 'dist', 'bundle');
const fromFolder = createRequire(path.join(folder, 'txplan.cjs'));
const loaded = new Map();

/**
 * The exports of the bundled file dist/bundle/`name` (txplan.cjs,
 * connection.cjs, postgres-wire.cjs, postgres-client.cjs), loaded once per
 * thread: the bundles require each other as "./name.cjs" and get the very same
 * exports, so the connection bin/txplan starts is the one the command takes.
 * Anything else they require is Node's or a package's, found from dist/bundle/.
 */
function bundle(name) {
  if (!loaded.has(name)) {
    const file = path.join(folder, name);
    loaded.set(name, run(compile(file), file, ownRequire));
  }
  return loaded.get(name);
}

function ownRequire(id) {
  if (id === './load-bundle.cjs') return module.exports;
  return /^\.\/[\w-]+\.cjs$/.test(id) ? bundle(id.slice(2)) : fromFolder(id);
}
ownRequire.resolve = fromFolder.resolve;

/**
 * import() for the bundles (src/packages.ts is this function in them): code
 * compiled from a code cache made by another process has no import() hook in
 * Node 20, so a package a command loads on demand is imported from here.
 */
function importPackage(name) {
  return import(name);
}

module.exports = { compile, run, bundle, ownRequire, importPackage, folder };
