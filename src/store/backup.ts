import { createHash } from 'node:crypto';
import { chmodSync, closeSync, constants, existsSync, fsyncSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { FailedError } from '../errors.js';
import { makeFolder, writeBeside } from '../files.js';
import { recordAudit } from './audit.js';
import { openDatabase } from './database.js';
import { databaseId, lastAuditId, sequences } from './database-info.js';
import { raiseHighWater, readHighWater } from './high-water.js';
import { LATEST_VERSION } from './migrations/index.js';
import { Store } from './store.js';
import { SEQUENCED, type Sequences } from '../domain/records.js';

/**
 * A backup is one private folder: the database (SQLite's online backup, a
 * consistent copy while txplan runs), the attachments, the sandbox processor's
 * ledger, and manifest.json naming every file with its size and sha256. The
 * manifest is written last, so a folder without one is not a backup.
 */
export interface Manifest {
  format: 'txplan-backup-1';
  database_id: string;
  schema_version: number;
  created_at: string;
  files: ManifestFile[];
}

export interface ManifestFile {
  name: string;
  bytes: number;
  sha256: string;
}

const DATABASE = 'txplan.db';
const LEDGER = 'sandbox-gateway.db';
const ATTACHMENTS = 'attachments';
// The names a backup may hold: nothing can point outside the folder it is restored into.
const FILE_NAME = /^(txplan\.db|sandbox-gateway\.db|attachments\/[A-Za-z0-9][A-Za-z0-9._-]{0,200})$/;
const EXCLUSIVE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0);

export interface BackupSources {
  store: Store;
  attachmentsDir: string;
  /** The sandbox processor's ledger, when there is one. */
  ledgerPath: string | undefined;
  now: Date;
}

export async function writeBackup(dest: string, sources: BackupSources): Promise<Manifest> {
  if (existsSync(dest)) throw new FailedError(`${dest} exists; a backup never overwrites anything: choose a new folder name`, 'exists');
  if (!existsSync(dirname(dest))) throw new FailedError(`The folder ${dirname(dest)} does not exist; create it first`, 'no_folder');
  try {
    mkdirSync(dest, { mode: 0o700 }); // exclusive: fails if the name appeared meanwhile
  } catch (error) {
    throw new FailedError(`Cannot create the backup folder ${dest} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); choose a new folder name`, 'exists');
  }
  try {
    chmodSync(dest, 0o700);
    const database = join(dest, DATABASE);
    closeSync(openSync(database, EXCLUSIVE, 0o600));
    await sources.store.db.backup(database);
    singleFile(database);
    if (sources.ledgerPath && existsSync(sources.ledgerPath)) {
      const ledger = new Database(sources.ledgerPath, { readonly: true, fileMustExist: true });
      try {
        closeSync(openSync(join(dest, LEDGER), EXCLUSIVE, 0o600));
        await ledger.backup(join(dest, LEDGER));
      } finally {
        ledger.close();
      }
      singleFile(join(dest, LEDGER));
    }
    const photos = existsSync(sources.attachmentsDir) ? readdirSync(sources.attachmentsDir).filter((name) => FILE_NAME.test(`${ATTACHMENTS}/${name}`) && lstatSync(join(sources.attachmentsDir, name)).isFile()) : [];
    if (photos.length > 0) {
      makeFolder(join(dest, ATTACHMENTS), 0o700);
      for (const name of photos.sort()) writeExclusive(join(dest, ATTACHMENTS, name), readFileSync(join(sources.attachmentsDir, name)));
    }
    const names = [DATABASE, ...(existsSync(join(dest, LEDGER)) ? [LEDGER] : []), ...photos.map((name) => `${ATTACHMENTS}/${name}`)];
    const manifest: Manifest = {
      format: 'txplan-backup-1',
      database_id: databaseId(sources.store),
      schema_version: sources.store.db.pragma('user_version', { simple: true }) as number,
      created_at: sources.now.toISOString(),
      files: names.map((name) => {
        const data = readFileSync(join(dest, name));
        chmodSync(join(dest, name), 0o600);
        return { name, bytes: data.length, sha256: sha256(data) };
      }),
    };
    const manifestFile = join(dest, 'manifest.json');
    renameSync(writeBeside(manifestFile, `${JSON.stringify(manifest, null, 2)}\n`, { sync: true }), manifestFile);
    syncFolder(dest);
    return manifest;
  } catch (error) {
    rmSync(dest, { recursive: true, force: true });
    if (error instanceof FailedError) throw error;
    throw new FailedError(`The backup to ${dest} failed (${(error as Error).message}); nothing was kept there`, 'backup_failed');
  }
}

