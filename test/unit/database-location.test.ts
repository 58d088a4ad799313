import { describe, expect, it } from 'vitest';
import { databaseLocation, databaseSettingProblem, redactUrl, type LocationInput } from '../../src/store/location.js';
import { FailedError, TxplanError, UsageError } from '../../src/errors.js';
import { checkSettings } from '../../src/registry/rules.js';
import { settingsDatabase } from '../../src/registry/settings.js';
import { workspaceAt } from '../../src/registry/workspace.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers.js';

const ROOT = '/clinic';
const CWD = '/home/desk/work';

/** A location from the given sources; the workspace answers only when asked, and says whether it was. */
function locate(given: { flag?: string; db?: string; yaml?: string; env?: Record<string, string> } = {}) {
  let asked = false;
  const input: LocationInput = {
    ...(given.flag !== undefined ? { flag: given.flag } : {}),
    env: { ...given.env, ...(given.db !== undefined ? { db: given.db } : {}) },
    cwd: CWD,
    workspace: () => {
      asked = true;
      return { root: ROOT, ...(given.yaml !== undefined ? { settingsDatabase: given.yaml } : {}) };
    },
  };
  const location = databaseLocation(input);
  return { location, asked };
}

/** The error a location fails with. */
function refusal(given: Parameters<typeof locate>[0]): TxplanError {
  try {
    locate(given);
  } catch (error) {
    expect(error).toBeInstanceOf(TxplanError);
    return error as TxplanError;
  }
  throw new Error('expected the location to be refused');
}

/** One sentence: one line, ending in no full stop mid-way, no stack. */
function oneSentence(message: string): void {
  expect(message.split('\n')).toHaveLength(1);
  expect(message).not.toMatch(/\.\s+[A-Z]/);
}

describe('precedence', () => {
  it('--db wins over TXPLAN_DB and txplan.yaml, and the workspace is never asked', () => {
    const { location, asked } = locate({ flag: 'flag.db', db: 'env.db', yaml: 'yaml.db' });
    expect(location).toEqual({ engine: 'sqlite', path: '/home/desk/work/flag.db', display: '/home/desk/work/flag.db', source: '--db' });
    expect(asked).toBe(false);
  });

  it('TXPLAN_DB comes next, and the workspace is never asked', () => {
    const { location, asked } = locate({ db: 'env.db', yaml: 'yaml.db' });
    expect(location).toMatchObject({ engine: 'sqlite', path: '/home/desk/work/env.db', source: 'TXPLAN_DB' });
    expect(asked).toBe(false);
  });

  it('--db needs no workspace at all', () => {
    const location = databaseLocation({
      flag: '/srv/clinic.db',
      env: {},
      cwd: CWD,
      workspace: () => {
        throw new FailedError('No txplan workspace here');
      },
    });
    expect(location).toMatchObject({ engine: 'sqlite', path: '/srv/clinic.db' });
  });

  it('then database: in txplan.yaml, a path resolved against the workspace root (not cwd)', () => {
    const { location, asked } = locate({ yaml: 'data/clinic.db' });
    expect(location).toEqual({ engine: 'sqlite', path: '/clinic/data/clinic.db', display: '/clinic/data/clinic.db', source: 'txplan.yaml' });
    expect(asked).toBe(true);
  });

  it('else .txplan/txplan.db in the workspace', () => {
    expect(locate().location).toEqual({ engine: 'sqlite', path: '/clinic/.txplan/txplan.db', display: '/clinic/.txplan/txplan.db', source: 'workspace' });
  });

  it('an absolute path stays as it is', () => {
    expect(locate({ flag: '/var/lib/txplan/clinic.db' }).location).toMatchObject({ path: '/var/lib/txplan/clinic.db' });
    expect(locate({ yaml: '/var/lib/txplan/clinic.db' }).location).toMatchObject({ path: '/var/lib/txplan/clinic.db' });
  });
});

