import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { OPENING } from './opening.js';
import type { MessagePort, Worker } from 'node:worker_threads';
import { bundleLoaderPath, DirectError, DirectSession, numbersAsNumbers, plainTarget, startDirect, type DirectFailure } from './direct.js';

/**
 * A synchronous PostgreSQL connection. The store is synchronous (short
 * transactions, no network call inside one). The connection a command starts
 * as it launches (prewarmPostgres) is, in the plain case, a session on the
 * calling thread whose socket is read and written with blocking calls (see
 * direct.ts). Every other connection runs the `pg` client in a worker thread
 * and the calling thread waits for each answer with Atomics.wait.
 *
 * Starting a worker and logging in costs far more than a command's work, so a
 * process keeps the connections it closed and hands them to the next store it
 * opens with the same URL (and the same libpq variables): `db copy` and
 * in-process callers open several stores. A connection goes back only clean —
 * any transaction rolled back, then DISCARD ALL: session advisory locks (the
 * billing lock), prepared statements, settings and temporary tables gone —
 * and is checked with a round trip before it is handed out again; one that
 * failed, timed out or was cut off is ended instead. The workers never keep
 * the process alive; the idle connections are ended when it exits (and if it
 * dies, the server ends the sessions and releases their locks).
 */

export interface QueryResult<R = Record<string, unknown>> {
  rows: R[];
  rowCount: number;
}

/** An error the server (or the client library) reported, carried over from the worker. */
export class PostgresError extends Error {
  constructor(
    message: string,
    /** SQLSTATE (e.g. 23505) or a Node error code (ECONNREFUSED). */
    readonly code: string | undefined,
    readonly detail: string | undefined,
    readonly constraint: string | undefined,
  ) {
    super(message);
    this.name = 'PostgresError';
  }
}

export interface ConnectOptions {
  /** A postgres:// URL; libpq variables (PGHOST, PGPASSWORD, PGSSLMODE, …) fill in what it leaves out. */
  url: string;
  /** Seconds to wait for the server to answer a connection attempt (CONNECT_TIMEOUT_SECONDS unless given). */
  connectTimeoutSeconds?: number;
  /** The application_name the server shows in pg_stat_activity. */
  applicationName?: string;
  /** Run the store's opening query as the session starts (see opening.ts and takeOpening). */
  opening?: boolean;
}

interface Reply {
  rows?: unknown[];
  rowCount?: number;
  serverVersion?: number;
  opening?: { row?: Record<string, unknown>; error?: Reply['error'] };
  error?: { message: string; code?: string; detail?: string; constraint?: string };
}