/** A database copy that needs no -wal or -shm beside it, so reading it never writes into the backup. */
function singleFile(file: string): void {
  const db = new Database(file);
  try {
    db.pragma('journal_mode = DELETE');
  } finally {
    db.close();
  }
  chmodSync(file, 0o600);
}

/** Reads and checks a backup folder: every file present, of its size and hash. Changes nothing. */
export function verifyBackup(src: string): Manifest {
  const file = join(src, 'manifest.json');
  if (!existsSync(file)) throw new FailedError(`The folder ${src} has no manifest.json, so it is not a complete txplan backup; restore from a folder written by "txplan db backup"`, 'not_a_backup');
  let manifest: Manifest;
  try {
    manifest = JSON.parse(readFileSync(file, 'utf8')) as Manifest;
  } catch {
    throw new FailedError(`The backup ${src} is damaged: its manifest.json cannot be read; nothing was restored`, 'backup_damaged');
  }
  if (manifest?.format !== 'txplan-backup-1' || !Array.isArray(manifest.files) || typeof manifest.database_id !== 'string' || typeof manifest.schema_version !== 'number') {
    throw new FailedError(`The backup ${src} is damaged: its manifest.json is not a txplan backup manifest; nothing was restored`, 'backup_damaged');
  }
  if (manifest.schema_version > LATEST_VERSION) throw new FailedError(`The backup ${src} was written by a newer txplan (schema ${manifest.schema_version}); upgrade txplan to restore it`, 'backup_too_new');
  const names = new Set<string>();
  for (const entry of manifest.files) {
    if (typeof entry?.name !== 'string' || !FILE_NAME.test(entry.name) || names.has(entry.name)) throw new FailedError(`The backup ${src} is damaged or altered: its manifest names a file txplan never writes; nothing was restored`, 'backup_damaged');
    names.add(entry.name);
  }
  if (!names.has(DATABASE)) throw new FailedError(`The backup ${src} is incomplete: its manifest lists no ${DATABASE}; nothing was restored`, 'backup_damaged');
  for (const entry of manifest.files) {
    const path = join(src, entry.name);
    if (!existsSync(path) || !lstatSync(path).isFile()) throw new FailedError(`The backup ${src} is incomplete: ${entry.name} is missing; nothing was restored`, 'backup_damaged');
    const data = readFileSync(path);
    if (data.length !== entry.bytes || sha256(data) !== entry.sha256) throw new FailedError(`The backup ${src} is damaged or altered: ${entry.name} does not match its manifest; nothing was restored`, 'backup_damaged');
  }
  return manifest;
}

export interface RestoreTarget {
  databasePath: string;
  attachmentsDir: string;
  highWaterFile: string;
}

/** What the database in place holds beyond the backup: a reason to refuse without --force, or nothing. */
export function newerThanBackup(src: string, target: RestoreTarget): string | undefined {
  if (!existsSync(target.databasePath)) return undefined;
  const backup = describe(join(src, DATABASE));
  const live = describe(target.databasePath);
  if (live.id !== undefined && live.id !== backup.id) return `the database here is a different database (id ${live.id}) from the backup's (id ${backup.id})`;
  const seen = live.id !== undefined ? readHighWater(target.highWaterFile, live.id) : { plans: 0, charges: 0, refunds: 0 };
  if (live.lastAudit > backup.lastAudit) return `the database here is newer than the backup: it records ${live.lastAudit - backup.lastAudit} change${live.lastAudit - backup.lastAudit === 1 ? '' : 's'} made after it`;
  if (SEQUENCED.some((name) => Math.max(live.sequences[name], seen[name]) > backup.sequences[name])) return 'the database here is newer than the backup: plans, charges or refunds were made after it';
  return undefined;
}

interface Description {
  id: string | undefined;
  lastAudit: number;
  sequences: Sequences;
}

