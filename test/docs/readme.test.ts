/**
 * Every command README.md shows is run here, in document order, so the README
 * cannot drift from what txplan does (see readme-blocks.ts for how commands are
 * read from its code blocks).
 *
 * It runs once, in the sqlite project: the README's examples are about the
 * commands and their output, which are the same on both engines, and its
 * workspace is a SQLite one, as after `txplan init`. Each command runs through
 * bash (pipes, `$(date +%F)`, `< /dev/null`, `~` and env prefixes work as
 * shown), in one scratch workspace, with `txplan` on the PATH being the built
 * bin/txplan, HOME a scratch folder, the sandbox gateway (the starter
 * txplan.yaml's), TXPLAN_ACTOR=ana and TXPLAN_NOW at the moment the README's
 * sample output shows (2026-11-27 09:14 America/New_York). The README's
 * examples are one story: patients are imported with ids 1–12, plan 1 is the
 * first plan started, and so on; a command naming a patient, plan or charge
 * that does not exist at that point is a README bug to fix there. Two examples
 * say they run elsewhere, and do here too: the TXPLAN_NOW one "on a copy of the
 * workspace" (with the clinic `main` and patient P-1 it names), and one "in a
 * workspace with currency: NOK". State an example presumes without showing it
 * (a card that declines, a restore) is made just before it (BEFORE).
 *
 * For each command: its exit status is 0 unless the README says otherwise
 * (`echo $?` after it, or EXIT below, each with the README's words), and where
 * the README shows output, its first line matches the command's (`matches`).
 *
 * Nothing is skipped silently: a command not run as shown is in notRun (with
 * how it is checked instead), names the PostgreSQL server of the examples
 * (SERVER), or is in a section another test runs (RUN_ELSEWHERE).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { describe, expect, it } from 'vitest';
import { beforeAllWithFolders, binary, repoRoot, setUp, tempDir, workspace } from '../helpers.js';
import { fencedBlocks, readmeCommands, type ReadmeCommand } from './readme-blocks.js';

const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
const commands = readmeCommands(readme);

/** The moment the README's sample output was taken: 2026-11-27 09:14 in America/New_York. */
const README_NOW = '2026-11-27T14:14:00Z';

/** Sections (a heading, and everything under it) whose commands another test reads from the README and runs. */
const RUN_ELSEWHERE: Record<string, string> = {
  // npm pack, npm install --global of the tarball or the repository: the pack test installs into a temporary
  // prefix and runs txplan from there, which this workspace cannot (it would install over the user's txplan).
  'Installing txplan': 'test/install/pack.test.ts',
};

/**
 * Commands whose output the README shows as a terminal shows it (titles, bars,
 * sparklines, which piped output leaves out): run on a pseudo-terminal with
 * script(1), as a user at the terminal runs them, and their first line compared.
 */
const TERMINAL = ['txplan report'];

/** Placeholders a README command may hold, and what they stand for in this workspace. */
const PLACEHOLDERS: Record<string, string> = { '<plan>': '1', '<patient>': 'LUM-1001', '<template>': 'comprehensive-acne-resolution', '<clinic>': 'downtown' };

/** What the README shows as an example's exit status, when it is not 0: command (and first output line) → status. */
const EXIT: Array<{ command: string; output?: string; status: number; why: string }> = [
  { command: 'txplan template validate', output: 'templates/', status: 1, why: 'its output lists two errors (exit codes: an invalid template is 1)' },
  { command: 'txplan plan apply LUM-1001 comprehensive-acne-resolution --mode prescribe', output: 'txplan: ', status: 1, why: '"refused without one (exit 1, naming the plan)"' },
  { command: 'txplan plan apply comprehensive-acne-resolution --patients-file cohort.csv', status: 1, why: '"exits 1 when any patient was not started"' },
  { command: 'txplan plan start', output: 'txplan: This would charge', status: 2, why: '"the command refuses before writing anything — exit 2"' },
  { command: 'txplan billing refund', output: 'txplan: ', status: 1, why: 'more than what remains is a refusal (exit codes: 1)' },
  { command: 'txplan billing run', output: 'txplan: The database is behind', status: 1, why: '"every charging command … refuses with exit 1 until billing reconcile --accept"' },
  { command: 'txplan billing reconcile', output: 'txp_', status: 1, why: '"exits 1 on any difference"' },
];