/** The worker's source. Kept as plain JavaScript so it runs from the built package and from the sources alike. */
const WORKER = String.raw`
const { workerData } = require('node:worker_threads');
// pg asks whether it runs in a Cloudflare Worker by reading navigator.userAgent and, where there is no
// navigator (Node 20), by making a fetch Response, which loads Node's whole fetch implementation: a third
// of the time pg takes to load. This thread runs pg alone; Node 21 and later define the same navigator.
if (typeof globalThis.navigator === 'undefined') globalThis.navigator = { userAgent: 'Node.js/' + process.versions.node.split('.')[0] };
// The bundled client is loaded by the start-up bundle's loader, with its code cache (it asks only for
// Node's own modules: pg-native, never installed with txplan, is looked for and not found).
const client_ = workerData.loader ? require(workerData.loader).bundle('postgres-client.cjs') : { pg: require(workerData.pg), parse: require(workerData.parseUrl).parse, pgpass: require(workerData.pgpass) };
const pg = client_.pg;
const flag = new Int32Array(workerData.shared);
const port = workerData.port;
// int8 (counts, sums, money) and numeric (sums of int8) come back as numbers, as they do from SQLite.
(${numbersAsNumbers.toString()})(pg.types);
let client;
let broken;
function reply(message) {
  port.postMessage(message);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
}
// "15.4" → 150004, "16beta1" → 160000, "9.6.24" → 90624, as server_version_num says them.
function versionNumber(text) {
  const m = /^(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(String(text));
  if (!m) return undefined;
  const [major, minor, patch] = [Number(m[1]), Number(m[2] || 0), Number(m[3] || 0)];
  return major >= 10 ? major * 10000 + minor : major * 10000 + minor * 100 + patch;
}
function failure(e) {
  return { error: { message: String(e && e.message || e), code: e && e.code, detail: e && e.detail, constraint: e && e.constraint } };
}
port.on('message', async (m) => {
  try {
    if (m.op === 'connect') {
      const parsed = client_.parse(m.url);
      const config = { ...parsed, connectionTimeoutMillis: m.timeout * 1000, application_name: m.name, keepAlive: true };
      if (!parsed.password && !process.env.PGPASSWORD) {
        // ~/.pgpass (or PGPASSFILE), looked up only when the server asks for a password, as libpq does.
        const env = process.env;
        const user = parsed.user || env.PGUSER || require('node:os').userInfo().username;
        const wanted = { host: parsed.host || env.PGHOST || 'localhost', port: parsed.port || env.PGPORT || 5432, user, database: parsed.database || env.PGDATABASE || user };
        config.password = () => new Promise((resolve) => client_.pgpass(wanted, (pass) => resolve(pass === undefined ? '' : pass)));
      }
      client = new pg.Client(config);
      client.on('error', (e) => { broken = e; });
      // The server says its version as the session starts (server_version, "15.4"): no query needed for it.
      let announced;
      client.connection.on('parameterStatus', (p) => { if (p.parameterName === 'server_version') announced = versionNumber(p.parameterValue); });
      await client.connect();
      const serverVersion = announced ?? Number((await client.query('SHOW server_version_num')).rows[0].server_version_num);
      // The store's opening query, answered with the connection (see opening.ts).
      let opening;
      if (m.opening) {
        try {
          opening = { row: (await client.query(m.opening.text, m.opening.params)).rows[0] };
        } catch (e) {
          opening = failure(e);
        }
      }
      reply({ serverVersion, opening });
    } else if (m.op === 'query') {
      if (broken) throw broken;
      const r = await client.query({ text: m.sql, values: m.params, name: m.name });
      reply({ rows: r.rows, rowCount: r.rowCount ?? 0 });
    } else if (m.op === 'ping') {
      if (broken) throw broken;
      await client.query('SELECT 1');
      reply({});
    } else if (m.op === 'reset') {
      // Back to a fresh session for the next store: no transaction, no advisory lock, no prepared statement, no setting.
      if (broken) throw broken;
      if (client.getTransactionStatus() !== 'I') await client.query('ROLLBACK');
      await client.query('DISCARD ALL');
      // The client remembers which named statements the session has prepared: DISCARD ALL dropped them all.
      const c = client.connection;
      if (!c || typeof c.parsedStatements !== 'object' || typeof c.submittedNamedStatements !== 'object') throw new Error('cannot reset the client');
      c.parsedStatements = {};
      c.submittedNamedStatements = {};
      reply({});
    } else if (m.op === 'end') {
      // The goodbye (Terminate) is written to the socket at once; waiting for the server to close its side
      // would cost every command's exit a round trip, and the server ends the session on either.
      if (client) client.end().catch(() => {});
      reply({});
    }
  } catch (e) {
    reply(failure(e));
  }
});
`;

type Opening = { text: string; params: readonly unknown[] };

interface StartedWorker {
  url: string;
  name: string;
  flag: Int32Array;
  port: MessagePort;
  worker: Worker;
}

/**
 * Where the worker loads the client from: the one-file copy the start-up
 * bundle ships beside itself (see scripts/bundle.mjs), else pg and its own URL
 * parser and ~/.pgpass reader from node_modules (the module-per-file build,
 * the tests).
 */
function clientPaths(): { loader: string } | { pg: string; parseUrl: string; pgpass: string } {
  if (existsSync(fileURLToPath(new URL('./postgres-client.cjs', import.meta.url)))) return { loader: bundleLoaderPath() };
  const pgPath = createRequire(import.meta.url).resolve('pg');
  const fromPg = createRequire(pgPath);
  return { pg: pgPath, parseUrl: fromPg.resolve('pg-connection-string'), pgpass: fromPg.resolve('pgpass') };
}

