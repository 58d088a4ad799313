import type { Context } from '../../context.js';
import { renderTable } from '../../output/table.js';
import { withStore } from '../../store.js';
import { listClinics } from '../../../store/clinics.js';

export async function run(ctx: Context, opts: { all?: boolean } = {}): Promise<number> {
  const { clinics, archived } = await withStore(ctx, (store) => {
    const shown = listClinics(store, { all: opts.all ?? false });
    return { clinics: shown, archived: shown.length === 0 && !opts.all ? listClinics(store, { all: true }).length : 0 };
  });
  if (ctx.options.json) {
    ctx.json(clinics);
    return 0;
  }
  const { color, tty } = ctx;
  const blank = tty ? color.dim('-') : '';
  const rows = clinics.map((c) => [color.bold(c.id), c.name, c.timezone, c.address ?? blank, c.phone ?? blank, c.currency ?? blank, c.locale ?? blank, ...(opts.all ? [c.archived_at ? 'archived' : 'in use'] : [])]);
  const headings = ['ID', 'NAME', 'TIMEZONE', 'ADDRESS', 'PHONE', 'CURRENCY', 'LOCALE', ...(opts.all ? ['STATUS'] : [])];
  if (rows.length > 0) ctx.streams.stdout.write(renderTable(headings, rows, { tty, raw: ctx.options.raw, heading: (t) => color.dim(t) }));
  else if (archived > 0) ctx.err(`No clinics in use; ${archived} archived ("txplan clinic list --all" shows them, "txplan clinic unarchive <id>" brings one back).`);
  else ctx.err('No clinics yet; add one with "txplan clinic add <id> --name NAME".');
  return 0;
}
