import { join, resolve } from 'node:path';
import { FailedError, UsageError, type TxplanError } from '../errors.js';
import { DATA_DIR, SETTINGS_FILE } from '../registry/workspace.js';

/** Where a database location was named. */
export type DatabaseSource = '--db' | 'TXPLAN_DB' | 'txplan.yaml';

/**
 * The database a command uses. `display` is what every message and log shows:
 * the file's path, or the URL with its password replaced by ***.
 */
export type DatabaseLocation =
  | { engine: 'sqlite'; path: string; display: string; source: DatabaseSource | 'workspace' }
  | { engine: 'postgres'; url: string; display: string; source: DatabaseSource };

export interface LocationInput {
  /** --db as given. */
  flag?: string | undefined;
  /** `db` is TXPLAN_DB; every other key is the process environment, for ${VAR} in txplan.yaml. */
  env: { db?: string | undefined } & Record<string, string | undefined>;
  cwd: string;
  /** The workspace and the `database:` of its txplan.yaml; asked only when neither --db nor TXPLAN_DB is given. */
  workspace: () => { root: string; settingsDatabase?: string | undefined };
}

const POSTGRES = /^postgres(?:ql)?:\/\//i;
// Anything with "scheme://", and the schemes people write with a colon alone; a
// file name such as "backup:2024.db" stays a SQLite path, as it always was.
const URL_LIKE = /^(?:[a-z][a-z0-9+.-]+:\/\/|(?:file|sqlite3?|postgres(?:ql)?|jdbc|mysql|mariadb|mssql|sqlserver|mongodb(?:\+srv)?|redis|libsql):)/i;
const ACCEPTED = 'a SQLite file path or a postgres:// (or postgresql://) URL';

/**
 * SPEC §2: --db, else TXPLAN_DB, else `database:` in the workspace's
 * txplan.yaml, else .txplan/txplan.db in the workspace. txplan.yaml is not
 * read when --db or TXPLAN_DB is given. PG* variables are left to the
 * PostgreSQL client: a URL may leave out anything libpq fills in.
 */
export function databaseLocation(input: LocationInput): DatabaseLocation {
  if (input.flag !== undefined) return fromValue(input.flag, '--db', input.cwd, '--db');
  if (input.env.db !== undefined) return fromValue(input.env.db, 'TXPLAN_DB', input.cwd, 'TXPLAN_DB');
  const workspace = input.workspace();
  if (workspace.settingsDatabase === undefined) {
    const path = join(workspace.root, DATA_DIR, 'txplan.db');
    return { engine: 'sqlite', path, display: path, source: 'workspace' };
  }
  const file = join(workspace.root, SETTINGS_FILE);
  const label = `database: in ${file}`;
  const problem = databaseSettingProblem(workspace.settingsDatabase, file);
  if (problem) throw new FailedError(problem, 'database_setting');
  const value = expand(workspace.settingsDatabase, (name) => (name === 'db' ? undefined : input.env[name]), file);
  return fromValue(value, 'txplan.yaml', workspace.root, label);
}

/**
 * What is wrong with the text of txplan.yaml's `database:` before the
 * environment is consulted: a malformed ${…}, or a password written out. The
 * answer never repeats the password. Also used by `txplan template validate`.
 */
export function databaseSettingProblem(raw: string, file = SETTINGS_FILE): string | undefined {
  let template: Template;
  try {
    template = parseTemplate(raw);
  } catch (error) {
    return `the database: value in ${file} ${(error as Error).message}`;
  }
  if (template.passwordIsLiteral) {
    return `${file} holds a database password in plain text; put it in an environment variable (database: postgres://USER:\${PGPASSWORD}@HOST/DATABASE) or leave it out and use PGPASSWORD or ~/.pgpass`;
  }
  return undefined;
}