/**
 * How long a login may take before txplan gives up on the server: long enough
 * for a busy server (or a busy machine) to start a session, short enough that
 * cron does not hang on one that is gone.
 */
const CONNECT_TIMEOUT_SECONDS = 30;

/** The worker started by prewarmPostgres, waiting to be taken by the first connection to its URL. */
let prewarmed: StartedWorker | undefined;

/** node:worker_threads, loaded when a worker is first needed: the session on the main thread has none. */
let workerThreads: typeof import('node:worker_threads') | undefined;
function threads(): typeof import('node:worker_threads') {
  workerThreads ??= createRequire(import.meta.url)('node:worker_threads') as typeof import('node:worker_threads');
  return workerThreads;
}

/** Starts a worker and asks it to connect; the answer waits on the port. */
function startWorker(connect: { url: string; timeout: number; name: string; opening?: Opening }): StartedWorker {
  const shared = new SharedArrayBuffer(4);
  const flag = new Int32Array(shared);
  const { MessageChannel, Worker } = threads();
  const { port1, port2 } = new MessageChannel();
  const paths = clientPaths();
  const worker = new Worker(WORKER, { eval: true, execArgv: [], workerData: { shared, port: port2, ...paths }, transferList: [port2] });
  // The connection never keeps the process alive; the server ends the session when the process ends.
  worker.unref();
  port1.unref();
  port1.postMessage({ op: 'connect', ...connect });
  return { url: connect.url, name: connect.name, flag, port: port1, worker };
}

/**
 * Starts connecting to `url` now, in the background, so that loading the
 * PostgreSQL client and logging in overlap with txplan loading its own code.
 * The first PostgresConnection.connect() to the same URL takes it over; a
 * command that never opens the database simply lets it go with the process.
 */
export function prewarmPostgres(url: string, applicationName = 'txplan'): Promise<void> | undefined {
  if (prewarmed || prewarmedDirect || warming) return warming?.done;
  const worker = () => {
    prewarmed = startWorker({ url, timeout: CONNECT_TIMEOUT_SECONDS, name: applicationName, opening: OPENING });
  };
  const target = plainTarget(url);
  if (!target) {
    worker();
    return undefined;
  }
  const attempt = { abandoned: false, done: Promise.resolve() };
  warming = attempt;
  attempt.done = startDirect(target, applicationName, OPENING, DIRECT_LOGIN_MS).then((direct) => {
    if (warming === attempt) warming = undefined;
    if (attempt.abandoned) {
      direct?.session.end();
    } else if (direct) {
      prewarmedDirect = { url, name: applicationName, session: direct.session, opening: direct.opening };
      // A command that never opened the database says goodbye to the server as it exits.
      process.once('exit', () => prewarmedDirect?.session.end());
    } else {
      // Not the plain case after all, or the login failed: the worker's client connects, and says what went wrong.
      worker();
    }
  });
  return attempt.done;
}

/**
 * How long the login on the calling thread may take before the worker's
 * client is asked to connect instead (which waits CONNECT_TIMEOUT_SECONDS).
 */
const DIRECT_LOGIN_MS = 3000;

/** A login on the calling thread under way (see prewarmPostgres). */
let warming: { abandoned: boolean; done: Promise<void> } | undefined;

/** The session prewarmPostgres made on the calling thread, waiting to be taken by the first connection to its URL. */
let prewarmedDirect: { url: string; name: string; session: DirectSession; opening: Reply['opening'] } | undefined;

/** A PostgresError from what the session on the calling thread reported. */
function fromDirect(failure: DirectFailure): PostgresError {
  return new PostgresError(failure.message, failure.code, failure.detail, failure.constraint);
}

/** A statement that changes nothing: a SELECT calling no function that sets a sequence, a lock or a setting, and filling no table. */
const READ_ONLY = /^\s*SELECT\b(?![\s\S]*(?:setval|nextval|advisory|set_config|\binto\b))/i;

/** Idle connections at most kept per process (the oldest is ended first). */
const MAX_IDLE = 4;

/** Connections closed by their stores, clean, waiting for the next store with the same key (oldest first). */
const idle: PostgresConnection[] = [];
let endIdleAtExit = false;

