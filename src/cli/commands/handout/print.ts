import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Context } from '../../context.js';
import { progressBar } from '../../progress.js';
import { findPlan, withStore } from '../../store.js';
import { resolveWorkspace } from '../../workspace.js';
import { FailedError, TxplanError, UsageError } from '../../../errors.js';
import { loadRegistry, templateIds, type Registry } from '../../../registry/registry.js';
import { getPlan, listPlans } from '../../../store/plans.js';
import type { Store } from '../../../store/store.js';
import { loadHandout } from '../../../handout/load.js';
import { coverHandout, listCharacters, type Uncovered } from '../../../handout/cover.js';
import { renderHandout, type Paper } from '../../../handout/render.js';
import { renderHandoutHtml } from '../../../handout/html.js';
import { checkTarget, makeFolder as makePrivateFolder, writeFileAtomically } from '../../../files.js';
import { PLAN_STATUSES, type PlanRow, type PlanStatus } from '../../../domain/records.js';

export type HandoutFormat = 'pdf' | 'html';

export interface HandoutOptions {
  format?: HandoutFormat;
  output?: string;
  paper?: Paper;
  force?: boolean;
  status?: string;
  outDir?: string;
}

interface Written {
  id: number;
  file: string;
  /** PDF pages; a web page has none. */
  pages?: number;
  /** Text the handout's fonts cannot draw, printed transliterated or as a notice instead (see handout/cover.ts). */
  uncovered: Uncovered[];
}

/** The commander wiring's one verb: a single plan, or every plan in a status. */
export async function run(ctx: Context, ref: string | undefined, opts: HandoutOptions): Promise<number> {
  if (ref !== undefined && opts.status !== undefined) throw new UsageError('Give a plan id or --status, not both');
  if (ref === undefined && opts.status === undefined) throw new UsageError('Name a plan ("txplan handout 12") or a status ("txplan handout --status active --out-dir DIR")');
  if (opts.output !== undefined && opts.outDir !== undefined) throw new UsageError('Give -o FILE or --out-dir DIR, not both');
  const format = opts.format ?? 'pdf';
  if (format === 'html' && opts.paper !== undefined) throw new UsageError('--paper sizes the PDF; a web page fits the screen and prints on the printer\'s paper: drop --paper or use --format pdf');
  const kind = format === 'html' ? 'web page' : 'PDF';
  if (opts.status !== undefined) {
    if (!(PLAN_STATUSES as readonly string[]).includes(opts.status)) throw new UsageError(`"${opts.status}" is not a plan status; use one of ${PLAN_STATUSES.join(', ')}`);
    if (opts.output !== undefined) throw new UsageError(`-o names one file; with --status, use --out-dir DIR for one ${kind} per plan`);
    if (opts.outDir === undefined) throw new UsageError(`--status writes one ${kind} per plan; add --out-dir DIR to say where`);
    return batch(ctx, opts.status as PlanStatus, opts.outDir, opts);
  }
  return single(ctx, ref!, opts);
}

async function single(ctx: Context, ref: string, opts: HandoutOptions): Promise<number> {
  const registry = await loadRegistry(resolveWorkspace(ctx));
  const paper = opts.paper ?? registry.settings.paper;
  const force = opts.force ?? false;
  const gone = await missingTemplates(registry);
  return withStore(ctx, async (store) => {
    const plan = findPlan(store, ref);
    const format = opts.format ?? 'pdf';
    const file = resolve(ctx.cwd, opts.output ?? join(opts.outDir ?? '.', fileName(plan.id, format)));
    if (opts.outDir !== undefined) makeFolder(resolve(ctx.cwd, opts.outDir));
    // Refuse an existing file before spending the time to render.
    checkTarget(file, force);
    const written = await print(store, registry, plan, file, format, paper, force, ctx.now());
    const notes = gone.has(plan.template_id) ? [deletedTemplateNote([plan])] : [];
    warnUncovered(ctx, written);
    if (ctx.options.json) {
      ctx.json(format === 'html' ? { ...shown(written), format, notes } : { ...shown(written), paper, notes });
      return 0;
    }
    for (const note of notes) ctx.err(`${ctx.colorErr.yellow('note:')} ${note}`);
    if (format === 'html') ctx.out(`${ctx.color.green('✔')} Wrote the handout of plan ${plan.id} as a web page to ${file}`);
    else ctx.out(`${ctx.color.green('✔')} Wrote the handout of plan ${plan.id} (${pages(written.pages ?? 0)}, ${paperName(paper)}) to ${file}`);
    return 0;
  });
}

