import { chmodSync, closeSync, existsSync, renameSync, rmSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { createTempFile } from '../../../files.js';
import type { Context } from '../../context.js';
import { databasePath, withStore } from '../../store.js';
import { resolveWorkspace } from '../../workspace.js';
import { FailedError } from '../../../errors.js';
import { LATEST_VERSION } from '../../../store/migrations/index.js';
import { databaseHealth } from '../../../store/maintenance.js';
import { billingLock } from '../../../billing/lock.js';
import { describeHolder } from '../billing/unlock.js';

export async function check(ctx: Context): Promise<number> {
  return withStore(ctx, (store) => {
    const health = databaseHealth(store);
    const ok = health.integrity.length === 0 && health.foreignKeys.length === 0;
    const lock = billingLock(store);
    if (ctx.options.json) {
      const billing_lock = lock ? { pid: lock.pid, host: lock.host, since: lock.started_at, state: lock.state } : null;
      ctx.json({ id: databasePath(ctx, () => resolveWorkspace(ctx)), ok, schema_version: health.schemaVersion, latest_version: LATEST_VERSION, integrity: health.integrity, foreign_keys: health.foreignKeys, counts: health.counts, billing_lock });
    } else if (ok) {
      ctx.out(`${ctx.color.green('✔')} Database is sound: schema ${health.schemaVersion}, ${Object.entries(health.counts).map(([t, n]) => `${n} ${t}`).join(', ')}.`);
    } else {
      ctx.out([...health.integrity.map((p) => `integrity: ${p}`), ...health.foreignKeys.map((p) => `foreign key: ${p}`)].join('\n'));
    }
    if (lock && !ctx.options.json) {
      const hint = lock.state === 'alive' ? '' : lock.state === 'stale' ? '; the next billing run takes it over' : '; if no run is going on there, "txplan billing unlock" removes it';
      ctx.out(`billing lock: ${describeHolder(lock, lock.state)}${hint}`);
    }
    if (!ok) throw new FailedError(`The database ${store.db.name} is damaged (the problems are listed above): restore the latest backup with "txplan db restore <backup>", and check the disk`, 'db_corrupt');
    return 0;
  });
}

export async function backup(ctx: Context, file: string, opts: { force?: boolean }): Promise<number> {
  const target = resolve(ctx.cwd, file);
  if (existsSync(target) && !opts.force) throw new FailedError(`${file} exists; choose a new file name or add --force to replace it`, 'exists');
  if (!existsSync(dirname(target))) throw new FailedError(`The folder ${dirname(target)} does not exist; create it first`, 'no_folder');
  return withStore(ctx, async (store) => {
    // Back up into a private temporary file beside the target, then rename: never a half backup under the real name.
    const { path: temporary, fd } = createTempFile(target);
    closeSync(fd);
    try {
      await store.db.backup(temporary);
      chmodSync(temporary, 0o600);
      renameSync(temporary, target);
    } catch (error) {
      rmSync(temporary, { force: true });
      throw new FailedError(`The backup to ${file} failed: ${(error as Error).message}`, 'backup_failed');
    }
    if (ctx.options.json) ctx.json({ id: target, file: target });
    else ctx.out(`${ctx.color.green('✔')} Backed up the database to ${file} (private, mode 0600).`);
    return 0;
  });
}