function describe(file: string): Description {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const store = new Store(db);
    const hasInfo = db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'database_info'").get() as { n: number };
    return { id: hasInfo.n > 0 ? databaseId(store) : undefined, lastAudit: lastAuditId(store), sequences: sequences(store) };
  } catch (error) {
    throw new FailedError(`Cannot read the database ${file} (${(error as Error).message}); nothing was restored`, 'database');
  } finally {
    db.close();
  }
}

/**
 * Puts a verified backup in place. The database is copied beside the live one,
 * checked against its hash again, upgraded to this txplan's schema, synced and
 * renamed over it; missing or damaged attachments are copied the same way
 * (photos added since the backup stay: they are named by their content).
 * The processor's ledger is never touched: a real processor cannot be rolled back.
 */
export function restoreBackup(src: string, manifest: Manifest, target: RestoreTarget, who: { actor: string; now: Date }): { attachments: number } {
  const folder = dirname(target.databasePath);
  makeFolder(folder, 0o700);
  const entry = manifest.files.find((f) => f.name === DATABASE)!;
  let temporary: string | undefined;
  try {
    const data = readFileSync(join(src, DATABASE));
    if (sha256(data) !== entry.sha256) throw new FailedError(`The backup ${src} changed while it was being restored: ${DATABASE} no longer matches its manifest; nothing was restored`, 'backup_damaged');
    temporary = writeBeside(target.databasePath, data, { sync: true });

    // What the database in place has issued is never forgotten, even without a high-water file.
    if (existsSync(target.databasePath)) {
      const live = describe(target.databasePath);
      if (live.id !== undefined) raiseHighWater(target.highWaterFile, live.id, live.sequences, who.now.toISOString());
    }

    const restored = new Store(openDatabase(temporary));
    try {
      recordAudit(restored, { at: who.now.toISOString(), actor: who.actor, action: 'database.restore', entity: 'database', entityId: databaseId(restored), after: { backup_created_at: manifest.created_at, schema_version: manifest.schema_version, files: manifest.files.length } });
    } finally {
      restored.close();
    }
    for (const suffix of ['-wal', '-shm']) rmSync(temporary + suffix, { force: true });
    const fd = openSync(temporary, 'r+');
    fsyncSync(fd);
    closeSync(fd);

    const attachments = restoreAttachments(src, manifest, target.attachmentsDir);
    releaseLive(target.databasePath);
    renameSync(temporary, target.databasePath);
    syncFolder(folder);
    return { attachments };
  } catch (error) {
    if (temporary !== undefined) for (const suffix of ['', '-wal', '-shm']) rmSync(temporary + suffix, { force: true });
    if (error instanceof FailedError) throw error;
    throw new FailedError(`The restore from ${src} failed (${(error as Error).message}); the database in place was not changed`, 'restore_failed');
  }
}

/** Folds the live database's WAL into its file; refuses while another command holds it open. */
function releaseLive(path: string): void {
  if (!existsSync(path)) return;
  const db = new Database(path, { fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
  if (existsSync(`${path}-wal`)) throw new FailedError('Another txplan command is using the database; run the restore again once it has finished', 'busy');
  rmSync(`${path}-shm`, { force: true });
}

function restoreAttachments(src: string, manifest: Manifest, dir: string): number {
  const photos = manifest.files.filter((f) => f.name.startsWith(`${ATTACHMENTS}/`));
  if (photos.length === 0) return 0;
  makeFolder(dir, 0o700);
  chmodSync(dir, 0o700); // an attachments folder that existed is made private again
  let restored = 0;
  for (const photo of photos) {
    const name = photo.name.slice(ATTACHMENTS.length + 1);
    const target = join(dir, name);
    if (existsSync(target) && lstatSync(target).isFile() && sha256(readFileSync(target)) === photo.sha256) continue;
    const data = readFileSync(join(src, photo.name));
    if (sha256(data) !== photo.sha256) throw new FailedError(`The backup ${src} changed while it was being restored: ${photo.name} no longer matches its manifest`, 'backup_damaged');
    renameSync(writeBeside(target, data, { sync: true }), target);
    restored++;
  }
  syncFolder(dir);
  return restored;
}

function writeExclusive(file: string, data: Buffer): void {
  const fd = openSync(file, EXCLUSIVE, 0o600);
  try {
    for (let offset = 0; offset < data.length; ) offset += writeSync(fd, data, offset, data.length - offset);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function syncFolder(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } catch {
    // some file systems cannot sync a folder; the renames are still atomic
  } finally {
    closeSync(fd);
  }
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