describe('a file path or a PostgreSQL URL', () => {
  it.each([
    ['postgres://clinic@db.example.org:5432/txplan'],
    ['postgresql://clinic@db.example.org/txplan'],
    ['POSTGRES://clinic@db.example.org/txplan'],
    ['PostgreSQL://db.example.org/txplan'],
  ])('%s is PostgreSQL, kept as written (no file path made of it)', (url) => {
    for (const given of [{ flag: url }, { db: url }, { yaml: url }]) {
      const { location } = locate(given);
      expect(location).toMatchObject({ engine: 'postgres', url, display: url });
      expect(location).not.toHaveProperty('path');
    }
  });

  it('names where the URL came from', () => {
    expect(locate({ flag: 'postgres:///txplan' }).location).toMatchObject({ source: '--db' });
    expect(locate({ db: 'postgres:///txplan' }).location).toMatchObject({ source: 'TXPLAN_DB' });
    expect(locate({ yaml: 'postgres:///txplan' }).location).toMatchObject({ source: 'txplan.yaml' });
  });

  it.each([
    ['postgres://', 'everything from PGHOST, PGUSER, PGDATABASE, PGPASSWORD'],
    ['postgres:///txplan', 'no host: PGHOST or the local socket'],
    ['postgres://clinic@/txplan?host=/var/run/postgresql', 'a socket folder as host='],
    ['postgres:///txplan?host=/var/run/postgresql', 'a socket folder, no user'],
    ['postgres://%2Fvar%2Frun%2Fpostgresql/txplan', 'a percent-encoded socket folder as host'],
    ['postgres://db.example.org/txplan?sslmode=require', 'sslmode'],
    ['postgres://clinic@db.example.org/txplan?sslmode=verify-full&application_name=front-desk', 'several parameters'],
    ['postgres://clinic@[::1]:5433/txplan', 'an IPv6 host and a port'],
    ['postgres://clinic@db.example.org', 'no database: PGDATABASE or the user name'],
  ])('accepts the libpq form %s (%s)', (url) => {
    expect(locate({ flag: url }).location).toMatchObject({ engine: 'postgres', url });
  });

  it('spaces around a URL are not part of it', () => {
    expect(locate({ db: ' postgres://clinic@db.example.org/txplan\n' }).location).toMatchObject({ engine: 'postgres', url: 'postgres://clinic@db.example.org/txplan' });
    expect(refusal({ db: ' mysql://x' })).toBeInstanceOf(UsageError);
  });

  it('a file name with a colon stays a SQLite path, as it always was', () => {
    expect(locate({ flag: 'backup:2024.db' }).location).toMatchObject({ engine: 'sqlite', path: '/home/desk/work/backup:2024.db' });
  });

  it.each([
    ['mysql://clinic@db/txplan', 'mysql://'],
    ['sqlite:///srv/clinic.db', 'sqlite://'],
    ['file:clinic.db', 'file:'],
    ['file:///srv/clinic.db', 'file://'],
    ['jdbc:postgresql://db/txplan', 'jdbc:'],
    ['postgres:txplan', 'postgres:'],
    ['https://db.example.org/txplan', 'https://'],
  ])('refuses %s in one sentence naming the accepted forms', (value, scheme) => {
    const error = refusal({ flag: value });
    expect(error).toBeInstanceOf(UsageError);
    expect(error.message).toBe(`--db names a ${scheme} database, which txplan cannot use; give a SQLite file path or a postgres:// (or postgresql://) URL`);
    oneSentence(error.message);
  });

  it('refuses another scheme from TXPLAN_DB (exit 2) and from txplan.yaml (exit 1), naming where', () => {
    const fromEnv = refusal({ db: 'mysql://x' });
    expect(fromEnv).toBeInstanceOf(UsageError);
    expect(fromEnv.message).toMatch(/^TXPLAN_DB names a mysql:\/\/ database/);
    const fromYaml = refusal({ yaml: 'mysql://x' });
    expect(fromYaml).toBeInstanceOf(FailedError);
    expect(fromYaml.message).toMatch(/^database: in \/clinic\/txplan\.yaml names a mysql:\/\/ database/);
  });

  it('refuses an empty --db', () => {
    expect(refusal({ flag: '' }).message).toBe('--db is empty; give a SQLite file path or a postgres:// (or postgresql://) URL');
  });
});

