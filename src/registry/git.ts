import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { realpath } from 'node:fs/promises';
import { relative, sep } from 'node:path';

const run = promisify(execFile);

/** The top of the git work tree holding `dir`, or undefined when there is none (or no git). */
export async function gitTopLevel(dir: string): Promise<string | undefined> {
  try {
    const { stdout } = await run('git', ['-C', dir, 'rev-parse', '--show-toplevel'], { encoding: 'utf8' });
    return await realpath(stdout.trim());
  } catch {
    return undefined;
  }
}

export async function gitAvailable(): Promise<boolean> {
  try {
    await run('git', ['--version']);
    return true;
  } catch {
    return false;
  }
}

/** The commit a revision names, or undefined when it names none here. */
export async function resolveCommit(top: string, revision: string): Promise<string | undefined> {
  try {
    const { stdout } = await run('git', ['-C', top, 'rev-parse', '--verify', '--quiet', '--end-of-options', `${revision}^{commit}`], { encoding: 'utf8' });
    return stdout.trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Path of `absolute` inside the work tree at `top`, with forward slashes as git writes it. */
export async function pathInRepository(top: string, absolute: string): Promise<string | undefined> {
  const real = await realpath(absolute).catch(() => absolute);
  const rel = relative(top, real);
  if (rel.startsWith('..')) return undefined;
  return rel.split(sep).join('/');
}

/**
 * Reads many files at one commit with a single `git cat-file --batch`.
 * Missing paths map to undefined.
 */
export async function readAtCommit(top: string, commit: string, paths: readonly string[]): Promise<Map<string, Buffer | undefined>> {
  const result = new Map<string, Buffer | undefined>();
  if (paths.length === 0) return result;
  const child = spawn('git', ['-C', top, 'cat-file', '--batch'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const chunks: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
  const done = new Promise<void>((resolvePromise, reject) => {
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolvePromise() : reject(new Error(`git cat-file exited with ${code}`))));
  });
  child.stdin.end(paths.map((p) => `${commit}:${p}\n`).join(''));
  await done;
  const out = Buffer.concat(chunks);
  let offset = 0;
  for (const path of paths) {
    const newline = out.indexOf(10, offset);
    const header = out.subarray(offset, newline).toString('utf8');
    offset = newline + 1;
    const match = /^[0-9a-f]+ (\w+) (\d+)$/.exec(header);
    if (!match) {
      result.set(path, undefined); // "<object> missing"
      continue;
    }
    const size = Number(match[2]);
    result.set(path, match[1] === 'blob' ? out.subarray(offset, offset + size) : undefined);
    offset += size + 1;
  }
  return result;
}

/** Makes `dir` a git repository unless it already lies inside one; says what it did. */
export async function initRepository(dir: string): Promise<'created' | 'inside-repository' | 'no-git'> {
  if (!(await gitAvailable())) return 'no-git';
  if (await gitTopLevel(dir)) return 'inside-repository';
  await run('git', ['init', '--quiet', dir]);
  return 'created';
}

export interface FileProvenance {
  commit: string | null;
  /** True when the working copy differs from that commit (or the file is untracked); null outside git. */
  dirty: boolean | null;
}

/** The last commit that touched a file, and whether it has uncommitted changes. */
export async function fileProvenance(absolute: string): Promise<FileProvenance> {
  const dir = absolute.slice(0, absolute.lastIndexOf('/')) || '/';
  const top = await gitTopLevel(dir);
  if (!top) return { commit: null, dirty: null };
  const path = await pathInRepository(top, absolute);
  if (path === undefined) return { commit: null, dirty: null };
  // A repository without commits makes `git log` fail; the file is then simply uncommitted.
  const [log, status] = await Promise.all([
    run('git', ['-C', top, 'log', '-1', '--format=%H', '--', path], { encoding: 'utf8' }).catch(() => ({ stdout: '' })),
    run('git', ['-C', top, 'status', '--porcelain', '--', path], { encoding: 'utf8' }).catch(() => undefined),
  ]);
  if (!status) return { commit: null, dirty: null };
  return { commit: log.stdout.trim() || null, dirty: status.stdout.trim() !== '' };
}

/** Each commit that touched a file, newest first, with the file's content there. */
export async function fileHistory(absolute: string): Promise<Array<{ commit: string; content: Buffer }>> {
  const dir = absolute.slice(0, absolute.lastIndexOf('/')) || '/';
  const top = await gitTopLevel(dir);
  if (!top) return [];
  const path = await pathInRepository(top, absolute);
  if (path === undefined) return [];
  const { stdout } = await run('git', ['-C', top, 'log', '--format=%H', '--', path], { encoding: 'utf8' });
  const commits = stdout.split('\n').filter(Boolean);
  const history: Array<{ commit: string; content: Buffer }> = [];
  for (const commit of commits) {
    const content = (await readAtCommit(top, commit, [path])).get(path);
    if (content) history.push({ commit, content });
  }
  return history;
}

/** Commits everything in a fresh repository under a fixed identity (the demo's starting point). */
export async function commitAll(dir: string, message: string): Promise<void> {
  await runGit(dir, ['add', '-A']);
  await runGit(dir, ['commit', '--quiet', '--no-verify', '-m', message]);
}

/**
 * Runs one git command in the demo's repository under the same fixed
 * identity, never signing (a user's signing set-up would ask for a key); its
 * output, trimmed.
 */
export async function runGit(dir: string, args: readonly string[]): Promise<string> {
  const identity = { GIT_AUTHOR_NAME: 'txplan', GIT_AUTHOR_EMAIL: 'txplan@localhost', GIT_COMMITTER_NAME: 'txplan', GIT_COMMITTER_EMAIL: 'txplan@localhost' };
  const { stdout } = await run('git', ['-C', dir, '-c', 'commit.gpgsign=false', ...args], { encoding: 'utf8', env: { ...process.env, ...identity } });
  return stdout.trim();
}
