import { dirname, join, resolve } from 'node:path';
import type { Context } from '../../context.js';
import { databaseLocationOf, databasePath, withStore } from '../../store.js';
import { resolveWorkspace, workspaceZone } from '../../workspace.js';
import { CancelledError, FailedError, UsageError } from '../../../errors.js';
import { formatInstant } from '../../../domain/instants.js';
import { newerThanBackup, restoreBackup, verifyBackup, writeBackup } from '../../../store/backup.js';
import { highWaterFile } from '../../../store/high-water.js';
import { LATEST_VERSION } from '../../../store/migrations/index.js';
import { databaseHealth } from '../../../store/maintenance.js';
import { billingLock, describeHolder } from '../../../billing/lock.js';

export async function check(ctx: Context): Promise<number> {
  return withStore(ctx, (store) => {
    const health = databaseHealth(store);
    const ok = health.integrity.length === 0 && health.foreignKeys.length === 0 && health.drift.length === 0 && health.cardNumbers.length === 0;
    const cards = health.cardNumbers.map((c) => `card number: ${c.table}.${c.column} in row ${c.row} looks like it holds a card number (not shown); remove it`);
    const lock = billingLock(store);
    if (ctx.options.json) {
      const billing_lock = lock ? { pid: lock.pid, host: lock.host, since: lock.started_at, state: lock.state } : null;
      ctx.json({ id: databaseLocationOf(ctx, () => resolveWorkspace(ctx)).display, ok, schema_version: health.schemaVersion, latest_version: LATEST_VERSION, engine: store.kind, integrity: health.integrity, drift: health.drift, foreign_keys: health.foreignKeys, card_numbers: health.cardNumbers, counts: health.counts, billing_lock });
    } else if (ok) {
      ctx.out(`${ctx.color.green('✔')} Database is sound: ${store.kind === 'postgres' ? 'PostgreSQL, ' : ''}schema ${health.schemaVersion} (no drift), ${Object.entries(health.counts).map(([t, n]) => `${n} ${t}`).join(', ')}.`);
    } else {
      ctx.out([`schema ${health.schemaVersion}`, ...health.integrity.map((p) => `integrity: ${p}`), ...health.drift.map((p) => `drift: ${p}`), ...health.foreignKeys.map((p) => `foreign key: ${p}`), ...cards].join('\n'));
    }
    if (lock && !ctx.options.json) {
      const hint = lock.state === 'alive' ? '' : lock.state === 'stale' ? '; the next billing run takes it over' : '; if no run is going on there, "txplan billing unlock" removes it';
      ctx.out(`billing lock: ${describeHolder(lock, lock.state, workspaceZone(ctx))}${hint}`);
    }
    if (health.cardNumbers.length > 0 && health.integrity.length === 0 && health.foreignKeys.length === 0 && health.drift.length === 0) {
      throw new FailedError(`The database check found ${health.cardNumbers.length === 1 ? 'a value' : `${health.cardNumbers.length} values`} that look like card numbers (listed above by table, column and row); txplan never keeps card numbers, so remove them`, 'card_number');
    }
    if (health.integrity.length === 0 && health.foreignKeys.length === 0 && health.drift.length > 0) {
      throw new FailedError(`The schema of ${store.name} differs from the one txplan's migrations build (listed above): someone changed it by hand; undo those changes, or copy the data into a new database with "txplan db copy"`, 'db_drift');
    }
    if (!ok) {
      const fix = store.kind === 'postgres' ? 'restore it from the server\'s backups (pg_dump, base backups)' : 'restore the latest backup with "txplan db restore <backup>", and check the disk';
      throw new FailedError(`The database ${store.name} is damaged (the problems are listed above): ${fix}`, 'db_corrupt');
    }
    return 0;
  });
}

export async function backup(ctx: Context, dest: string): Promise<number> {
  const target = resolve(ctx.cwd, dest);
  return withStore(ctx, async (store) => {
    const path = databasePath(ctx, () => resolveWorkspace(ctx), '"txplan db backup"');
    const manifest = await writeBackup(target, { store, attachmentsDir: attachmentsDir(ctx, path), ledgerPath: join(dirname(path), 'sandbox-gateway.db'), now: ctx.now() });
    if (ctx.options.json) ctx.json({ id: target, folder: target, ...manifest });
    else {
      const photos = manifest.files.filter((f) => f.name.startsWith('attachments/')).length;
      const ledger = manifest.files.some((f) => f.name === 'sandbox-gateway.db') ? ', the sandbox processor\'s ledger' : '';
      ctx.out(`${ctx.color.green('✔')} Backed up the database, ${photos} attachment${photos === 1 ? '' : 's'}${ledger} and a manifest of their hashes to ${dest} (private: folder 0700, files 0600).`);
    }
    return 0;
  });
}

export async function restore(ctx: Context, src: string, opts: { force?: boolean }): Promise<number> {
  const folder = resolve(ctx.cwd, src);
  // A PostgreSQL database is never restored from a txplan backup folder, whatever the folder holds: say so first.
  const path = databasePath(ctx, () => resolveWorkspace(ctx), '"txplan db restore"');
  const manifest = verifyBackup(folder);
  if (!ctx.interactive && !ctx.options.yes) throw new UsageError('Restoring replaces the database; add --yes to confirm when not at a terminal');
  const target = { databasePath: path, attachmentsDir: attachmentsDir(ctx, path), highWaterFile: highWaterFile(path) };
  const newer = newerThanBackup(folder, target);
  if (newer && !opts.force) throw new FailedError(`Not restored: ${newer}, and restoring would lose that; add --force to restore the backup anyway`, 'database_newer');
  if (ctx.interactive) {
    const prompter = await ctx.prompter();
    if (!(await prompter.confirm(`Replace the database with the backup made ${formatInstant(manifest.created_at, workspaceZone(ctx))}${newer ? ` (${newer})` : ''}?`, false))) throw new CancelledError();
  }
  const result = restoreBackup(folder, manifest, target, { actor: ctx.actor, now: ctx.now() });
  const note = 'The payment processor keeps its own records (never rolled back): run "txplan billing reconcile" before billing again.';
  if (ctx.options.json) ctx.json({ id: path, restored_from: folder, created_at: manifest.created_at, database_id: manifest.database_id, attachments_restored: result.attachments });
  else ctx.out(`${ctx.color.green('✔')} Restored the database from the backup made ${formatInstant(manifest.created_at, workspaceZone(ctx))}${result.attachments ? ` and ${result.attachments} attachment${result.attachments === 1 ? '' : 's'}` : ''}. ${note}`);
  return 0;
}

/** Photos live in the workspace's .txplan/attachments; with only --db, beside the database. */
function attachmentsDir(ctx: Context, path: string): string {
  try {
    return join(resolveWorkspace(ctx).dataDir, 'attachments');
  } catch {
    return join(dirname(path), 'attachments');
  }
}