/**
 * Commands not run as shown, each checked another way. The PostgreSQL examples
 * name a server that is not there (db.example.org) and PostgreSQL's own
 * programs; this file runs in the sqlite project, where no server is started
 * (test/postgres/ and the postgres project prove db copy, db check and the
 * rest against a real one). Here txplan's commands run with the host pointed at
 * a port nothing listens on: they must get as far as reaching the server, so
 * the command line and URL are valid (a usage error would be exit 2).
 * The benchmarks take minutes each: the test checks each script and the flags
 * the README names exist.
 */
const UNREACHABLE = 'postgres://clinic@127.0.0.1:1/txplan';
const SERVER = 'postgres://clinic@db.example.org/txplan';
function notRun(c: ReadmeCommand): (() => void) | undefined {
  if (/^(createuser|createdb)\b/.test(c.text)) {
    // PostgreSQL's own programs, run by the server's administrator: they must make the role and database the URL names.
    return () => {
      const url = new URL(SERVER);
      expect(c.text).toMatch(new RegExp(` ${url.username}( |$)`));
      if (c.text.startsWith('createdb')) expect(c.text).toMatch(new RegExp(` ${url.pathname.slice(1)}$`));
      if (c.text.includes(' -h ')) expect(c.text).toContain(` -h ${url.hostname} `);
    };
  }
  const bench = /^node (bench\/\S+\.mjs)/.exec(c.text);
  if (bench) {
    return () => {
      const file = join(repoRoot, bench[1]!);
      expect(spawnSync(process.execPath, ['--check', file]).status).toBe(0);
      const script = readFileSync(file, 'utf8');
      for (const flag of c.text.split('#')[0]!.match(/--[a-z-]+/g) ?? []) expect(script).toContain(`'${flag}'`);
    };
  }
  return undefined;
}

let ws: string;
let rehearsal: string;
let shim: string;
let home: string;
/** The status of the command before, for `echo $?`. */
let previous = 0;
/** Variables `export`ed in the block being run. */
let exported: Record<string, string> = {};
let exportedBlock = -1;
/** The block of the TXPLAN_NOW example, which runs in the rehearsal copy. */
let rehearsalBlock = -1;