/**
 * What a connection was made with: the URL, the application name and the
 * libpq variables the worker read when it logged in (a store opened after
 * PGPASSWORD or PGHOST changed gets a connection of its own).
 */
function keyOf(url: string, applicationName: string): string {
  const libpq = Object.entries(process.env)
    .filter(([name]) => name.startsWith('PG'))
    .sort(([a], [b]) => (a < b ? -1 : 1));
  return JSON.stringify([url, applicationName, libpq]);
}

/** Ends every idle connection of this process (at exit, or for a caller that wants the sessions gone now). */
export function endIdlePostgres(): void {
  for (const connection of idle.splice(0)) connection.end();
}

export class PostgresConnection {
  /** The worker's side: its flag, its port and the thread; or the session on this thread. */
  private readonly flag?: Int32Array;
  private readonly port?: MessagePort;
  private readonly worker?: Worker;
  private readonly direct?: DirectSession;
  private readonly key: string;
  private closed = false;
  /** Set when the worker gave no answer in time or the session can no longer be trusted: never reused. */
  private unusable = false;
  /** The opening query's answer from the session's start, until taken. */
  private opening: Reply['opening'];
  /** Given back after plain reads without a reset: reset when taken again (see close). */
  private stale = false;
  /** No statement since the connection was taken could have changed anything (see untouched). */
  private quiet = true;
  readonly serverVersion: number;

  private constructor(options: ConnectOptions, key: string) {
    const timeout = options.connectTimeoutSeconds ?? CONNECT_TIMEOUT_SECONDS;
    const connect = { op: 'connect', url: options.url, timeout, name: options.applicationName ?? 'txplan', ...(options.opening ? { opening: OPENING } : {}) };
    this.key = key;
    // The session prewarmPostgres logged in on this thread for this URL.
    if (warming) warming.abandoned = true;
    warming = undefined;
    const direct = prewarmedDirect?.url === options.url && prewarmedDirect.name === connect.name ? prewarmedDirect : undefined;
    if (prewarmedDirect && !direct) prewarmedDirect.session.end();
    prewarmedDirect = undefined;
    if (direct) {
      // (prewarmPostgres starts a worker only when it made no session here: there is none to let go.)
      this.direct = direct.session;
      this.serverVersion = direct.session.serverVersion;
      this.opening = direct.opening;
      return;
    }
    // A worker started early for this URL (see prewarmPostgres) has loaded pg and connected meanwhile.
    const early = prewarmed?.url === options.url && prewarmed.name === connect.name ? prewarmed : undefined;
    if (prewarmed && !early) void prewarmed.worker.terminate();
    prewarmed = undefined;
    const started = early ?? startWorker(connect);
    ({ flag: this.flag, port: this.port, worker: this.worker } = started);
    try {
      const answer = this.wait(timeout + 30);
      this.serverVersion = answer.serverVersion!;
      this.opening = answer.opening;
    } catch (error) {
      void started.worker.terminate();
      throw error;
    }
  }

  /**
   * A connection to the database: one this process closed earlier with the
   * same URL, if it still answers, else a new one. Throws the PostgresError
   * the server or the network gave.
   */
  static connect(options: ConnectOptions): PostgresConnection {
    const key = keyOf(options.url, options.applicationName ?? 'txplan');
    for (let i = idle.length - 1; i >= 0; i--) {
      const candidate = idle[i]!;
      if (candidate.key !== key) continue;
      idle.splice(i, 1);
      if (candidate.revive()) return candidate;
    }
    return new PostgresConnection(options, key);
  }

  /**
   * Runs one statement with `$1…` parameters. `name` makes it a prepared
   * statement the server parses once per session.
   */
  query<R = Record<string, unknown>>(sql: string, params: readonly unknown[] = [], name?: string): QueryResult<R> {
    if (this.closed) throw new PostgresError('the database connection is closed', 'closed', undefined, undefined);
    if (this.quiet && !READ_ONLY.test(sql)) this.quiet = false;
    const answer = this.ask({ op: 'query', sql, params, name });
    return { rows: answer.rows as R[], rowCount: answer.rowCount ?? 0 };
  }

