import type { Context } from '../../context.js';
import { renderTable } from '../../output/table.js';
import { withStore } from '../../store.js';
import { resolveWorkspace, workspaceZone } from '../../workspace.js';
import { UsageError } from '../../../errors.js';
import { endOf, formatInstant, parseMoment, startOf } from '../../../domain/instants.js';
import { moneyWords } from '../../../domain/money.js';
import { templateVersionWords } from '../../../domain/versions.js';
import { readSettings } from '../../../registry/settings.js';
import { listAudit } from '../../../store/audit.js';

export async function run(ctx: Context, opts: { entity?: string; id?: string; since?: string; until?: string; limit?: string; reverse?: boolean }): Promise<number> {
  if (opts.id !== undefined && opts.entity === undefined) throw new UsageError('--id needs --entity, e.g. --entity plan --id 12');
  if (opts.limit !== undefined && !/^[1-9]\d*$/.test(opts.limit)) throw new UsageError(`--limit "${opts.limit}" is not a positive whole number`);
  // Entries are stamped in UTC; what is typed is read in the workspace's time zone (txplan.yaml timezone).
  const zone = opts.since !== undefined || opts.until !== undefined ? workspaceZone(ctx) : 'UTC';
  const moment = (flag: string, text: string) => {
    const parsed = parseMoment(text, zone);
    if (!parsed) throw new UsageError(`${flag} "${text}" is not a date or time; write YYYY-MM-DD or YYYY-MM-DDTHH:MM (read in ${zone}), or add Z or an offset`);
    return parsed;
  };
  const since = opts.since !== undefined ? startOf(moment('--since', opts.since), zone) : undefined;
  const before = opts.until !== undefined ? endOf(moment('--until', opts.until), zone) : undefined;
  if (since && before && before <= since) throw new UsageError(`--until ${opts.until} is before --since ${opts.since}; swap them`);
  return withStore(ctx, (store) => {
    const found = listAudit(store, { entity: opts.entity, id: opts.id, since: since?.toISOString(), before: before?.toISOString(), limit: opts.limit !== undefined ? Number(opts.limit) : undefined });
    // Newest first, like git log; --reverse prints the same entries oldest first.
    const entries = opts.reverse ? found : found.reverse();
    if (ctx.options.json) {
      ctx.json(entries);
      return 0;
    }
    // Times in the workspace's zone (where --since and --until are read), amounts as money, template versions as v3.
    const shownZone = workspaceZone(ctx);
    const currency = workspaceCurrency(ctx);
    const brief = (value: unknown) => {
      if (value === null || value === undefined) return '';
      const text = JSON.stringify(moneyWords(templateVersionWords(value), currency));
      return ctx.tty && text.length > 80 ? `${text.slice(0, 77)}…` : text;
    };
    ctx.streams.stdout.write(
      renderTable(
        ['ID', 'AT', 'ACTOR', 'ACTION', 'ENTITY', 'BEFORE', 'AFTER'],
        entries.map((e) => [String(e.id), formatInstant(e.at, shownZone), e.actor, e.action, `${e.entity} ${e.entity_id}`, brief(e.before), brief(e.after)]),
        { tty: ctx.tty, raw: ctx.options.raw, heading: (t) => ctx.color.dim(t) },
      ),
    );
    return 0;
  });
}

/** The workspace's currency, for amounts recorded without one; none when the database is used without a workspace (--db). */
function workspaceCurrency(ctx: Context): string | undefined {
  try {
    return readSettings(resolveWorkspace(ctx)).currency;
  } catch {
    return undefined;
  }
}