describe('a malformed URL', () => {
  it.each([
    ['postgres://clinic:s3cr3t@db.example.org:99999/txplan', 'a port out of range'],
    ['postgres://clinic:s3cr3t@db.example.org:port/txplan', 'a port that is not a number'],
    ['postgres://clinic:s3/cr3t@db.example.org/txplan', 'an unencoded / in the password'],
    ['postgres://clinic:s3cr3t@[::1/txplan', 'an unclosed IPv6 bracket'],
    ['postgres://clinic:s3cr3t@db.example.org/tx%E0%A4%A', 'a broken %-escape'],
  ])('is one sentence that does not echo the password (%s: %s)', (url) => {
    for (const [given, label] of [[{ flag: url }, '--db'], [{ db: url }, 'TXPLAN_DB']] as const) {
      const error = refusal(given);
      expect(error).toBeInstanceOf(UsageError);
      expect(error.message).toMatch(new RegExp(`^${label} is not a usable PostgreSQL URL: .*postgres://USER@HOST:PORT/DATABASE`));
      expect(error.message).not.toMatch(/s3|cr3t/);
      oneSentence(error.message);
    }
  });

  it('refuses a # (which would silently cut the password short) without echoing it', () => {
    const error = refusal({ flag: 'postgres://clinic:12#ab@db.example.org/txplan' });
    expect(error.message).toMatch(/holds a "#"/);
    expect(error.message).not.toMatch(/12|ab@/);
  });

  it('from txplan.yaml it is exit 1 and names the file', () => {
    const error = refusal({ yaml: 'postgres://clinic@db.example.org:99999/txplan' });
    expect(error).toBeInstanceOf(FailedError);
    expect(error.message).toMatch(/^database: in \/clinic\/txplan\.yaml is not a usable PostgreSQL URL/);
  });
});

describe('passwords', () => {
  it('are allowed in --db and TXPLAN_DB, and redacted in display', () => {
    for (const given of [{ flag: 'postgres://clinic:s3cr3t@db.example.org/txplan' }, { db: 'postgres://clinic:s3cr3t@db.example.org/txplan' }]) {
      const { location } = locate(given);
      expect(location).toMatchObject({ engine: 'postgres', url: 'postgres://clinic:s3cr3t@db.example.org/txplan', display: 'postgres://clinic:***@db.example.org/txplan' });
    }
  });

  it.each([
    ['postgres://clinic:hunter2@db.example.org/txplan'],
    ['postgres://clinic:hunter2${SUFFIX}@db.example.org/txplan'],
    ['postgres://${PGUSER}:hunter2@db.example.org/txplan'],
    ['postgres://clinic:${PGPASSWORD:-hunter2}@db.example.org/txplan'],
    ['postgresql://clinic@db.example.org/txplan?password=hunter2'],
    ['postgres://clinic@db.example.org/txplan?sslmode=require&PASSWORD=hunter2'],
    ['postgres://clinic:hunter2@/txplan?host=/var/run/postgresql'],
  ])('written out in txplan.yaml (%s) are refused in one sentence that never echoes them', (yaml) => {
    const error = refusal({ yaml, env: { SUFFIX: 'x', PGUSER: 'clinic', PGPASSWORD: 'fromenv' } });
    expect(error).toBeInstanceOf(FailedError);
    expect(error.message).toBe('/clinic/txplan.yaml holds a database password in plain text; put it in an environment variable (database: postgres://USER:${PGPASSWORD}@HOST/DATABASE) or leave it out and use PGPASSWORD or ~/.pgpass');
    expect(error.message).not.toContain('hunter2');
  });

  it.each([
    ['postgres://clinic:${PGPASSWORD}@db.example.org/txplan', 'postgres://clinic:pa%24%24%2Fw%40rd%3A1@db.example.org/txplan'],
    ['postgres://${PGUSER}:${PGPASSWORD}@db.example.org/txplan', 'postgres://front%20desk:pa%24%24%2Fw%40rd%3A1@db.example.org/txplan'],
    ['postgres://clinic:${PGPASSWORD}${PGSUFFIX}@db.example.org/txplan', 'postgres://clinic:pa%24%24%2Fw%40rd%3A1-2@db.example.org/txplan'],
    ['postgres://clinic@db.example.org/txplan?password=${PGPASSWORD}', 'postgres://clinic@db.example.org/txplan?password=pa%24%24%2Fw%40rd%3A1'],
    ['postgres://clinic:${PGPASSWORD:-}@db.example.org/txplan', 'postgres://clinic:pa%24%24%2Fw%40rd%3A1@db.example.org/txplan'],
  ])('from a ${VAR} in txplan.yaml are taken, percent-encoded (%s)', (yaml, url) => {
    const { location } = locate({ yaml, env: { PGPASSWORD: 'pa$$/w@rd:1', PGUSER: 'front desk', PGSUFFIX: '-2' } });
    expect(location).toMatchObject({ engine: 'postgres', url, source: 'txplan.yaml' });
    expect(location.display).not.toContain('pa%24');
    expect(location.display).toContain('***');
  });

  it('a URL without a password in txplan.yaml is fine (PGPASSWORD or ~/.pgpass supply it)', () => {
    expect(locate({ yaml: 'postgres://clinic@db.example.org/txplan' }).location).toMatchObject({ engine: 'postgres', display: 'postgres://clinic@db.example.org/txplan' });
    expect(locate({ yaml: 'postgres://clinic:@db.example.org/txplan' }).location).toMatchObject({ engine: 'postgres' });
  });

  it('template validate reports a written-out password on the database field, without echoing it', () => {
    const findings = checkSettings({ database: 'postgres://clinic:hunter2@db.example.org/txplan' });
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ path: ['database'], code: 'settings-database' });
    expect(findings[0]!.message).toMatch(/^txplan\.yaml holds a database password in plain text/);
    expect(findings[0]!.message).not.toContain('hunter2');
    expect(checkSettings({ database: 'postgres://clinic:${PGPASSWORD}@db.example.org/txplan' })).toEqual([]);
    expect(databaseSettingProblem('clinic.db')).toBeUndefined();
  });
});

