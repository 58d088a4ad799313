import type { Context } from '../../context.js';
import { resolveWorkspace } from '../../workspace.js';
import { UsageError } from '../../../errors.js';
import { getTemplate, loadRegistry } from '../../../registry/registry.js';
import { fhirPlanDefinition } from '../../../registry/fhir.js';

export async function run(ctx: Context, id: string, opts: { format?: string }): Promise<number> {
  if (opts.format !== 'fhir') throw new UsageError(`--format "${opts.format ?? ''}" is not an export format for templates; use --format fhir`);
  const workspace = resolveWorkspace(ctx);
  const { template } = await getTemplate(workspace, id);
  const registry = await loadRegistry(workspace);
  ctx.json(fhirPlanDefinition(template, registry.services));
  return 0;
}
