// Types for standin.mjs, the local Stripe stand-in (see the comment at the top of standin.mjs).

export type StandInRoute =
  | 'POST /v1/customers'
  | 'GET /v1/customers/:id'
  | 'POST /v1/customers/:id'
  | 'GET /v1/payment_methods/:id'
  | 'POST /v1/payment_methods/:id/attach'
  | 'POST /v1/payment_methods/:id/detach'
  | 'POST /v1/payment_intents'
  | 'GET /v1/payment_intents'
  | 'GET /v1/payment_intents/search'
  | 'GET /v1/payment_intents/:id'
  | 'POST /v1/refunds'
  | 'GET /v1/refunds'
  | 'GET /v1/refunds/:id';

export interface Fault {
  /** '429' and '500': not executed, nothing stored. 'drop': executed and stored, connection closed unanswered.
   *  'hang': executed and stored, never answered (until close). */
  kind: '429' | '500' | 'drop' | 'hang';
  /** Only requests to this route; every /v1 request when absent. */
  route?: StandInRoute;
  /** Fires on this share (0..1) of matching requests, from the seeded RNG. */
  rate?: number;
  /** Fires on the next N matching requests, then is spent. Without times (and rate) it fires on every one. */
  times?: number;
  /** Seconds, sent as Retry-After with a 429 (default 1). */
  retryAfter?: number;
}

export interface StandInOptions {
  latencyMs?: number;
  seed?: number;
  /** 0 (default) = a free port. Always 127.0.0.1. */
  port?: number;
  /** Accept only this exact key (default: any sk_test_… / rk_test_… key). */
  apiKey?: string;
}

export interface StandInSettings {
  latencyMs?: number;
  faults?: Fault[];
  /** Reseed the fault RNG. */
  seed?: number;
  /** Answer 429 (Retry-After: 1) to requests beyond this many in any 1,000 ms, as Stripe's rate limiter does;
   *  0 = no limit (the default). Such answers are not executed and count in stats().rateLimited. */
  limitRps?: number;
  /** Stamp `created` on new objects from this ISO instant (moving on with real time from now), e.g. the
   *  TXPLAN_NOW of a test; null = the real clock (the default). */
  now?: string | null;
}

export type Outcome =
  | { code: string; decline_code?: string; message?: string }
  | 'requires_action'
  | null;

export interface StandInStats {
  /** /v1 requests received (control requests are not counted). */
  requests: number;
  byRoute: Record<string, number>;
  /** The most arrivals within any sliding 1,000 ms window. */
  maxInAnySecond: number;
  /** The most /v1 requests being handled at once. */
  maxInFlight: number;
  /** Answers replayed from the idempotency store. */
  replays: number;
  faultsInjected: Partial<Record<Fault['kind'], number>>;
  /** Requests answered 429 by the limitRps limiter (not counted in faultsInjected). */
  rateLimited: number;
  /** Arrival of each /v1 request, ms since start (or the last resetStats), oldest first. */
  requestTimes: number[];
}

/** Stripe objects as the stand-in stores them (a subset of Stripe's fields). */
export interface StandInPaymentIntent {
  id: string;
  object: 'payment_intent';
  amount: number;
  amount_received: number;
  currency: string;
  customer: string | null;
  payment_method: string | null;
  payment_method_types: string[];
  status: 'succeeded' | 'requires_payment_method' | 'requires_action' | 'requires_confirmation';
  latest_charge: string | null;
  last_payment_error: { type: string; code: string; decline_code?: string; message: string } | null;
  metadata: Record<string, string>;
  description: string | null;
  created: number;
  [field: string]: unknown;
}

export interface StandInCustomer {
  id: string;
  object: 'customer';
  metadata: Record<string, string>;
  created: number;
  /** Everything else the caller sent (email, name, …) is stored as sent. */
  [field: string]: unknown;
}

export interface StandInRefund {
  id: string;
  object: 'refund';
  amount: number;
  charge: string;
  currency: string;
  payment_intent: string;
  status: 'succeeded';
  reason: string | null;
  metadata: Record<string, string>;
  created: number;
}

export interface StandIn {
  /** 'http://127.0.0.1:PORT': give it to txplan as TXPLAN_STRIPE_API_BASE. */
  readonly url: string;
  readonly port: number;
  configure(settings: StandInSettings): void;
  /** From now on charges to this PM (or to every clone of a pm_card_* name) end this way; null clears. */
  setOutcome(paymentMethodId: string, outcome: Outcome): void;
  /** Copies, oldest first. */
  paymentIntents(): StandInPaymentIntent[];
  customers(): StandInCustomer[];
  refunds(): StandInRefund[];
  /** metadata.txplan_key → number of succeeded PaymentIntents carrying it. */
  succeededByKey(): Map<string, number>;
  stats(): StandInStats;
  resetStats(): void;
  close(): Promise<void>;
}

export function startStandIn(options?: StandInOptions): Promise<StandIn>;

/** Stripe-style form parameters (metadata[k]=v, list[0]=x) into nested objects and arrays. */
export function parseStripeParams(params: Iterable<[string, string]>): Record<string, unknown>;
