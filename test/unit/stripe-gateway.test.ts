import { inspect, format } from 'node:util';
import Stripe from 'stripe';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IdempotencyConflictError, NEEDS_PATIENT, UnansweredError, type ChargeRequest, type LedgerEntry, type RefundLedgerEntry, type RefundRequest } from '../../src/billing/gateway.js';
import { StripeGateway, scrub, type StripeConfig, type StripeGatewayOptions } from '../../src/billing/gateways/stripe.js';
import { FailedError } from '../../src/errors.js';
import { startStandIn, type StandIn } from '../stripe/standin.mjs';

const KEY = 'sk_test_51TxplanGatewayKeyForTests0123';
const DB = 'gatewaytestsdatabaseidaa';
const OTHER_DB = 'anotherdatabaseidforthem';

let standIn: StandIn;

beforeEach(async () => {
  standIn = await startStandIn({ seed: 7, apiKey: KEY });
});

afterEach(async () => {
  await standIn.close();
});

function gateway(config: Partial<StripeConfig> = {}, options: Partial<StripeGatewayOptions> = {}): StripeGateway {
  return new StripeGateway(
    { secretKey: KEY, mode: 'test', apiBase: new URL(standIn.url), concurrency: 8, maxRps: 0, timeoutMs: 2000, ...config },
    { databaseId: DB, retry: { tries: 4, baseDelayMs: 5, maxDelayMs: 20 }, ...options },
  );
}

function key(n: number, db = DB): string {
  return `txp_${db}_plan-${n}-installment-1`;
}

function chargeOf(over: Partial<ChargeRequest> = {}): ChargeRequest {
  return {
    idempotencyKey: key(1),
    amountMinor: 12000,
    currency: 'EUR',
    token: 'pm_card_visa',
    customer: null,
    description: 'Plan 1, installment 1',
    planId: 1,
    patientId: 7,
    paysFor: 'installment 1',
    attemptStartedAt: new Date().toISOString(),
    ...over,
  };
}

function refundOf(chargeId: string, over: Partial<RefundRequest> = {}): RefundRequest {
  return { idempotencyKey: `${key(1)}-refund-1`, chargeId, amountMinor: 5000, currency: 'EUR', reason: 'Patient had an allergic reaction to the filler', planId: 1, attemptStartedAt: new Date().toISOString(), ...over };
}

/** The error a promise is rejected with (the test fails if it resolves). */
async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

/** A plain SDK client, for putting objects at the stand-in the way someone else (another run, the dashboard) would. */
function rawClient(): Stripe {
  const base = new URL(standIn.url);
  return new Stripe(KEY, { host: base.hostname, port: base.port, protocol: 'http', maxNetworkRetries: 0, telemetry: false });
}

function postsOfIntents(): number {
  return standIn.stats().byRoute['POST /v1/payment_intents'] ?? 0;
}

