import { describe, expect, it } from 'vitest';
import { parseSource } from '../../src/registry/source.js';
import { checkSchema } from '../../src/registry/schema.js';

const parse = (text: string | Buffer) => parseSource('t.yaml', '/ws/t.yaml', Buffer.isBuffer(text) ? text : Buffer.from(text));

const VALID = `# yaml-language-server: $schema=../schemas/template.schema.json
id: t
version: 1
name: Test
type: pay-as-you-go
status: active
goal: Test goal
duration: { weeks: 4 }
schedule:
  - when: { week: 1 }
    services: [consult]
`;

describe('reading a template source', () => {
  it('parses a valid file into data with no problems', () => {
    const source = parse(VALID);
    expect(source.problems).toEqual([]);
    expect(source.data).toMatchObject({ id: 't', duration: { weeks: 4 } });
    expect(checkSchema('template', source.data)).toEqual([]);
  });

  it('locates a path at the closest YAML node, 1-based', () => {
    const source = parse(VALID);
    expect(source.locate({ path: ['schedule', 0, 'when', 'week'], code: 'x', message: 'm' })).toMatchObject({ line: 10, column: 19, path: 'schedule[0].when.week' });
    // A missing node falls back to its closest existing ancestor.
    expect(source.locate({ path: ['schedule', 0, 'alternatives', 2], code: 'x', message: 'm' })).toMatchObject({ line: 10, column: 5 });
    expect(source.locate({ path: ['nope'], atKey: true, code: 'x', message: 'm' })).toMatchObject({ line: 2, column: 1 });
  });

  it('points an unknown field at its key and suggests the right spelling', () => {
    const source = parse(VALID.replace('goal: Test goal', 'goal: Test goal\ngaol: typo'));
    const [finding] = checkSchema('template', source.data);
    expect(finding).toMatchObject({ code: 'schema-unknown-field', path: ['gaol'], atKey: true });
    expect(finding!.message).toBe('the template has an unknown field "gaol"; did you mean "goal"?');
    expect(source.locate(finding!)).toMatchObject({ line: 8, column: 1 });
  });

  it('describes schema errors in words a clinic admin understands', () => {
    const messages = (text: string) => checkSchema('template', parse(text).data).map((f) => `${f.code}: ${f.message}`);
    expect(messages(VALID.replace('type: pay-as-you-go', 'type: monthy'))).toEqual(['schema-enum: type is "monthy", expected one of monthly, pay-as-you-go (did you mean "monthly"?)']);
    expect(messages(VALID.replace('version: 1', 'version: "one"'))).toEqual(['schema-type: version must be a whole number, not "one"']);
    expect(messages(VALID.replace('version: 1', 'version: 0'))).toEqual(['schema-range: version is 0, but must be at least 1']);
    expect(messages(VALID.replace('{ week: 1 }', '{ week: 1, month: 1 }'))).toEqual(['schema-one-of: schedule[0].when must have exactly one of week or month, e.g. {week: 2}']);
    expect(messages(VALID.replace('goal: Test goal\n', ''))[0]).toMatch(/^schema-required: the template is missing the required field "goal"; add it/);
    expect(messages(VALID.replace('[consult]', '[consult, consult]'))).toEqual(['schema-unique: schedule[0].services lists "consult" twice; remove the repeat']);
    expect(messages(VALID.replace('id: t', 'id: Bad_Id'))).toEqual(['schema-pattern: id is "Bad_Id"; use lowercase letters, digits and dashes, e.g. "bad-id"']);
    expect(checkSchema('template', parse(VALID.replace('[consult]', '[consult, peel, consult]')).data)).toEqual([
      expect.objectContaining({ code: 'schema-unique', path: ['schedule', 0, 'services', 2] }),
    ]);
    expect(messages(`${VALID}pricing: { monthly_fee: cheap }\n`)).toEqual(['schema-money: pricing.monthly_fee is "cheap", but must be an amount like "249.00", or amounts by currency like {USD: "249.00", NOK: "2490.00"}']);
  });

  it('turns hostile input into one diagnostic each, never an exception', () => {
    const code = (input: string | Buffer) => parse(input).problems.map((p) => p.code);
    expect(code('')).toEqual(['file-empty']);
    expect(code('# only a comment\n')).toEqual(['file-empty']);
    expect(code('- a\n- b\n')).toEqual(['yaml-not-mapping']);
    expect(code('just text\n')).toEqual(['yaml-not-mapping']);
    expect(code('a: 1\na: 2\n')).toEqual(['yaml-duplicate-key']);
    expect(code('a: 1\n---\nb: 2\n')).toEqual(['yaml-multiple-documents']);
    expect(code('a: "unclosed\n')).toContain('yaml-syntax');
    const unclosed = parse('id: t\nname: "Clarifying\ngoal: x\nversion: 1\n').problems;
    expect(unclosed).toEqual([expect.objectContaining({ code: 'yaml-syntax', line: 2, column: 7, message: 'YAML syntax error: this double-quoted value is never closed; add the closing "' })]);
    expect(parse('a: 1\nb: 2\na: 3\n').problems).toEqual([expect.objectContaining({ line: 3, message: 'the key "a" appears twice in this mapping; remove or merge the repeat' })]);
    expect(code('__proto__: { polluted: true }\n')).toEqual(['yaml-forbidden-key']);
    expect(code('a:\n  constructor: x\n')).toEqual(['yaml-forbidden-key']);
    expect(code(Buffer.from([0x69, 0x64, 0x3a, 0x20, 0x00]))).toEqual(['file-binary']);
    expect(code(Buffer.from([0x69, 0x64, 0x3a, 0x20, 0xff, 0xfe, 0x0a]))).toEqual(['file-not-utf8']);
    expect(code(`${'['.repeat(5000)}${']'.repeat(5000)}`)).toEqual(['yaml-too-deep']);
    expect(code(`x: ${'['.repeat(40)}1${']'.repeat(40)}\n`)).toEqual(['yaml-too-deep']);
    const laughs = ['a: &a [x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++) laughs.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${String.fromCharCode(96 + i)}`).join(', ')}]`);
    expect(code(laughs.join('\n'))).toEqual(['yaml-alias-limit']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('gives the line of a non-UTF-8 byte', () => {
    const [problem] = parse(Buffer.concat([Buffer.from('id: t\nname: Jos'), Buffer.from([0xe9]), Buffer.from('\n')])).problems;
    expect(problem).toMatchObject({ code: 'file-not-utf8', line: 2 });
  });
});
