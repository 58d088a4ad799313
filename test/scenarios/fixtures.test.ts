import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, extname, join, relative, sep } from 'node:path';
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { repoRoot, txplan, workspace, type RunResult } from '../helpers.js';

/**
 * The broken-file corpus in test/fixtures. Every fixture says on line 2 what
 * must be reported and where:
 *
 *   # expect: <rule-code> line <N>            an error at line N
 *   # expect: warning <rule-code> line <N>    a warning at line N
 *
 * A .yaml/.yml file without `# expect:` must produce no diagnostics at all.
 */
const FIXTURES = 'test/fixtures';
const fixturesDir = join(repoRoot, FIXTURES);
const EXPECT = /^# expect: (?:(error|warning) )?([a-z0-9]+(?:-[a-z0-9]+)*) line (\d+)\s*$/;
const STACK_TRACE = /^ {4}at /m;

interface Expectation {
  severity: 'error' | 'warning';
  code: string;
  line: number;
}

interface Fixture {
  /** As txplan reports it: relative to the repository root, with forward slashes. */
  file: string;
  text: string;
  expectations: Expectation[];
}

function loadFixtures(): Fixture[] {
  const names = readdirSync(fixturesDir, { recursive: true, encoding: 'utf8' }).filter((n) => /\.ya?ml$/.test(n)).sort();
  return names.map((name) => {
    // latin1 keeps every byte of the binary and non-UTF-8 fixtures readable.
    const text = readFileSync(join(fixturesDir, name), 'latin1');
    const file = [FIXTURES, ...name.split(sep)].join('/');
    const expectations: Expectation[] = [];
    for (const line of text.split('\n')) {
      if (!line.startsWith('# expect:')) continue;
      const match = EXPECT.exec(line);
      if (!match) throw new Error(`${file}: cannot read "${line}"; write "# expect: [warning ]<code> line <N>"`);
      expectations.push({ severity: (match[1] as 'error' | 'warning' | undefined) ?? 'error', code: match[2]!, line: Number(match[3]) });
    }
    return { file, text, expectations };
  });
}

const fixtures = loadFixtures();
const cases = fixtures.flatMap((fixture) => fixture.expectations.map((expectation) => ({ ...expectation, fixture, name: `${fixture.file}: ${expectation.severity} ${expectation.code} at line ${expectation.line}` })));

interface JsonDiagnostic {
  file: string;
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
  path: string;
  code: string;
  severity: string;
  message: string;
}
interface JsonReport {
  ok: boolean;
  files: number;
  errors: number;
  warnings: number;
  diagnostics: JsonDiagnostic[];
}

function validate(paths: readonly string[], format = 'json', cwd = repoRoot, root = repoRoot): RunResult {
  return txplan(['--workspace', root, 'template', 'validate', '--format', format, ...paths], { cwd });
}

/** A scratch folder removed when the current test finishes (call inside a test). */
function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), 'txplan-fixtures-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A workspace from `txplan init`, removed when the current test finishes. */
function scratchWorkspace(): string {
  const dir = workspace();
  // workspace() registers its clean-up with afterEach, which vitest ignores inside a running test.
  onTestFinished(() => rmSync(dirname(dir), { recursive: true, force: true }));
  return dir;
}

// The one run over the whole corpus that every per-fixture check reads.
let run: RunResult;
let report: JsonReport;
const of = (file: string) => report.diagnostics.filter((d) => d.file === file);

beforeAll(() => {
  run = validate([FIXTURES]);
  report = JSON.parse(run.stdout) as JsonReport;
});

