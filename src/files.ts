import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, constants, existsSync, fchmodSync, fsyncSync, linkSync, mkdirSync, openSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { FailedError } from './errors.js';

/**
 * Checks, before any work, that an output can go to `file`: an existing file
 * needs `force`, and a folder is never a file name.
 */
export function checkTarget(file: string, force: boolean): void {
  let isDirectory = false;
  try {
    isDirectory = statSync(file).isDirectory();
  } catch {
    return; // nothing there yet: the write itself reports a missing or unwritable folder
  }
  if (isDirectory) throw new FailedError(`${file} is a folder; give -o a file name such as ${join(file, 'plan.pdf')}, or use --out-dir`, 'is_directory');
  if (!force) throw new FailedError(`${file} already exists; choose another file or add --force to replace it`, 'file_exists');
}

/**
 * Writes an output file whole or not at all: a temporary file beside it, then
 * a rename (or, without `force`, a hard link, which never overwrites a file
 * that appeared meanwhile). What txplan writes (handouts, calendars) is about
 * patients, so the file is private to its owner (0600) unless `mode` says
 * otherwise (templates, which are shared through git).
 */
export function writeFileAtomically(file: string, bytes: Uint8Array | string, force: boolean, mode = 0o600): void {
  checkTarget(file, force);
  let temp: string | undefined;
  try {
    temp = writeBeside(file, bytes, { mode });
    if (force) renameSync(temp, file);
    else if (!placeNoClobber(temp, file)) throw new FailedError(`${file} already exists; choose another file or add --force to replace it`, 'file_exists');
  } catch (error) {
    if (error instanceof FailedError) throw error;
    throw new FailedError(writeProblem(file, error as NodeJS.ErrnoException), 'write_failed');
  } finally {
    if (temp !== undefined && existsSync(temp)) unlinkSync(temp);
  }
}

/**
 * Creates an empty temporary file beside `file` under a random name (not a
 * pid or a time, which another user could guess and plant a symlink at),
 * exclusively and never through a symlink (O_EXCL | O_NOFOLLOW), with `mode`
 * whatever the umask. The caller writes through `fd`, closes it, and renames
 * or removes `path`.
 */
export function createTempFile(file: string, mode = 0o600): { path: string; fd: number } {
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0);
  for (;;) {
    const path = join(dirname(file), `.${basename(file)}.${randomBytes(9).toString('base64url')}.tmp`);
    let fd: number;
    try {
      fd = openSync(path, flags, mode);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') continue; // a name taken by chance or by a plant: draw again
      throw error;
    }
    fchmodSync(fd, mode);
    return { path, fd };
  }
}

/**
 * Writes `bytes` whole into a new temporary file beside `file` (see
 * createTempFile) and returns its path, for the caller to rename into place;
 * with `sync`, the bytes are on disk before it returns. A failed write leaves
 * no temporary file behind.
 */
export function writeBeside(file: string, bytes: Uint8Array | string, { mode = 0o600, sync = false }: { mode?: number; sync?: boolean } = {}): string {
  const { path, fd } = createTempFile(file, mode);
  try {
    const data = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
    for (let at = 0; at < data.length; ) at += writeSync(fd, data, at, data.length - at);
    if (sync) fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    unlinkSync(path);
    throw error;
  }
  closeSync(fd);
  return path;
}

/**
 * Creates `dir` (and missing parents) with `mode` whatever the umask: mkdir's
 * own mode is masked by it, so each folder made here is chmod-ed after. A
 * folder that already existed keeps the mode its owner gave it.
 */
export function makeFolder(dir: string, mode: number): void {
  const first = mkdirSync(dir, { recursive: true, mode });
  if (first === undefined) return;
  for (let folder = dir; ; folder = dirname(folder)) {
    chmodSync(folder, mode);
    if (folder === first || dirname(folder) === folder) break;
  }
}

/** Moves `temp` to `file` unless `file` exists: a hard link where the file system allows it, else a checked rename. */
export function placeNoClobber(temp: string, file: string): boolean {
  try {
    linkSync(temp, file);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS' && code !== 'EXDEV') throw error;
    if (existsSync(file)) return false;
    renameSync(temp, file);
    return true;
  }
}

function writeProblem(file: string, error: NodeJS.ErrnoException): string {
  const folder = dirname(file);
  switch (error.code) {
    case 'ENOENT':
      return `Could not write ${file}: the folder ${folder} does not exist; create it or choose another path`;
    case 'ENOTDIR':
      return `Could not write ${file}: part of the path is a file, not a folder; choose another path`;
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return `Could not write ${file}: no permission to write in ${folder}; choose a folder you can write to`;
    case 'ENOSPC':
      return `Could not write ${file}: the disk is full; free some space and try again`;
    default:
      return `Could not write ${file}: ${error.message}; check the folder exists and is writable`;
  }
}
