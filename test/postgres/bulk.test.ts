import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PostgresConnection } from '../../src/store/postgres/connection.js';
import { LOCK_CLASS, LOCKS } from '../../src/store/postgres/engine.js';
import { databaseEnv, query, setUp, tempDir, txplan, workspace } from '../helpers.js';

/**
 * On PostgreSQL a bulk job (a patients file applied, a patient import) only
 * adds rows, so it does not hold up the front desks: it takes turns with
 * other bulk jobs, not with every writer. Shown with the locks themselves: a
 * test connection holds one, and we see which commands go on and which wait.
 */

const TEMPLATE = 'post-procedure-recovery';
let holder: PostgresConnection | undefined;
afterEach(() => {
  holder?.close();
  holder = undefined;
});

/** Holds the advisory lock `key` in an open transaction on the workspace's database, as a working txplan would. */
function hold(ws: string, key: number): void {
  holder = PostgresConnection.connect({ url: databaseEnv(ws).TXPLAN_DB! });
  holder.query('BEGIN');
  holder.query('SELECT pg_advisory_xact_lock($1, $2)', [LOCK_CLASS, key]);
}

function clinic() {
  const ws = workspace();
  const rows = Array.from({ length: 20 }, (_, i) => `B-${i},Bulk${i},Patient`);
  writeFileSync(join(ws, 'patients.csv'), `mrn,first_name,last_name\n${rows.join('\n')}\n`);
  writeFileSync(join(ws, 'more.csv'), 'mrn,first_name,last_name\nM-1,More,Patient\n');
  const cohort = join(tempDir(), 'cohort.txt');
  writeFileSync(cohort, `${rows.map((r) => r.split(',')[0]).join('\n')}\n`);
  setUp(ws, [['clinic', 'add', 'main', '--name', 'Main', '--timezone', 'UTC'], ['patient', 'import', 'patients.csv']]);
  return { ws, cohort };
}

const waitingOneSecond = { TXPLAN_DB_WAIT: '1' };

describe('bulk jobs on PostgreSQL', () => {
  it('apply a patients file while a front desk is in the middle of a write', () => {
    const { ws, cohort } = clinic();
    hold(ws, LOCKS.write);
    // An ordinary write waits for the desk, and gives up after TXPLAN_DB_WAIT…
    const desk = txplan(['patient', 'add', '--first', 'Ana', '--last', 'Ruiz', '--mrn', 'A-1'], { cwd: ws, env: waitingOneSecond });
    expect(desk.code).toBe(1);
    expect(desk.stderr).toMatch(/is still busy after 1 s: another process is writing to it/);
    // …while the bulk apply goes through.
    const bulk = txplan(['plan', 'apply', TEMPLATE, '--patients-file', cohort, '--mode', 'prescribe'], { cwd: ws, env: waitingOneSecond });
    expect(bulk.stderr).toBe('');
    expect(bulk.code).toBe(0);
    expect(query<{ n: number }>(ws, 'SELECT count(*) AS n FROM plans')[0]!.n).toBe(20);
  });

  it('take turns with each other, and leave the desks free', () => {
    const { ws } = clinic();
    hold(ws, LOCKS.bulk);
    const desk = txplan(['patient', 'add', '--first', 'Ana', '--last', 'Ruiz', '--mrn', 'A-1'], { cwd: ws, env: waitingOneSecond });
    expect(desk.code).toBe(0);
    const other = txplan(['patient', 'import', 'more.csv'], { cwd: ws, env: waitingOneSecond });
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/is still busy after 1 s/);
    expect(query(ws, "SELECT mrn FROM patients WHERE mrn = 'M-1'")).toEqual([]);
  });
});
