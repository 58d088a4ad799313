import type { Environment } from '../../config.js';
import { FailedError } from '../../errors.js';
import type { ResolvedSettings } from '../../registry/settings.js';
import type { ChargeRequest, ChargeResult, Gateway, LedgerEntry, PaymentMethodDetails, RefundLedgerEntry, RefundRequest, RefundResult, SaveRequest, SavedPaymentMethod } from '../gateway.js';

/** What the Stripe gateway is opened with: checked before anything reaches Stripe. */
export interface StripeConfig {
  /** Never printed, logged, audited or shown by --debug. */
  readonly secretKey: string;
  mode: 'test' | 'live';
  /** The API's origin, e.g. https://api.stripe.com or http://127.0.0.1:12111. */
  apiBase: URL;
  concurrency: number;
  /** The most requests in any one second; 0 for no cap. */
  maxRps: number;
  timeoutMs: number;
}

const KEY = /^(sk|rk)_(test|live)_[A-Za-z0-9]{8,}$/;

/**
 * The Stripe settings of txplan.yaml with the key from STRIPE_SECRET_KEY (and
 * only from there). A missing or malformed key, or a key of the other mode,
 * is refused with one sentence that never repeats the key.
 */
export function stripeConfig(settings: ResolvedSettings, env: Pick<Environment, 'stripeApiBase' | 'stripeSecretKey'>): StripeConfig {
  const stripe = settings.payments.stripe ?? {};
  const mode = stripe.mode ?? 'test';
  const secretKey = env.stripeSecretKey?.();
  if (secretKey === undefined) {
    throw new FailedError('payments.gateway is stripe, but STRIPE_SECRET_KEY is not set; export the secret key from your secret store (sk_test_… in test mode), never write it in txplan.yaml', 'stripe_key_missing');
  }
  const shape = KEY.exec(secretKey);
  if (!shape) throw new FailedError('STRIPE_SECRET_KEY is not a Stripe secret key (sk_test_…, sk_live_…, or a restricted rk_… key); copy it again from the Stripe dashboard', 'stripe_key_invalid');
  if (shape[2] !== mode) {
    throw new FailedError(
      mode === 'test'
        ? 'STRIPE_SECRET_KEY is a live key, but payments.stripe.mode is test; use a test key (sk_test_…), or set payments.stripe.mode: live in txplan.yaml to move real money'
        : 'STRIPE_SECRET_KEY is a test key, but payments.stripe.mode is live; use the live key (sk_live_…) from your secret store, or set payments.stripe.mode: test',
      'stripe_key_mode',
    );
  }
  const base = env.stripeApiBase ?? stripe.api_base ?? 'https://api.stripe.com';
  const from = env.stripeApiBase !== undefined ? 'TXPLAN_STRIPE_API_BASE' : 'payments.stripe.api_base';
  let apiBase: URL;
  try {
    apiBase = new URL(base);
  } catch {
    throw new FailedError(`${from} "${base}" is not a URL; give the API's origin, e.g. http://127.0.0.1:12111`, 'stripe_api_base');
  }
  if ((apiBase.protocol !== 'http:' && apiBase.protocol !== 'https:') || apiBase.pathname.replace(/\/$/, '') !== '' || apiBase.search || apiBase.username || apiBase.password) {
    throw new FailedError(`${from} "${base}" must be an http(s) origin without a path, e.g. http://127.0.0.1:12111`, 'stripe_api_base');
  }
  return {
    secretKey,
    mode,
    apiBase,
    concurrency: stripe.concurrency ?? 8,
    maxRps: stripe.max_rps ?? (mode === 'live' ? 80 : 20),
    timeoutMs: (stripe.timeout_seconds ?? 30) * 1000,
  };
}

export interface StripeGatewayOptions {
  /** This database's id: carried in every object's metadata, so reconcile sees only this database's charges. */
  databaseId: string;
}

/** Charges through Stripe's API with the official SDK. */
export class StripeGateway implements Gateway {
  readonly name = 'stripe';
  readonly live: boolean;
  readonly concurrency: number;

  constructor(
    readonly config: StripeConfig,
    readonly options: StripeGatewayOptions,
  ) {
    this.live = config.mode === 'live';
    this.concurrency = config.concurrency;
  }

  describePaymentMethod(_token: string): Promise<PaymentMethodDetails> {
    throw new Error('not built yet');
  }

  savePaymentMethod(_request: SaveRequest): Promise<SavedPaymentMethod> {
    throw new Error('not built yet');
  }

  charge(_request: ChargeRequest): Promise<ChargeResult> {
    throw new Error('not built yet');
  }

  ledger(): AsyncIterable<LedgerEntry> {
    throw new Error('not built yet');
  }

  refund(_request: RefundRequest): Promise<RefundResult> {
    throw new Error('not built yet');
  }

  refunds(): AsyncIterable<RefundLedgerEntry> {
    throw new Error('not built yet');
  }

  close(): void {}
}
