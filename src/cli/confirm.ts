import type { Context } from './context.js';
import { CancelledError, UsageError } from '../errors.js';
import { formatMoney } from '../domain/money.js';
import { totalOf, type QuotedCharge } from '../billing/quote.js';

/** What a person is asked before money moves: the details, the question, and the one sentence said off a terminal. */
export interface Confirmation {
  lines: string[];
  question: string;
  /** "charge $150.00 to Visa •••• 4242 now (plan 3, Glow: installment 1 of 6)": completes "This would …". */
  summary: string;
}

export interface CardShown {
  brand: string;
  last4: string;
}

/** "Visa •••• 4242": the only things txplan shows of a card. */
export function describeCard(card: CardShown | undefined): string {
  if (!card) return 'no payment method';
  return `${card.brand.charAt(0).toUpperCase()}${card.brand.slice(1)} •••• ${card.last4}`;
}

/**
 * What one plan would be charged, or undefined when it would be charged
 * nothing (a free visit, a cancellation without fee): then nobody is asked.
 */
export function chargeConfirmation(input: { subject: string; charges: readonly QuotedCharge[]; currency: string; locale?: string | undefined; card: CardShown | undefined; when?: string }): Confirmation | undefined {
  if (input.charges.length === 0) return undefined;
  const total = formatMoney(totalOf(input.charges), input.currency, input.locale);
  const card = describeCard(input.card);
  const when = input.when ?? 'now';
  return {
    lines: [`${input.subject} — charged to ${card} ${when}:`, ...input.charges.map((c) => `  ${formatMoney(c.amountMinor, input.currency, input.locale)}  ${c.what}`)],
    question: `Charge ${total} to ${card} ${when}?`,
    summary: `charge ${total} to ${card} ${when} (${input.subject.charAt(0).toLowerCase()}${input.subject.slice(1)}: ${input.charges.map((c) => c.what).join(', ')})`,
  };
}

/** Several confirmations (one per plan) asked as one question. */
export function combineConfirmations(parts: ReadonlyArray<Confirmation | undefined>, question: (count: number) => string, summary: (count: number) => string): Confirmation | undefined {
  const asked = parts.filter((p): p is Confirmation => p !== undefined);
  if (asked.length === 0) return undefined;
  if (asked.length === 1) return asked[0];
  return { lines: asked.flatMap((p) => p.lines), question: question(asked.length), summary: summary(asked.length) };
}

/**
 * The one gate before a command moves money. `--yes` passes it; on a
 * terminal the person reads what will be charged, to which card, and answers
 * (no by default); anywhere else the command stops before writing anything.
 * Nothing to confirm (undefined) passes silently.
 */
export async function confirmCharge(ctx: Context, confirmation: Confirmation | undefined): Promise<void> {
  if (!confirmation || ctx.options.yes) return;
  if (!ctx.interactive) {
    throw new UsageError(`This would ${confirmation.summary}, which needs a confirmation: run it on a terminal to be asked, or add --yes`, 'confirmation_required');
  }
  const prompter = await ctx.prompter();
  if (!(await prompter.confirm([...confirmation.lines, confirmation.question].join('\n'), false))) throw new CancelledError();
}
