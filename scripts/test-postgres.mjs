#!/usr/bin/env node
/**
 * A throwaway PostgreSQL cluster for the test suite.
 *
 *   node scripts/test-postgres.mjs start [--env]   start one; print its URLs (or `export …` lines)
 *   node scripts/test-postgres.mjs stop [DIR]      stop it and remove its folder (DIR, else
 *                                                  TXPLAN_TEST_POSTGRES_DIR)
 *   node scripts/test-postgres.mjs run -- CMD …    start one, run CMD with TXPLAN_TEST_POSTGRES_URL
 *                                                  set, stop it however CMD ends
 *   node scripts/test-postgres.mjs bindir          print where initdb is (exit 1: not installed)
 *
 * The cluster lives in a new temporary folder: its data, its log and its Unix
 * socket. It listens on 127.0.0.1 only, on a free port. The bootstrap
 * superuser `postgres` connects over the socket without a password; every
 * connection over 127.0.0.1 needs a password (scram-sha-256). The role
 * `txplan` (LOGIN CREATEDB, a random password) is the one the tests use.
 * Durability is off (fsync, synchronous_commit, full_page_writes): the data is
 * thrown away anyway.
 *
 * Run as root, the server runs as the unprivileged user `postgres` (initdb and
 * the server refuse root); otherwise as the current user.
 *
 * No dependencies: the tests import startCluster() / stopCluster() from here.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { constants, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The user the server runs as when this runs as root. */
const SERVER_USER = 'postgres';
/** The role the tests connect as. */
export const TEST_ROLE = 'txplan';
/** What the cluster's folder records about it (read by `stop`). */
const STATE_FILE = 'cluster.json';

const INSTALL_HINT = "PostgreSQL's server programs (initdb, pg_ctl) were not found: install Debian's `postgresql` package (apt-get install postgresql), or set TXPLAN_TEST_POSTGRES_URL to a server the tests may use.";

export class ClusterError extends Error {}

/** Numeric comparison of version folder names (9.6 < 15 < 16). */
function byVersion(a, b) {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i += 1) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * The folder holding initdb, pg_ctl, psql and pg_dump: `pg_config --bindir`,
 * else the newest /usr/lib/postgresql/<version>/bin, else the PATH. Undefined
 * when no initdb is found.
 */
export function findBinDir() {
  const has = (dir) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl'));
  const config = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  if (config.status === 0 && has(config.stdout.trim())) return config.stdout.trim();
  const debian = '/usr/lib/postgresql';
  if (existsSync(debian)) {
    const versions = readdirSync(debian).filter((v) => /^\d+(\.\d+)?$/.test(v) && has(join(debian, v, 'bin'))).sort(byVersion);
    if (versions.length > 0) return join(debian, versions.at(-1), 'bin');
  }
  for (const dir of (process.env.PATH ?? '').split(':')) if (dir && has(dir)) return dir;
  return undefined;
}

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

/** The uid and gid of `user`, from the password database. */
function userIds(user) {
  const id = (flag) => spawnSync('id', [flag, user], { encoding: 'utf8' });
  const uid = id('-u');
  const gid = id('-g');
  if (uid.status !== 0 || gid.status !== 0) {
    throw new ClusterError(`The PostgreSQL server cannot run as root and there is no user \`${user}\` to run it as: install Debian's \`postgresql\` package (it creates that user), or run the tests as an ordinary user.`);
  }
  return { uid: Number(uid.stdout), gid: Number(gid.stdout) };
}

