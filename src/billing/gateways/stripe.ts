import { inspect } from 'node:util';
import type Stripe from 'stripe';
import type { Environment } from '../../config.js';
import { attachKey, customerKey } from '../../domain/keys.js';
import { FailedError } from '../../errors.js';
import type { ResolvedSettings } from '../../registry/settings.js';
import { IdempotencyConflictError, NEEDS_PATIENT, UnansweredError, type ChargeRequest, type ChargeResult, type Gateway, type LedgerEntry, type PaymentMethodDetails, type RefundLedgerEntry, type RefundRequest, type RefundResult, type SaveRequest, type SavedPaymentMethod } from '../gateway.js';
import { Pacer, realClock, type PacingClock } from './pacing.js';
import { importPackage } from '../../packages.js';

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
  // A live key goes only over TLS: a plain-http base is for stripe-mock and test stand-ins.
  if (mode === 'live' && apiBase.protocol !== 'https:') {
    throw new FailedError(`${from} "${base}" is plain http, and payments.stripe.mode is live: a live key is sent only over https; remove the override to reach https://api.stripe.com`, 'stripe_api_base');
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

export interface RetryPolicy {
  /** Tries of one request, the first included, before it is given up as unanswered. */
  tries: number;
  /** The wait after the first failed try; doubled after each further one (with jitter), up to maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { tries: 4, baseDelayMs: 250, maxDelayMs: 8000 };

/** The longest Retry-After honoured; a processor asking for longer is left for the next run. */
const MAX_RETRY_AFTER_MS = 60_000;

/** Stripe keeps an idempotency key at least 24 hours; a key older than this is looked up before it is sent again. */
const KEY_KEPT_MS = 23 * 3600_000;

export interface StripeGatewayOptions {
  /** This database's id: carried in every object's metadata, so reconcile sees only this database's charges. */
  databaseId: string;
  /** The clock the attempts were written with (TXPLAN_NOW in tests). */
  now?: () => Date;
  /** For tests: fewer or faster retries. */
  retry?: Partial<RetryPolicy>;
  /** For tests: the pacer's and the backoff's clock. */
  clock?: PacingClock;
}

/**
 * The SDK, loaded the first time a request is made: commands that never talk
 * to Stripe (every command on the sandbox) do not pay for loading it.
 */
let sdk: typeof Stripe | undefined;

async function loadSdk(): Promise<typeof Stripe> {
  sdk ??= (await importPackage<typeof import('stripe')>('stripe')).default;
  return sdk;
}

type StripeErrors = typeof Stripe.errors;

/** `error instanceof Stripe.errors[name]`, without loading the SDK to ask (no SDK loaded, no Stripe error). */
function isError<K extends keyof StripeErrors>(error: unknown, name: K): error is InstanceType<Extract<StripeErrors[K], abstract new (...args: never[]) => unknown>> {
  const type = sdk?.errors[name] as unknown as (abstract new (...args: never[]) => unknown) | undefined;
  return type !== undefined && error instanceof type;
}

/** The same question, without narrowing the error's type (Stripe's error classes all have one shape). */
function kindOf(error: unknown, name: keyof StripeErrors): boolean {
  return isError(error, name);
}

const SECRET = /\b(sk|rk)_(test|live)_[A-Za-z0-9*]+/g;

/** Hides anything shaped like a Stripe secret or restricted key (Stripe's own messages show a masked part of it). */
export function scrub(text: string): string {
  return text.replace(SECRET, '$1_$2_[hidden]');
}

/**
 * Decline codes no retry can clear (Stripe's decline codes whose next step is
 * another card or the issuer, never trying again): the charge fails hard and
 * the plan goes past due at once.
 */
export const HARD_DECLINES: ReadonlySet<string> = new Set([
  'stolen_card',
  'lost_card',
  'pickup_card',
  'fraudulent',
  'merchant_blacklist',
  'expired_card',
  'incorrect_number',
  'invalid_number',
  'invalid_card_number',
  'invalid_expiry_month',
  'invalid_expiry_year',
  'invalid_account',
  'restricted_card',
  'security_violation',
  'revocation_of_authorization',
  'revocation_of_all_authorizations',
  'stop_payment_order',
  'transaction_not_allowed',
  'not_permitted',
  'service_not_allowed',
  'card_not_supported',
  'currency_not_supported',
  'do_not_try_again',
  'new_account_information_available',
]);

/** What a request was for, in the words of the message it fails with. */
interface Asked {
  /** "Stripe did not answer <what>". */
  what: string;
  /** What happens now, after "; ". */
  then: string;
}

/** Charges through Stripe's API with the official SDK. The secret key is held where nothing prints it. */
export class StripeGateway implements Gateway {
  readonly name = 'stripe';
  readonly live: boolean;
  readonly concurrency: number;
  readonly #secretKey: string;
  readonly #apiBase: URL;
  readonly #mode: 'test' | 'live';
  readonly #maxRps: number;
  readonly #timeoutMs: number;
  readonly #databaseId: string;
  readonly #now: () => Date;
  readonly #retry: RetryPolicy;
  readonly #clock: PacingClock;
  readonly #pacer: Pacer;
  #stripe: Stripe | undefined;
  /** Stripe refused the key: nothing more is sent with it. */
  #keyRefused = false;

  constructor(config: StripeConfig, options: StripeGatewayOptions) {
    this.live = config.mode === 'live';
    this.concurrency = config.concurrency;
    this.#secretKey = config.secretKey;
    this.#apiBase = config.apiBase;
    this.#mode = config.mode;
    this.#maxRps = config.maxRps;
    this.#timeoutMs = config.timeoutMs;
    this.#databaseId = options.databaseId;
    this.#now = options.now ?? (() => new Date());
    this.#retry = { ...DEFAULT_RETRY, ...options.retry };
    this.#clock = options.clock ?? realClock;
    this.#pacer = new Pacer({ concurrency: config.concurrency, maxRps: config.maxRps }, this.#clock);
  }

  async describePaymentMethod(token: string): Promise<PaymentMethodDetails> {
    try {
      const method = await this.#send({ what: `the look-up of payment method ${token}`, then: 'nothing was saved; try again in a minute' }, (stripe) => stripe.paymentMethods.retrieve(token));
      return details(method);
    } catch (error) {
      if (isMissing(error)) throw unknownPaymentMethod(token);
      throw this.#plain(error);
    }
  }

  async savePaymentMethod(request: SaveRequest): Promise<SavedPaymentMethod> {
    const asked = { what: `saving payment method ${request.token}`, then: 'nothing was saved; try again in a minute' };
    let customer = request.customer;
    if (customer === null) {
      // Named by ids only: nothing about the patient (no name, email or anything about health) goes to Stripe.
      const made = await this.#send(asked, (stripe) =>
        stripe.customers.create({ metadata: { txplan_database: this.#databaseId, txplan_patient: String(request.patientId) } }, { idempotencyKey: customerKey(this.#databaseId, request.patientId) }),
      ).catch((error: unknown) => Promise.reject(this.#plain(error)));
      customer = made.id;
    }
    const owner = customer;
    try {
      const method = await this.#send(asked, (stripe) => stripe.paymentMethods.attach(request.token, { customer: owner }, { idempotencyKey: attachKey(this.#databaseId, request.patientId, request.token) }));
      return { ...details(method), customer: owner };
    } catch (error) {
      if (isError(error, 'StripeCardError')) {
        const reason = (error.decline_code || error.code || 'card_declined').replace(/_/g, ' ');
        throw new FailedError(`Stripe declined the card when saving it (${reason}); nothing was saved, ask the patient for another card`, 'card_declined_on_save');
      }
      if (isMissing(error) && (error as Stripe.errors.StripeError).param === 'customer') {
        throw new FailedError(`Stripe has no customer ${owner} for patient ${request.patientId}; it may have been deleted in the Stripe dashboard. Nothing was saved`, 'unknown_customer');
      }
      if (isMissing(error)) throw unknownPaymentMethod(request.token);
      if (isError(error, 'StripeInvalidRequestError') || isError(error, 'StripeIdempotencyError')) {
        throw new FailedError(`Stripe would not save payment method ${request.token} for patient ${request.patientId} (${scrub(error.message)}); nothing was saved. A card saved to another customer must be added again for this patient`, 'payment_method_refused');
      }
      throw this.#plain(error);
    }
  }

  async charge(request: ChargeRequest): Promise<ChargeResult> {
    const asked = { what: `charge ${request.idempotencyKey}`, then: 'it stays pending and the next billing run asks again under the same key' };
    if (this.#now().getTime() - Date.parse(request.attemptStartedAt) > KEY_KEPT_MS) {
      // Stripe may have forgotten the key by now: a second PaymentIntent must not be made if the first exists.
      const earlier = await this.#findCharge(request.idempotencyKey, asked);
      if (earlier) return chargeResult(earlier, asked);
    }
    try {
      const intent = await this.#send(asked, (stripe) => stripe.paymentIntents.create(chargeParams(request, this.#databaseId), { idempotencyKey: request.idempotencyKey }));
      return chargeResult(intent, asked);
    } catch (error) {
      if (isError(error, 'StripeIdempotencyError')) throw new IdempotencyConflictError(request.idempotencyKey);
      if (isError(error, 'StripeCardError')) return declined(error.payment_intent?.id ?? '', error.code, error.decline_code, error.message);
      if (isError(error, 'StripeInvalidRequestError')) {
        if (error.code === 'resource_missing' && (error.param === 'payment_method' || error.param === 'customer')) {
          return { status: 'declined', id: error.payment_intent?.id ?? '', code: 'payment_method_missing', message: 'Stripe has no such payment method; set a new one with plan payment', hard: true };
        }
        // A request Stripe will not take is not made right by sending it again.
        return { status: 'declined', id: error.payment_intent?.id ?? '', code: error.code ?? 'invalid_request', message: scrub(error.message), hard: true };
      }
      throw this.#plain(error);
    }
  }

  /** The PaymentIntents carrying a key, found by Stripe's search, or by listing them all where search is not offered. */
  async #findCharge(key: string, asked: Asked): Promise<Stripe.PaymentIntent | undefined> {
    let found: Stripe.PaymentIntent[];
    try {
      const result = await this.#send(asked, (stripe) => stripe.paymentIntents.search({ query: `metadata['txplan_key']:'${key.replace(/'/g, "\\'")}'`, limit: 100 }));
      found = result.data;
    } catch (error) {
      if (!(isError(error, 'StripeInvalidRequestError') || isError(error, 'StripePermissionError'))) throw this.#plain(error);
      found = await this.#listAll(asked, (stripe, page) => stripe.paymentIntents.list(page));
    }
    const mine = found.filter((intent) => intent.metadata?.txplan_key === key && intent.metadata?.txplan_database === this.#databaseId);
    return mine.find((intent) => intent.status === 'succeeded') ?? mine.sort((a, b) => b.created - a.created)[0];
  }

  async *ledger(): AsyncIterable<LedgerEntry> {
    const entries = (await this.#listMine('PaymentIntents', (stripe, page) => stripe.paymentIntents.list(page))).map(
        (intent): LedgerEntry => ({
          id: intent.id,
          idempotencyKey: intent.metadata?.txplan_key ?? '',
          amountMinor: intent.amount,
          currency: intent.currency.toUpperCase(),
          status: intent.status === 'succeeded' ? 'succeeded' : 'declined',
          createdAt: new Date(intent.created * 1000).toISOString(),
        }),
      );
    // Both of two PaymentIntents with one key are yielded: reconcile reports the second, a double charge is never hidden.
    yield* entries.sort(byKey);
  }

  async refund(request: RefundRequest): Promise<RefundResult> {
    const asked = { what: `refund ${request.idempotencyKey}`, then: 'it stays pending and is asked again under the same key' };
    if (this.#now().getTime() - Date.parse(request.attemptStartedAt) > KEY_KEPT_MS) {
      // As for charges: a refund Stripe made under a key it has since forgotten is found, never made twice.
      const earlier = (await this.#listAll(asked, (stripe, page) => stripe.refunds.list({ ...page, payment_intent: request.chargeId })).catch((error: unknown) => Promise.reject(this.#plain(error)))).find(
        (refund) => refund.metadata?.txplan_key === request.idempotencyKey && refund.metadata?.txplan_database === this.#databaseId,
      );
      if (earlier) return refundResult(earlier);
    }
    try {
      const refund = await this.#send(asked, (stripe) =>
        stripe.refunds.create(
          {
            payment_intent: request.chargeId,
            amount: request.amountMinor,
            // The clinic's own words may say something about health: Stripe is told only that it was asked for.
            reason: 'requested_by_customer',
            metadata: { txplan_key: request.idempotencyKey, txplan_database: this.#databaseId, txplan_plan: String(request.planId) },
          },
          { idempotencyKey: request.idempotencyKey },
        ),
      );
      return refundResult(refund);
    } catch (error) {
      if (isError(error, 'StripeIdempotencyError')) throw new IdempotencyConflictError(request.idempotencyKey);
      if (isError(error, 'StripeInvalidRequestError')) return { status: 'failed', id: '', code: error.code ?? 'invalid_request', message: scrub(error.message) };
      throw this.#plain(error);
    }
  }

  async *refunds(): AsyncIterable<RefundLedgerEntry> {
    const entries = (await this.#listMine('refunds', (stripe, page) => stripe.refunds.list(page))).map(
        (refund): RefundLedgerEntry => ({
          id: refund.id,
          idempotencyKey: refund.metadata?.txplan_key ?? '',
          chargeId: typeof refund.payment_intent === 'string' ? refund.payment_intent : (refund.payment_intent?.id ?? ''),
          amountMinor: refund.amount,
          currency: refund.currency.toUpperCase(),
          status: refund.status === 'succeeded' || refund.status === 'pending' ? 'succeeded' : 'failed',
          createdAt: new Date(refund.created * 1000).toISOString(),
        }),
      );
    yield* entries.sort(byKey);
  }

  /** Nothing is held open between requests; a later call makes a new client. */
  close(): void {
    this.#stripe = undefined;
  }

  /** What --debug or a log may show of the gateway: never the key. */
  toJSON(): Record<string, unknown> {
    return { name: this.name, mode: this.#mode, apiBase: this.#apiBase.origin, concurrency: this.concurrency, maxRps: this.#maxRps };
  }

  [inspect.custom](): string {
    return `StripeGateway ${JSON.stringify(this.toJSON())}`;
  }

  async #client(): Promise<Stripe> {
    if (this.#keyRefused) throw keyRefused();
    if (this.#stripe) return this.#stripe;
    const base = this.#apiBase;
    // Paced where each HTTP request is made, so the SDK's own resend of a closed connection is counted too.
    const Sdk = await loadSdk();
    const http = Sdk.createNodeHttpClient();
    const pacer = this.#pacer;
    const httpClient: Stripe.HttpClient = {
      getClientName: () => http.getClientName(),
      makeRequest: (...request) =>
        pacer.run(async () => {
          // A request still waiting its turn when Stripe refused the key is not sent.
          if (this.#keyRefused) throw new Error('not sent: Stripe refused the key');
          const response = await http.makeRequest(...request);
          // The request holds its place until its whole answer is read.
          const body = await response.toJSON().then(
            (value: unknown) => ({ value }),
            (error: unknown) => ({ error }),
          );
          if (response.getStatusCode() === 401) this.#keyRefused = true;
          return {
            getStatusCode: () => response.getStatusCode(),
            getHeaders: () => response.getHeaders(),
            getRawResponse: () => response.getRawResponse(),
            toStream: (done: () => void) => response.toStream(done),
            toJSON: () => ('error' in body ? Promise.reject(body.error) : Promise.resolve(body.value)),
          };
        }),
    };
    this.#stripe = new Sdk(this.#secretKey, {
      httpClient,
      host: base.hostname,
      port: base.port || (base.protocol === 'https:' ? 443 : 80),
      protocol: base.protocol === 'https:' ? 'https' : 'http',
      // Retries are made here, always under the same idempotency key.
      maxNetworkRetries: 0,
      timeout: this.#timeoutMs,
      telemetry: false,
      appInfo: { name: 'txplan' },
    });
    return this.#stripe;
  }

  /**
   * Sends one request (paced by the client's HTTP layer), and again under the same key while
   * Stripe does not answer (429, 5xx, a closed connection, a timeout, the key
   * still in use), with a growing wait, or Retry-After when Stripe gives one.
   * Other Stripe errors are thrown as they are, for the caller to map.
   */
  async #send<T>(asked: Asked, call: (stripe: Stripe) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const stripe = await this.#client();
      try {
        return await call(stripe);
      } catch (error) {
        if (isError(error, 'StripeAuthenticationError')) this.#keyRefused = true;
        if (this.#keyRefused) throw keyRefused();
        const unanswered = this.#unanswered(error);
        if (unanswered === undefined) throw error;
        if (attempt >= this.#retry.tries || (unanswered.retryAfterMs ?? 0) > MAX_RETRY_AFTER_MS) {
          throw new UnansweredError(scrub(`Stripe did not answer ${asked.what} (${unanswered.reason}; ${attempt} ${attempt === 1 ? 'try' : 'tries'}); ${asked.then}`));
        }
        if (unanswered.retryAfterMs !== undefined) this.#pacer.holdFor(unanswered.retryAfterMs);
        await this.#clock.sleep(unanswered.retryAfterMs ?? backoff(attempt, this.#retry));
      }
    }
  }

  /** Why Stripe's answer is unknown or was "not now", or undefined when it answered. */
  #unanswered(error: unknown): { reason: string; retryAfterMs?: number } | undefined {
    if (!(isError(error, 'StripeError'))) return undefined;
    if (kindOf(error, 'StripeRateLimitError') || error.code === 'lock_timeout') {
      const seconds = Number(error.headers?.['retry-after']);
      return { reason: error.code === 'lock_timeout' ? 'the object was locked by another request' : 'too many requests (HTTP 429)', ...(Number.isFinite(seconds) && seconds >= 0 ? { retryAfterMs: seconds * 1000 } : {}) };
    }
    if (kindOf(error, 'StripeConnectionError')) {
      return { reason: /timeout/i.test(error.message) ? `no answer within ${this.#timeoutMs / 1000} s` : 'the connection failed or closed before the answer' };
    }
    if (kindOf(error, 'StripeAPIError') && !(error.statusCode !== undefined && error.statusCode < 500)) {
      return { reason: error.statusCode ? `Stripe failed with HTTP ${error.statusCode}` : 'Stripe answered with something unreadable' };
    }
    if (error.statusCode === 409 || error.code === 'idempotency_key_in_use') return { reason: 'the same request was still being handled' };
    return undefined;
  }

  /** Any error left, as one sentence that never carries the key. */
  #plain(error: unknown): Error {
    if (error instanceof FailedError) return error;
    if (isError(error, 'StripePermissionError')) {
      return new FailedError(`Stripe refused the request: the key in STRIPE_SECRET_KEY is not allowed to do this (${scrub(error.message)}); give the restricted key that permission or use the secret key`, 'stripe_permission');
    }
    if (isError(error, 'StripeError')) return new FailedError(`Stripe refused the request: ${scrub(error.message)}`, 'stripe_error');
    if (error instanceof Error) error.message = scrub(error.message);
    return error as Error;
  }

  /**
   * Every object of a list that this database made (by `txplan_database` in its metadata), oldest first:
   * Stripe lists newest first, and a stable sort by key then keeps two of one key in the order they were made.
   */
  async #listMine<T extends { id: string; metadata: Stripe.Metadata | null }>(what: string, list: (stripe: Stripe, page: { limit: number; starting_after?: string }) => PromiseLike<Stripe.ApiList<T>>): Promise<T[]> {
    const all = await this.#listAll({ what: `the list of ${what}`, then: 'nothing was compared; run billing reconcile again in a minute' }, list).catch((error: unknown) => Promise.reject(this.#plain(error)));
    return all.reverse().filter((object) => object.metadata?.txplan_database === this.#databaseId);
  }

  /** Every object of a list, a page of 100 at a time, each page through the pacer. */
  async #listAll<T extends { id: string }>(asked: Asked, list: (stripe: Stripe, page: { limit: number; starting_after?: string }) => PromiseLike<Stripe.ApiList<T>>): Promise<T[]> {
    const all: T[] = [];
    let after: string | undefined;
    do {
      const from = after;
      const page = await this.#send(asked, (stripe) => Promise.resolve(list(stripe, from === undefined ? { limit: 100 } : { limit: 100, starting_after: from })));
      all.push(...page.data);
      after = page.has_more ? page.data.at(-1)?.id : undefined;
    } while (after !== undefined);
    return all;
  }
}

/**
 * The PaymentIntent asked for: every field a function of the request alone,
 * so a resend under the same key is the same request.
 */
function chargeParams(request: ChargeRequest, databaseId: string): Stripe.PaymentIntentCreateParams {
  return {
    amount: request.amountMinor,
    currency: request.currency.toLowerCase(),
    ...(request.customer !== null ? { customer: request.customer } : {}),
    payment_method: request.token,
    // The SDK's pinned API version names it so (payment_method_types is gone from PaymentIntent creation).
    allowed_payment_method_types: ['card'],
    confirm: true,
    off_session: true,
    description: request.description,
    // Ids only: nothing about the patient or the treatment.
    metadata: {
      txplan_key: request.idempotencyKey,
      txplan_database: databaseId,
      txplan_plan: String(request.planId),
      txplan_patient: String(request.patientId),
      txplan_for: request.paysFor,
    },
  };
}

/** What a PaymentIntent Stripe holds says of the charge. */
function chargeResult(intent: Stripe.PaymentIntent, asked: Asked): ChargeResult {
  switch (intent.status) {
    case 'succeeded':
      return { status: 'succeeded', id: intent.id };
    case 'requires_action':
      return declined(intent.id, NEEDS_PATIENT, undefined, '');
    case 'requires_payment_method': {
      const last = intent.last_payment_error;
      return last ? declined(intent.id, last.code, last.decline_code, last.message ?? '') : { status: 'declined', id: intent.id, code: 'requires_payment_method', message: 'Stripe needs another payment method for this charge', hard: false };
    }
    case 'processing':
      throw new UnansweredError(`Stripe is still processing ${asked.what}; ${asked.then}`);
    default:
      return { status: 'declined', id: intent.id, code: intent.status, message: `Stripe left the payment ${intent.status.replace(/_/g, ' ')}`, hard: false };
  }
}

/** What a refund Stripe holds says of it: failed or cancelled is a failed refund, anything else made. */
function refundResult(refund: Stripe.Refund): RefundResult {
  if (refund.status === 'failed' || refund.status === 'canceled') {
    return { status: 'failed', id: refund.id, code: refund.failure_reason ?? refund.status, message: `Stripe ${refund.status === 'failed' ? 'could not make' : 'cancelled'} the refund${refund.failure_reason ? ` (${refund.failure_reason.replace(/_/g, ' ')})` : ''}` };
  }
  return { status: 'succeeded', id: refund.id };
}

/** A card declined: hard when no retry can clear it, needing the patient when the bank asks them to confirm. */
function declined(id: string, code: string | undefined, declineCode: string | undefined, message: string): ChargeResult {
  if (code === NEEDS_PATIENT || declineCode === NEEDS_PATIENT) {
    return { status: 'declined', id, code: NEEDS_PATIENT, message: "The patient's bank asks them to confirm this payment; the patient must confirm it with their bank, or give another card with plan payment", hard: true };
  }
  const reason = declineCode || code || 'card_declined';
  return { status: 'declined', id, code: reason, message: scrub(message) || 'The card was declined.', hard: HARD_DECLINES.has(reason) };
}

function details(method: Stripe.PaymentMethod): PaymentMethodDetails {
  const card = method.card;
  if (!card) throw new FailedError(`Payment method ${method.id} is not a card (it is ${method.type}); txplan charges cards only`, 'not_a_card');
  return { token: method.id, brand: card.brand, last4: card.last4, exp_month: card.exp_month, exp_year: card.exp_year };
}

function isMissing(error: unknown): error is Stripe.errors.StripeError {
  return isError(error, 'StripeInvalidRequestError') && error.code === 'resource_missing';
}

function unknownPaymentMethod(token: string): FailedError {
  return new FailedError(`Stripe has no payment method ${token}; check the token (in test mode, use pm_card_visa or another pm_card_* test card)`, 'unknown_payment_method');
}

function keyRefused(): FailedError {
  return new FailedError('Stripe refused the secret key in STRIPE_SECRET_KEY; it may have been rolled or revoked. Export the current key from your secret store and run again (nothing more was sent to Stripe)', 'stripe_key_refused');
}

function backoff(attempt: number, policy: RetryPolicy): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  // Between half and all of it, so requests that failed together do not all come back together.
  return Math.round(ceiling * (0.5 + Math.random() / 2));
}

/** Idempotency-key order (plain code-unit order), as the sandbox's ledger and txplan's side of reconcile read them. */
function byKey(a: { idempotencyKey: string }, b: { idempotencyKey: string }): number {
  return a.idempotencyKey < b.idempotencyKey ? -1 : a.idempotencyKey > b.idempotencyKey ? 1 : 0;
}
