import { lstat, readFile, realpath, stat } from 'node:fs/promises';
import { relative, resolve, sep } from 'node:path';
import { Document, isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Node as YamlNode } from 'yaml';
import type { Diagnostic, Finding } from './diagnostics.js';
import { formatPath } from './diagnostics.js';

/** Files above this size are refused before they are read. */
export const MAX_FILE_BYTES = 1024 * 1024;
/** Templates are a few levels deep; anything far deeper is not a template. */
const MAX_DEPTH = 32;
/** Aliases expanded while building data: bounds "billion laughs" documents. */
const MAX_ALIAS_COUNT = 100;
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * A YAML file read defensively and parsed with positions. `data` is present only
 * when the file parsed cleanly into a mapping; `problems` holds what stopped it.
 */
export interface Source {
  file: string;
  absolute: string;
  text: string;
  data: Record<string, unknown> | undefined;
  problems: Diagnostic[];
  /** Turns a rule's finding into a diagnostic at the closest YAML node. */
  locate(finding: Finding): Diagnostic;
}

export interface ReadOptions {
  /** Symlinks may not lead outside this folder. */
  root: string;
  /** Shown in diagnostics instead of the absolute path. */
  display?: string;
  kind?: SourceKind;
}

export type SourceKind = 'template' | 'catalog' | 'settings';

const EMPTY_HINT: Record<SourceKind, string> = {
  template: 'a template needs at least id, version, name, type, status, goal, duration and schedule',
  catalog: 'a catalog lists services and products',
  settings: 'workspace settings hold at least currency and timezone',
};
const EXAMPLE_FIELDS: Record<SourceKind, string> = {
  template: 'id: …, name: …',
  catalog: 'services: …, products: …',
  settings: 'currency: …, timezone: …',
};

export async function readSource(absolute: string, options: ReadOptions): Promise<Source> {
  const file = options.display ?? absolute;
  const fail = (code: string, message: string, line = 1, column = 1): Source =>
    brokenSource(file, absolute, { file, line, column, endLine: line, endColumn: column, path: '', code, severity: 'error', message });

  let info;
  try {
    info = await lstat(absolute);
    if (info.isSymbolicLink()) {
      const target = await realpath(absolute);
      const root = await realpath(options.root).catch(() => resolve(options.root));
      if (target !== root && !target.startsWith(root + sep)) {
        return fail('file-outside-workspace', `${file} is a link to ${target}, outside the workspace; copy the file into the workspace instead of linking to it`);
      }
      info = await stat(absolute);
    }
  } catch (error) {
    return fail('file-unreadable', `${file} cannot be read (${describeFsError(error)}); check the path and its permissions`);
  }
  if (!info.isFile()) return fail('file-unreadable', `${file} is not a regular file; name a .yaml file or a folder of them`);
  if (info.size > MAX_FILE_BYTES) {
    return fail('file-too-large', `${file} is ${formatBytes(info.size)}, over the 1 MiB limit for a template; split it or remove what does not belong`);
  }

  let bytes: Buffer;
  try {
    bytes = await readFile(absolute);
  } catch (error) {
    return fail('file-unreadable', `${file} cannot be read (${describeFsError(error)}); check its permissions`);
  }
  return parseSource(file, absolute, bytes, options.kind);
}

/** Parses bytes already read; exported for tests and for content from git. */
export function parseSource(file: string, absolute: string, bytes: Buffer, kind: SourceKind = 'template'): Source {
  const fail = (code: string, message: string, line = 1, column = 1): Source =>
    brokenSource(file, absolute, { file, line, column, endLine: line, endColumn: column, path: '', code, severity: 'error', message });

  const nul = bytes.indexOf(0);
  if (nul !== -1) return fail('file-binary', `${file} contains binary data (a NUL byte at offset ${nul}); templates are UTF-8 text files`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    const lossy = bytes.toString('utf8');
    const at = lossy.indexOf('\uFFFD');
    const { line, column } = positionIn(lossy, Math.max(at, 0));
    return fail('file-not-utf8', `${file} is not valid UTF-8 (line ${line}); save it with UTF-8 encoding`, line, column);
  }

  const lineCounter = new LineCounter();
  let doc: Document.Parsed;
  try {
    doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false, stringKeys: true, strict: true });
  } catch (error) {
    // The parser limits its own depth; this guards whatever it does not catch.
    if (error instanceof RangeError) return fail('yaml-too-deep', `${file} is nested too deeply to be a template; flatten it`);
    throw error;
  }
  const pos = (offset: number) => lineCounter.linePos(offset);
  const diagnostic = (code: string, message: string, range: readonly number[] | undefined, severity: 'error' | 'warning' = 'error', path = ''): Diagnostic => {
    const start = pos(range?.[0] ?? 0);
    const end = pos(range?.[1] ?? range?.[0] ?? 0);
    return { file, line: start.line, column: start.col, endLine: end.line, endColumn: end.col, path, code, severity, message };
  };

  const problems: Diagnostic[] = [];
  for (const error of doc.errors) {
    const [code, message] = describeYamlError(error.code, error.message, file);
    problems.push(diagnostic(code, message, error.pos));
  }
  const locate = (finding: Finding): Diagnostic => {
    const range = rangeOf(doc, finding.path, finding.atKey ?? false);
    return diagnostic(finding.code, finding.message, range, finding.severity ?? 'error', formatPath(finding.path));
  };
  const result = (data: Record<string, unknown> | undefined): Source => ({ file, absolute, text, data, problems, locate });
  if (problems.length > 0) return result(undefined);

  if (doc.contents === null) {
    problems.push(diagnostic('file-empty', `${file} is empty; ${EMPTY_HINT[kind]}`, [0, 0]));
    return result(undefined);
  }
  if (!isMap(doc.contents)) {
    const held = isSeq(doc.contents) ? 'a list' : 'a single value';
    problems.push(diagnostic('yaml-not-mapping', `${file} holds ${held}, but a ${kind === 'settings' ? 'settings file' : kind} is a mapping of fields (${EXAMPLE_FIELDS[kind]})`, doc.contents.range));
    return result(undefined);
  }
  const shape = checkShape(doc.contents);
  if (shape) {
    problems.push(locate(shape));
    return result(undefined);
  }
  try {
    const data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) as Record<string, unknown>;
    return result(data);
  } catch (error) {
    if (error instanceof ReferenceError || error instanceof RangeError) {
      problems.push(diagnostic('yaml-alias-limit', `${file} expands aliases (*name) too many times; write the values out instead of nesting aliases`, firstAlias(doc.contents)?.range ?? undefined));
      return result(undefined);
    }
    throw error;
  }
}

