import type { Context } from '../../context.js';
import { renderTable } from '../../output/table.js';
import { withStore } from '../../store.js';
import { UsageError } from '../../../errors.js';
import { parseDate } from '../../../domain/dates.js';
import { listAudit } from '../../../store/audit.js';

export async function run(ctx: Context, opts: { entity?: string; id?: string; since?: string; limit?: string }): Promise<number> {
  if (opts.id !== undefined && opts.entity === undefined) throw new UsageError('--id needs --entity, e.g. --entity plan --id 12');
  if (opts.since !== undefined && !parseDate(opts.since) && Number.isNaN(Date.parse(opts.since))) throw new UsageError(`--since "${opts.since}" is not a date; write YYYY-MM-DD`);
  if (opts.limit !== undefined && !/^[1-9]\d*$/.test(opts.limit)) throw new UsageError(`--limit "${opts.limit}" is not a positive whole number`);
  // Entries are stamped in UTC (ISO 8601); a bare date means from that day's start.
  const since = opts.since === undefined ? undefined : parseDate(opts.since) ? `${opts.since}T00:00:00.000Z` : new Date(opts.since).toISOString();
  return withStore(ctx, (store) => {
    const entries = listAudit(store, { entity: opts.entity, id: opts.id, since, limit: opts.limit !== undefined ? Number(opts.limit) : undefined });
    if (ctx.options.json) {
      ctx.json(entries);
      return 0;
    }
    const brief = (value: unknown) => {
      if (value === null || value === undefined) return '';
      const text = JSON.stringify(value);
      return ctx.tty && text.length > 80 ? `${text.slice(0, 77)}…` : text;
    };
    ctx.streams.stdout.write(
      renderTable(
        ['ID', 'AT', 'ACTOR', 'ACTION', 'ENTITY', 'BEFORE', 'AFTER'],
        entries.map((e) => [String(e.id), e.at.replace('T', ' ').replace(/\.\d+Z$/, 'Z'), e.actor, e.action, `${e.entity} ${e.entity_id}`, brief(e.before), brief(e.after)]),
        { tty: ctx.tty, raw: ctx.options.raw, heading: (t) => ctx.color.dim(t) },
      ),
    );
    return 0;
  });
}