describe('${VAR} in txplan.yaml', () => {
  it('expands from the environment handed in', () => {
    const env = { PGHOST_NAME: 'db.example.org', DB_NAME: 'txplan_north', DATA: '/srv/txplan' };
    expect(locate({ yaml: 'postgres://clinic@${PGHOST_NAME}/${DB_NAME}', env }).location).toMatchObject({ url: 'postgres://clinic@db.example.org/txplan_north' });
    expect(locate({ yaml: '${DATA}/clinic.db', env }).location).toMatchObject({ engine: 'sqlite', path: '/srv/txplan/clinic.db' });
  });

  it('a whole ${DATABASE_URL} goes in as it is, and its password is allowed (it lives in the environment)', () => {
    const { location } = locate({ yaml: '${DATABASE_URL}', env: { DATABASE_URL: 'postgres://clinic:s3cr3t@db.example.org/txplan?sslmode=require' } });
    expect(location).toEqual({ engine: 'postgres', url: 'postgres://clinic:s3cr3t@db.example.org/txplan?sslmode=require', display: 'postgres://clinic:***@db.example.org/txplan?sslmode=require', source: 'txplan.yaml' });
  });

  it('a ${VAR} in a parameter value is encoded; the client decodes it back', () => {
    const { location } = locate({ yaml: 'postgres://clinic@/txplan?host=${SOCKETS}', env: { SOCKETS: '/var/run/postgresql' } });
    expect(location).toMatchObject({ url: 'postgres://clinic@/txplan?host=%2Fvar%2Frun%2Fpostgresql' });
    expect(new URL((location as { url: string }).url.replace('@/', '@h/')).searchParams.get('host')).toBe('/var/run/postgresql');
  });

  it('${VAR:-default} takes the default when VAR is unset or empty', () => {
    expect(locate({ yaml: 'postgres://clinic@${PGHOST_NAME:-localhost}/txplan' }).location).toMatchObject({ url: 'postgres://clinic@localhost/txplan' });
    expect(locate({ yaml: 'postgres://clinic@${PGHOST_NAME:-localhost}/txplan', env: { PGHOST_NAME: '' } }).location).toMatchObject({ url: 'postgres://clinic@localhost/txplan' });
    expect(locate({ yaml: 'postgres://clinic@${PGHOST_NAME:-localhost}/txplan', env: { PGHOST_NAME: 'db' } }).location).toMatchObject({ url: 'postgres://clinic@db/txplan' });
  });

  it('an unset variable is one sentence naming it and the file', () => {
    const error = refusal({ yaml: 'postgres://clinic:${TXPLAN_PG_PASSWORD}@db.example.org/txplan', env: { PGPASSWORD: 'x' } });
    expect(error).toBeInstanceOf(FailedError);
    expect(error.message).toBe('/clinic/txplan.yaml names the database with ${TXPLAN_PG_PASSWORD}, but TXPLAN_PG_PASSWORD is not set; export TXPLAN_PG_PASSWORD before running txplan, or write ${TXPLAN_PG_PASSWORD:-DEFAULT}');
    oneSentence(error.message);
  });

  it('TXPLAN_DB (the "db" key) is not a variable txplan.yaml can name', () => {
    // With TXPLAN_DB set txplan.yaml is never read; without it, ${db} is as unset as any other.
    expect(refusal({ yaml: '${db}' }).message).toMatch(/\$\{db\}, but db is not set/);
  });

  it('is not applied to --db or TXPLAN_DB (the shell expanded those)', () => {
    expect(locate({ flag: '${HOME}/clinic.db', env: { HOME: '/home/desk' } }).location).toMatchObject({ path: '/home/desk/work/${HOME}/clinic.db' });
  });

  it.each([
    ['postgres://clinic:${PGPASSWORD@db.example.org/txplan', /has a "\$\{" with no closing "\}"/],
    ['postgres://clinic:${PG PASSWORD}@db.example.org/txplan', /has a "\$\{…\}" that does not name an environment variable/],
    ['postgres://clinic:${}@db.example.org/txplan', /has a "\$\{…\}" that does not name an environment variable/],
  ])('a malformed ${…} (%s) is one sentence naming the file', (yaml, message) => {
    const error = refusal({ yaml, env: { PGPASSWORD: 'x' } });
    expect(error).toBeInstanceOf(FailedError);
    expect(error.message).toMatch(/^the database: value in \/clinic\/txplan\.yaml /);
    expect(error.message).toMatch(message);
    oneSentence(error.message);
  });
});