function brokenSource(file: string, absolute: string, problem: Diagnostic): Source {
  return { file, absolute, text: '', data: undefined, problems: [problem], locate: (f) => ({ ...problem, code: f.code, message: f.message, severity: f.severity ?? 'error', path: formatPath(f.path) }) };
}

/** Depth and key checks, iteratively, before any data is built. */
function checkShape(root: YamlNode): Finding | undefined {
  const stack: Array<{ node: unknown; path: (string | number)[] }> = [{ node: root, path: [] }];
  while (stack.length > 0) {
    const { node, path } = stack.pop()!;
    if (path.length > MAX_DEPTH) {
      return { path, code: 'yaml-too-deep', message: `${formatPath(path.slice(0, 3))}… is nested more than ${MAX_DEPTH} levels deep; templates are only a few levels deep` };
    }
    if (isMap(node)) {
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        if (FORBIDDEN_KEYS.has(key)) {
          return { path: [...path, key], atKey: true, code: 'yaml-forbidden-key', message: `"${key}" is not allowed as a key; remove it` };
        }
        stack.push({ node: pair.value, path: [...path, key] });
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, index) => stack.push({ node: item, path: [...path, index] }));
    }
  }
  return undefined;
}

function firstAlias(root: YamlNode): YamlNode | undefined {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const node = stack.pop();
    if (isAlias(node)) return node;
    if (isMap(node)) for (const pair of node.items) stack.push(pair.value);
    else if (isSeq(node)) stack.push(...node.items);
  }
  return undefined;
}

/** The range of the node at `path`, or of the closest ancestor that exists. */
function rangeOf(doc: Document.Parsed, path: readonly (string | number)[], atKey: boolean): readonly number[] | undefined {
  let node: unknown = doc.contents;
  let range = (node as YamlNode | null)?.range ?? undefined;
  for (let i = 0; i < path.length; i++) {
    if (isAlias(node)) node = node.resolve(doc);
    const segment = path[i];
    let next: unknown;
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(segment));
      if (!pair) break;
      if (i === path.length - 1 && atKey && isScalar(pair.key)) return pair.key.range ?? range ?? undefined;
      next = pair.value ?? pair.key;
    } else if (isSeq(node) && typeof segment === 'number') {
      next = node.items[segment];
    }
    if (!next || !(next as YamlNode).range) break;
    node = next;
    range = (node as YamlNode).range ?? range;
  }
  return range;
}

function describeYamlError(code: string, message: string, file: string): [string, string] {
  const first = message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
  switch (code) {
    case 'DUPLICATE_KEY':
      return ['yaml-duplicate-key', `${first.replace(/\.$/, '')}; each key may appear once per mapping, so remove or merge the repeat`];
    case 'MULTIPLE_DOCS':
      return ['yaml-multiple-documents', `${file} holds more than one YAML document (---); keep one template per file`];
    case 'RESOURCE_EXHAUSTION':
      return ['yaml-too-deep', `${file} is nested too deeply to be a template; flatten it`];
    default:
      return ['yaml-syntax', `YAML syntax error: ${first.replace(/\.$/, '')}; fix the indentation or quoting here`];
  }
}

function positionIn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

function describeFsError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'ELOOP') return 'a loop of links';
  return code ?? String(error);
}

function formatBytes(size: number): string {
  return size >= 1024 * 1024 ? `${(size / 1024 / 1024).toFixed(1)} MiB` : `${Math.ceil(size / 1024)} KiB`;
}

/** Path for display: relative to the working directory when below it. */
export function displayPath(absolute: string, cwd: string): string {
  const rel = relative(cwd, absolute);
  return rel !== '' && !rel.startsWith('..') && !rel.startsWith(sep) ? rel : absolute;
}