function sh(command: string, env: Record<string, string>, cwd = ws): { status: number; stdout: string; stderr: string } {
  const clean: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith('TXPLAN_') && key !== 'NO_COLOR' && key !== 'FORCE_COLOR') clean[key] = value;
  }
  const result = spawnSync('bash', ['-c', command], {
    cwd,
    encoding: 'utf8',
    input: '',
    env: { ...clean, HOME: home, PATH: `${shim}:${process.env.PATH}`, TXPLAN_ACTOR: 'ana', TXPLAN_NOW: README_NOW, ...env },
  });
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** txplan run as set-up (not a README command), which must succeed. */
function given(args: string[], cwd = ws, now = README_NOW): string {
  const r = sh(['txplan', ...args.map((a) => `'${a}'`)].join(' '), { TXPLAN_NOW: now }, cwd);
  if (r.status !== 0) throw new Error(`set-up txplan ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/**
 * State a README example presumes, made just before it runs (and undone
 * after), keyed by the command's text.
 */
const BEFORE: Record<string, () => (() => void) | void> = {
  // The README shows this run on a workspace where two templates have the errors its output lists.
  'txplan template validate': () => {
    const acne = join(ws, 'templates', 'comprehensive-acne-resolution.yaml');
    const tightening = join(ws, 'templates', 'comprehensive-skin-tightening.yaml');
    const saved = [readFileSync(acne, 'utf8'), readFileSync(tightening, 'utf8')] as const;
    const lines = saved[0].split('\n');
    if (lines[37] !== '  - when: { month: 6 }') throw new Error('the starter acne template changed: update the line the README example breaks');
    lines[37] = '  - when: { month: 7 }';
    writeFileSync(acne, lines.join('\n'));
    writeFileSync(tightening, saved[1].replace('[skin-consultation,', '[skin-consultaton,'));
    return () => {
      writeFileSync(acne, saved[0]);
      writeFileSync(tightening, saved[1]);
    };
  },
  // The run's output shows a card declining with insufficient funds: the cohort's started plan gets such a card.
  'txplan billing run            # on 2026-12-01': () => {
    given(['plan', 'payment', '3', '--payment-method', 'pm_card_chargeDeclinedInsufficientFunds', '--yes']);
  },
  // The README shows plan show's Price line of a plan in a NOK workspace (a priced plan is sold in the
  // workspace's currency only): a second workspace with that currency, the clinic added just before and a plan.
  'txplan plan show 1 | grep Price     # in a workspace with currency: NOK': () => {
    const previousWs = ws;
    ws = join(tempDir(), 'clinic');
    given(['init', ws], dirname(ws));
    writeFileSync(join(ws, 'txplan.yaml'), readFileSync(join(ws, 'txplan.yaml'), 'utf8').replace(/^currency: USD$/m, 'currency: NOK'));
    given(['clinic', 'add', 'oslo', '--name', 'Lumen Oslo', '--timezone', 'Europe/Oslo', '--currency', 'NOK', '--locale', 'nb-NO']);
    given(['patient', 'add', '--first', 'Ingrid', '--last', 'Berg', '--mrn', 'OSL-1']);
    given(['plan', 'apply', 'OSL-1', 'comprehensive-acne-resolution', '--mode', 'start', '--clinic', 'oslo', '--payment-method', 'pm_card_visa', '--yes']);
    return () => {
      ws = previousWs;
    };
  },
  // "After a restore": a backup, a charge made after it, and the backup put back.
  'txplan billing run': () => {
    given(['db', 'backup', join(home, 'before-restore')]);
    given(['plan', 'apply', 'LUM-1006', 'glow-membership', '--mode', 'start', '--clinic', 'downtown', '--payment-method', 'pm_card_visa', '--yes']);
    given(['db', 'restore', join(home, 'before-restore'), '--force', '--yes']);
  },
};

/** Normalised for comparison: a database's random id in keys (the README abridges it), ids, amounts and dates (any digits) as `#`, any run of blanks as one space. */
function normalise(line: string): string {
  return line
    .replace(/txp_[a-z]+…?_/g, 'txp_ID_')
    .replace(/\d[\d,.]*\d|\d/g, '#')
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * Whether the command's first line of output matches the README's first output
 * line, after normalise(), with `…` in the README standing for anything (it
 * abridges). Looser on purpose: the command's first line of stdout or, when
 * the README shows an error or warning (which txplan writes on stderr), of
 * stderr without the simulated clock's warning line. Tables: the README shows
 * a terminal's layout (a header row, aligned columns; doctor's ✔ marks and
 * labels), while the test pipes the output, which prints each row as
 * tab-separated cells without the header: there the README's first row that is
 * not a header must appear, cell for cell, in the first row of output (a
 * terminal's `-` for an empty cell aside).
 */
function matches(expected: string[], stdout: string, stderr: string): boolean {
  const first = (text: string) => normalise(text.replace(/^txplan: warning: TXPLAN_NOW is set: .*\n/, '').split('\n')[0] ?? '');
  const pattern = (line: string) => new RegExp(`^${normalise(line).split('…').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  const out = first(stdout.replaceAll(dirname(ws), ''));
  const err = first(stderr.replaceAll(dirname(ws), ''));
  if (pattern(expected[0]!).test(out) || pattern(expected[0]!).test(err)) return true;
  const piped = stdout.split('\n')[0]!;
  if (!piped.includes('\t')) return false;
  const row = expected.find((l) => !/^[A-Z ]+$/.test(l.trim()) && !/^\w+ \(\d+\)$/.test(l.trim()));
  if (row === undefined) return false;
  const cells = row.replace(/^[✔!✖] [\w ]+: /, '').split(/\s{2,}/).filter((cell) => cell !== '-');
  return normalise(piped.split('\t').filter((cell) => cell !== '').join(' ')).includes(normalise(cells.join(' ')));
}

beforeAllWithFolders(() => {
  shim = tempDir();
  home = tempDir();
  writeFileSync(join(shim, 'txplan'), `#!/bin/sh\nexec "${process.execPath}" "${binary}" "$@"\n`);
  chmodSync(join(shim, 'txplan'), 0o755);
  ws = workspace();
  // The README imports the checkout's examples/patients.csv; the workspace gets a copy at the same place.
  mkdirSync(join(ws, 'examples'));
  cpSync(join(repoRoot, 'examples', 'patients.csv'), join(ws, 'examples', 'patients.csv'));
  // Files the README's commands read that a clinic would have: a photo, a booking system's export.
  writeFileSync(join(ws, 'before.jpg'), Buffer.from('ffd8ffe000104a46494600010100000100010000ffd9', 'hex'));
  writeFileSync(join(ws, 'bookings-november.csv'), bookingsExport());
  // "Rehearse on a copy of the workspace": the TXPLAN_NOW example runs in one, with the clinic and patient it names.
  rehearsal = join(tempDir(), 'rehearsal');
  cpSync(ws, rehearsal, { recursive: true });
  setUp(rehearsal, [
    ['clinic', 'add', 'main', '--name', 'Main Street', '--timezone', 'UTC'],
    ['patient', 'add', '--first', 'Ada', '--last', 'Lovelace', '--mrn', 'P-1'],
  ]);
});

/** The booking system's export of November: the twelve patients again (two changed), one new, and a column txplan does not import. */
function bookingsExport(): string {
  const rows = readFileSync(join(repoRoot, 'examples', 'patients.csv'), 'utf8').trim().split('\n').slice(1);
  const us = (dob: string) => (dob === '' ? '' : `${dob.slice(5, 7)}/${dob.slice(8, 10)}/${dob.slice(0, 4)}`);
  const lines = rows.map((row) => {
    const cells = row.match(/("[^"]*"|[^,]*)(,|$)/g)!.map((c) => c.replace(/,$/, ''));
    const [mrn, first, last, dob, email, phone] = cells;
    return [first, last, us(dob!), email, mrn === 'LUM-1003' ? '+48 500 000 999' : mrn === 'LUM-1008' ? '+33 1 00 00 09 99' : phone, mrn, 'Instagram'].join(',');
  });
  lines.push('Jose,Nunez,,jose@example.org,,LUM-1013,Walk-in');
  return ['First Name,Last Name,Date of Birth,E-mail,Mobile,Chart #,Referral Source', ...lines].join('\n') + '\n';
}

describe('README.md, every command it shows', () => {
  // CI runs these two itself on a fresh clone (.ci/run: npm install, whose build the demo needs, then
  // npm test, which is this suite), so the test checks the block is exactly them rather than running them.
  it('starts with the two set-up commands, exactly', () => {
    expect(fencedBlocks(readme)[0]).toMatchObject({ line: 3, tag: 'sh', lines: ['npm install && npx txplan demo', 'npm test'] });
    expect(commands.slice(0, 2).map((c) => c.text)).toEqual(['npm install && npx txplan demo', 'npm test']);
  });

  it('leaves the commands under "Installing txplan" to the pack test, by the heading they sit under', () => {
    const sample = '## Installing txplan\n\n```sh\nnpm pack\n```\n\n### From git\n\n    $ npm install --global github:YOUR-ORG/txplan\n\n## Next\n\n```\n$ txplan template list\n```\n';
    const found = readmeCommands(sample).map((c) => [c.text, c.headings.map((h) => RUN_ELSEWHERE[h]).find((t) => t !== undefined)]);
    expect(found).toEqual([
      ['npm pack', 'test/install/pack.test.ts'],
      ['npm install --global github:YOUR-ORG/txplan', 'test/install/pack.test.ts'],
      ['txplan template list', undefined],
    ]);
  });

  for (const [k, c] of commands.slice(2).entries()) {
    it(`line ${c.line}: ${c.text}`, () => {
      const elsewhere = c.headings.map((h) => RUN_ELSEWHERE[h]).find((test) => test !== undefined);
      if (elsewhere !== undefined) {
        expect(existsSync(join(repoRoot, elsewhere))).toBe(true);
        return;
      }
      const command = Object.entries(PLACEHOLDERS).reduce((t, [placeholder, value]) => t.replaceAll(placeholder, value), c.text);
      expect(command, 'a placeholder this test does not know: add it to PLACEHOLDERS').not.toMatch(/<[a-z-]+>|YOUR-[A-Z]+/);
      const exportLine = /^export (\w+)=['"]?([^'"\s]+)['"]?/.exec(c.text);
      if (exportLine) {
        if (exportedBlock !== c.block) exported = {};
        exported = { ...exported, [exportLine[1]!]: exportLine[2]! };
        exportedBlock = c.block;
        if (exportLine[1] === 'TXPLAN_NOW') rehearsalBlock = c.block;
        return;
      }
      if (c.text === 'echo $?') {
        expect(String(previous)).toBe(c.output[0]);
        return;
      }
      const other = notRun(c);
      if (other) return other();
      const env: Record<string, string> = { ...(c.block === exportedBlock ? exported : {}) };
      if (command.includes(SERVER) || env.TXPLAN_DB === SERVER) {
        if (env.TXPLAN_DB === SERVER) env.TXPLAN_DB = UNREACHABLE;
        const r = sh(command.replaceAll(SERVER, UNREACHABLE), env);
        expect(r.stderr).toContain('Cannot reach the PostgreSQL server');
        expect(r.status).toBe(1);
        return;
      }
      // `cat FILE` with its content shown: the file the next command reads, written as shown.
      const cat = /^cat (\S+)$/.exec(command);
      if (cat && c.output.length > 0) writeFileSync(join(ws, cat[1]!), c.output.join('\n') + '\n');
      // A `# on YYYY-MM-DD` comment says the day it runs on: the simulated clock is set to it.
      const on = /# on (\d{4}-\d{2}-\d{2})$/.exec(command);
      if (on) env.TXPLAN_NOW = on[1]!;
      // Output starting with `? ` shows the question a terminal asks, answered: off a terminal, --yes answers it
      // (as the README says of every command that asks), and the output compared is what follows the answer.
      const prompt = c.output[0]?.startsWith('? ') === true;
      const text = prompt ? command.replace(/(\s+#.*)?$/, ' --yes$1') : command;
      const undo = BEFORE[c.text]?.();
      const cwd = c.block === rehearsalBlock ? rehearsal : ws;
      const terminal = TERMINAL.some((t) => text.startsWith(t));
      const ran = sh(terminal ? `script -qec ${JSON.stringify(text)} /dev/null` : text, terminal ? { ...env, TERM: 'xterm-256color' } : env, cwd);
      // On a terminal, colours and the terminal's carriage returns are the terminal's business, not the text's.
      const r = terminal ? { ...ran, stdout: stripVTControlCharacters(ran.stdout).replaceAll('\r', '') } : ran;
      if (typeof undo === 'function') undo();
      previous = r.status;
      const expectedStatus = EXIT.find((e) => c.text.startsWith(e.command) && (e.output === undefined || c.output[0]?.startsWith(e.output)))?.status ?? 0;
      const next = commands[k + 3];
      const shown = next?.text === 'echo $?' ? Number(next.output[0]) : expectedStatus;
      expect(r.status, `stdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(shown);
      const output = prompt ? c.output.slice(1) : c.output;
      if (output.length > 0) expect(matches(output, r.stdout, r.stderr), `README shows: ${output[0]}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(true);
    });
  }
});
