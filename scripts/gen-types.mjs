#!/usr/bin/env node
// Generates src/generated/schema-types.ts from schemas/*.schema.json so every
// field is declared once, in the schema. Run by `npm run build`; the output is
// committed and a test checks it is current.
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { compile } from 'json-schema-to-typescript';

const root = new URL('../', import.meta.url);
const schemas = ['template', 'catalog', 'settings'];
const out = new URL('src/generated/schema-types.ts', root);

export async function generate() {
  const parts = ['/* eslint-disable */\n// Generated from schemas/*.schema.json by scripts/gen-types.mjs. Do not edit.\n'];
  for (const name of schemas) {
    const schema = JSON.parse(await readFile(new URL(`schemas/${name}.schema.json`, root), 'utf8'));
    const ts = await compile(refsOnly(schema), schema.title, {
      bannerComment: '',
      additionalProperties: false,
      declareExternallyReferenced: true,
      strictIndexSignatures: true,
      format: false,
      maxItems: -1,
      style: { singleQuote: true },
    });
    parts.push(`// ${name}.schema.json\n${ts}`);
  }
  return dedupe(parts.join('\n'));
}

// Editors want a description beside each $ref; the type generator would turn
// every such sibling into a new near-identical type, so it sees the bare $ref.
function refsOnly(node) {
  if (Array.isArray(node)) return node.map(refsOnly);
  if (node === null || typeof node !== 'object') return node;
  if (typeof node.$ref === 'string') return { $ref: node.$ref };
  return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, refsOnly(v)]));
}

// Template and Catalog both define Slug, Money and Amount; keep the first declaration.
function dedupe(source) {
  const seen = new Set();
  // A type over several lines (an object literal inside) runs to its closing brace.
  const declaration = /(\/\*\*(?:(?!\*\/)[\s\S])*\*\/\n)?export (?:type (\w+) = (?:[^\n{]*\{[\s\S]*?\n\}[^\n]*|[^\n]*)\n|interface (\w+) \{[\s\S]*?\n\}\n)/g;
  return source.replace(declaration, (match, _doc, type, iface) => {
    const name = type ?? iface;
    if (seen.has(name)) return '';
    seen.add(name);
    return match;
  });
}

if (process.argv[1] && new URL(`file://${process.argv[1]}`).href === import.meta.url) {
  const text = await generate();
  await mkdir(new URL('src/generated/', root), { recursive: true });
  let current = '';
  try { current = await readFile(out, 'utf8'); } catch {}
  if (current !== text) await writeFile(out, text);
}