describe('payment methods', () => {
  it('describes a token from what Stripe holds, and refuses one Stripe does not know', async () => {
    const stripe = gateway();
    expect(await stripe.describePaymentMethod('pm_card_visa')).toEqual({ token: 'pm_card_visa', brand: 'visa', last4: '4242', exp_month: 12, exp_year: 2034 });
    const error = await failure(stripe.describePaymentMethod('pm_nosuchcard'));
    expect(error).toBeInstanceOf(FailedError);
    expect((error as FailedError).code).toBe('unknown_payment_method');
    expect(error.message).toMatch(/^Stripe has no payment method pm_nosuchcard; check the token/);
  });

  it('makes the patient a customer named by ids only, once, and saves the attached copy of the card', async () => {
    const stripe = gateway();
    const first = await stripe.savePaymentMethod({ token: 'pm_card_visa', patientId: 7, customer: null });
    expect(first.token).toMatch(/^pm_1/);
    expect(first).toMatchObject({ brand: 'visa', last4: '4242', exp_month: 12, exp_year: 2034 });
    expect(first.customer).toMatch(/^cus_/);
    const [customer, ...others] = standIn.customers();
    expect(others).toEqual([]);
    expect(customer!.id).toBe(first.customer);
    expect(customer!.metadata).toEqual({ txplan_database: DB, txplan_patient: '7' });
    // Nothing else about the patient was sent.
    expect(Object.keys(customer!).filter((field) => !['id', 'object', 'metadata', 'created', 'livemode'].includes(field) && customer![field] !== null && customer![field] !== undefined)).toEqual([]);

    const second = await stripe.savePaymentMethod({ token: 'pm_card_mastercard', patientId: 7, customer: first.customer });
    expect(second).toMatchObject({ brand: 'mastercard', last4: '4444', customer: first.customer });
    expect(standIn.customers()).toHaveLength(1);
    expect(standIn.stats().byRoute['POST /v1/customers']).toBe(1);
  });

  it('refuses a card declined on saving, in plain words, and saves nothing', async () => {
    const stripe = gateway();
    const error = await failure(stripe.savePaymentMethod({ token: 'pm_card_chargeDeclinedInsufficientFunds', patientId: 8, customer: null }));
    expect(error).toBeInstanceOf(FailedError);
    expect((error as FailedError).code).toBe('card_declined_on_save');
    expect(error.message).toBe('Stripe declined the card when saving it (insufficient funds); nothing was saved, ask the patient for another card');
    // Asked once (a decline is an answer, not retried); the patient's customer holds no card to charge.
    expect(standIn.stats().byRoute['POST /v1/payment_methods/:id/attach']).toBe(1);
    // Saving another card for the patient, with nothing kept from the refused save, finds the same customer (same key).
    const saved = await stripe.savePaymentMethod({ token: 'pm_card_visa', patientId: 8, customer: null });
    expect(standIn.customers()).toHaveLength(1);
    expect(saved.customer).toBe(standIn.customers()[0]!.id);
    expect((await stripe.charge(chargeOf({ token: saved.token, customer: saved.customer }))).status).toBe('succeeded');
  });

  it('holds nothing open: after close a later call makes a new client', async () => {
    const stripe = gateway();
    await stripe.describePaymentMethod('pm_card_visa');
    stripe.close();
    expect((await stripe.describePaymentMethod('pm_card_amex')).last4).toBe('8431');
  });

  it('refuses an unknown token and a card saved to another patient', async () => {
    const stripe = gateway();
    const unknown = await failure(stripe.savePaymentMethod({ token: 'pm_nosuchcard', patientId: 9, customer: null }));
    expect((unknown as FailedError).code).toBe('unknown_payment_method');

    const theirs = await stripe.savePaymentMethod({ token: 'pm_card_visa', patientId: 10, customer: null });
    const taken = await failure(stripe.savePaymentMethod({ token: theirs.token, patientId: 11, customer: null }));
    expect(taken).toBeInstanceOf(FailedError);
    expect((taken as FailedError).code).toBe('payment_method_refused');
    expect(taken.message).toContain(`Stripe would not save payment method ${theirs.token} for patient 11`);
  });
});