describe('redactUrl', () => {
  it.each([
    ['postgres://clinic:s3cr3t@db.example.org:5432/txplan', 'postgres://clinic:***@db.example.org:5432/txplan'],
    ['postgresql://:s3cr3t@db.example.org/txplan', 'postgresql://:***@db.example.org/txplan'],
    ['postgres://clinic:s3:cr@3t@db.example.org/txplan', 'postgres://clinic:***@db.example.org/txplan'],
    ['postgres://clinic:s3cr3t@/txplan?host=/var/run/postgresql', 'postgres://clinic:***@/txplan?host=/var/run/postgresql'],
    ['postgres://clinic@db.example.org/txplan?sslmode=require&password=s3cr3t&application_name=x', 'postgres://clinic@db.example.org/txplan?sslmode=require&password=***&application_name=x'],
    ['postgres://clinic:s3/cr3t@db.example.org/txplan', 'postgres://clinic:***@db.example.org/txplan'],
    ['postgres://clinic:s3?cr3t@db.example.org/txplan', 'postgres://clinic:***@db.example.org/txplan'],
  ])('%s → %s', (url, redacted) => {
    expect(redactUrl(url)).toBe(redacted);
    expect(redactUrl(url)).not.toMatch(/s3|cr3t/);
  });

  it.each([
    ['postgres://clinic@db.example.org/txplan'],
    ['postgres://'],
    ['postgres:///txplan'],
    ['postgres://db.example.org:5432/txplan?application_name=a@b'],
    ['postgres://[::1]:5432/txplan?application_name=a@b'],
    ['/srv/clinic.db'],
  ])('leaves %s without a password as it is', (url) => {
    expect(redactUrl(url)).toBe(url);
  });
});

describe('reading database: from txplan.yaml', () => {
  const read = (text: string) => {
    const root = tempDir();
    writeFileSync(join(root, 'txplan.yaml'), text);
    return settingsDatabase(workspaceAt(root));
  };

  it('returns the value as written (expansion comes later)', () => {
    expect(read('name: Clinic\ndatabase: postgres://clinic:${PGPASSWORD}@db/txplan\n')).toBe('postgres://clinic:${PGPASSWORD}@db/txplan');
    expect(read('{name: Clinic, "database": data/clinic.db}\n')).toBe('data/clinic.db');
  });

  it('is undefined when the file does not name one (a commented line does not count)', () => {
    expect(read('name: Clinic\n# database: postgres://db/txplan\n')).toBeUndefined();
    expect(read('name: Clinic\npayments:\n  gateway: sandbox\n')).toBeUndefined();
  });

  it('a broken file that does not name one keeps the default, as other settings do', () => {
    expect(read('name: [Clinic\n')).toBeUndefined();
  });

  it('a txplan.yaml that cannot be read is refused rather than guessed at', () => {
    const root = tempDir();
    mkdirSync(join(root, 'txplan.yaml'));
    expect(() => settingsDatabase(workspaceAt(root))).toThrow(/txplan\.yaml cannot be read \(EISDIR\), so the database it may name is unknown/);
  });

  it('a broken file that names one is refused rather than fall back to another database', () => {
    expect(() => read('name: [Clinic\ndatabase: postgres://db/txplan\n')).toThrow(/txplan\.yaml cannot be read, and it names the database; fix it/);
  });

  it.each([['database:\n'], ['database: 42\n'], ['database: ""\n'], ['database: [a]\n']])('refuses a value that is not a path or URL (%j)', (text) => {
    expect(() => read(text)).toThrow(/database: in .*txplan\.yaml must be a SQLite file path or a postgres:\/\/ URL/);
  });
});
