import { chmodSync, closeSync, existsSync, openSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, resolve, basename } from 'node:path';
import type { Context } from '../../context.js';
import { databasePath, withStore } from '../../store.js';
import { resolveWorkspace } from '../../workspace.js';
import { FailedError } from '../../../errors.js';
import { LATEST_VERSION } from '../../../store/migrations/index.js';
import { databaseHealth } from '../../../store/maintenance.js';

export async function check(ctx: Context): Promise<number> {
  return withStore(ctx, (store) => {
    const health = databaseHealth(store);
    const ok = health.integrity.length === 0 && health.foreignKeys.length === 0 && health.cardNumbers.length === 0;
    const cards = health.cardNumbers.map((c) => `card number: ${c.table}.${c.column} in row ${c.row} looks like it holds a card number (not shown); remove it`);
    if (ctx.options.json) {
      ctx.json({ id: databasePath(ctx, () => resolveWorkspace(ctx)), ok, schema_version: health.schemaVersion, latest_version: LATEST_VERSION, integrity: health.integrity, foreign_keys: health.foreignKeys, card_numbers: health.cardNumbers, counts: health.counts });
    } else if (ok) {
      ctx.out(`${ctx.color.green('✔')} Database is sound: schema ${health.schemaVersion}, ${Object.entries(health.counts).map(([t, n]) => `${n} ${t}`).join(', ')}.`);
    } else {
      ctx.out([...health.integrity.map((p) => `integrity: ${p}`), ...health.foreignKeys.map((p) => `foreign key: ${p}`), ...cards].join('\n'));
    }
    if (health.cardNumbers.length > 0 && health.integrity.length === 0 && health.foreignKeys.length === 0) {
      throw new FailedError(`The database check found ${health.cardNumbers.length === 1 ? 'a value' : `${health.cardNumbers.length} values`} that look like card numbers (listed above by table, column and row); txplan never keeps card numbers, so remove them`, 'card_number');
    }
    if (!ok) throw new FailedError('The database check found problems (listed above); restore the most recent backup (made with "txplan db backup") and check the disk', 'db_corrupt');
    return 0;
  });
}

export async function backup(ctx: Context, file: string, opts: { force?: boolean }): Promise<number> {
  const target = resolve(ctx.cwd, file);
  if (existsSync(target) && !opts.force) throw new FailedError(`${file} exists; choose a new file name or add --force to replace it`, 'exists');
  if (!existsSync(dirname(target))) throw new FailedError(`The folder ${dirname(target)} does not exist; create it first`, 'no_folder');
  return withStore(ctx, async (store) => {
    // Back up into a private temporary file beside the target, then rename: never a half backup under the real name.
    const temporary = join(dirname(target), `.${basename(target)}.${process.pid}.partial`);
    closeSync(openSync(temporary, 'w', 0o600));
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
