import type { Context } from '../../context.js';
import { formatters, type FormatName } from '../../output/diagnostics.js';
import { resolveWorkspace } from '../../workspace.js';
import { validateWorkspace } from '../../../registry/validate.js';
import { countBySeverity } from '../../../registry/diagnostics.js';

export interface ValidateOptions {
  format: string;
  base?: string;
}

export async function run(ctx: Context, paths: readonly string[], opts: ValidateOptions): Promise<number> {
  const workspace = resolveWorkspace(ctx);
  const format: FormatName = ctx.options.json ? 'json' : (opts.format as FormatName);
  // A rehearsal clock (TXPLAN_NOW) stands still: durations are 0, so reports are reproducible.
  const stopwatch = ctx.simulatedNow ? undefined : () => performance.now();
  const report = await validateWorkspace({ workspace, paths, cwd: ctx.cwd, base: opts.base, stopwatch });
  ctx.streams.stdout.write(formatters[format](report, ctx.color));
  return countBySeverity(report.diagnostics).errors > 0 ? 1 : 0;
}
