import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { ledgerRows, query } from '../helpers.js';
import type { StandIn, StandInPaymentIntent } from './standin.mjs';

/** The processors txplan charges through; scenario tests run against each. */
export type GatewayName = 'sandbox' | 'stripe';
export const GATEWAYS: readonly GatewayName[] = ['sandbox', 'stripe'];

/**
 * Points a workspace's payments at the Stripe gateway, talking to the stand-in
 * at `url`: no rate cap by default (the stand-in is local), the key from the
 * test environment (STRIPE_SECRET_KEY, set by the `txplan()` helper).
 */
export function useStripe(ws: string, url: string, stripe: { concurrency?: number; max_rps?: number; timeout_seconds?: number } = {}): void {
  const file = join(ws, 'txplan.yaml');
  const doc = parseDocument(readFileSync(file, 'utf8'));
  doc.setIn(['payments', 'gateway'], 'stripe');
  doc.setIn(['payments', 'stripe'], { mode: 'test', api_base: url, max_rps: 0, ...stripe });
  writeFileSync(file, doc.toString());
}

/** One charge as the processor holds it, whichever processor. */
export interface ProcessorCharge {
  idempotency_key: string;
  status: 'succeeded' | 'declined';
  amount_minor: number;
  currency: string;
}

/** The workspace database's id: its charges' keys and metadata carry it. */
export function databaseIdOf(ws: string): string {
  return query<{ id: string }>(ws, 'SELECT id FROM database_info')[0]!.id;
}

/**
 * The processor's own record of this workspace's charges: the sandbox's ledger
 * file, or the stand-in's PaymentIntents carrying this database's id (as
 * `standIn.paymentIntents()` gives them, in-process or over its control endpoint).
 */
export function processorCharges(ws: string, intents?: readonly StandInPaymentIntent[] | Pick<StandIn, 'paymentIntents'>): ProcessorCharge[] {
  if (!intents) return ledgerRows<ProcessorCharge>(ws, 'SELECT idempotency_key, status, amount_minor, currency FROM charges');
  const id = databaseIdOf(ws);
  const all = 'paymentIntents' in intents ? intents.paymentIntents() : intents;
  return all
    .filter((pi) => pi.metadata.txplan_database === id)
    .map((pi) => ({ idempotency_key: pi.metadata.txplan_key!, status: pi.status === 'succeeded' ? 'succeeded' : 'declined', amount_minor: pi.amount, currency: pi.currency.toUpperCase() }));
}