describe('the fixture corpus', () => {
  it('has at least 32 broken templates', () => {
    const templates = fixtures.filter((f) => f.file.startsWith(`${FIXTURES}/templates/`) && f.expectations.length > 0);
    expect(templates.length).toBeGreaterThanOrEqual(32);
  });

  it('covers at least 30 distinct error codes', () => {
    const codes = new Set(cases.filter((c) => c.severity === 'error').map((c) => c.code));
    expect(codes.size, [...codes].sort().join(', ')).toBeGreaterThanOrEqual(30);
  });

  it.each(fixtures.map((f) => [f.file, f] as const))('%s starts with its schema comment', (_file, fixture) => {
    const folder = fixture.file.split('/')[2];
    const schema = folder === 'catalog' ? 'catalog' : folder === 'settings' ? 'settings' : 'template';
    expect(fixture.text.split('\n')[0]).toBe(`# yaml-language-server: $schema=../../../schemas/${schema}.schema.json`);
  });

  it.each(fixtures.filter((f) => f.file.includes('/templates/')).map((f) => [f.file, f] as const))('%s has the id of its file name', (_file, fixture) => {
    const id = /^id: ([^\s#]+)/m.exec(fixture.text)?.[1];
    if (id === undefined || fixture.expectations.some((e) => e.code === 'id-filename')) return;
    expect(id).toBe(basename(fixture.file, extname(fixture.file)));
  });
});

describe('template validate --format json over test/fixtures', () => {
  it('exits 1', () => {
    expect(run.code, run.stderr).toBe(1);
  });

  it('prints a single JSON document on stdout', () => {
    const text = run.stdout.trim();
    expect(text.startsWith('{') && text.endsWith('}')).toBe(true);
    expect(() => JSON.parse(run.stdout)).not.toThrow();
    expect(report.ok).toBe(false);
    expect(report.files).toBe(fixtures.length);
    expect(report.errors).toBe(report.diagnostics.filter((d) => d.severity === 'error').length);
  });

  it('prints no stack trace', () => {
    expect(run.stderr).not.toMatch(STACK_TRACE);
    expect(run.stdout).not.toMatch(STACK_TRACE);
  });

  it('reports only files of the corpus', () => {
    const files = new Set(fixtures.map((f) => f.file));
    expect(report.diagnostics.filter((d) => !files.has(d.file))).toEqual([]);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, { fixture, severity, code }) => {
    const found = of(fixture.file).filter((d) => d.code === code && d.severity === severity);
    expect(found.length, JSON.stringify(of(fixture.file), null, 2)).toBeGreaterThan(0);
    for (const d of found) {
      expect(d.message.trim().length).toBeGreaterThan(0);
      expect(typeof d.path).toBe('string');
      expect(d.line).toBeGreaterThanOrEqual(1);
      expect(d.column).toBeGreaterThanOrEqual(1);
      expect(d.endLine).toBeGreaterThanOrEqual(d.line);
    }
    // One fault per fixture: nothing else is reported for the file.
    const expectedCodes = fixture.expectations.map((e) => `${e.severity} ${e.code}`);
    for (const d of of(fixture.file)) expect(expectedCodes, `unexpected ${d.severity} ${d.code} at line ${d.line}: ${d.message}`).toContain(`${d.severity} ${d.code}`);
  });

  for (const c of cases) {
    it(`${c.fixture.file}: ${c.code} is reported once, at line ${c.line}`, () => {
      const found = of(c.fixture.file).filter((d) => d.code === c.code && d.severity === c.severity);
      expect(found.map((d) => d.line)).toEqual([c.line]);
    });
  }

  it.each(fixtures.filter((f) => f.expectations.length === 0).map((f) => [f.file, f] as const))('%s is reported clean', (_file, fixture) => {
    expect(of(fixture.file)).toEqual([]);
  });

  // Messages built from the schema (field lists, suggestions) need ajv's
  // parentSchema, which ajv only attaches with `verbose: true`.
  it('schema messages name what the schema allows', () => {
    const unknown = of(`${FIXTURES}/templates/schema-unknown-field.yaml`).find((d) => d.code === 'schema-unknown-field');
    expect(unknown?.message).toContain('did you mean "description"?');
    const oneOf = of(`${FIXTURES}/templates/schema-one-of.yaml`).find((d) => d.code === 'schema-one-of');
    expect(oneOf?.message).toContain('exactly one of week or month');
  });
});

describe('template validate output formats', () => {
  const errorFixture = fixtures.find((f) => f.file.endsWith('/schema-enum.yaml'))!;
  const warningFixture = fixtures.find((f) => f.file.endsWith('/schedule-order.yaml'))!;
  const picked = [errorFixture, warningFixture];
  /** Where the JSON run placed the fixture's diagnostic: the other formats must agree. */
  const located = (fixture: Fixture) => {
    const { code } = fixture.expectations[0]!;
    const d = of(fixture.file).find((x) => x.code === code);
    expect(d, `${fixture.file} ${code}`).toBeDefined();
    return { code, line: d!.line, column: d!.column, file: fixture.file };
  };

  it('stylish prints file:line:column and the code, without colour when piped', () => {
    const result = validate(picked.map((f) => f.file), 'stylish');
    expect(result.code).toBe(1);
    expect(result.stderr).not.toMatch(STACK_TRACE);
    expect(result.stdout).not.toMatch(/\u001b\[/);
    for (const fixture of picked) {
      const { code, line, column, file } = located(fixture);
      const row = result.stdout.split('\n').find((l) => l.includes(`${file}:${line}:${column}`));
      expect(row, result.stdout).toBeDefined();
      expect(row).toContain(code);
      expect(row).toContain(fixture === errorFixture ? 'error' : 'warning');
    }
    expect(result.stdout).toMatch(/1 error, 1 warning/);
  });

  it('github prints workflow commands with file, line and col', () => {
    const result = validate(picked.map((f) => f.file), 'github');
    expect(result.code).toBe(1);
    expect(result.stderr).not.toMatch(STACK_TRACE);
    const lines = result.stdout.trimEnd().split('\n');
    const commands = lines.filter((l) => l.startsWith('::'));
    expect(commands).toHaveLength(2);
    for (const command of commands) expect(command).toMatch(/^::(error|warning) file=[^,]+,line=\d+,col=\d+,endLine=\d+,endColumn=\d+,title=[^:,]+::\S.*$/);
    const error = located(errorFixture);
    expect(commands).toContainEqual(expect.stringMatching(new RegExp(`^::error file=${regexEscape(error.file)},line=${error.line},col=${error.column},.*title=${error.code}::`)));
    const warning = located(warningFixture);
    expect(commands).toContainEqual(expect.stringMatching(new RegExp(`^::warning file=${regexEscape(warning.file)},line=${warning.line},col=${warning.column},.*title=${warning.code}::`)));
  });

  it('junit prints well-formed XML with one failure per file with errors', () => {
    // The whole corpus: its messages quote values, paths and control-free text
    // that must all survive XML escaping.
    const result = validate([FIXTURES], 'junit');
    expect(result.code).toBe(1);
    expect(result.stderr).not.toMatch(STACK_TRACE);
    const elements = checkXml(result.stdout);
    expect(elements[0]?.name).toBe('testsuites');
    const testcases = elements.filter((e) => e.name === 'testcase');
    expect(testcases).toHaveLength(fixtures.length);
    const failures = elements.filter((e) => e.name === 'failure');
    expect(failures.length).toBe(new Set(report.diagnostics.filter((d) => d.severity === 'error').map((d) => d.file)).size);
    expect(failures.every((f) => testcases.includes(f.parent!))).toBe(true);
    expect(new Set(failures.map((f) => f.parent)).size).toBe(failures.length);
    const enumCase = testcases.find((e) => e.attributes.name === errorFixture.file);
    expect(enumCase).toBeDefined();
    expect(failures.some((f) => f.parent === enumCase && f.attributes.type?.split(', ').includes('schema-enum'))).toBe(true);
    const orderCase = testcases.find((e) => e.attributes.name === warningFixture.file);
    expect(failures.some((f) => f.parent === orderCase)).toBe(false);
  });
});

function regexEscape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  parent: XmlElement | undefined;
}

/** A small well-formedness check: one root, balanced tags, quoted attributes, only known entities. */
function checkXml(text: string): XmlElement[] {
  const body = text.replace(/^<\?xml version="1\.0" encoding="UTF-8"\?>\n/, '');
  expect(body, 'XML declaration').not.toBe(text);
  const entity = /&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/;
  const elements: XmlElement[] = [];
  const stack: XmlElement[] = [];
  let roots = 0;
  const token = /<[^<>]*>|[^<]+/g;
  let covered = 0;
  for (const match of body.matchAll(token)) {
    covered += match[0].length;
    const part = match[0];
    if (!part.startsWith('<')) {
      expect(part, 'text').not.toMatch(entity);
      if (stack.length === 0) expect(part.trim(), 'text outside the root element').toBe('');
      continue;
    }
    const close = /^<\/([A-Za-z_][\w.-]*)\s*>$/.exec(part);
    if (close) {
      expect(stack.pop()?.name, `closing </${close[1]}>`).toBe(close[1]);
      continue;
    }
    const open = /^<([A-Za-z_][\w.-]*)((?:\s+[A-Za-z_][\w.-]*="[^"]*")*)\s*(\/?)>$/.exec(part);
    expect(open, `tag ${part.slice(0, 80)}`).not.toBeNull();
    const attributes: Record<string, string> = {};
    for (const [, key, value] of open![2]!.matchAll(/([A-Za-z_][\w.-]*)="([^"]*)"/g)) {
      expect(value, `attribute ${key}`).not.toMatch(entity);
      expect(Object.hasOwn(attributes, key!), `attribute ${key} repeated`).toBe(false);
      attributes[key!] = value!.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
    }
    if (stack.length === 0) roots++;
    const element: XmlElement = { name: open![1]!, attributes, parent: stack.at(-1) };
    elements.push(element);
    if (open![3] !== '/') stack.push(element);
  }
  expect(covered, 'a stray "<"').toBe(body.length);
  expect(stack.map((e) => e.name), 'unclosed elements').toEqual([]);
  expect(roots, 'root elements').toBe(1);
  return elements;
}

describe('files generated at test time', () => {
  it('refuses a file over 1 MiB before reading it (file-too-large)', () => {
    const root = scratchWorkspace();
    const incoming = join(root, 'incoming');
    mkdirSync(incoming);
    const template = (id: string) => `# yaml-language-server: $schema=../schemas/template.schema.json
id: ${id}
version: 1
name: Clarifying Peel Series
type: pay-as-you-go
status: active
goal: Clearer, smoother skin in eight weeks
duration: { weeks: 8 }
schedule:
  - when: { week: 1 }
    services: [skin-consultation]
`;
    const padded = (id: string, size: number) => {
      const head = template(id);
      const filler = '# padding\n'.repeat(Math.ceil(size / 10));
      return (head + filler).slice(0, size - 1) + '\n';
    };
    writeFileSync(join(incoming, 'oversized.yaml'), padded('oversized', 1024 * 1024 + 1));
    writeFileSync(join(incoming, 'at-the-limit.yaml'), padded('at-the-limit', 1024 * 1024));

    const result = validate(['incoming'], 'json', root, root);
    expect(result.stderr).not.toMatch(STACK_TRACE);
    const report = JSON.parse(result.stdout) as JsonReport;
    const big = report.diagnostics.filter((d) => d.file === 'incoming/oversized.yaml');
    expect(big).toHaveLength(1);
    expect(big[0]).toMatchObject({ code: 'file-too-large', severity: 'error', line: 1, column: 1, path: '' });
    expect(big[0]!.message).toMatch(/1 MiB/);
    expect(report.diagnostics.filter((d) => d.file === 'incoming/at-the-limit.yaml' && d.code === 'file-too-large')).toEqual([]);
    expect(result.code).toBe(1);
  });

  it('refuses a link that leads outside the workspace (file-outside-workspace)', () => {
    const root = scratchWorkspace();
    const outside = scratch();
    const secret = join(outside, 'elsewhere.yaml');
    writeFileSync(secret, 'id: elsewhere\nnote: private data that must not be read\n');
    const incoming = join(root, 'incoming');
    mkdirSync(incoming);
    symlinkSync(secret, join(incoming, 'elsewhere.yaml'));
    // A link that stays inside the workspace is followed as usual.
    const inside = readdirSync(join(root, 'templates')).find((n) => n.endsWith('.yaml'))!;
    symlinkSync(relative(incoming, join(root, 'templates', inside)), join(incoming, inside));

    const result = validate(['incoming'], 'json', root, root);
    expect(result.stderr).not.toMatch(STACK_TRACE);
    const report = JSON.parse(result.stdout) as JsonReport;
    const linked = report.diagnostics.filter((d) => d.file === 'incoming/elsewhere.yaml');
    expect(linked).toHaveLength(1);
    expect(linked[0]).toMatchObject({ code: 'file-outside-workspace', severity: 'error', line: 1, column: 1, path: '' });
    expect(linked[0]!.message).not.toContain('private data');
    expect(report.diagnostics.filter((d) => d.file === `incoming/${inside}` && d.code === 'file-outside-workspace')).toEqual([]);
    expect(result.code).toBe(1);
  });
});
