import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { binary, databaseBytes, databaseEnv, databaseFile, engine, repoRoot, txplan, workspace, seededRandom } from '../helpers.js';
import { main } from '../../src/cli/main.js';
import { luhn, normaliseDigits } from '../../src/domain/cards.js';

/**
 * 10,000 generated strings — card numbers in every form, control characters,
 * ANSI escape sequences, formula starts, bidi overrides and ordinary text —
 * through every free-text flag of every command. Most run in-process through
 * main() against one workspace; a sample runs through the built binary. The
 * database file, its WAL and the audit must hold no card number; no output
 * may carry an escape sequence, a raw tab or newline from a value, or a stack
 * trace; every exit code is one of SPEC §6's.
 */

const TOTAL = 10_000;
const SPAWNED = 80;
const EXIT_CODES = [0, 1, 2, 3, 4, 130];
// eslint-disable-next-line no-control-regex
const TRAP = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
const STACK = /^\s+at .+:\d+:\d+\)?$/m;


interface Sample {
  text: string;
  /** The digits of every real card number inside `text`. */
  cards: string[];
}

const NETWORKS: ReadonlyArray<[string, number]> = [
  ['4', 16], ['4', 13], ['4', 19], ['51', 16], ['55', 16], ['2221', 16], ['2720', 16], ['34', 15], ['37', 15], ['6011', 16], ['644', 16], ['649', 19],
  ['65', 16], ['3528', 16], ['3589', 19], ['300', 14], ['305', 16], ['36', 14], ['38', 16], ['39', 19], ['62', 16], ['62', 19], ['50', 16], ['56', 13], ['69', 18],
];
const SEPARATORS = [' ', '  ', '\u00a0', '\u2009', '\u202f', '\t', '\n', '.', '-', '/', '\u2010', '\u2013', '\u2014', '\u2212', '\ufe63', '\uff0d', ' - ', '.\u00a0', '\r\n'];
const ZERO_WIDTH = ['\u200b', '\u200c', '\u200d', '\u2060', '\ufeff'];
const GROUPINGS = [[4, 4, 4, 4, 3], [4, 6, 5], [4, 6, 4], [4, 4, 5], [5, 5, 5, 4], [4, 4, 4, 4]];
const WORDS = ['Zoë', 'Ødegård', 'José', 'Núñez', 'Ярослава', 'Ковалenko', '山田', '花子', 'O\'Brien', 'Anne-Marie', 'peel', 'follow-up', 'week 3', 'room 12', 'Dr. Ng', 'ok', '#5', '50%', 'a\\b', '"quoted"', '%0A', '::error::x', '${HOME}', '$(id)', '`id`', '<b>x</b>', '&amp;'];
const ANSI = [
  '\u001b[31mred\u001b[0m', '\u001b[2J\u001b[H', '\u001b[1A\u001b[2K', '\u001b]8;;https://evil.example/\u0007click\u001b]8;;\u0007', '\u001b]8;;file:///etc/passwd\u001b\\x\u001b]8;;\u001b\\',
  '\u001b]52;c;ZWNobyBvd25lZA==\u0007', '\u001b]0;title\u0007', '\u009b31m', '\u009d8;;x\u009c', '\u001bP+q\u001b\\', '\u001b[?1049h', '\u001b(0',
];
const CONTROLS = ['\u0000', '\u0001', '\u0007', '\u0008', '\u000b', '\u000c', '\r', '\u001b', '\u007f', '\u0085', '\u0090', '\u009f', '\u2028', '\u2029'];
const BIDI = ['\u202a', '\u202b', '\u202c', '\u202d', '\u202e', '\u2066', '\u2067', '\u2068', '\u2069'];
const FORMULAS = ['=HYPERLINK("https://evil.example","x")', '=1+2', '+1 555 0100', '+47 400 00 101', '-2+3', '-12', '@SUM(A1:A9)', '\t=cmd', '\r=cmd', '=cmd|\' /C calc\'!A0'];

