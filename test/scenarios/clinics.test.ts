import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { databaseBytes, databaseFile, engine, query, txplan, workspace } from '../helpers.js';



describe('txplan clinic add', () => {
  it('adds a clinic in the workspace time zone and audits it', () => {
    const ws = workspace();
    writeFileSync(join(ws, 'txplan.yaml'), readFileSync(join(ws, 'txplan.yaml'), 'utf8').replace(/^timezone: .*$/m, 'timezone: Europe/Oslo'));
    const result = txplan(['clinic', 'add', 'downtown', '--name', 'Lumen Downtown', '--address', '1 Main St, Springfield', '--phone', '+1 555 010 0100'], { cwd: ws });
    expect(result).toEqual({ code: 0, stdout: '✔ Added clinic downtown (Lumen Downtown, Europe/Oslo).\n', stderr: '' });

    const [row] = query<Record<string, unknown>>(ws, 'SELECT * FROM clinics');
    expect(row).toMatchObject({ id: 'downtown', name: 'Lumen Downtown', timezone: 'Europe/Oslo', address: '1 Main St, Springfield', phone: '+1 555 010 0100' });
    const audit = query<{ actor: string; action: string; entity: string; entity_id: string; before: string | null; after: string }>(ws, 'SELECT * FROM audit');
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actor: 'test', action: 'clinic.add', entity: 'clinic', entity_id: 'downtown', before: null });
    expect(JSON.parse(audit[0]!.after)).toEqual(row);
  });

  it('takes --timezone, prints the clinic as JSON with its id, and stores the zone as the tz database spells it', () => {
    const ws = workspace();
    const result = txplan(['clinic', 'add', 'oslo', '--name', 'Lumen Oslo', '--timezone', 'europe/oslo', '--json'], { cwd: ws });
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toMatchObject({ id: 'oslo', name: 'Lumen Oslo', timezone: 'Europe/Oslo', address: null, phone: null });
  });

  it('creates the database private: the file 0600 in a 0700 folder (on PostgreSQL: no database file in the workspace at all)', () => {
    const ws = workspace();
    expect(txplan(['clinic', 'add', 'downtown', '--name', 'Lumen Downtown'], { cwd: ws }).code).toBe(0);
    if (engine === 'postgres') {
      // The records live on the server; nothing of them is written beside the workspace.
      expect(existsSync(join(ws, '.txplan', 'txplan.db'))).toBe(false);
      expect(query(ws, 'SELECT id FROM clinics')).toEqual([{ id: 'downtown' }]);
      return;
    }
    expect(statSync(join(ws, '.txplan')).mode & 0o777).toBe(0o700);
    expect(statSync(databaseFile(ws)).mode & 0o777).toBe(0o600);
  });

  it('refuses a duplicate id with exit 1 and writes nothing more', () => {
    const ws = workspace();
    expect(txplan(['clinic', 'add', 'downtown', '--name', 'Lumen Downtown'], { cwd: ws }).code).toBe(0);
    const again = txplan(['clinic', 'add', 'downtown', '--name', 'Somewhere else'], { cwd: ws });
    expect(again).toEqual({ code: 1, stdout: '', stderr: 'txplan: Clinic "downtown" already exists; choose another id ("txplan clinic list" shows the clinics)\n' });
    expect(query(ws, 'SELECT name FROM clinics')).toEqual([{ name: 'Lumen Downtown' }]);
    expect(query(ws, 'SELECT count(*) AS n FROM audit')).toEqual([{ n: 1 }]);
  });

  it('refuses an unknown time zone from the flag (exit 2) and from txplan.yaml (exit 1)', () => {
    const ws = workspace();
    const flag = txplan(['clinic', 'add', 'oslo', '--name', 'Lumen Oslo', '--timezone', 'Europe/Osloo'], { cwd: ws });
    expect(flag).toEqual({ code: 2, stdout: '', stderr: 'txplan: --timezone "Europe/Osloo" is not an IANA time zone; use one such as America/New_York or Europe/London\n' });

    writeFileSync(join(ws, 'txplan.yaml'), readFileSync(join(ws, 'txplan.yaml'), 'utf8').replace(/^timezone: .*$/m, 'timezone: Mars/Olympus_Mons'));
    const settings = txplan(['clinic', 'add', 'oslo', '--name', 'Lumen Oslo', '--json'], { cwd: ws });
    expect(settings.code).toBe(1);
    expect(settings.stdout).toBe('');
    expect(JSON.parse(settings.stderr)).toEqual({
      error: { code: 'invalid_timezone', message: expect.stringMatching(/^The default timezone "Mars\/Olympus_Mons" in .*txplan\.yaml is not an IANA time zone; fix it there or pass --timezone/) },
    });
    expect(engine === 'postgres' || existsSync(databaseFile(ws)) ? query(ws, 'SELECT * FROM clinics') : []).toEqual([]);
  });

  it('refuses a bad id and a missing name as usage errors', () => {
    const ws = workspace();
    const id = txplan(['clinic', 'add', 'Down_Town', '--name', 'Lumen'], { cwd: ws });
    expect(id.code).toBe(2);
    expect(id.stderr).toBe('txplan: The clinic id "Down_Town" must be lowercase letters, digits and dashes, at most 40 characters, e.g. downtown or north-side\n');
    const name = txplan(['clinic', 'add', 'downtown'], { cwd: ws });
    expect(name.code).toBe(2);
    expect(name.stderr).toBe('txplan: Missing --name; give the clinic its name, e.g. --name "Lumen Downtown"\n');
  });

  it('refuses a card number in any field without repeating it or storing it', () => {
    const ws = workspace();
    expect(txplan(['clinic', 'add', 'downtown', '--name', 'Lumen Downtown'], { cwd: ws }).code).toBe(0);
    for (const [flag, value] of [['--address', 'Card 4111 1111 1111 1111, Main St'], ['--name', '5555-5555-5555-4444'], ['--phone', '4111111111111111']] as const) {
      const result = txplan(['clinic', 'add', 'north', '--name', 'North', flag, value], { cwd: ws });
      expect(result.code, flag).toBe(1);
      expect(result.stderr).toBe(`txplan: ${flag} looks like it holds a card number; txplan never stores card numbers, so remove it (payments use a processor token such as pm_…)\n`);
    }
    const bytes = databaseBytes(ws);
    for (const digits of ['4111111111111111', '4111 1111 1111 1111', '5555555555554444', '5555-5555-5555-4444']) expect(bytes).not.toContain(digits);
    expect(query(ws, 'SELECT id FROM clinics')).toEqual([{ id: 'downtown' }]);
  });
});

