import type { Context } from '../../context.js';
import { renderTable } from '../../output/table.js';
import { withStore } from '../../store.js';
import { listClinics } from '../../../store/clinics.js';

export async function run(ctx: Context, opts: { all?: boolean } = {}): Promise<number> {
  const clinics = await withStore(ctx, (store) => listClinics(store, { all: opts.all ?? false }));
  if (ctx.options.json) {
    ctx.json(clinics);
    return 0;
  }
  const { color, tty } = ctx;
  const blank = tty ? color.dim('-') : '';
  const rows = clinics.map((c) => [color.bold(c.id), c.name, c.timezone, c.address ?? blank, c.phone ?? blank, c.currency ?? blank, c.locale ?? blank, ...(opts.all ? [c.archived_at ? 'archived' : 'in use'] : [])]);
  const headings = ['ID', 'NAME', 'TIMEZONE', 'ADDRESS', 'PHONE', 'CURRENCY', 'LOCALE', ...(opts.all ? ['STATUS'] : [])];
  if (rows.length > 0) ctx.streams.stdout.write(renderTable(headings, rows, { tty, raw: ctx.options.raw, heading: (t) => color.dim(t) }));
  else ctx.err('No clinics yet; add one with "txplan clinic add <id> --name NAME".');
  return 0;
}
