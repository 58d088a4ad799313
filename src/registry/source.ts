import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, realpathSync } from 'node:fs';
import { relative, resolve, sep } from 'node:path';
import { Document, isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, visit, type Node as YamlNode } from 'yaml';
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

/**
 * Reads a file the way a validator facing untrusted input must: symlinks only
 * within the workspace, regular files only, nothing over 1 MiB read at all.
 * Synchronous on purpose: for many small local files it is the fastest path.
 */
export function readSource(absolute: string, options: ReadOptions): Source {
  const file = options.display ?? absolute;
  const fail = (code: string, message: string): Source =>
    brokenSource(file, absolute, { file, line: 1, column: 1, endLine: 1, endColumn: 1, path: '', code, severity: 'error', message });

  let fd: number;
  try {
    fd = openNoFollow(absolute);
  } catch (error) {
    if (!isLinkError(error)) return fail('file-unreadable', `${file} cannot be read (${describeFsError(error)}); check the path and its permissions`);
    try {
      const target = realpathSync(absolute);
      const root = realpathOr(options.root);
      if (target !== root && !target.startsWith(root + sep)) {
        return fail('file-outside-workspace', `${file} is a link to ${target}, outside the workspace; copy the file into the workspace instead of linking to it`);
      }
      fd = openSync(target, READ_FLAGS);
    } catch (linkError) {
      return fail('file-unreadable', `${file} cannot be read (${describeFsError(linkError)}); check the link and its target`);
    }
  }
  try {
    const info = fstatSync(fd);
    if (!info.isFile()) return fail('file-unreadable', `${file} is not a regular file; name a .yaml file or a folder of them`);
    if (info.size > MAX_FILE_BYTES) {
      return fail('file-too-large', `${file} is ${formatBytes(info.size)}, over the 1 MiB limit for a template; split it or remove what does not belong`);
    }
    // Read one byte past the size seen, so a file that grew meanwhile is still caught.
    const buffer = Buffer.allocUnsafe(info.size + 1);
    let length = 0;
    for (let n; length < buffer.length && (n = readSync(fd, buffer, length, buffer.length - length, null)) > 0; ) length += n;
    if (length > MAX_FILE_BYTES) return fail('file-too-large', `${file} is over the 1 MiB limit for a template; split it or remove what does not belong`);
    return parseSource(file, absolute, buffer.subarray(0, length), options.kind);
  } catch (error) {
    return fail('file-unreadable', `${file} cannot be read (${describeFsError(error)}); check its permissions`);
  } finally {
    closeSync(fd);
  }
}

const NO_FOLLOW = constants.O_NOFOLLOW as number | undefined;
/** Non-blocking, so a FIFO or device named like a template cannot hang the open; fstat then refuses it. */
const READ_FLAGS = constants.O_RDONLY | ((constants.O_NONBLOCK as number | undefined) ?? 0);

/** Opens without following a final symlink; where O_NOFOLLOW is missing, lstat decides. */
function openNoFollow(path: string): number {
  if (NO_FOLLOW !== undefined) return openSync(path, READ_FLAGS | NO_FOLLOW);
  if (lstatSync(path).isSymbolicLink()) throw Object.assign(new Error('symbolic link'), { code: 'ELOOP' });
  return openSync(path, READ_FLAGS);
}

function isLinkError(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ELOOP' || code === 'EMLINK';
}

