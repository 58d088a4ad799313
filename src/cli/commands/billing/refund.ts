import { processorLabel } from '../../../billing/gateway.js';
import type { Context } from '../../context.js';
import { confirmCharge } from '../../confirm.js';
import { withStore } from '../../store.js';
import { resolveWorkspace } from '../../workspace.js';
import { chargingContext } from '../../billing.js';
import { FailedError, NotFoundError, UsageError } from '../../../errors.js';
import { formatMoney, toMinor } from '../../../domain/money.js';
import { readSettings } from '../../../registry/settings.js';
import { refuseCardNumbers } from '../../../domain/cards.js';
import { refuseControlCharacters } from '../../../domain/safe-text.js';
import { getCharge } from '../../../store/charges.js';
import { cardOfToken } from '../../../store/payment-methods.js';
import { createRefund, decideRefund, remainingToRefund, sendRefunds, settlePendingRefunds, type RefundOutcome } from '../../../billing/refunding.js';
import type { ChargingContext } from '../../../billing/charging.js';
import type { ChargeRow } from '../../../domain/records.js';

export interface RefundOptions {
  amount?: string;
  reason?: string;
}

/**
 * `billing refund <charge> [--amount X] --reason TEXT`. A rerun of a refund a
 * stopped process left pending (same charge, amount and reason) settles that
 * refund under its own key instead of making another.
 */
export async function run(ctx: Context, ref: string, opts: RefundOptions): Promise<number> {
  const reason = opts.reason?.trim() ?? '';
  if (!reason) throw new UsageError('A refund needs a reason, kept in the audit: add --reason "…" (for example --reason "treatment not performed")');
  refuseCardNumbers({ '--reason': reason });
  refuseControlCharacters({ '--reason': reason });
  if (!/^[1-9]\d*$/.test(ref)) throw new UsageError(`"${ref}" is not a charge id; "txplan billing charges" lists charges with their ids`);
  // Asked before anything is read or written: off a terminal, only --yes moves money.
  if (!ctx.options.yes && !ctx.interactive) throw new UsageError(`A refund moves money and needs a confirmation: run "txplan billing refund ${ref}" on a terminal, or add --yes`);
  const settings = readSettings(resolveWorkspace(ctx));
  return withStore(ctx, async (store) => {
    const found = getCharge(store, Number(ref));
    if (!found) throw new NotFoundError(`No charge ${ref}; "txplan billing charges" lists charges with their ids`);
    let requested: number | undefined;
    if (opts.amount !== undefined) {
      const parsed = toMinor(opts.amount.trim(), found.currency);
      if ('error' in parsed) throw new UsageError(`--amount ${parsed.error}; write it in ${found.currency} as people write money, like 49.50`);
      requested = parsed.minor;
    }
    const charging = chargingContext(ctx, store, settings);
    try {
      if (found.gateway !== charging.gateway.name) throw new FailedError(`Charge ${found.id} was made through the ${processorLabel(found.gateway)} processor, not ${processorLabel(charging.gateway.name)}; refund it there`, 'other_gateway');
      // Refunds of this charge left pending by a stopped process go first, under their own keys.
      const resumed = await settlePendingRefunds(charging, found.id);
      const rerun = resumed.find((o) => o.refund.reason === reason && (requested === undefined || o.refund.amount_minor === requested));
      if (rerun) return report(ctx, found, rerun, true, remainingToRefund(charging, found.id));

      const charge = getCharge(store, found.id)!;
      const decision = decideRefund(charging, charge, requested);
      await confirm(ctx, charging, charge, decision.amountMinor, decision.remainingMinor);
      const refund = createRefund(charging, charge.id, requested, reason);
      const [outcome] = await sendRefunds(charging, [refund]);
      return report(ctx, charge, outcome!, false, remainingToRefund(charging, charge.id));
    } finally {
      charging.gateway.close();
    }
  });
}

function describeCharge(charge: ChargeRow): string {
  const what = charge.kind === 'installment' ? `installment ${charge.installment}` : charge.kind === 'step' ? `visit ${charge.step_n}` : 'early cancellation fee';
  return `charge ${charge.id} (plan ${charge.plan_id}, ${what}, ${formatMoney(charge.amount_minor, charge.currency)} due ${charge.due_date})`;
}

async function cardOf(charging: ChargingContext, charge: ChargeRow): Promise<string> {
  const saved = cardOfToken(charging.store, charge.payment_token);
  if (saved) return `${saved.brand} •••• ${saved.last4}`;
  try {
    const method = await charging.gateway.describePaymentMethod(charge.payment_token);
    return `${method.brand} •••• ${method.last4}`;
  } catch {
    return 'the card that paid it';
  }
}

async function confirm(ctx: Context, charging: ChargingContext, charge: ChargeRow, amountMinor: number, remainingMinor: number): Promise<void> {
  const money = (minor: number) => formatMoney(minor, charge.currency);
  const part = amountMinor === remainingMinor ? (remainingMinor === charge.amount_minor ? 'in full' : 'all that remains') : `of ${money(remainingMinor)} refundable`;
  if (ctx.options.yes) return; // nothing to look up for a question nobody is asked
  const refund = `refund ${money(amountMinor)} (${part}) of ${describeCharge(charge)} to ${await cardOf(charging, charge)}`;
  await confirmCharge(ctx, { lines: [], question: `R${refund.slice(1)}?`, summary: refund });
}

function report(ctx: Context, charge: ChargeRow, outcome: RefundOutcome, resumed: boolean, remainingMinor: number): number {
  const { refund, result } = outcome;
  const money = (minor: number) => formatMoney(minor, refund.currency);
  if (ctx.options.json) {
    ctx.json({ ...refund, plan_id: charge.plan_id, resumed, remaining_minor: remainingMinor, ...(result.status === 'error' ? { error: result.message } : {}) });
  } else if (refund.status === 'succeeded') {
    ctx.out(`${ctx.color.green('✔')} Refunded ${money(refund.amount_minor)} of ${describeCharge(charge)}${resumed ? ', a refund a stopped command had left pending, now settled under its own key' : ''}; ${money(remainingMinor)} remains refundable.`);
  } else if (refund.status === 'failed') {
    ctx.err(ctx.color.yellow(`The processor refused the refund of ${money(refund.amount_minor)} of charge ${charge.id} (${refund.failure_code}): ${refund.failure_message ?? ''} Nothing was refunded.`));
  } else {
    ctx.err(ctx.color.yellow(`The processor did not answer the refund of ${money(refund.amount_minor)} of charge ${charge.id} (${result.status === 'error' ? result.message : 'no answer'}); it stays pending: rerun the same command, or the next billing run, to ask again under the same key.`));
  }
  return refund.status === 'succeeded' ? 0 : 1;
}
