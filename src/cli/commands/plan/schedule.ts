import { resolve } from 'node:path';
import type { Context } from '../../context.js';
import { renderTable } from '../../output/table.js';
import { findPlan, withStore } from '../../store.js';
import { resolveWorkspace } from '../../workspace.js';
import { FailedError } from '../../../errors.js';
import { loadRegistry } from '../../../registry/registry.js';
import { noCalendarReason, planCalendar, scheduleOf, type ScheduleEntry } from '../../../plans/steps.js';
import { writeFileAtomically } from '../../../files.js';
import { getAttachments, getSteps } from '../../../store/plans.js';
import { getClinic } from '../../../store/clinics.js';
import { databaseId } from '../../../store/database-info.js';

export async function run(ctx: Context, ref: string, opts: { ics?: string; force?: boolean }): Promise<number> {
  const registry = await loadRegistry(resolveWorkspace(ctx));
  return withStore(ctx, (store) => {
    const plan = findPlan(store, ref);
    const steps = getSteps(store, plan.id);
    const clinic = plan.clinic_id ? getClinic(store, plan.clinic_id) : undefined;
    const entries = scheduleOf(steps, getAttachments(store, plan.id), registry.services);
    const head = { id: plan.id, name: plan.name, status: plan.status, start_date: plan.start_date, end_date: plan.end_date, clinic: clinic ? { id: clinic.id, name: clinic.name, timezone: clinic.timezone, address: clinic.address } : null };

    let ics: { file: string; events: number } | undefined;
    if (opts.ics !== undefined) {
      const reason = noCalendarReason(plan, steps);
      if (reason) throw new FailedError(`No calendar written: ${reason}`, 'no_schedule');
      const file = resolve(ctx.cwd, opts.ics);
      const calendar = planCalendar({ plan, steps, services: registry.services, timeZone: clinic?.timezone ?? registry.settings.timezone, site: clinic?.id ?? 'workspace', ...(clinic ? { location: [clinic.name, clinic.address].filter(Boolean).join(', ') } : {}), databaseId: databaseId(store), now: ctx.now() });
      writeFileAtomically(file, calendar.text, opts.force ?? false);
      ics = { file, events: calendar.events };
    }

    if (ctx.options.json) {
      ctx.json({ plan: head, steps: entries, ...(ics ? { ics } : {}) });
      return 0;
    }
    if (ics) {
      ctx.out(`${ctx.color.green('✔')} Wrote ${ics.events} event${ics.events === 1 ? '' : 's'} (the steps still ahead) to ${ics.file}`);
      return 0;
    }
    ctx.streams.stdout.write(render(ctx, head, entries));
    return 0;
  });
}

function render(ctx: Context, head: { id: number; name: string; status: string; clinic: { name: string; timezone: string } | null }, entries: readonly ScheduleEntry[]): string {
  const { color } = ctx;
  const status = (e: ScheduleEntry) =>
    e.status === 'done' ? color.green(`done ${e.completed_on}`) : e.status === 'skipped' ? color.yellow(`skipped ${e.completed_on}`) : 'pending';
  const table = renderTable(
    ['N', 'WHEN', 'DATE', 'BOOKED', 'STATUS', 'SERVICES', 'NOTE'],
    entries.map((e) => [String(e.n), e.when, e.recommended_date ?? '', e.booked_at ?? '', status(e), e.services.map((s) => s.name).join(' + '), e.note ?? '']),
    { tty: ctx.tty, raw: ctx.options.raw, heading: (t) => color.dim(t) },
  );
  if (!ctx.tty) return table;
  const where = head.clinic ? ` · ${head.clinic.name}, times in ${head.clinic.timezone}` : '';
  const dates = entries.some((e) => e.recommended_date) ? '' : `${color.dim('Prescribed only: dates come when the program starts.')}\n`;
  return `${color.bold(`Plan ${head.id}`)} · ${head.name} · ${head.status.replace('_', ' ')}${where}\n\n${table}${dates}`;
}