function generator(seed: number) {
  const rand = seededRandom(seed);
  const int = (n: number) => Math.floor(rand() * n);
  const pick = <T,>(list: readonly T[]): T => list[int(list.length)]!;
  const digits = (n: number, first = '0123456789') => pick([...first]) + Array.from({ length: n - 1 }, () => String(int(10))).join('');

  function card(): string {
    const [prefix, length] = pick(NETWORKS);
    let body = prefix + Array.from({ length: length - prefix.length - 1 }, () => String(int(10))).join('');
    for (let check = 0; check <= 9; check++) {
      if (luhn(body + check)) return body + check;
    }
    return body;
  }
  function grouped(number: string): string {
    const sizes = pick(GROUPINGS);
    const parts: string[] = [];
    let at = 0;
    for (const size of sizes) {
      if (at >= number.length) break;
      parts.push(number.slice(at, at + size));
      at += size;
    }
    if (at < number.length) parts.push(number.slice(at));
    const mixed = rand() < 0.3;
    const sep = pick(SEPARATORS);
    return parts.reduce((text, part, i) => (i === 0 ? part : text + (mixed ? pick(SEPARATORS) : sep) + part), '');
  }
  function digitsAs(text: string): string {
    const base = pick([0xff10, 0x0660, 0x06f0, 0x0966, 0x09e6, 0x0e50, 0x1d7ce]);
    return text.replace(/\d/g, (d) => String.fromCodePoint(base + Number(d)));
  }
  function cardForm(number: string): string {
    switch (int(9)) {
      case 0: return number;
      case 1: return grouped(number);
      case 2: return [...number].join(pick(ZERO_WIDTH));
      case 3: return digitsAs(rand() < 0.5 ? number : grouped(number).replace(/[\t\n\r]/g, ' '));
      case 4: return `${digits(1 + int(4), '123456789')}${number}`; // inside a longer run, at its end
      case 5: return `${number}${digits(1 + int(5))}`; // at its start
      case 6: return `${digits(2, '123456789')} ${grouped(number)} ${digits(2)}`;
      case 7: return grouped(number).split('').map((c) => (rand() < 0.1 ? c + pick(ZERO_WIDTH) : c)).join('');
      default: return `${pick(['Card', 'paid with', 'cc:', '=', '@', '+ '])}${pick(['', ' '])}${grouped(number)}${pick(['', ' exp 12/29', ' cvv 123', '\u202e'])}`;
    }
  }
  function notACard(): string {
    switch (int(4)) {
      case 0: { // Luhn-valid, but no card network starts with 1, 7, 8 or 9
        const body = digits(15, '1789');
        for (let c = 0; c <= 9; c++) if (luhn(body + c)) return body + c;
        return body;
      }
      case 1: return `+${pick(['1', '44', '49', '55', '62', '380'])} ${digits(3, '123456789')} ${digits(4)} ${digits(3)}`;
      case 2: return `${String(1 + int(28)).padStart(2, '0')}/${String(1 + int(12)).padStart(2, '0')}/${1950 + int(80)}`;
      default: return `MRN-${digits(8)}`;
    }
  }
  function sprinkle(text: string, chars: readonly string[]): string {
    const at = int(text.length + 1);
    return text.slice(0, at) + pick(chars) + text.slice(at);
  }
  function ordinary(): string {
    return Array.from({ length: 1 + int(3) }, () => pick(WORDS)).join(' ');
  }

  return (): Sample => {
    const roll = rand();
    if (roll < 0.32) {
      const number = card();
      const form = cardForm(number);
      const text = rand() < 0.2 ? sprinkle(`${ordinary()} ${form}`, [...CONTROLS, ...BIDI]) : form;
      return { text, cards: [number] };
    }
    let text: string;
    if (roll < 0.4) text = notACard();
    else if (roll < 0.52) text = sprinkle(ordinary(), CONTROLS);
    else if (roll < 0.64) text = `${ordinary()}${pick(ANSI)}${rand() < 0.5 ? ordinary() : ''}`;
    else if (roll < 0.74) text = pick(FORMULAS) + (rand() < 0.5 ? ` ${ordinary()}` : '');
    else if (roll < 0.82) text = sprinkle(ordinary(), BIDI);
    else if (roll < 0.9) text = `${ordinary()}${pick(['\n', '\t', '\r\n', '\n\n'])}${ordinary()}`;
    else text = ordinary();
    return { text, cards: [] };
  };
}

