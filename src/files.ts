import { existsSync, linkSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
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
 * patients, so the file is private to its owner (0600), like the database.
 */
export function writeFileAtomically(file: string, bytes: Uint8Array | string, force: boolean): void {
  checkTarget(file, force);
  const temp = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
  try {
    writeFileSync(temp, bytes, { mode: 0o600 });
    if (force) renameSync(temp, file);
    else if (!placeNoClobber(temp, file)) throw new FailedError(`${file} already exists; choose another file or add --force to replace it`, 'file_exists');
  } catch (error) {
    if (error instanceof FailedError) throw error;
    throw new FailedError(writeProblem(file, error as NodeJS.ErrnoException), 'write_failed');
  } finally {
    if (existsSync(temp)) unlinkSync(temp);
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