/** The URL with its password (in the user part or a password= parameter) replaced by ***, for every message and log. */
export function redactUrl(url: string): string {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(url);
  if (!scheme) return redactQuery(url);
  const rest = url.slice(scheme[0].length);
  const end = authorityEnd(rest);
  let authority = rest.slice(0, end);
  let tail = rest.slice(end);
  const at = authority.lastIndexOf('@');
  if (at >= 0) {
    authority = hidePassword(authority.slice(0, at)) + authority.slice(at);
  } else {
    // A password holding a raw / ? or # ends the authority early; the @ after
    // it shows the user meant one, so hide everything up to that @.
    const later = tail.lastIndexOf('@');
    const afterColon = authority.replace(/^\[[^\]]*\]/, '').split(':').slice(1).join(':');
    if (later >= 0 && afterColon !== '' && !/^\d+$/.test(afterColon)) {
      authority = hidePassword(authority + tail.slice(0, later));
      tail = tail.slice(later);
    }
  }
  return scheme[0] + authority + redactQuery(tail);
}

function hidePassword(userinfo: string): string {
  const colon = userinfo.indexOf(':');
  return colon < 0 ? userinfo : `${userinfo.slice(0, colon)}:***`;
}

function redactQuery(text: string): string {
  return text.replace(/([?&]password=)[^&#]*/gi, '$1***');
}

function authorityEnd(rest: string): number {
  const end = rest.search(/[/?#]/);
  return end < 0 ? rest.length : end;
}

/** A database named on the command line by an option other than --db (`db copy --to`); messages name `label`. */
export function namedDatabase(value: string, cwd: string, label: string): DatabaseLocation {
  return fromValue(value, '--db', cwd, label);
}

function fromValue(value: string, source: DatabaseSource, base: string, label: string): DatabaseLocation {
  const refuse = (message: string, code: string): TxplanError => (source === 'txplan.yaml' ? new FailedError(message, code) : new UsageError(message, code));
  const trimmed = value.trim();
  if (trimmed === '') throw refuse(`${label} is empty; give ${ACCEPTED}`, 'database_invalid');
  // Spaces around a URL (a pasted line) are not part of it.
  if (POSTGRES.test(trimmed)) {
    const problem = urlProblem(trimmed);
    if (problem) throw refuse(`${label} is not a usable PostgreSQL URL: ${problem}`, 'database_url_invalid');
    return { engine: 'postgres', url: trimmed, display: redactUrl(trimmed), source };
  }
  if (URL_LIKE.test(trimmed)) {
    const scheme = /^[^:]*:(?:\/\/)?/.exec(trimmed)![0];
    throw refuse(`${label} names a ${scheme} database, which txplan cannot use; give ${ACCEPTED}`, 'database_engine_unknown');
  }
  const path = resolve(base, value);
  return { engine: 'sqlite', path, display: path, source };
}

/**
 * Checks a postgres:// URL the way the `pg` client will read it, so a bad one
 * is refused before anything is opened. The reasons never quote the URL.
 */
function urlProblem(text: string): string | undefined {
  const hint = 'write it as postgres://USER@HOST:PORT/DATABASE, with characters such as @ : / # in the user or password percent-encoded (@ as %40)';
  if (text.includes('#')) return `it holds a "#", which would cut it short; ${hint}`;
  // The client encodes stray spaces and % signs itself, and reads "user@/db"
  // (no host: a socket, PGHOST or a host= parameter) with a stand-in host.
  const prepared = / |%[^a-f0-9]|%[a-f0-9][^a-f0-9]/i.test(text) ? encodeURI(text).replace(/%25(\d\d)/g, '%$1') : text;
  let url: URL;
  try {
    url = parseUrl(prepared);
  } catch {
    return hint;
  }
  try {
    decodeURIComponent(url.username);
    decodeURIComponent(url.password);
    decodeURIComponent(url.hostname);
    decodeURI(url.pathname);
  } catch {
    return `it holds a malformed %-escape; ${hint}`;
  }
  return undefined;
}

function parseUrl(text: string): URL {
  try {
    return new URL(text);
  } catch (error) {
    if (!text.includes('@/')) throw error;
    return new URL(text.replace('@/', '@host.invalid/'));
  }
}

/**
 * txplan.yaml's `database:` cut into text and ${NAME} / ${NAME:-DEFAULT}
 * references, with what the URL's shape says about each.
 */
interface Template {
  parts: Array<{ text: string } | { name: string; fallback: string | undefined; encode: boolean }>;
  passwordIsLiteral: boolean;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
// Stands for a ${…} while the URL's shape is read; none of / ? # @ : & =.
const SLOT = '\u0000';

function parseTemplate(raw: string): Template {
  const parts: Template['parts'] = [];
  let i = 0;
  while (i < raw.length) {
    const start = raw.indexOf('${', i);
    if (start < 0) {
      parts.push({ text: raw.slice(i) });
      break;
    }
    if (start > i) parts.push({ text: raw.slice(i, start) });
    const close = raw.indexOf('}', start);
    if (close < 0) throw new Error('has a "${" with no closing "}"; write ${NAME} or ${NAME:-DEFAULT}');
    const inner = raw.slice(start + 2, close);
    const dash = inner.indexOf(':-');
    const name = dash < 0 ? inner : inner.slice(0, dash);
    if (!NAME.test(name)) throw new Error('has a "${…}" that does not name an environment variable; write ${NAME} or ${NAME:-DEFAULT}, NAME made of letters, digits and _');
    parts.push({ name, fallback: dash < 0 ? undefined : inner.slice(dash + 2), encode: false });
    i = close + 1;
  }

  // Read the URL's shape with every ${…} as one opaque character.
  const shape = parts.map((part) => ('text' in part ? part.text : SLOT)).join('');
  const slotAt = new Map<number, Extract<Template['parts'][number], { name: string }>>();
  let offset = 0;
  for (const part of parts) {
    if ('name' in part) slotAt.set(offset, part);
    offset += 'text' in part ? part.text.length : 1;
  }
  // Written out: any text of its own, or a variable's default.
  const secret = (text: string, from: number): boolean => [...text].some((char, index) => char !== SLOT || (slotAt.get(from + index)?.fallback ?? '') !== '');

  let passwordIsLiteral = false;
  const scheme = shape.indexOf('://');
  if (scheme >= 0) {
    const start = scheme + 3;
    const rest = shape.slice(start);
    const end = start + authorityEnd(rest);
    const at = shape.lastIndexOf('@', end - 1);
    if (at >= start) {
      // User and password: a variable there holds the text itself, so it is percent-encoded.
      for (const [index, slot] of slotAt) if (index >= start && index < at) slot.encode = true;
      const colon = shape.indexOf(':', start);
      if (colon >= 0 && colon < at) passwordIsLiteral = secret(shape.slice(colon + 1, at), colon + 1);
    }
    const query = shape.indexOf('?', end);
    if (query >= 0) {
      let from = query + 1;
      for (const parameter of shape.slice(from).split('&')) {
        const equals = parameter.indexOf('=');
        if (equals >= 0) {
          for (const [index, slot] of slotAt) if (index > from + equals && index < from + parameter.length) slot.encode = true;
          if (parameter.slice(0, equals).toLowerCase() === 'password' && secret(parameter.slice(equals + 1), from + equals + 1)) passwordIsLiteral = true;
        }
        from += parameter.length + 1;
      }
    }
  }
  return { parts, passwordIsLiteral };
}

/**
 * ${NAME} and ${NAME:-DEFAULT} from the environment. An unset NAME without a
 * default is an error naming it and the file; a variable in the user,
 * password or a parameter's value is percent-encoded, elsewhere (a whole
 * ${DATABASE_URL}, a folder) it goes in as it is.
 */
function expand(raw: string, lookup: (name: string) => string | undefined, file: string): string {
  return parseTemplate(raw)
    .parts.map((part) => {
      if ('text' in part) return part.text;
      const given = lookup(part.name);
      const value = given === undefined || (given === '' && part.fallback !== undefined) ? part.fallback : given;
      if (value === undefined) {
        throw new FailedError(`${file} names the database with \${${part.name}}, but ${part.name} is not set; export ${part.name} before running txplan, or write \${${part.name}:-DEFAULT}`, 'database_variable_unset');
      }
      return part.encode ? encodeURIComponent(value) : value;
    })
    .join('');
}