interface Result {
  stdout: string;
  stderr: string;
  code: number;
}

/** Digits of the text as the detector reads them, separators between digits removed. */
function digitView(text: string): string {
  return normaliseDigits(text).replace(/(?<=\d)[\s.\-/\p{Pd}\u2212]{1,3}(?=\d)/gu, '');
}

describe('fuzz: 10,000 strings through every free-text flag', () => {
  it('never stores a card number, never prints a trap, never crashes', { timeout: 240_000 }, async () => {
    const ws = workspace();
    const started = Date.now();
    const env = { TXPLAN_ACTOR: 'fuzz' };

    const inProcess = async (args: readonly string[], extraEnv: Record<string, string> = {}): Promise<Result> => {
      let stdout = '';
      let stderr = '';
      const sink = (append: (text: string) => void) => new Writable({ write: (chunk: Buffer | string, _encoding, done) => { append(chunk.toString()); done(); } });
      const code = await main(['node', 'txplan', ...args], {
        streams: { stdout: sink((t) => (stdout += t)), stderr: sink((t) => (stderr += t)), stdin: Readable.from([]) },
        env: { ...databaseEnv(ws, args, { ...env, ...extraEnv }), ...env, ...extraEnv },
        cwd: ws,
      });
      return { stdout, stderr, code };
    };
    const spawned = (args: readonly string[], extraEnv: Record<string, string> = {}): Promise<Result> =>
      new Promise((resolve, reject) => {
        const clean: Record<string, string> = {};
        for (const [key, value] of Object.entries(process.env)) if (value !== undefined && !key.startsWith('TXPLAN_') && key !== 'NO_COLOR' && key !== 'FORCE_COLOR') clean[key] = value;
        // A real command line cannot carry a NUL byte: those become U+0001, still a control character.
        const noNul = (text: string) => text.replace(/\u0000/g, '\u0001');
        const childEnv = Object.fromEntries(Object.entries({ ...clean, ...databaseEnv(ws, args, { ...env, ...extraEnv }), ...env, ...extraEnv }).map(([k, v]) => [k, noNul(v)]));
        const child = spawn(process.execPath, [binary, ...args.map(noNul)], { cwd: ws, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('error', reject);
        child.on('close', (code) => resolve({ stdout, stderr, code: code ?? -1 }));
      });

    // Set-up: a clinic, patients, and plans to record steps on, edit and cancel.
    const must = async (args: string[]) => {
      const result = await inProcess(args);
      if (result.code !== 0) throw new Error(`setup ${args.join(' ')}: ${result.stderr}`);
      return result;
    };
    await must(['clinic', 'add', 'downtown', '--name', 'Downtown', '--timezone', 'UTC']);
    await must(['patient', 'add', '--first', 'Base', '--last', 'Patient', '--mrn', 'BASE-1']);
    const PLANS = 24;
    // One patient holds them all: each after the first is a deliberate second plan of the template.
    for (let i = 0; i < PLANS; i++) await must(['plan', 'apply', 'BASE-1', 'mild-acne-clearing', '--mode', i % 2 === 0 ? 'start' : 'prescribe', '--clinic', 'downtown', '--payment-method', 'pm_card_visa', '--allow-duplicate']);
    const nextStep = new Map<number, number>();
    const photoDir = join(ws, 'photos');
    mkdirSync(photoDir);
    const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0xff, 0xd9]);

    /** Each (command, flag) pair turns a string into one txplan invocation. */
    type Invocation = { args: string[]; env?: Record<string, string> };
    const pairs: Array<[string, (s: string, i: number) => Invocation]> = [
      ['patient add --first', (s) => ({ args: ['patient', 'add', '--first', s, '--last', 'Fuzz'] })],
      ['patient add --last', (s) => ({ args: ['patient', 'add', '--first', 'Fuzz', '--last', s] })],
      ['patient add --email', (s) => ({ args: ['patient', 'add', '--first', 'Fuzz', '--last', 'Email', '--email', s] })],
      ['patient add --phone', (s) => ({ args: ['patient', 'add', '--first', 'Fuzz', '--last', 'Phone', '--phone', s] })],
      ['patient add --mrn', (s) => ({ args: ['patient', 'add', '--first', 'Fuzz', '--last', 'Mrn', '--mrn', s] })],
      ['clinic add <id>', (s) => ({ args: ['clinic', 'add', s, '--name', 'Fuzz', '--timezone', 'UTC'] })],
      ['clinic add --name', (s, i) => ({ args: ['clinic', 'add', `fz-name-${i}`, '--name', s, '--timezone', 'UTC'] })],
      ['clinic add --address', (s, i) => ({ args: ['clinic', 'add', `fz-address-${i}`, '--name', 'Fuzz', '--timezone', 'UTC', '--address', s] })],
      ['clinic add --phone', (s, i) => ({ args: ['clinic', 'add', `fz-phone-${i}`, '--name', 'Fuzz', '--timezone', 'UTC', '--phone', s] })],
      ['plan apply --set name', (s) => ({ args: ['plan', 'apply', 'BASE-1', 'mild-acne-clearing', '--mode', 'prescribe', '--set', `name=${s}`] })],
      ['plan apply --set goal', (s) => ({ args: ['plan', 'apply', 'BASE-1', 'mild-acne-clearing', '--mode', 'prescribe', '--set', `goal=${s}`] })],
      ['plan apply --set description', (s) => ({ args: ['plan', 'apply', 'BASE-1', 'mild-acne-clearing', '--mode', 'prescribe', '--set', `description=${s}`] })],
      ['plan edit --set name', (s, i) => ({ args: ['plan', 'edit', String(2 + 2 * (i % (PLANS / 2))), '--set', `name=${s}`] })],
      ['plan edit --set goal', (s, i) => ({ args: ['plan', 'edit', String(2 + 2 * (i % (PLANS / 2))), '--set', `goal=${s}`] })],
      ['plan edit --set description', (s, i) => ({ args: ['plan', 'edit', String(2 + 2 * (i % (PLANS / 2))), '--set', `description=${s}`] })],
      ['plan cancel --reason', (s, i) => ({ args: ['plan', 'cancel', '--yes', String(1 + (i % PLANS)), '--reason', s, '--waive-fee'] })],
      ['plan step --note', (s, i) => step(i, ['--note', s])],
      ['plan step --outcome', (s, i) => step(i, ['--outcome', s])],
      ['plan step --photo', (s, i) => step(i, ['--photo', photo(s, i)])],
      ['--actor', (s) => ({ args: ['patient', 'add', '--first', 'Fuzz', '--last', 'Actor', '--actor', s] })],
      ['TXPLAN_ACTOR', (s) => ({ args: ['clinic', 'add', 'downtown', '--name', 'Again', '--timezone', 'UTC'], env: { TXPLAN_ACTOR: s } })],
      ['template new <id>', (s) => ({ args: ['template', 'new', s, '--name', 'Fuzz'] })],
      ['template new --name', (s, i) => ({ args: ['template', 'new', `fz-name-${i}`, '--name', s] })],
      ['template new --goal', (s, i) => ({ args: ['template', 'new', `fz-goal-${i}`, '--goal', s] })],
      ['patient list --search', (s) => ({ args: ['patient', 'list', '--search', s] })],
      ['patient show <patient>', (s) => ({ args: ['patient', 'show', s] })],
      ['plan list --patient', (s) => ({ args: ['plan', 'list', '--patient', s] })],
      ['audit --entity', (s) => ({ args: ['audit', '--entity', s] })],
      ['unknown option', (s) => ({ args: ['patient', 'list', `--${s}`] })],
      ['unknown command', (s) => ({ args: ['patient', s] })],
    ];
    // Pairs that load the whole template registry cost several times more: they get half the share.
    const costly = (pair: string) => /^(plan apply|plan edit|template new)/.test(pair);
    const schedule = pairs.flatMap((p) => (costly(p[0]) ? [p] : [p, p]));
    function step(i: number, extra: string[]): Invocation {
      const plan = 1 + 2 * (i % (PLANS / 2)); // the started plans
      return { args: ['plan', 'step', '--yes', String(plan), String(nextStep.get(plan) ?? 1), '--done', ...extra] };
    }
    function photo(s: string, i: number): string {
      const name = `${i}-${s.replace(/[/\u0000]/g, '_')}`.slice(0, 80);
      writeFileSync(join(photoDir, name), JPEG);
      return join('photos', name);
    }

    const next = generator(8_2026);
    const samples = Array.from({ length: TOTAL }, next);
    const allCards = samples.flatMap((s) => s.cards);
    const problems: string[] = [];
    const used = new Map<string, number>();
    const timing = new Map<string, number>();

    const check = (label: string, sample: Sample | undefined, result: Result) => {
      const output = result.stdout + result.stderr;
      const where = `${label} ${JSON.stringify(sample?.text)} → ${result.code}`;
      if (!EXIT_CODES.includes(result.code)) problems.push(`exit code: ${where}`);
      if (TRAP.test(output)) problems.push(`trap in output: ${where}: ${JSON.stringify(output.slice(0, 300))}`);
      if (STACK.test(output) || output.includes('Unexpected error')) problems.push(`stack trace: ${where}: ${output.slice(0, 300)}`);
      if (sample) {
        const view = digitView(output);
        for (const number of sample.cards) if (view.includes(number)) problems.push(`card number echoed: ${label} → ${result.code}`);
        // A tab or line break of the value printed as it is, with the text around it.
        for (const match of sample.text.matchAll(/\S{2}[\t\n\r]+\S{2}/g)) if (output.includes(match[0])) problems.push(`raw tab/newline: ${where}`);
      }
    };
    const record = (pair: string, result: Result, invocation: Invocation) => {
      used.set(pair, (used.get(pair) ?? 0) + 1);
      if (pair.startsWith('plan step') && result.code === 0) {
        const plan = Number(invocation.args[2]);
        nextStep.set(plan, (nextStep.get(plan) ?? 1) + 1);
      }
    };

    // Piped lists of what was stored: one line per row, no formula cell, no trap.
    const checkLists = async () => {
      for (const [args, columns] of [[['patient', 'list'], 7], [['clinic', 'list'], 7], [['plan', 'list'], 0], [['audit'], 0]] as const) {
        const result = await inProcess(args);
        check(args.join(' '), undefined, result);
        for (const line of result.stdout.split('\n').filter(Boolean)) {
          const cells = line.split('\t');
          if (columns > 0 && cells.length !== columns) problems.push(`${args.join(' ')}: a line with ${cells.length} cells: ${JSON.stringify(line)}`);
          if (cells.some((c) => /^[=+\-@]/.test(c))) problems.push(`${args.join(' ')}: a formula cell: ${JSON.stringify(line)}`);
        }
      }
      for (const args of [['patient', 'show', '1'], ['plan', 'show', '1'], ['plan', 'show', '2'], ['audit', '--json']]) check(args.join(' '), undefined, await inProcess(args));
    };

    // 1. A patient import CSV carries many strings in one go (five cells a row).
    const CSV_ROWS = 900;
    let index = 0;
    const quote = (cell: string) => `"${cell.replace(/"/g, '""')}"`;
    for (let batch = 0; index < CSV_ROWS * 5; batch++) {
      const rows: string[] = ['first_name,last_name,email,phone,mrn'];
      const batchSamples: Sample[] = [];
      for (let r = 0; r < 20; r++) {
        const cells = samples.slice(index, index + 5);
        index += 5;
        batchSamples.push(...cells);
        rows.push(cells.map((c) => quote(c.text)).join(','));
      }
      const file = join(ws, `import-${batch}.csv`);
      writeFileSync(file, rows.join('\r\n'));
      const result = await inProcess(['patient', 'import', `import-${batch}.csv`, ...(batch % 2 ? ['--dry-run'] : [])]);
      used.set('patient import <csv cells>', (used.get('patient import <csv cells>') ?? 0) + batchSamples.length);
      check(`patient import ${file}`, { text: batchSamples.map((s) => s.text).join(','), cards: batchSamples.flatMap((s) => s.cards) }, result);
    }

    // 2. Every other string through one (command, flag) pair, in-process.
    const spawnFrom = TOTAL - SPAWNED;
    for (let i = index; i < spawnFrom; i++) {
      const [pair, make] = schedule[i % schedule.length]!;
      const invocation = make(samples[i]!.text, i);
      const t0 = performance.now();
      const result = await inProcess(invocation.args, invocation.env);
      timing.set(pair, (timing.get(pair) ?? 0) + performance.now() - t0);
      record(pair, result, invocation);
      check(pair, samples[i], result);
      if (i % 1000 === 0) await checkLists();
    }
    await checkLists();
    const inProcessSeconds = (Date.now() - started) / 1000;

    // 3. A sample through the built binary, a few at a time.
    const queue = Array.from({ length: SPAWNED }, (_, k) => spawnFrom + k);
    await Promise.all(
      Array.from({ length: 3 }, async () => {
        for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
          const [pair, make] = pairs[(i * 7) % pairs.length]!;
          const invocation = make(samples[i]!.text, i);
          const result = await spawned(invocation.args, invocation.env);
          record(pair, result, invocation);
          check(`spawned ${pair}`, samples[i], result);
        }
      }),
    );
    check('spawned patient list', undefined, txplan(['patient', 'list'], { cwd: ws }));

    // Nothing stored anywhere holds a card number: the database (on SQLite its file, WAL and journal; on
    // PostgreSQL every value, as pg_dump writes it), and the audit as txplan reads it.
    const files = engine === 'sqlite' ? ['', '-wal', '-journal'].map((suffix) => databaseFile(ws) + suffix).filter((f) => existsSync(f)) : [];
    const stored = digitView(engine === 'sqlite' ? files.map((f) => readFileSync(f).toString('utf8')).join('\n') : Buffer.from(databaseBytes(ws), 'latin1').toString('utf8'));
    expect(stored).toContain('BASE-1');
    const audit = digitView((await inProcess(['audit', '--json'])).stdout);
    const leaked = allCards.filter((number) => stored.includes(number) || audit.includes(number));

    expect(problems.slice(0, 10)).toEqual([]);
    expect(leaked.length, `card numbers stored: ${leaked.length}`).toBe(0);
    // Every pair got many strings; the audit shows that strings were really stored.
    for (const [pair] of pairs) expect(used.get(pair) ?? 0, pair).toBeGreaterThan(80);
    expect(Number(JSON.parse((await inProcess(['audit', '--json'])).stdout).length)).toBeGreaterThan(200);
    expect(allCards.length).toBeGreaterThan(2500);
    // eslint-disable-next-line no-console
    console.log(`fuzz: ${TOTAL} strings, ${allCards.length} card numbers; in-process part ${inProcessSeconds.toFixed(0)} s, all ${((Date.now() - started) / 1000).toFixed(0)} s`);
    // eslint-disable-next-line no-console
    console.log([...timing].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([p, ms]) => `${p} ${(ms / (used.get(p) ?? 1)).toFixed(1)} ms`).join('; '));
    void repoRoot;
  });
});