function realpathOr(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
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
    const [code, message, range] = describeYamlError(error.code, error.message, error.pos, text, file);
    // One broken construct can cascade into hundreds of errors; the first of a kind per line says it.
    const at = diagnostic(code, message, range);
    if (problems.some((p) => p.code === code && (p.line === at.line || code === 'yaml-too-deep'))) continue;
    problems.push(at);
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
  for (const tagged of unknownTags(doc)) {
    problems.push(diagnostic('yaml-tag', `the tag ${tagged.tag} is not part of the template format; remove it and write the value as plain YAML (text, numbers, lists and mappings)`, tagged.range));
  }
  if (problems.length > 0) return result(undefined);
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

/**
 * The template format is the YAML core schema's plain values: text, numbers,
 * booleans, null, lists and mappings. Any other tag (!!js/function, !include,
 * !!binary, !!set, !!timestamp, a custom !tag) would otherwise be dropped with
 * a warning or read as something the author did not mean, so it is an error.
 */
const CORE_TAGS = new Set(['str', 'int', 'float', 'bool', 'null', 'map', 'seq'].map((t) => `tag:yaml.org,2002:${t}`));

function unknownTags(doc: Document.Parsed): Array<{ tag: string; range: readonly number[] | undefined }> {
  const found: Array<{ tag: string; range: readonly number[] | undefined }> = [];
  visit(doc, {
    Node(_key, node) {
      if (node.tag !== undefined && !CORE_TAGS.has(node.tag)) {
        found.push({ tag: node.tag.replace(/^tag:yaml\.org,2002:/, '!!').replace(/[^\x21-\x7e]/g, '?').slice(0, 60), range: node.range ?? undefined });
      }
    },
  });
  return found;
}

/** Depth and key checks, iteratively, before any data is built. */
function checkShape(root: YamlNode): Finding | undefined {
  // Paths are rebuilt from parent links only when something is wrong.
  interface Entry { node: unknown; depth: number; parent: Entry | undefined; key: string | number }
  const pathOf = (entry: Entry | undefined): (string | number)[] => {
    const path: (string | number)[] = [];
    for (let e = entry; e?.parent; e = e.parent) path.unshift(e.key);
    return path;
  };
  const stack: Entry[] = [{ node: root, depth: 0, parent: undefined, key: '' }];
  while (stack.length > 0) {
    const entry = stack.pop()!;
    const { node, depth } = entry;
    if (depth > MAX_DEPTH) {
      const path = pathOf(entry);
      return { path, code: 'yaml-too-deep', message: `${formatPath(path.slice(0, 3))}… is nested more than ${MAX_DEPTH} levels deep; templates are only a few levels deep` };
    }
    if (isMap(node)) {
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        if (FORBIDDEN_KEYS.has(key)) {
          return { path: [...pathOf(entry), key], atKey: true, code: 'yaml-forbidden-key', message: `"${key}" is not allowed as a key; remove it` };
        }
        if (isMap(pair.value) || isSeq(pair.value)) stack.push({ node: pair.value, depth: depth + 1, parent: entry, key });
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, index) => {
        if (isMap(item) || isSeq(item)) stack.push({ node: item, depth: depth + 1, parent: entry, key: index });
      });
    }
  }
  return undefined;
}

/** The first alias in document order. */
function firstAlias(root: YamlNode): YamlNode | undefined {
  const queue: unknown[] = [root];
  for (let i = 0; i < queue.length; i++) {
    const node = queue[i];
    if (isAlias(node)) return node;
    if (isMap(node)) for (const pair of node.items) queue.push(pair.value);
    else if (isSeq(node)) queue.push(...node.items);
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

/** The yaml library's errors, in words a clinic admin can act on, at the place to fix. */
function describeYamlError(code: string, message: string, pos: [number, number], text: string, file: string): [string, string, readonly number[]] {
  const first = message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '').replace(/\.$/, '');
  switch (code) {
    case 'DUPLICATE_KEY':
      return ['yaml-duplicate-key', `the key "${text.slice(pos[0], pos[1])}" appears twice in this mapping; remove or merge the repeat`, pos];
    case 'MULTIPLE_DOCS':
      return ['yaml-multiple-documents', `${file} holds more than one YAML document (---); keep one template per file`, pos];
    case 'RESOURCE_EXHAUSTION':
      return ['yaml-too-deep', `${file} is nested too deeply to be a template; flatten it`, pos];
  }
  const quote = /^Missing closing (["'])quote/.exec(first)?.[1];
  if (quote) {
    // The parser notices at the end of the file; the quote that was never closed is the last one before.
    const opening = text.lastIndexOf(quote, pos[0]);
    return ['yaml-syntax', `YAML syntax error: this ${quote === '"' ? 'double' : 'single'}-quoted value is never closed; add the closing ${quote}`, opening === -1 ? pos : [opening, opening + 1]];
  }
  if (first.startsWith('Sequence item without - indicator') || first.startsWith('All mapping items must start at the same column') || first.startsWith('Bad indentation')) {
    return ['yaml-syntax', `YAML syntax error: the indentation here does not line up (${lowerFirst(first)}); indent keys of the same item equally, with spaces`, pos];
  }
  return ['yaml-syntax', `YAML syntax error: ${lowerFirst(first)}; fix the indentation or quoting here`, pos];
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
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
