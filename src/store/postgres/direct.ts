import { existsSync, readSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { connect as netConnect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';

/**
 * A PostgreSQL session on the calling thread, for the connection a command
 * starts as it launches (see prewarmPostgres in connection.ts).
 *
 * The login is asynchronous: it runs while txplan loads its own code. Once
 * the session is ready, the socket is taken away from Node's event loop and
 * put in blocking mode, and every statement is written and its answer read
 * with plain blocking read(2) and write(2) calls on its file descriptor: the
 * store's synchronous calls get their answers with no worker thread between
 * them. A worker thread costs more than a short command's whole query time
 * to start, and its start slows the main thread's own loading.
 *
 * Only the plain case is taken this way: a connection without TLS (a
 * blocking read cannot run a TLS session), whose URL and libpq variables name
 * nothing but the host, port, user, database and password. Anything else —
 * TLS, other libpq settings, a password looked up in ~/.pgpass, a login that
 * fails or takes too long — returns undefined, and the connection is made by
 * the worker thread as before, which also reports every login failure.
 *
 * The wire format, the parsing of values and SCRAM are pg's own (pg-protocol,
 * pg-types, pg's prepareValue and SASL code), so values come back exactly as
 * the worker's client returns them.
 */

/** What the session is made of: pg's protocol and value code (see scripts/bundle.mjs, postgres-wire.cjs). */
interface Wire {
  serialize: {
    startup(options: Record<string, string>): Buffer;
    password(password: string): Buffer;
    sendSASLInitialResponseMessage(mechanism: string, response: string): Buffer;
    sendSCRAMClientFinalMessage(response: string): Buffer;
    query(text: string): Buffer;
    parse(query: { name?: string; text: string; types?: unknown[] }): Buffer;
    bind(config: { portal?: string; statement?: string; values?: unknown[]; valueMapper?: (value: unknown) => unknown }): Buffer;
    describe(msg: { type: string; name?: string }): Buffer;
    execute(config?: { portal?: string; rows?: number }): Buffer;
    sync(): Buffer;
    end(): Buffer;
  };
  Parser: new () => { parse(buffer: Buffer, callback: (message: Message) => void): void };
  types: { getTypeParser(oid: number, format?: string): (value: string) => unknown; setTypeParser(oid: number, parser: (value: string) => unknown): void };
  prepareValue(value: unknown): unknown;
  sasl: {
    startSession(mechanisms: string[], stream: false): Session;
    continueSession(session: Session, password: string, data: string, stream: false): Promise<void>;
    finalizeSession(session: Session, data: string): void;
  };
  parse(url: string): Record<string, string | boolean | null | undefined>;
  md5(user: string, password: string, salt: Buffer): Promise<string>;
}

interface Session {
  mechanism: string;
  response: string;
}

interface Message {
  name: string;
  [field: string]: unknown;
}

interface Field {
  name: string;
  dataTypeID: number;
  format: string;
}

/** A statement's answer, as the worker's client gives it. */
export interface DirectResult {
  rows: Record<string, unknown>[];
  rowCount: number;
}

/** An error as the server (or the socket) reported it; connection.ts turns it into a PostgresError. */
export interface DirectFailure {
  message: string;
  code?: string;
  detail?: string;
  constraint?: string;
}

export class DirectError extends Error {
  constructor(readonly failure: DirectFailure) {
    super(failure.message);
  }
}

/**
 * int8 (counts, sums, money) and numeric (sums of int8) come back as numbers,
 * as they do from SQLite. The worker's client runs this same function (its
 * source is part of the worker's).
 */
export function numbersAsNumbers(types: { setTypeParser(oid: number, parser: (value: string) => unknown): void }): void {
  types.setTypeParser(20, (v: string) => {
    const n = Number(v);
    if (!Number.isSafeInteger(n)) throw new Error('integer out of range: ' + v);
    return n;
  });
  types.setTypeParser(1700, (v: string) => Number(v));
}

/**
 * The start-up bundle's loader, bin/load-bundle.cjs, as seen from this module
 * running in dist/bundle/: it loads a bundled CommonJS file compiled with the
 * code cache scripts/bundle.mjs made beside it.
 */
export function bundleLoaderPath(): string {
  return fileURLToPath(new URL('../../bin/load-bundle.cjs', import.meta.url));
}

let loaded: Wire | undefined;

/**
 * pg's protocol and value code: the one-file copy the start-up bundle ships
 * beside itself (see bundleLoaderPath), else the packages from node_modules (the
 * module-per-file build, the tests).
 */
function wire(): Wire {
  if (loaded) return loaded;
  const bundled = fileURLToPath(new URL('./postgres-wire.cjs', import.meta.url));
  const require = createRequire(import.meta.url);
  let exports: Wire;
  if (existsSync(bundled)) {
    exports = (require(bundleLoaderPath()) as { bundle(name: string): unknown }).bundle('postgres-wire.cjs') as Wire;
  } else {
    const fromPg = createRequire(require.resolve('pg'));
    const utils = fromPg('./utils.js') as { prepareValue(value: unknown): unknown };
    const crypto = fromPg('./crypto/utils.js') as { postgresMd5PasswordHash(user: string, password: string, salt: Buffer): Promise<string> };
    exports = {
      serialize: fromPg('pg-protocol').serialize,
      Parser: createRequire(fromPg.resolve('pg-protocol'))('./parser.js').Parser,
      types: fromPg('pg-types'),
      prepareValue: utils.prepareValue,
      sasl: fromPg('./crypto/sasl.js'),
      parse: fromPg('pg-connection-string').parse,
      md5: crypto.postgresMd5PasswordHash,
    };
  }
  numbersAsNumbers(exports.types);
  loaded = exports;
  return exports;
}

/** libpq variables the plain case may meet: the rest (PGSSLMODE, PGOPTIONS, …) go to the worker's client. */
const PLAIN_VARIABLES = new Set(['PGHOST', 'PGPORT', 'PGUSER', 'PGDATABASE', 'PGPASSWORD', 'PGPASSFILE', 'PGAPPNAME', 'PGCONNECT_TIMEOUT']);
/** What a plain URL may name. */
const PLAIN_PARTS = new Set(['host', 'port', 'user', 'password', 'database']);

export interface DirectTarget {
  /** A Unix socket's path, or a host and port. */
  path?: string;
  host?: string;
  port?: number;
  user: string;
  database: string;
  password?: string;
}

/**
 * Where and as whom pg would log in for `url`, with the libpq variables
 * (pg's own rules: the URL first, then PGHOST…, then localhost:5432 and the
 * login's user name), or undefined when this is not the plain case.
 */
export function plainTarget(url: string, env: NodeJS.ProcessEnv = process.env): DirectTarget | undefined {
  for (const [name, value] of Object.entries(env)) {
    if (name.startsWith('PG') && value !== undefined && value !== '' && !PLAIN_VARIABLES.has(name)) return undefined;
  }
  let parsed: Record<string, string | boolean | null | undefined>;
  try {
    parsed = wire().parse(url);
  } catch {
    return undefined;
  }
  for (const [key, value] of Object.entries(parsed)) {
    if (PLAIN_PARTS.has(key) || value === undefined || value === null || value === '') continue;
    // sslmode=disable: no TLS, which is the plain case.
    if ((key === 'sslmode' && value === 'disable') || (key === 'ssl' && value === false)) continue;
    return undefined;
  }
  const text = (key: string, variable: string): string | undefined => {
    const value = parsed[key];
    return typeof value === 'string' && value !== '' ? value : env[variable] || undefined;
  };
  const user = text('user', 'PGUSER') ?? (process.platform === 'win32' ? env.USERNAME : env.USER);
  if (!user) return undefined;
  const database = text('database', 'PGDATABASE') ?? user;
  const port = Number.parseInt(text('port', 'PGPORT') ?? '5432', 10);
  const host = text('host', 'PGHOST') ?? 'localhost';
  if (!Number.isInteger(port)) return undefined;
  const password = text('password', 'PGPASSWORD');
  const where = host.startsWith('/') ? { path: `${host}/.s.PGSQL.${port}` } : { host, port };
  return { ...where, user, database, ...(password !== undefined ? { password } : {}) };
}

/** Bytes read from the socket at a time. */
const READ_SIZE = 64 * 1024;

/** The server's version number from server_version ("15.4" → 150004, "9.6.24" → 90624). */
function versionNumber(text: string): number | undefined {
  const m = /^(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(text);
  if (!m) return undefined;
  const [major, minor, patch] = [Number(m[1]), Number(m[2] ?? 0), Number(m[3] ?? 0)];
  return major >= 10 ? major * 10000 + minor : major * 10000 + minor * 100 + patch;
}

/** The rows a command tag counts ("INSERT 0 5" → 5, "UPDATE 3" → 3, "BEGIN" → 0), as pg reads it. */
function tagCount(tag: string): number {
  const m = /^([A-Za-z]+)(?: (\d+))?(?: (\d+))?/.exec(tag);
  if (!m) return 0;
  return Number.parseInt(m[3] ?? m[2] ?? '0', 10);
}

function failureOf(message: Message): DirectFailure {
  const text = (key: string) => (typeof message[key] === 'string' ? (message[key] as string) : undefined);
  const failure: DirectFailure = { message: text('message') ?? 'the server reported an error' };
  const code = text('code');
  const detail = text('detail');
  const constraint = text('constraint');
  if (code) failure.code = code;
  if (detail) failure.detail = detail;
  if (constraint) failure.constraint = constraint;
  return failure;
}

/**
 * One statement's answer, message by message, up to ReadyForQuery: the last
 * result's rows and count, the first error, a value the parsers refused.
 */
class Answer {
  rows: Record<string, unknown>[] = [];
  rowCount = 0;
  error: DirectFailure | undefined;
  /** A value pg-types refused (an int8 beyond 2^53): the statement fails, the session goes on. */
  refused: unknown;
  /** ReadyForQuery's transaction status, once it came. */
  status: string | undefined;
  private fields: Field[] = [];
  private parsers: ((value: string) => unknown)[] = [];

  constructor(private readonly parsed?: () => void) {}

  take(message: Message): void {
    if (this.refused !== undefined && message.name !== 'readyForQuery') return;
    try {
      switch (message.name) {
        case 'rowDescription': {
          const types = wire().types;
          this.fields = message.fields as Field[];
          this.parsers = this.fields.map((f) => types.getTypeParser(f.dataTypeID, f.format || 'text'));
          this.rows = [];
          this.rowCount = 0;
          break;
        }
        case 'dataRow': {
          const values = message.fields as (string | null)[];
          const row: Record<string, unknown> = {};
          for (let i = 0; i < this.fields.length; i++) {
            const raw = values[i];
            row[this.fields[i]!.name] = raw === null || raw === undefined ? null : this.parsers[i]!(raw);
          }
          this.rows.push(row);
          break;
        }
        case 'commandComplete':
          this.rowCount = tagCount(String(message.text ?? ''));
          break;
        case 'parseComplete':
          this.parsed?.();
          break;
        case 'error':
          this.error ??= failureOf(message);
          break;
        case 'readyForQuery':
          this.status = String(message.status ?? 'I');
          break;
        default:
          // bindComplete, noData, emptyQuery, notices, parameter changes, notifications: nothing to keep
          break;
      }
    } catch (e) {
      this.refused = e;
    }
  }

  /** Whether the server is ending the session (shutdown, a terminated backend): no ReadyForQuery will come. */
  get fatal(): boolean {
    return this.status === undefined && /^(57P0|08)/.test(this.error?.code ?? '');
  }

  /** The result, or the failure as a DirectError. */
  result(): DirectResult {
    if (this.error) throw new DirectError(this.error);
    if (this.refused !== undefined) throw new DirectError({ message: String((this.refused as Error)?.message ?? this.refused) });
    return { rows: this.rows, rowCount: this.rowCount };
  }
}

export class DirectSession {
  readonly serverVersion: number;
  private readonly parser: InstanceType<Wire['Parser']>;
  /** Named statements this session has prepared, by name: their text. */
  private prepared = new Map<string, string>();
  /** 'I' idle, 'T' in a transaction, 'E' in a failed one: from the last ReadyForQuery. */
  private status = 'I';
  private broken: DirectFailure | undefined;
  private readonly fd: number;

  constructor(
    private readonly socket: Socket,
    serverVersion: number,
  ) {
    this.serverVersion = serverVersion;
    this.parser = new (wire().Parser)();
    this.fd = (socket as unknown as { _handle: { fd: number } })._handle.fd;
  }

  /** Whether the session can still be used: no lost socket, no session the server ended. */
  get healthy(): boolean {
    return this.broken === undefined;
  }

  /** Whether a transaction is open (or failed and not yet rolled back). */
  get inTransaction(): boolean {
    return this.status !== 'I';
  }

  /**
   * The messages that run one statement, as pg sends them: a simple Query
   * without parameters or name, else Parse (once per session for a named
   * statement), Bind, Describe, Execute and Sync. The Answer that reads its reply.
   */
  request(sql: string, params: readonly unknown[] = [], name?: string): { bytes: Buffer; answer: Answer } {
    if (this.broken) throw new DirectError(this.broken);
    const { serialize, prepareValue } = wire();
    if (params.length === 0 && !name) return { bytes: serialize.query(sql), answer: new Answer() };
    const known = name ? this.prepared.get(name) : undefined;
    if (name && known !== undefined && known !== sql) {
      throw new DirectError({ message: `Prepared statements must be unique - '${name}' was used for a different statement` });
    }
    const out: Buffer[] = [];
    if (known === undefined) out.push(serialize.parse({ name: name ?? '', text: sql, types: [] }));
    out.push(serialize.bind({ portal: '', statement: name ?? '', values: [...params], valueMapper: prepareValue }));
    out.push(serialize.describe({ type: 'P', name: '' }));
    out.push(serialize.execute({ portal: '', rows: 0 }));
    out.push(serialize.sync());
    return { bytes: Buffer.concat(out), answer: new Answer(name ? () => this.prepared.set(name, sql) : undefined) };
  }

  /** Runs one statement; `name` makes it a prepared statement the session parses once. Throws DirectError. */
  query(sql: string, params: readonly unknown[] = [], name?: string): DirectResult {
    const { bytes, answer } = this.request(sql, params, name);
    this.write(bytes);
    while (answer.status === undefined) {
      this.parser.parse(this.read(), (message) => answer.take(message));
      if (answer.fatal) {
        this.broken = answer.error;
        break;
      }
    }
    this.settled(answer);
    return answer.result();
  }

  /** Records what a statement's ReadyForQuery said (also for the opening, answered before the session blocks). */
  settled(answer: Answer): void {
    if (answer.status !== undefined) this.status = answer.status;
  }

  /** Back to a fresh session: no transaction, no advisory lock, no prepared statement, no setting. */
  reset(): void {
    if (this.inTransaction) this.query('ROLLBACK');
    this.query('DISCARD ALL');
    this.prepared.clear();
  }

  /** Says goodbye to the server and closes the socket; the server ends the session on either. */
  end(): void {
    try {
      if (!this.broken) this.write(wire().serialize.end());
    } catch {
      // the socket closes below anyway
    }
    this.broken ??= { message: 'the database connection is closed', code: 'closed' };
    this.socket.destroy();
  }

  private read(): Buffer {
    // A new buffer each time: the parser keeps the tail of a message that has not fully arrived.
    const buffer = Buffer.allocUnsafe(READ_SIZE);
    let n: number;
    try {
      n = readSync(this.fd, buffer, 0, READ_SIZE, null);
    } catch (e) {
      this.broken = { message: String((e as Error).message), code: (e as NodeJS.ErrnoException).code ?? 'ECONNRESET' };
      throw new DirectError(this.broken);
    }
    if (n === 0) {
      this.broken = { message: 'Connection terminated unexpectedly' };
      throw new DirectError(this.broken);
    }
    return buffer.subarray(0, n);
  }

  private write(buffer: Buffer): void {
    let offset = 0;
    try {
      while (offset < buffer.length) offset += writeSync(this.fd, buffer, offset, buffer.length - offset);
    } catch (e) {
      this.broken = { message: String((e as Error).message), code: (e as NodeJS.ErrnoException).code ?? 'EPIPE' };
      throw new DirectError(this.broken);
    }
  }
}

/**
 * Logs in to `target` without blocking (while txplan loads), runs `opening`
 * (the store's opening query) and hands the session over in blocking mode.
 * Resolves undefined on any failure or after `timeoutMs`: the caller then
 * connects through the worker thread, which says what went wrong.
 */
export function startDirect(
  target: DirectTarget,
  applicationName: string,
  opening: { text: string; params: readonly unknown[] } | undefined,
  timeoutMs: number,
): Promise<{ session: DirectSession; opening?: { row?: Record<string, unknown>; error?: DirectFailure } } | undefined> {
  let w: Wire;
  try {
    w = wire();
  } catch {
    return Promise.resolve(undefined);
  }
  return new Promise((resolve) => {
    const socket = target.path ? netConnect({ path: target.path }) : netConnect({ host: target.host!, port: target.port! });
    let settled = false;
    let serverVersion: number | undefined;
    let sasl: Session | undefined;
    // Messages are handled one after the other, also when one waits for SCRAM's key derivation.
    let chain: Promise<void> = Promise.resolve();
    const parser = new w.Parser();
    const give = (result: Awaited<ReturnType<typeof startDirect>>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (!result) socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => give(undefined), timeoutMs);
    // The socket keeps the process alive while the login is under way (bin/txplan waits for it), not after.
    timer.unref();
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 0);
    socket.on('error', () => give(undefined));
    socket.on('close', () => give(undefined));
    socket.on('connect', () => {
      socket.write(w.serialize.startup({ user: target.user, database: target.database, application_name: applicationName }));
    });
    const handle = async (message: Message): Promise<void> => {
      if (settled) return;
      if (openingAnswer) {
        openingAnswer.take(message);
        if (openingAnswer.status !== undefined) takeOver();
        else if (openingAnswer.fatal) give(undefined);
        return;
      }
      switch (message.name) {
        case 'authenticationOk':
        case 'backendKeyData':
          return;
        case 'parameterStatus':
          if (message.parameterName === 'server_version') serverVersion = versionNumber(String(message.parameterValue));
          return;
        case 'authenticationCleartextPassword':
          if (target.password === undefined) return give(undefined);
          socket.write(w.serialize.password(target.password));
          return;
        case 'authenticationMD5Password':
          if (target.password === undefined) return give(undefined);
          socket.write(w.serialize.password(await w.md5(target.user, target.password, message.salt as Buffer)));
          return;
        case 'authenticationSASL':
          if (target.password === undefined) return give(undefined);
          sasl = w.sasl.startSession(message.mechanisms as string[], false);
          socket.write(w.serialize.sendSASLInitialResponseMessage(sasl.mechanism, sasl.response));
          return;
        case 'authenticationSASLContinue':
          if (!sasl || target.password === undefined) return give(undefined);
          await w.sasl.continueSession(sasl, target.password, String(message.data), false);
          socket.write(w.serialize.sendSCRAMClientFinalMessage(sasl.response));
          return;
        case 'authenticationSASLFinal':
          if (!sasl) return give(undefined);
          w.sasl.finalizeSession(sasl, String(message.data));
          return;
        case 'readyForQuery':
          return loggedIn();
        case 'notice':
          return;
        default:
          // an error (a refused login), or a message this login does not expect
          return give(undefined);
      }
    };
    // The login is done: the opening query goes out at once, and its answer is read here, still without blocking.
    let session: DirectSession | undefined;
    let openingAnswer: Answer | undefined;
    const loggedIn = () => {
      const handle = (socket as unknown as { _handle?: { fd?: number } })._handle;
      if (serverVersion === undefined || !handle || typeof handle.fd !== 'number' || handle.fd < 0) return give(undefined);
      session = new DirectSession(socket, serverVersion);
      if (!opening) return takeOver();
      const { bytes, answer } = session.request(opening.text, opening.params);
      openingAnswer = answer;
      socket.write(bytes);
    };
    // From here on the socket is read and written only by the session, on this thread, with blocking calls.
    const takeOver = () => {
      const handle = (socket as unknown as { _handle?: { readStop(): number; setBlocking?(on: boolean): number } })._handle;
      if (!session || !handle || typeof handle.setBlocking !== 'function' || socket.readableLength > 0) return give(undefined);
      socket.removeAllListeners('data');
      socket.pause();
      handle.readStop();
      if (handle.setBlocking(true) !== 0) return give(undefined);
      socket.removeAllListeners('close');
      socket.removeAllListeners('error');
      socket.on('error', () => {});
      socket.unref();
      if (!openingAnswer) return give({ session });
      session.settled(openingAnswer);
      try {
        return give({ session, opening: { row: openingAnswer.result().rows[0] } });
      } catch (e) {
        return give({ session, opening: { error: (e as DirectError).failure } });
      }
    };
    socket.on('data', (chunk: Buffer) => {
      try {
        parser.parse(chunk, (message) => {
          chain = chain.then(() => handle(message)).catch(() => give(undefined));
        });
      } catch {
        give(undefined);
      }
    });
  });
}