async function batch(ctx: Context, status: PlanStatus, outDir: string, opts: HandoutOptions): Promise<number> {
  const registry = await loadRegistry(resolveWorkspace(ctx));
  const paper = opts.paper ?? registry.settings.paper;
  const force = opts.force ?? false;
  const format = opts.format ?? 'pdf';
  const dir = resolve(ctx.cwd, outDir);
  const gone = await missingTemplates(registry);
  return withStore(ctx, async (store) => {
    const ids = listPlans(store, { status }).map((p) => p.id);
    if (ids.length > 0) makeFolder(dir);
    const written: Written[] = [];
    const failed: Array<{ id: number; error: { code: string; message: string } }> = [];
    const fromDeleted: PlanRow[] = [];
    const progress = await progressBar(ctx, 'Handouts', ids.length);
    const now = ctx.now();
    try {
      for (const [index, id] of ids.entries()) {
        try {
          const plan = getPlan(store, id);
          if (!plan) throw new FailedError(`Plan ${id} was deleted while the handouts were printing`, 'not_found');
          const done = await print(store, registry, plan, join(dir, fileName(id, format)), format, paper, force, now);
          written.push(done);
          warnUncovered(ctx, done);
          if (gone.has(plan.template_id)) fromDeleted.push(plan);
        } catch (error) {
          // One plan's problem is reported; the others still print.
          failed.push({ id, error: describe(error) });
        }
        progress.update(index + 1, ids.length);
      }
    } finally {
      progress.stop();
    }
    const notes = fromDeleted.length ? [deletedTemplateNote(fromDeleted)] : [];
    if (ctx.options.json) {
      ctx.json(format === 'html' ? { status, out_dir: dir, format, handouts: written.map(shown), failed, notes } : { status, out_dir: dir, paper, handouts: written.map(shown), failed, notes });
      return failed.length ? 1 : 0;
    }
    for (const note of notes) ctx.err(`${ctx.colorErr.yellow('note:')} ${note}`);
    for (const f of failed) ctx.err(`${ctx.colorErr.red('✖')} plan ${f.id}: ${f.error.message}`);
    if (ids.length === 0) {
      ctx.out(`No ${status.replace('_', ' ')} plans: no handouts written.`);
      return 0;
    }
    const total = written.reduce((sum, w) => sum + (w.pages ?? 0), 0);
    const what = format === 'html' ? 'as web pages' : `(${pages(total)}, ${paperName(paper)})`;
    if (written.length) ctx.out(`${ctx.color.green('✔')} Wrote ${written.length} handout${written.length === 1 ? '' : 's'} ${what} to ${dir}`);
    if (failed.length) ctx.out(`${ctx.color.red('✖')} ${failed.length} of ${ids.length} handout${ids.length === 1 ? '' : 's'} failed; see the messages above`);
    return failed.length ? 1 : 0;
  });
}

async function print(store: Store, registry: Registry, plan: PlanRow, file: string, format: HandoutFormat, paper: Paper, force: boolean, now: Date): Promise<Written> {
  const view = loadHandout(store, registry, plan, now);
  if (format === 'html') {
    // A browser falls back to the device's own fonts for scripts the inlined ones leave out (Chinese, emoji):
    // the page shows the text as written, where the PDF has to transliterate it.
    writeFileAtomically(file, renderHandoutHtml(view), force);
    return { id: plan.id, file, uncovered: [] };
  }
  const { handout, uncovered } = coverHandout(view);
  const rendered = await renderHandout(handout, paper);
  writeFileAtomically(file, rendered.bytes, force);
  return { id: plan.id, file, pages: rendered.pages, uncovered };
}

/**
 * Says which text printed transliterated or as a notice rather than as written (Chinese,
 * Japanese and Korean text, emoji: scripts the handout's fonts leave out),
 * field by field, on stderr, so no name turns into empty boxes unnoticed.
 */
/** A handout as --json reports it: `uncovered` only when some text did not print as written. */
function shown(written: Written): Omit<Written, 'uncovered'> & { uncovered?: Uncovered[] } {
  const { uncovered, ...rest } = written;
  return uncovered.length ? { ...rest, uncovered } : rest;
}

function warnUncovered(ctx: Context, written: Written): void {
  for (const u of written.uncovered) {
    ctx.err(`${ctx.colorErr.yellow('warning:')} plan ${written.id}: the ${u.field} "${u.text}" has characters the handout's fonts cannot print: ${listCharacters(u.characters)}; printed as "${u.printed}"`);
  }
}

/**
 * A plan whose template file was deleted still prints: its snapshot is the
 * plan the patient agreed to, and nothing on the handout comes from the
 * template file. The clinic is told, since the template is usually gone on
 * purpose but sometimes by mistake.
 */
async function missingTemplates(registry: Registry): Promise<{ has(id: string): boolean }> {
  const present = new Set(await templateIds(registry.workspace));
  return { has: (id) => !present.has(id) };
}

function deletedTemplateNote(plans: readonly PlanRow[]): string {
  if (plans.length === 1) {
    const [plan] = plans as [PlanRow];
    return `the template ${plan.template_id} of plan ${plan.id} is no longer in templates/; the handout was printed from the plan's own copy (v${plan.template_version})`;
  }
  const ids = plans.map((p) => p.id);
  return `${plans.length} plans (${ids.slice(0, 10).join(', ')}${ids.length > 10 ? ', …' : ''}) come from templates no longer in templates/; their handouts were printed from each plan's own copy`;
}

function makeFolder(dir: string): void {
  try {
    // Handouts are about patients: a folder made for them is private (0700) whatever the umask.
    makePrivateFolder(dir, 0o700);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTDIR') throw new FailedError(`${dir} is a file, not a folder; give --out-dir a folder`, 'not_a_folder');
    throw new FailedError(`Could not create the folder ${dir}: ${(error as Error).message}; choose a folder you can write to`, 'write_failed');
  }
  if (!statSync(dir).isDirectory()) throw new FailedError(`${dir} is a file, not a folder; give --out-dir a folder`, 'not_a_folder');
}

function describe(error: unknown): { code: string; message: string } {
  if (error instanceof TxplanError) return { code: error.code, message: error.message };
  return { code: 'internal', message: `Unexpected error: ${error instanceof Error ? error.message : String(error)}; run again with --debug, and report it if it persists` };
}

function fileName(id: number, format: HandoutFormat): string {
  return `plan-${id}.${format}`;
}

function pages(n: number): string {
  return `${n} page${n === 1 ? '' : 's'}`;
}

function paperName(paper: Paper): string {
  return paper === 'a4' ? 'A4' : 'US Letter';
}