describe('charges', () => {
  it('charges off-session with the key as Idempotency-Key and only ids as metadata', async () => {
    const stripe = gateway();
    const saved = await stripe.savePaymentMethod({ token: 'pm_card_visa', patientId: 7, customer: null });
    const result = await stripe.charge(chargeOf({ token: saved.token, customer: saved.customer }));
    const [intent, ...others] = standIn.paymentIntents();
    expect(others).toEqual([]);
    expect(result).toEqual({ status: 'succeeded', id: intent!.id });
    expect(intent).toMatchObject({ amount: 12000, currency: 'eur', customer: saved.customer, payment_method: saved.token, status: 'succeeded', description: 'Plan 1, installment 1', payment_method_types: ['card'] });
    expect(intent!.metadata).toEqual({ txplan_key: key(1), txplan_database: DB, txplan_plan: '1', txplan_patient: '7', txplan_for: 'installment 1' });
    // A resend under the same key is the same request: Stripe replays it.
    expect(await stripe.charge(chargeOf({ token: saved.token, customer: saved.customer }))).toEqual(result);
    expect(standIn.paymentIntents()).toHaveLength(1);
    expect(standIn.stats().replays).toBe(1);
  });

  it.each([
    ['pm_card_chargeDeclined', 'generic_decline', false],
    ['pm_card_chargeDeclinedInsufficientFunds', 'insufficient_funds', false],
    ['pm_card_chargeDeclinedIncorrectCvc', 'incorrect_cvc', false],
    ['pm_card_chargeDeclinedProcessingError', 'processing_error', false],
    ['pm_card_chargeCustomerFail', 'generic_decline', false],
    ['pm_card_chargeDeclinedLostCard', 'lost_card', true],
    ['pm_card_chargeDeclinedStolenCard', 'stolen_card', true],
    ['pm_card_chargeDeclinedExpiredCard', 'expired_card', true],
    ['pm_card_chargeDeclinedFraudulent', 'fraudulent', true],
  ])('%s declines with %s (hard: %s)', async (token, code, hard) => {
    const result = await gateway().charge(chargeOf({ token }));
    const [intent] = standIn.paymentIntents();
    expect(result).toMatchObject({ status: 'declined', id: intent!.id, code, hard });
    expect(result.status === 'declined' && result.message).toMatch(/\w/);
  });

  it('a bank asking for authentication (SCA) fails hard as needing the patient, both as a card error and as requires_action', async () => {
    const stripe = gateway();
    const failed = await stripe.charge(chargeOf({ token: 'pm_card_authenticationRequired' }));
    expect(failed).toMatchObject({ status: 'declined', code: NEEDS_PATIENT, hard: true, id: standIn.paymentIntents()[0]!.id });
    expect(failed.status === 'declined' && failed.message).toMatch(/the patient must confirm it with their bank, or give another card/);

    standIn.setOutcome('pm_card_mastercard', 'requires_action');
    const action = await stripe.charge(chargeOf({ idempotencyKey: key(2), token: 'pm_card_mastercard' }));
    expect(action).toMatchObject({ status: 'declined', code: NEEDS_PATIENT, hard: true, id: standIn.paymentIntents()[1]!.id });
  });

  it('a payment method Stripe does not know, or a request it will not take, fails hard', async () => {
    const stripe = gateway();
    expect(await stripe.charge(chargeOf({ token: 'pm_1NoSuchMethodAnywhere' }))).toEqual({ status: 'declined', id: '', code: 'payment_method_missing', message: 'Stripe has no such payment method; set a new one with plan payment', hard: true });
    const malformed = await stripe.charge(chargeOf({ idempotencyKey: key(2), amountMinor: 0 }));
    expect(malformed).toMatchObject({ status: 'declined', hard: true });
    expect(malformed.status === 'declined' && malformed.code).not.toBe('');
  });

  it('the same key with another amount is an idempotency conflict', async () => {
    const stripe = gateway();
    await stripe.charge(chargeOf());
    const error = await failure(stripe.charge(chargeOf({ amountMinor: 99 })));
    expect(error).toBeInstanceOf(IdempotencyConflictError);
    expect(standIn.paymentIntents()).toHaveLength(1);
  });

  it('after a 429 it waits as long as Retry-After says, then asks again under the same key', async () => {
    standIn.configure({ faults: [{ kind: '429', route: 'POST /v1/payment_intents', times: 1, retryAfter: 1 }] });
    const result = await gateway().charge(chargeOf());
    const [intent, ...others] = standIn.paymentIntents();
    expect(others).toEqual([]);
    expect(result).toEqual({ status: 'succeeded', id: intent!.id });
    const stats = standIn.stats();
    expect(stats.faultsInjected['429']).toBe(1);
    expect(stats.requestTimes).toHaveLength(2);
    // The backoff alone would have come back after a few milliseconds.
    expect(stats.requestTimes[1]! - stats.requestTimes[0]!).toBeGreaterThanOrEqual(1000);
  });

  it('Stripe failing (500) and answers lost on the way (dropped, hung) are asked again under the same key: one PaymentIntent', async () => {
    const stripe = gateway({ timeoutMs: 300 });
    standIn.configure({ faults: [{ kind: '500', route: 'POST /v1/payment_intents', times: 2 }] });
    const afterFailures = await stripe.charge(chargeOf());
    expect(standIn.paymentIntents()).toHaveLength(1);
    expect(afterFailures).toEqual({ status: 'succeeded', id: standIn.paymentIntents()[0]!.id });

    standIn.configure({ faults: [{ kind: 'drop', route: 'POST /v1/payment_intents', times: 3 }] });
    const afterDrops = await stripe.charge(chargeOf({ idempotencyKey: key(2), planId: 2, token: 'pm_card_chargeDeclinedInsufficientFunds' }));
    expect(standIn.paymentIntents()).toHaveLength(2);
    expect(afterDrops).toMatchObject({ status: 'declined', code: 'insufficient_funds', id: standIn.paymentIntents()[1]!.id });

    standIn.configure({ faults: [{ kind: 'hang', route: 'POST /v1/payment_intents', times: 1 }] });
    const afterHang = await stripe.charge(chargeOf({ idempotencyKey: key(3), planId: 3 }));
    expect(standIn.paymentIntents()).toHaveLength(3);
    expect(afterHang).toEqual({ status: 'succeeded', id: standIn.paymentIntents()[2]!.id });
    expect(standIn.stats().replays).toBeGreaterThanOrEqual(2);
    expect(standIn.succeededByKey().get(key(1))).toBe(1);
    expect(standIn.succeededByKey().get(key(3))).toBe(1);
  });

  it('the same key still being handled (409, two runs at once) is asked again and gets the one PaymentIntent', async () => {
    standIn.configure({ latencyMs: 60 });
    const stripe = gateway();
    const [a, b] = await Promise.all([stripe.charge(chargeOf()), stripe.charge(chargeOf())]);
    expect(standIn.paymentIntents()).toHaveLength(1);
    expect(a).toEqual({ status: 'succeeded', id: standIn.paymentIntents()[0]!.id });
    expect(b).toEqual(a);
    expect(standIn.stats().replays).toBe(1);
    expect(standIn.stats().requests).toBe(3);
  });

  it('gives up after its tries as unanswered; a later call under the same key gets what Stripe did', async () => {
    const stripe = gateway();
    standIn.configure({ faults: [{ kind: 'drop', route: 'POST /v1/payment_intents' }] });
    const error = await failure(stripe.charge(chargeOf()));
    expect(error).toBeInstanceOf(UnansweredError);
    expect(error.message).toMatch(new RegExp(`^Stripe did not answer charge ${key(1)} \\(the connection failed or closed before the answer; 4 tries\\); it stays pending and the next billing run asks again under the same key$`));
    // It was made once, the first time; every later try was a replay.
    expect(standIn.paymentIntents()).toHaveLength(1);

    standIn.configure({ faults: [] });
    const later = await stripe.charge(chargeOf());
    expect(later).toEqual({ status: 'succeeded', id: standIn.paymentIntents()[0]!.id });
    expect(standIn.paymentIntents()).toHaveLength(1);

    standIn.configure({ faults: [{ kind: '500', route: 'POST /v1/payment_intents' }] });
    const failing = await failure(stripe.charge(chargeOf({ idempotencyKey: key(2) })));
    expect(failing.message).toContain('(Stripe failed with HTTP 500; 4 tries)');
    expect(standIn.stats().faultsInjected['500']).toBe(4);
  });

  it('keeps at most `concurrency` requests in flight', async () => {
    standIn.configure({ latencyMs: 40 });
    const stripe = gateway({ concurrency: 3 });
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => stripe.charge(chargeOf({ idempotencyKey: key(i + 1), planId: i + 1 }))));
    expect(results.every((r) => r.status === 'succeeded')).toBe(true);
    expect(standIn.stats().maxInFlight).toBeLessThanOrEqual(3);
    expect(standIn.stats().requests).toBe(12);
  });

  it('starts at most max_rps requests in any second, as the stand-in counts them', async () => {
    const stripe = gateway({ concurrency: 30, maxRps: 10 });
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => stripe.charge(chargeOf({ idempotencyKey: key(i + 1), planId: i + 1 }))));
    expect(results.every((r) => r.status === 'succeeded')).toBe(true);
    expect(standIn.stats().requests).toBe(30);
    expect(standIn.stats().maxInAnySecond).toBeLessThanOrEqual(10);
  });

  it('a key older than Stripe keeps keys is looked up first: an existing PaymentIntent answers, none is made', async () => {
    const stripe = gateway();
    const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000).toISOString();
    // Made under this txplan key, but Stripe no longer links the Idempotency-Key to it (here: it never did).
    const earlier = await rawClient().paymentIntents.create(
      { amount: 12000, currency: 'eur', payment_method: 'pm_card_visa', confirm: true, off_session: true, metadata: { txplan_key: key(1), txplan_database: DB, txplan_plan: '1', txplan_patient: '7', txplan_for: 'installment 1' } },
      { idempotencyKey: 'made-before-stripe-forgot-the-key' },
    );
    expect(await stripe.charge(chargeOf({ attemptStartedAt: twoDaysAgo }))).toEqual({ status: 'succeeded', id: earlier.id });
    expect(standIn.paymentIntents()).toHaveLength(1);
    expect(postsOfIntents()).toBe(1);
    expect(standIn.stats().byRoute['GET /v1/payment_intents/search']).toBe(1);

    // Nothing under the key: it is sent.
    const fresh = await stripe.charge(chargeOf({ idempotencyKey: key(2), planId: 2, attemptStartedAt: twoDaysAgo }));
    expect(fresh.status).toBe('succeeded');
    expect(standIn.paymentIntents()).toHaveLength(2);
    // A recent key is sent without looking.
    await stripe.charge(chargeOf({ idempotencyKey: key(3), planId: 3 }));
    expect(standIn.stats().byRoute['GET /v1/payment_intents/search']).toBe(2);
  });

  it('a refund older than Stripe keeps keys is looked up among the charge\'s refunds first: none is made twice', async () => {
    const stripe = gateway();
    const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000).toISOString();
    const paid = await stripe.charge(chargeOf());
    if (paid.status !== 'succeeded') throw new Error('the charge should succeed');
    const earlier = await rawClient().refunds.create(
      { payment_intent: paid.id, amount: 5000, metadata: { txplan_key: `${key(1)}-refund-1`, txplan_database: DB, txplan_plan: '1' } },
      { idempotencyKey: 'made-before-stripe-forgot-the-key' },
    );
    expect(await stripe.refund(refundOf(paid.id, { attemptStartedAt: twoDaysAgo }))).toEqual({ status: 'succeeded', id: earlier.id });
    expect(standIn.refunds()).toHaveLength(1);
    // Nothing under that key yet: the refund is made.
    expect((await stripe.refund(refundOf(paid.id, { idempotencyKey: `${key(1)}-refund-2`, attemptStartedAt: twoDaysAgo }))).status).toBe('succeeded');
    expect(standIn.refunds()).toHaveLength(2);
  });
});

