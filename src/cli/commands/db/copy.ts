import { existsSync, statSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Context } from '../../context.js';
import { databaseLocationOf, withStore } from '../../store.js';
import { resolveWorkspace } from '../../workspace.js';
import { FailedError, UsageError } from '../../../errors.js';
import { openPostgres } from '../../../store/postgres/open.js';
import { postgresProblem } from '../../../store/postgres/errors.js';
import { databaseError, openDatabase } from '../../../store/database.js';
import { namedDatabase, type DatabaseLocation } from '../../../store/location.js';
import { Store } from '../../../store/store.js';
import { copyDatabase, type TableCopy } from '../../../store/copy.js';
import { attachmentPathRewrite, photosExtra, sandboxLedgerExtra, type FilePlace } from '../../../store/copy-extras.js';
import { recordAudit } from '../../../store/audit.js';
import { databaseId } from '../../../store/database-info.js';

/**
 * `txplan db copy --to URL|FILE`: the whole database, its photos and the
 * sandbox processor's ledger into an empty database on either engine, from
 * one snapshot and in one transaction, each table verified on both sides.
 */
export async function copy(ctx: Context, opts: { to?: string }): Promise<number> {
  if (!opts.to || opts.to.trim() === '') throw new UsageError('Say where to copy the database: --to postgres://USER@HOST/DATABASE, or --to FILE for a new SQLite file');
  const from = databaseLocationOf(ctx, () => resolveWorkspace(ctx));
  const to = namedDatabase(opts.to, ctx.cwd, '--to');
  if (to.engine === 'sqlite' && from.engine === 'sqlite' && to.path === from.path) throw new UsageError(`--to names the database being copied (${from.display}); name a new file or a postgres:// URL`);
  if (to.engine === 'sqlite' && existsSync(to.path) && statSync(to.path).size > 0) {
    throw new FailedError(`The file ${to.path} already exists; db copy writes only a new database: choose another file name (or move that file away); nothing was changed`, 'copy_target_not_empty');
  }
  return withStore(ctx, (source) => {
    const createdFile = to.engine === 'sqlite' && !existsSync(to.path) ? to.path : undefined;
    const target = openTarget(ctx, to);
    let tables: TableCopy[];
    try {
      const sourcePlace = from.engine === 'sqlite' ? filePlace(ctx, from.path) : undefined;
      const targetPlace = to.engine === 'sqlite' ? filePlace(ctx, to.path) : undefined;
      tables = copyDatabase(source, target, [photosExtra(source, sourcePlace, target, targetPlace), sandboxLedgerExtra(source, sourcePlace, target, targetPlace)], {
        rewrite: { attachments: attachmentPathRewrite(target, targetPlace) },
        finish: (copied) =>
          recordAudit(target, {
            at: ctx.now().toISOString(),
            actor: ctx.actor,
            action: 'db.copy',
            entity: 'database',
            entityId: databaseId(target),
            after: { from: from.display, engine: source.kind, rows: Object.fromEntries(copied.map((t) => [t.table, t.rows])) },
          }),
      });
    } catch (error) {
      target.close();
      if (createdFile) for (const file of [createdFile, `${createdFile}-wal`, `${createdFile}-shm`]) if (existsSync(file)) unlinkSync(file);
      const problem = (to.engine === 'sqlite' ? databaseError(error, to.path) : postgresProblem(error, to.display)) ?? error;
      if (problem instanceof FailedError && !/nothing was (copied|changed)/.test(problem.message)) {
        throw new FailedError(`${problem.message.replace(/[.;]\s*$/, '')}; the copy was not made: ${to.display} is left as it was`, problem.code);
      }
      throw problem;
    }
    target.close();
    if (ctx.options.json) {
      ctx.json({ id: to.display, from: from.display, to: to.display, engine: to.engine, tables: tables.map((t) => ({ table: t.table, rows: t.rows, digest: t.digest, verified: true })) });
      return 0;
    }
    const width = Math.max(...tables.map((t) => t.table.length));
    const counts = tables.map((t) => t.rows.toLocaleString('en-US'));
    const countWidth = Math.max(...counts.map((c) => c.length));
    for (const [i, t] of tables.entries()) {
      ctx.out(`  ${t.table.padEnd(width)}  ${counts[i]!.padStart(countWidth)} ${t.rows === 1 ? 'row ' : 'rows'}  ${ctx.color.green('✔')} same on both sides`);
    }
    // A password is never printed: then the URL is the one given to --to.
    const pointAt = to.engine === 'sqlite' ? `TXPLAN_DB=${to.path}` : to.display === to.url ? `TXPLAN_DB=${to.url}` : 'TXPLAN_DB set to the URL given to --to';
    ctx.out(
      `${ctx.color.green('✔')} Copied ${from.display} to ${to.display}. To use the copy, point txplan at it (${pointAt}, or database: in txplan.yaml); ` +
        `${from.display} is untouched: keep it as it is, and bill only from the new one.`,
    );
    return 0;
  });
}

function openTarget(ctx: Context, to: DatabaseLocation): Store {
  if (to.engine === 'postgres') return new Store(openPostgres({ url: to.url, display: to.display, now: ctx.now().toISOString() }));
  try {
    return new Store(openDatabase(to.path));
  } catch (error) {
    throw databaseError(error, to.path) ?? error;
  }
}

/** Photos live in the workspace's .txplan/attachments (paths relative to its root); with only --db, beside the database. */
function filePlace(ctx: Context, path: string): FilePlace {
  const ledgerPath = join(dirname(path), 'sandbox-gateway.db');
  try {
    const workspace = resolveWorkspace(ctx);
    return { root: workspace.root, attachmentsDir: join(workspace.dataDir, 'attachments'), ledgerPath };
  } catch {
    return { root: dirname(path), attachmentsDir: join(dirname(path), 'attachments'), ledgerPath };
  }
}