  /**
   * The opening query's row, read as the session started (see opening.ts),
   * once; undefined for a connection taken back from the idle ones or
   * started without it. Throws the PostgresError the query met.
   */
  takeOpening<R>(): R | undefined {
    const opening = this.opening;
    this.opening = undefined;
    if (opening?.error) throw new PostgresError(opening.error.message, opening.error.code, opening.error.detail, opening.error.constraint);
    return opening?.row as R | undefined;
  }

  /** Whether the session runs on the calling thread (see direct.ts) rather than in a worker thread. */
  get onCallingThread(): boolean {
    return this.direct !== undefined;
  }

  /**
   * Whether every statement since the connection was taken was a plain read:
   * a SELECT that sets no sequence, lock or setting. Anything else (a
   * transaction begun, a write) makes it false for good.
   */
  get untouched(): boolean {
    return this.quiet;
  }

  /**
   * Gives the connection back for the next store of this process, clean (see
   * the top of this file), or ends it when it cannot be made clean.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (!this.unusable) {
      try {
        // Plain reads hold nothing another session waits for (no transaction, lock or setting): their
        // prepared statements are cleared when the connection is taken again, so a command that ends
        // here pays no round trip for it.
        if (this.quiet) this.stale = true;
        else this.ask({ op: 'reset' }, 10);
        idle.push(this);
        if (!endIdleAtExit) {
          endIdleAtExit = true;
          process.once('exit', endIdlePostgres);
        }
        while (idle.length > MAX_IDLE) idle.shift()!.end();
        return;
      } catch {
        // not clean: ended below
      }
    }
    this.end();
  }

  /** Ends the session and the worker: the connection is never used again. */
  end(): void {
    this.closed = true;
    this.unusable = true;
    try {
      this.ask({ op: 'end' }, 10);
    } catch {
      // the session ends with the worker anyway
    }
    if (this.direct) this.direct.end();
    else void this.worker!.terminate();
  }

  /** Takes an idle connection back into use if it still answers; ends it otherwise. */
  private revive(): boolean {
    try {
      this.ask({ op: this.stale ? 'reset' : 'ping' }, 10);
      this.stale = false;
      this.closed = false;
      this.quiet = true;
      this.opening = undefined;
      return true;
    } catch {
      this.end();
      return false;
    }
  }

  private ask(message: Record<string, unknown>, timeoutSeconds = 24 * 3600): Reply {
    if (this.direct) return this.askDirect(message);
    Atomics.store(this.flag!, 0, 0);
    this.port!.postMessage(message);
    return this.wait(timeoutSeconds);
  }

  /** The same questions, answered by the session on this thread (a blocking read: no timeout but the server's and TCP keepalive's). */
  private askDirect(message: Record<string, unknown>): Reply {
    const session = this.direct!;
    try {
      switch (message.op) {
        case 'query': {
          const result = session.query(message.sql as string, message.params as unknown[], message.name as string | undefined);
          return { rows: result.rows, rowCount: result.rowCount };
        }
        case 'ping':
          session.query('SELECT 1');
          return {};
        case 'reset':
          session.reset();
          return {};
        case 'end':
          session.end();
          return {};
        default:
          throw new Error(`unknown request ${String(message.op)}`);
      }
    } catch (error) {
      if (!session.healthy) this.unusable = true;
      if (error instanceof DirectError) throw fromDirect(error.failure);
      throw error;
    }
  }

  /** Waits for the worker's answer to the message posted last. */
  private wait(timeoutSeconds: number): Reply {
    const waited = Atomics.wait(this.flag!, 0, 0, timeoutSeconds * 1000);
    const received = threads().receiveMessageOnPort(this.port!);
    if (waited === 'timed-out' || !received) {
      // A late answer would be taken for the next question's: this connection is done.
      this.unusable = true;
      throw new PostgresError(`the database did not answer within ${timeoutSeconds} s`, 'timeout', undefined, undefined);
    }
    const reply = received.message as Reply;
    if (reply.error) throw new PostgresError(reply.error.message, reply.error.code, reply.error.detail, reply.error.constraint);
    return reply;
  }
}
