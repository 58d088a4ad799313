import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { binary, databaseEnv, workspace } from '../helpers.js';

/**
 * Drives txplan on a real pseudo-terminal (util-linux `script`), answering
 * each prompt when it appears, as a person at the keyboard would.
 */
function session(args: string[], cwd: string, env: Record<string, string> = {}) {
  const command = [process.execPath, binary, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const child = spawn('script', ['-qec', command, '/dev/null'], { cwd, env: { ...process.env, TERM: 'xterm', TXPLAN_ACTOR: 'test', ...databaseEnv(cwd, args, env), ...env } });
  let screen = '';
  child.stdout.on('data', (chunk: Buffer) => (screen += chunk.toString()));
  const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
  return {
    async answer(prompt: string, keys: string): Promise<void> {
      const deadline = Date.now() + 20_000;
      while (!stripVTControlCharacters(screen).includes(prompt)) {
        if (Date.now() > deadline) throw new Error(`no prompt "${prompt}" on screen:\n${stripVTControlCharacters(screen)}`);
        await new Promise((r) => setTimeout(r, 25));
      }
      screen = '';
      child.stdin.write(keys);
    },
    exited,
    screen: () => stripVTControlCharacters(screen),
  };
}

const ENTER = '\r';
const DOWN = '\u001b[B';

describe('txplan template new on a terminal', () => {
  it('asks for each value with @inquirer/prompts and writes the template', async () => {
    const ws = workspace();
    const term = session(['template', 'new'], ws);
    await term.answer('Template id (file name):', `brow-lamination${ENTER}`);
    await term.answer('Name:', ENTER); // accept the default, "Brow Lamination"
    await term.answer('Type:', `${DOWN}${ENTER}`); // pay-as-you-go
    await term.answer('Duration in weeks:', `6${ENTER}`);
    await term.answer('Goal', `Fuller, tidier brows${ENTER}`);
    expect(await term.exited).toBe(0);
    expect(term.screen()).toContain('Created templates/brow-lamination.yaml');
    expect(parse(readFileSync(join(ws, 'templates', 'brow-lamination.yaml'), 'utf8'))).toMatchObject({
      id: 'brow-lamination',
      name: 'Brow Lamination',
      type: 'pay-as-you-go',
      duration: { weeks: 6 },
      goal: 'Fuller, tidier brows',
    });
  });

  it('exits 130 and writes nothing when the user presses Ctrl-C', async () => {
    const ws = workspace();
    const term = session(['template', 'new'], ws);
    await term.answer('Template id (file name):', `half-done${ENTER}`);
    await term.answer('Name:', '\u0003');
    expect(await term.exited).toBe(130);
    expect(term.screen()).toContain('txplan: Cancelled.');
    expect(() => readFileSync(join(ws, 'templates', 'half-done.yaml'))).toThrow();
  });
});

describe('txplan plan apply on a terminal', () => {
  it('asks for patient, template, mode, clinic, start date, adjustments, payment and a confirmation', async () => {
    const ws = workspace();
    const { txplan } = await import('../helpers.js');
    for (const args of [
      ['clinic', 'add', 'downtown', '--name', 'Downtown', '--timezone', 'America/New_York'],
      ['clinic', 'add', 'westside', '--name', 'Westside', '--timezone', 'America/Los_Angeles'],
      ['patient', 'add', '--first', 'Zoë', '--last', 'Ødegård', '--mrn', 'A-1001'],
    ]) expect(txplan(args, { cwd: ws }).code).toBe(0);

    // Entered on its start date: txplan's clock (TXPLAN_NOW) is set there.
    const term = session(['plan', 'apply'], ws, { TXPLAN_NOW: '2027-01-04T15:00:00Z' });
    await term.answer('Find the patient', `Zoë${ENTER}`);
    await term.answer('Patient:', ENTER);
    // Templates are listed by id: anti-aging-maintenance, body-contouring, comprehensive-acne-resolution, …
    await term.answer('Template:', `${DOWN}${DOWN}${ENTER}`);
    await term.answer('What should happen?', ENTER); // Start Program
    await term.answer('Adjust the plan', `n${ENTER}`);
    await term.answer('Clinic:', ENTER); // Downtown
    await term.answer('Start date', `${'\u007f'.repeat(10)}2027-01-04${ENTER}`);
    await term.answer('Payment method token', `pm_card_visa${ENTER}`);
    await term.answer('Visa •••• 4242 now?', `y${ENTER}`); // starting charges installment 1: asked (y/N)
    expect(await term.exited).toBe(0);
    expect(term.screen()).toContain('Started plan 1: Comprehensive Acne Resolution for Zoë Ødegård at Downtown from 2027-01-04');

    const shown = JSON.parse(txplan(['plan', 'show', '1', '--json'], { cwd: ws }).stdout) as { status: string; start_date: string; clinic: { id: string }; payment_method: { last4: string } };
    expect(shown).toMatchObject({ status: 'active', start_date: '2027-01-04', clinic: { id: 'downtown' }, payment_method: { last4: '4242' } });
  });

  it('never prompts with --yes: a missing value is a usage error', () => {
    const ws = workspace();
    const script = spawnSync('script', ['-qec', `'${process.execPath}' '${binary}' plan apply --yes`, '/dev/null'], { cwd: ws, env: { ...process.env, ...databaseEnv(ws) }, encoding: 'utf8', input: '' });
    expect(script.status).toBe(2);
    expect(stripVTControlCharacters(script.stdout)).toContain('Missing the patient (id or MRN)');
  });
});
