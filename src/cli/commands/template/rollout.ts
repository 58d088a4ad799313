import type { Context } from '../../context.js';
import { resolveWorkspace } from '../../workspace.js';
import { withStore } from '../../store.js';
import { UsageError } from '../../../errors.js';
import { loadRegistry } from '../../../registry/registry.js';
import { rollout, rolloutTarget } from '../../../plans/rollout.js';
import { formatMoney } from '../../../domain/money.js';
import { getPaymentMethod } from '../../../store/payment-methods.js';
import type { Store } from '../../../store/store.js';
import { confirmCharge, describeCard, type Confirmation } from '../../confirm.js';
import type { RolloutResult } from '../../../plans/rollout.js';

export async function run(ctx: Context, id: string, opts: { toVersion?: string; dryRun?: boolean; allowDuplicate?: boolean }): Promise<number> {
  if (opts.toVersion !== undefined && !/^[1-9]\d*$/.test(opts.toVersion)) throw new UsageError(`--to-version "${opts.toVersion}" is not a version number`);
  const registry = await loadRegistry(resolveWorkspace(ctx));
  const target = await rolloutTarget(registry, id, opts.toVersion !== undefined ? Number(opts.toVersion) : undefined);
  return withStore(ctx, async (store) => {
    // A new price for running plans is never started silently: the clinic sees each plan's old and new price and confirms.
    if (!opts.dryRun && !ctx.options.yes) await confirmCharge(ctx, priceConfirmation(store, rollout(store, registry, target, { dryRun: true, allowDuplicate: opts.allowDuplicate ?? false }, { actor: ctx.actor, now: ctx.now() })));
    const result = rollout(store, registry, target, { dryRun: opts.dryRun ?? false, allowDuplicate: opts.allowDuplicate ?? false }, { actor: ctx.actor, now: ctx.now() });
    if (ctx.options.json) {
      ctx.json({
        id: result.target.id,
        version: result.target.version,
        commit: result.target.commit,
        dry_run: opts.dryRun ?? false,
        plans: result.plans.map((p) => ({
          id: p.id,
          patient_id: p.patient_id,
          from_version: p.from_version,
          ...(p.skipped ? { skipped: p.skipped } : { changes: p.revision!.changes, steps: p.revision!.steps, price: p.revision!.price ? { from_installment: p.revision!.price.fromInstallment, before_minor: p.revision!.price.beforeMinor ?? null, after_minor: p.revision!.price.afterMinor } : null }),
        })),
      });
      return 0;
    }
    const { color } = ctx;
    const lines: string[] = [];
    const value = (v: unknown) => (v === undefined ? '(none)' : typeof v === 'string' ? JSON.stringify(v.length > 50 ? `${v.slice(0, 47)}…` : v) : JSON.stringify(v));
    for (const plan of result.plans) {
      if (plan.skipped) {
        lines.push(`${color.yellow('skip')} plan ${plan.id} (v${plan.from_version}): ${plan.skipped}`);
        continue;
      }
      const revision = plan.revision!;
      lines.push(`${color.bold(`plan ${plan.id}`)}: v${plan.from_version} → v${result.target.version}`);
      for (const change of revision.changes.filter((c) => !c.path.startsWith('schedule') && c.path !== 'version')) lines.push(`  ${color.dim(change.path)}: ${value(change.before)} → ${value(change.after)}`);
      for (const step of revision.steps) {
        const text = step.change === 'added' ? color.green(`+ step ${step.n}: ${step.after}`) : step.change === 'removed' ? color.red(`- step ${step.n}: ${step.before}`) : `~ step ${step.n}: ${step.before} → ${step.after}`;
        lines.push(`  ${text}`);
      }
      if (revision.price) {
        const money = (minor: number | undefined) => (minor === undefined ? '(none)' : formatMoney(minor, revision.plan.currency));
        lines.push(`  price from installment ${revision.price.fromInstallment}: ${money(revision.price.beforeMinor)} → ${money(revision.price.afterMinor)}`);
      }
    }
    const moved = result.plans.filter((p) => !p.skipped).length;
    const skipped = result.plans.length - moved;
    if (result.plans.length === 0) {
      ctx.out(`No running plan of ${id} is behind v${result.target.version}.`);
      return 0;
    }
    lines.push(
      opts.dryRun
        ? `Dry run: ${moved} plan${moved === 1 ? '' : 's'} would move to ${id} v${result.target.version}${skipped ? `, ${skipped} skipped` : ''}; nothing was written.`
        : `${color.green('✔')} Rolled out ${id} v${result.target.version} to ${moved} plan${moved === 1 ? '' : 's'}${skipped ? ` (${skipped} skipped)` : ''}; done steps were kept, new prices apply from the next installment.`,
    );
    ctx.out(lines.join('\n'));
    return 0;
  });
}

/** The running plans whose price the rollout changes, each with its card; undefined when no price changes. */
function priceConfirmation(store: Store, result: RolloutResult): Confirmation | undefined {
  const changed = result.plans.filter((p) => p.revision?.price);
  if (changed.length === 0) return undefined;
  const each = changed.map((p) => {
    const { price, plan } = p.revision!;
    const money = (minor: number | undefined) => (minor === undefined ? '(none)' : formatMoney(minor, plan.currency));
    const card = describeCard(plan.payment_method_id !== null ? getPaymentMethod(store, plan.payment_method_id) : undefined);
    return `plan ${p.id} (${card}): ${money(price!.beforeMinor)} → ${money(price!.afterMinor)} a month from installment ${price!.fromInstallment}`;
  });
  const plans = `${changed.length} running plan${changed.length === 1 ? '' : 's'}`;
  return {
    lines: [`Rolling out ${result.target.id} v${result.target.version} changes the price of ${plans}:`, ...each.map((line) => `  ${line}`)],
    question: `Charge the new price${changed.length === 1 ? '' : 's'} from the next installment?`,
    summary: `start a new price for ${plans} (${each.join('; ')})`,
  };
}