/** Runs one of the server's programs: as SERVER_USER when root, else directly. Throws with its output on failure. */
function runServerProgram(program, args, cwd) {
  let command = program;
  let argv = args;
  if (isRoot()) {
    if (existsSync('/usr/sbin/runuser') || spawnSync('sh', ['-c', 'command -v runuser'], { stdio: 'ignore' }).status === 0) {
      command = 'runuser';
      argv = ['-u', SERVER_USER, '--', program, ...args];
    } else {
      const quote = (s) => `'${String(s).replaceAll("'", `'\\''`)}'`;
      command = 'su';
      argv = [SERVER_USER, '-s', '/bin/sh', '-c', [program, ...args].map(quote).join(' ')];
    }
  }
  // The cluster's own folder as working directory: the server user may not enter the caller's.
  const result = spawnSync(command, argv, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (result.error) throw new ClusterError(`${program} could not be run: ${result.error.message}`);
  if (result.status !== 0) throw new ClusterError(`${program.split('/').at(-1)} ${args[0] ?? ''} failed (exit ${result.status}): ${(result.stderr || result.stdout).trim()}`);
  return result.stdout;
}

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

const sqlLiteral = (s) => `'${String(s).replaceAll("'", "''")}'`;

/** What describes a running cluster; written to <dir>/cluster.json. */
function clusterInfo(dir, bindir, port, password) {
  return {
    dir,
    bindir,
    port,
    /** The bootstrap superuser over the Unix socket, no password (trust). */
    adminUrl: `postgres://postgres@/postgres?host=${encodeURIComponent(dir)}&port=${port}`,
    /** The test role over 127.0.0.1 with its password; the path names the maintenance database. */
    url: `postgres://${TEST_ROLE}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`,
    role: TEST_ROLE,
    password,
  };
}

/** Stops a cluster made by startCluster (its info, or its folder) and removes its folder. Synchronous, so it also runs on exit. */
export function stopCluster(cluster) {
  const dir = typeof cluster === 'string' ? resolve(cluster) : cluster.dir;
  if (!existsSync(dir)) return;
  let bindir = typeof cluster === 'string' ? undefined : cluster.bindir;
  if (!bindir) {
    try {
      bindir = JSON.parse(readFileSync(join(dir, STATE_FILE), 'utf8')).bindir;
    } catch {
      bindir = findBinDir();
    }
  }
  const data = join(dir, 'data');
  if (bindir && existsSync(join(data, 'postmaster.pid'))) {
    try {
      runServerProgram(join(bindir, 'pg_ctl'), ['stop', '-D', data, '-m', 'immediate', '-w'], dir);
    } catch (error) {
      process.stderr.write(`test-postgres: ${error.message}\n`);
    }
  }
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Stops the cluster when this process ends: normally, on an uncaught error, or
 * on SIGINT/SIGTERM/SIGHUP. Returns a function that removes these hooks.
 */
export function stopOnExit(cluster) {
  const onExit = () => stopCluster(cluster);
  const onSignal = (signal) => {
    stopCluster(cluster);
    remove();
    // Nobody else handles this signal: end the way it would have ended us.
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  process.on('exit', onExit);
  for (const s of signals) process.on(s, onSignal);
  const remove = () => {
    process.off('exit', onExit);
    for (const s of signals) process.off(s, onSignal);
  };
  return remove;
}

/**
 * Watches process `pid` from a detached process of its own and stops the
 * cluster once `pid` is gone, however it ended (even SIGKILL).
 */
export function stopWhenGone(cluster, pid = process.pid) {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), 'watch', String(pid), cluster.dir], { detached: true, stdio: 'ignore' });
  child.unref();
}

/**
 * Creates and starts a throwaway cluster in a new temporary folder, with the
 * role `txplan`. Returns its info (URLs, folder, port). Cleans up after itself
 * if any step fails.
 */
export async function startCluster() {
  const bindir = findBinDir();
  if (!bindir) throw new ClusterError(INSTALL_HINT);
  const dir = mkdtempSync(join(tmpdir(), 'txplan-pg-'));
  const removeHooks = stopOnExit({ dir, bindir });
  try {
    if (isRoot()) {
      const { uid, gid } = userIds(SERVER_USER);
      chownSync(dir, uid, gid);
    }
    const data = join(dir, 'data');
    const password = randomBytes(18).toString('base64url');
    runServerProgram(join(bindir, 'initdb'), ['-D', data, '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--auth-local=trust', '--auth-host=scram-sha-256', '--no-sync'], dir);
    // The superuser on the socket without a password (for set-up); everyone else, and 127.0.0.1, with one.
    writeFileSync(
      join(data, 'pg_hba.conf'),
      [
        '# TYPE  DATABASE  USER      ADDRESS       METHOD',
        'local   all       postgres                trust',
        'local   all       all                     scram-sha-256',
        'host    all       all       127.0.0.1/32  scram-sha-256',
        '',
      ].join('\n'),
    );
    let info;
    for (let attempt = 1; ; attempt += 1) {
      const port = await freePort();
      appendFileSync(
        join(data, 'postgresql.conf'),
        [
          '',
          '# throwaway test cluster',
          "listen_addresses = '127.0.0.1'",
          `port = ${port}`,
          `unix_socket_directories = ${sqlLiteral(dir)}`,
          "password_encryption = 'scram-sha-256'",
          'max_connections = 200',
          'fsync = off',
          'synchronous_commit = off',
          'full_page_writes = off',
          // Test databases are dropped as soon as their test ends; an autovacuum worker busy in one would refuse the test role's DROP … WITH (FORCE).
          'autovacuum = off',
          '',
        ].join('\n'),
      );
      try {
        runServerProgram(join(bindir, 'pg_ctl'), ['start', '-w', '-t', '60', '-D', data, '-l', join(dir, 'server.log')], dir);
        info = clusterInfo(dir, bindir, port, password);
        break;
      } catch (error) {
        // Someone took the port between the probe and the start: try another.
        const log = existsSync(join(dir, 'server.log')) ? readFileSync(join(dir, 'server.log'), 'utf8') : '';
        if (attempt >= 3 || !/Address already in use|could not bind/i.test(log)) throw new ClusterError(`${error.message}\n${log.trim()}`);
      }
    }
    const psql = spawnSync(join(bindir, 'psql'), ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', dir, '-p', String(info.port), '-U', 'postgres', '-d', 'postgres', '-c', `CREATE ROLE ${TEST_ROLE} LOGIN CREATEDB PASSWORD ${sqlLiteral(password)}`], { encoding: 'utf8' });
    if (psql.status !== 0) throw new ClusterError(`creating the role ${TEST_ROLE} failed: ${(psql.stderr || psql.error?.message || '').trim()}`);
    writeFileSync(join(dir, STATE_FILE), JSON.stringify(info, null, 2) + '\n', { mode: 0o600 });
    return info;
  } catch (error) {
    stopCluster({ dir, bindir });
    throw error;
  } finally {
    removeHooks();
  }
}

const shellQuote = (s) => `'${String(s).replaceAll("'", `'\\''`)}'`;

async function main(argv) {
  const [command, ...rest] = argv;
  if (command === 'start') {
    const info = await startCluster();
    if (rest.includes('--env')) {
      process.stdout.write(
        [
          `export TXPLAN_TEST_POSTGRES_DIR=${shellQuote(info.dir)}`,
          `export TXPLAN_TEST_POSTGRES_URL=${shellQuote(info.url)}`,
          `export TXPLAN_TEST_POSTGRES_ADMIN_URL=${shellQuote(info.adminUrl)}`,
          '',
        ].join('\n'),
      );
    } else {
      process.stdout.write(`PostgreSQL ${info.port} in ${info.dir}\nsuperuser (socket): ${info.adminUrl}\ntest role (127.0.0.1): ${info.url}\nstop it with: node scripts/test-postgres.mjs stop ${info.dir}\n`);
    }
    return 0;
  }
  if (command === 'bindir') {
    // For .ci/run: is there a PostgreSQL to start?
    const bindir = findBinDir();
    if (bindir) process.stdout.write(`${bindir}\n`);
    return bindir ? 0 : 1;
  }
  if (command === 'stop') {
    const dir = rest[0] ?? process.env.TXPLAN_TEST_POSTGRES_DIR;
    if (!dir) throw new ClusterError('Say which cluster to stop: node scripts/test-postgres.mjs stop DIR (the folder `start` printed), or set TXPLAN_TEST_POSTGRES_DIR.');
    if (!existsSync(join(dir, STATE_FILE)) && !existsSync(join(dir, 'data', 'PG_VERSION'))) {
      if (!existsSync(dir)) return 0;
      throw new ClusterError(`${dir} is not a cluster made by this script (no ${STATE_FILE} in it); nothing was removed.`);
    }
    stopCluster(dir);
    return 0;
  }
  if (command === 'run') {
    const args = rest[0] === '--' ? rest.slice(1) : rest;
    if (args.length === 0) throw new ClusterError('Say what to run: node scripts/test-postgres.mjs run -- npm test');
    const info = await startCluster();
    process.on('exit', () => stopCluster(info));
    const env = { ...process.env, TXPLAN_TEST_POSTGRES_URL: info.url, TXPLAN_TEST_POSTGRES_ADMIN_URL: info.adminUrl, TXPLAN_TEST_POSTGRES_DIR: info.dir };
    const child = spawn(args[0], args.slice(1), { stdio: 'inherit', env });
    // A signal goes on to the command; the cluster stops once the command has ended.
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(s, () => child.kill(s));
    const code = await new Promise((done) => {
      child.on('error', (error) => {
        process.stderr.write(`test-postgres: ${args[0]} could not be run: ${error.message}\n`);
        done(127);
      });
      child.on('exit', (status, signal) => done(status ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 1)));
    });
    stopCluster(info);
    return code;
  }
  if (command === 'watch') {
    const [pid, dir] = rest;
    const alive = () => {
      try {
        process.kill(Number(pid), 0);
        return true;
      } catch (error) {
        return error.code === 'EPERM';
      }
    };
    await new Promise((done) => {
      const timer = setInterval(() => {
        if (!existsSync(dir)) done(clearInterval(timer));
        else if (!alive()) {
          clearInterval(timer);
          stopCluster(dir);
          done();
        }
      }, 1000);
    });
    return 0;
  }
  throw new ClusterError('Usage: node scripts/test-postgres.mjs start [--env] | stop [DIR] | run -- COMMAND… | bindir');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error) => {
      process.stderr.write(`test-postgres: ${error instanceof ClusterError ? error.message : error.stack}\n`);
      process.exit(1);
    },
  );
}