describe('txplan clinic list', () => {
  it('prints a table on a terminal, tab-separated lines in a pipe, and a JSON array with ids', () => {
    const ws = workspace();
    txplan(['clinic', 'add', 'oslo', '--name', 'Lumen Oslo', '--timezone', 'Europe/Oslo', '--phone', '+47 22 00 00 00'], { cwd: ws });
    txplan(['clinic', 'add', 'downtown', '--name', 'Lumen Downtown', '--timezone', 'America/New_York', '--address', '1 Main St, Springfield'], { cwd: ws });

    const piped = txplan(['clinic', 'list'], { cwd: ws });
    expect(piped).toEqual({
      code: 0,
      stdout: 'downtown\tLumen Downtown\tAmerica/New_York\t1 Main St, Springfield\t\t\t\noslo\tLumen Oslo\tEurope/Oslo\t\t\'+47 22 00 00 00\t\t\n',
      stderr: '',
    });

    const json = txplan(['clinic', 'list', '--json'], { cwd: ws });
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual([
      expect.objectContaining({ id: 'downtown', name: 'Lumen Downtown', timezone: 'America/New_York', address: '1 Main St, Springfield', phone: null }),
      expect.objectContaining({ id: 'oslo', name: 'Lumen Oslo', timezone: 'Europe/Oslo', address: null, phone: '+47 22 00 00 00' }),
    ]);
  });

  it('says how to add a clinic when there is none', () => {
    const ws = workspace();
    expect(txplan(['clinic', 'list'], { cwd: ws })).toEqual({ code: 0, stdout: '', stderr: 'No clinics yet; add one with "txplan clinic add <id> --name NAME".\n' });
    expect(txplan(['clinic', 'list', '--json'], { cwd: ws })).toEqual({ code: 0, stdout: '[]\n', stderr: '' });
  });
});