describe('the ledger', () => {
  it('lists every PaymentIntent of this database across pages, in key order, and none of another database', async () => {
    const stripe = gateway({ concurrency: 16 });
    // Made in an order other than key order.
    const plans = Array.from({ length: 105 }, (_, i) => ((i * 37) % 105) + 1);
    await Promise.all(plans.map((n) => stripe.charge(chargeOf({ idempotencyKey: key(n), planId: n, token: n === 50 ? 'pm_card_chargeDeclined' : 'pm_card_visa' }))));
    const theirs = gateway({}, { databaseId: OTHER_DB });
    await theirs.charge(chargeOf({ idempotencyKey: key(1, OTHER_DB) }));
    await theirs.charge(chargeOf({ idempotencyKey: key(2, OTHER_DB) }));

    const entries = await collect(stripe.ledger());
    expect(entries).toHaveLength(105);
    const keys = entries.map((e) => e.idempotencyKey);
    expect(keys).toEqual([...keys].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    expect(new Set(keys)).toEqual(new Set(plans.map((n) => key(n))));
    const declined = entries.find((e) => e.idempotencyKey === key(50))!;
    expect(declined).toMatchObject<Partial<LedgerEntry>>({ status: 'declined', amountMinor: 12000, currency: 'EUR' });
    expect(entries.filter((e) => e.status === 'succeeded')).toHaveLength(104);
    expect(entries[0]!.createdAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    // Two pages at least.
    expect(standIn.stats().byRoute['GET /v1/payment_intents']).toBeGreaterThanOrEqual(2);
    expect(await collect(theirs.ledger())).toHaveLength(2);
  });

  it('yields both of two PaymentIntents with one key, so reconcile sees the double charge', async () => {
    const stripe = gateway();
    const first = await stripe.charge(chargeOf());
    const second = await rawClient().paymentIntents.create(
      { amount: 12000, currency: 'eur', payment_method: 'pm_card_visa', confirm: true, off_session: true, metadata: { txplan_key: key(1), txplan_database: DB } },
      { idempotencyKey: 'someone-else' },
    );
    const entries = await collect(stripe.ledger());
    expect(entries.map((e) => [e.idempotencyKey, e.id])).toEqual([
      [key(1), first.id],
      [key(1), second.id],
    ]);
  });
});

describe('refunds', () => {
  it('refunds through Stripe with ids only, answers a refund Stripe will not make as failed, and lists this database’s refunds in key order', async () => {
    const stripe = gateway();
    const charged = await stripe.charge(chargeOf());
    const refund = await stripe.refund(refundOf(charged.id));
    const [made, ...others] = standIn.refunds();
    expect(others).toEqual([]);
    expect(refund).toEqual({ status: 'succeeded', id: made!.id });
    expect(made).toMatchObject({ amount: 5000, payment_intent: charged.id, reason: 'requested_by_customer' });
    expect(made!.metadata).toEqual({ txplan_key: `${key(1)}-refund-1`, txplan_database: DB, txplan_plan: '1' });
    expect(JSON.stringify(standIn.refunds())).not.toContain('allergic');

    expect(await stripe.refund(refundOf(charged.id, { idempotencyKey: `${key(1)}-refund-2`, amountMinor: 9000 }))).toMatchObject({ status: 'failed', id: '', code: 'amount_too_large' });
    expect(await stripe.refund(refundOf('pi_nosuchintent', { idempotencyKey: `${key(1)}-refund-3` }))).toMatchObject({ status: 'failed', id: '', code: 'resource_missing' });
    const declined = await stripe.charge(chargeOf({ idempotencyKey: key(2), planId: 2, token: 'pm_card_chargeDeclined' }));
    expect(await stripe.refund(refundOf(declined.id, { idempotencyKey: `${key(2)}-refund-1`, planId: 2 }))).toMatchObject({ status: 'failed', code: 'charge_not_refundable' });

    const conflict = await failure(stripe.refund(refundOf(charged.id, { amountMinor: 4000 })));
    expect(conflict).toBeInstanceOf(IdempotencyConflictError);

    const theirs = gateway({}, { databaseId: OTHER_DB });
    const theirCharge = await theirs.charge(chargeOf({ idempotencyKey: key(1, OTHER_DB) }));
    await theirs.refund(refundOf(theirCharge.id, { idempotencyKey: `${key(1, OTHER_DB)}-refund-1` }));
    const second = await stripe.refund(refundOf(charged.id, { idempotencyKey: `${key(1)}-refund-0`, amountMinor: 1000 }));

    expect(await collect(stripe.refunds())).toEqual<RefundLedgerEntry[]>([
      { id: second.id, idempotencyKey: `${key(1)}-refund-0`, chargeId: charged.id, amountMinor: 1000, currency: 'EUR', status: 'succeeded', createdAt: expect.any(String) as string },
      { id: refund.id, idempotencyKey: `${key(1)}-refund-1`, chargeId: charged.id, amountMinor: 5000, currency: 'EUR', status: 'succeeded', createdAt: expect.any(String) as string },
    ]);
  });

  it('a refund Stripe does not answer is unanswered, and asked again under the same key', async () => {
    const stripe = gateway();
    const charged = await stripe.charge(chargeOf());
    standIn.configure({ faults: [{ kind: 'drop', route: 'POST /v1/refunds' }] });
    const error = await failure(stripe.refund(refundOf(charged.id)));
    expect(error).toBeInstanceOf(UnansweredError);
    standIn.configure({ faults: [] });
    expect((await stripe.refund(refundOf(charged.id))).status).toBe('succeeded');
    expect(standIn.refunds()).toHaveLength(1);
  });
});

describe('the secret key', () => {
  const secret = KEY.slice('sk_test_'.length);

  it('is hidden from every message', () => {
    expect(scrub('Invalid API Key provided: sk_test_********0123')).toBe('Invalid API Key provided: sk_test_[hidden]');
    expect(scrub(`with ${KEY} and rk_live_abcDEF123456 inside`)).toBe('with sk_test_[hidden] and rk_live_[hidden] inside');
  });

  it('is never shown when the gateway is printed, inspected or turned into JSON', async () => {
    const stripe = gateway();
    await stripe.describePaymentMethod('pm_card_visa'); // the SDK client now exists inside it
    const shown = [inspect(stripe, { depth: 20, showHidden: true }), JSON.stringify(stripe), JSON.stringify({ error: { gateway: stripe } }), String(stripe), format('%o %O %j', stripe, stripe, stripe), inspect(new Error('x', { cause: stripe }), { depth: 20 })];
    for (const text of shown) expect(text).not.toContain(secret);
    expect(JSON.parse(JSON.stringify(stripe))).toEqual({ name: 'stripe', mode: 'test', apiBase: standIn.url, concurrency: 8, maxRps: 0 });
  });

  it('a key Stripe refuses is one clear error, and nothing more is sent with it', async () => {
    const wrong = 'sk_test_51WrongKeyThatStripeRefuses9876';
    const stripe = gateway({ secretKey: wrong, concurrency: 1 });
    // Five at once: the four waiting their turn behind the refused one are not sent.
    const errors = await Promise.all(Array.from({ length: 5 }, (_, i) => failure(stripe.charge(chargeOf({ idempotencyKey: key(i + 10) })))));
    expect(errors[0]).toBeInstanceOf(FailedError);
    expect((errors[0] as FailedError).code).toBe('stripe_key_refused');
    expect(errors[0]!.message).toMatch(/^Stripe refused the secret key in STRIPE_SECRET_KEY; /);
    expect(standIn.stats().requests).toBe(1);

    errors.push(await failure(stripe.charge(chargeOf({ idempotencyKey: key(2) }))));
    errors.push(await failure(stripe.describePaymentMethod('pm_card_visa')));
    errors.push(await failure(stripe.savePaymentMethod({ token: 'pm_card_visa', patientId: 1, customer: null })));
    errors.push(await failure(stripe.refund(refundOf('pi_x'))));
    errors.push(await failure(collect(stripe.ledger())));
    errors.push(await failure(collect(stripe.refunds())));
    for (const error of errors) {
      expect((error as FailedError).code).toBe('stripe_key_refused');
      expect(inspect(error, { depth: 20 })).not.toContain(wrong.slice(8));
      expect(inspect(error, { depth: 20 })).not.toContain(wrong.slice(-4));
    }
    expect(standIn.stats().requests).toBe(1);
  });

  it('no error of a failing request carries the key', async () => {
    const stripe = gateway();
    standIn.configure({ faults: [{ kind: '500' }] });
    const errors = [await failure(stripe.charge(chargeOf())), await failure(stripe.describePaymentMethod('pm_card_visa')), await failure(collect(stripe.ledger()))];
    standIn.configure({ faults: [] });
    errors.push(await failure(stripe.savePaymentMethod({ token: 'pm_nosuchcard', patientId: 1, customer: null })));
    for (const error of errors) {
      expect(error).toBeInstanceOf(FailedError);
      expect(inspect(error, { depth: 20, showHidden: true })).not.toContain(secret);
    }
  });
});
