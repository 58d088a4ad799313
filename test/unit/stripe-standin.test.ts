import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseStripeParams, startStandIn, type StandIn } from '../stripe/standin.mjs';

// The stand-in is only worth something if the official SDK reads its answers as it reads Stripe's: every test
// here goes through the real `stripe` client.

const KEY = 'sk_test_standin0000000000001234';

function client(standIn: StandIn, options: { key?: string; timeout?: number } = {}): Stripe {
  const { hostname, port } = new URL(standIn.url);
  return new Stripe(options.key ?? KEY, {
    host: hostname,
    port: Number(port),
    protocol: 'http',
    maxNetworkRetries: 0,
    telemetry: false,
    ...(options.timeout ? { timeout: options.timeout } : {}),
  });
}

/** The error a promise rejects with (the test fails if it resolves). */
async function rejection(promise: Promise<unknown>): Promise<Stripe.errors.StripeError> {
  try {
    await promise;
  } catch (error) {
    return error as Stripe.errors.StripeError;
  }
  throw new Error('expected the request to fail, but it succeeded');
}

let standIn: StandIn;
let stripe: Stripe;

beforeAll(async () => {
  standIn = await startStandIn({ latencyMs: 0, seed: 7 });
  stripe = client(standIn);
});

afterAll(async () => {
  await standIn.close();
});

beforeEach(() => {
  standIn.configure({ latencyMs: 0, faults: [], limitRps: 0, now: null });
});

async function customerWith(card: string): Promise<{ customer: string; paymentMethod: string }> {
  const customer = await stripe.customers.create({ metadata: { txplan_patient_id: '42' } });
  const pm = await stripe.paymentMethods.attach(card, { customer: customer.id });
  return { customer: customer.id, paymentMethod: pm.id };
}

function charge(customer: string | undefined, paymentMethod: string, key: string, amount = 12_000) {
  return stripe.paymentIntents.create(
    {
      amount,
      currency: 'EUR',
      ...(customer ? { customer } : {}),
      payment_method: paymentMethod,
      confirm: true,
      off_session: true,
      allowed_payment_method_types: ['card'],
      description: 'installment 3',
      metadata: { txplan_key: key, txplan_plan_id: '9', txplan_pays_for: 'installment 3' },
    },
    { idempotencyKey: key },
  );
}

const piCount = (key: string) => standIn.paymentIntents().filter((pi) => pi.metadata['txplan_key'] === key).length;

describe('form parameters as stripe-node sends them', () => {
  it('reads brackets into nested objects and indexed arrays', () => {
    const params = new URLSearchParams(
      'amount=100&metadata[txplan_key]=k%201&payment_method_types[0]=card&payment_method_types[1]=sepa_debit&expand[]=latest_charge&a[b][0][c]=d',
    );
    expect(parseStripeParams(params)).toEqual({
      amount: '100',
      metadata: { txplan_key: 'k 1' },
      payment_method_types: ['card', 'sepa_debit'],
      expand: ['latest_charge'],
      a: { b: [{ c: 'd' }] },
    });
  });
});

describe('customers and payment methods', () => {
  it('creates a customer with its metadata and reads it back', async () => {
    const created = await stripe.customers.create({ metadata: { txplan_patient_id: '17' } });
    expect(created.id).toMatch(/^cus_/);
    expect(created.metadata).toEqual({ txplan_patient_id: '17' });
    const read = await stripe.customers.retrieve(created.id);
    expect(read.id).toBe(created.id);
    expect(standIn.customers().find((c) => c.id === created.id)?.metadata).toEqual({ txplan_patient_id: '17' });
  });

  it('attaching pm_card_visa makes a new pm_1… with the card details, attached to the customer', async () => {
    const customer = await stripe.customers.create({});
    const pm = await stripe.paymentMethods.attach('pm_card_visa', { customer: customer.id });
    expect(pm.id).toMatch(/^pm_1/);
    expect(pm.customer).toBe(customer.id);
    expect(pm.card).toMatchObject({ brand: 'visa', last4: '4242', exp_month: 12, exp_year: 2034 });
    const read = await stripe.paymentMethods.retrieve(pm.id);
    expect(read.card?.last4).toBe('4242');
    const amex = await stripe.paymentMethods.attach('pm_card_amex', { customer: customer.id });
    expect(amex.card).toMatchObject({ brand: 'amex', last4: '8431' });
  });

  it('a card declined at attach is a StripeCardError and creates nothing', async () => {
    const customer = await stripe.customers.create({});
    const before = standIn.stats().requests;
    const err = await rejection(stripe.paymentMethods.attach('pm_card_chargeDeclinedStolenCard', { customer: customer.id }));
    expect(err).toBeInstanceOf(Stripe.errors.StripeCardError);
    expect(err.code).toBe('card_declined');
    expect(err.decline_code).toBe('stolen_card');
    expect(standIn.stats().requests).toBe(before + 1);
    const expired = await rejection(stripe.paymentMethods.attach('pm_card_chargeDeclinedExpiredCard', { customer: customer.id }));
    expect(expired.code).toBe('expired_card');
  });

  it('an unknown payment method or customer is resource_missing, and a pm attached elsewhere is refused', async () => {
    const customer = await stripe.customers.create({});
    const unknownPm = await rejection(stripe.paymentMethods.attach('pm_nope', { customer: customer.id }));
    expect(unknownPm).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(unknownPm.code).toBe('resource_missing');
    expect(unknownPm.message).toBe("No such PaymentMethod: 'pm_nope'");
    const unknownCustomer = await rejection(stripe.paymentMethods.attach('pm_card_visa', { customer: 'cus_nope' }));
    expect(unknownCustomer.code).toBe('resource_missing');
    const read = await rejection(stripe.paymentMethods.retrieve('pm_nope'));
    expect(read.statusCode).toBe(404);

    const { paymentMethod } = await customerWith('pm_card_visa');
    const elsewhere = await rejection(stripe.paymentMethods.attach(paymentMethod, { customer: customer.id }));
    expect(elsewhere).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
  });

  it('refuses parameters Stripe does not know, and metadata keys longer than Stripe allows', async () => {
    const unknown = await rejection(stripe.customers.create({ health_note: 'x' } as Stripe.CustomerCreateParams));
    expect(unknown.param).toBe('health_note');
    const longKey = await rejection(stripe.customers.create({ metadata: { ['k'.repeat(41)]: 'v' } }));
    expect(longKey).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
  });
  it('updates a customer and detaches a saved method, which then cannot be charged for that customer', async () => {
    const { customer, paymentMethod } = await customerWith('pm_card_visa');
    const updated = await stripe.customers.update(customer, { metadata: { txplan_patient_id: '', txplan_db: 'd1' } });
    expect(updated.metadata).toEqual({ txplan_db: 'd1' });
    const detached = await stripe.paymentMethods.detach(paymentMethod);
    expect(detached.customer).toBeNull();
    const again = await rejection(stripe.paymentMethods.detach(paymentMethod));
    expect(again).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(await rejection(charge(customer, paymentMethod, 'txp_detached'))).toBeInstanceOf(
      Stripe.errors.StripeInvalidRequestError);
  });
});

describe('PaymentIntents', () => {
  it('an off-session charge to a saved visa succeeds', async () => {
    const { customer, paymentMethod } = await customerWith('pm_card_visa');
    const pi = await charge(customer, paymentMethod, 'txp_ok_1');
    expect(pi).toMatchObject({
      object: 'payment_intent', amount: 12_000, currency: 'eur', customer, payment_method: paymentMethod,
      status: 'succeeded', description: 'installment 3',
      metadata: { txplan_key: 'txp_ok_1', txplan_plan_id: '9', txplan_pays_for: 'installment 3' },
    });
    expect(pi.id).toMatch(/^pi_/);
    expect(pi.latest_charge).toMatch(/^ch_/);
    expect(pi.lastResponse.requestId).toMatch(/^req_/);
    expect(pi.lastResponse.headers['idempotent-replayed']).toBeUndefined();
    expect((await stripe.paymentIntents.retrieve(pi.id)).status).toBe('succeeded');
    expect(standIn.succeededByKey().get('txp_ok_1')).toBe(1);
  });

  const declines: Array<[string, string, string]> = [
    ['pm_card_chargeDeclined', 'card_declined', 'generic_decline'],
    ['pm_card_chargeDeclinedInsufficientFunds', 'card_declined', 'insufficient_funds'],
    ['pm_card_chargeDeclinedLostCard', 'card_declined', 'lost_card'],
    ['pm_card_chargeDeclinedStolenCard', 'card_declined', 'stolen_card'],
    ['pm_card_chargeDeclinedFraudulent', 'card_declined', 'fraudulent'],
    ['pm_card_chargeDeclinedExpiredCard', 'expired_card', 'expired_card'],
    ['pm_card_chargeDeclinedIncorrectCvc', 'incorrect_cvc', 'incorrect_cvc'],
    ['pm_card_chargeDeclinedProcessingError', 'processing_error', 'processing_error'],
  ];
  it.each(declines)('%s declines with %s / %s and leaves the PI requires_payment_method', async (card, code, declineCode) => {
    const key = `txp_decline_${card}`;
    const err = await rejection(charge(undefined, card, key));
    expect(err).toBeInstanceOf(Stripe.errors.StripeCardError);
    expect(err.statusCode).toBe(402);
    expect(err.code).toBe(code);
    expect(err.decline_code).toBe(declineCode);
    expect(err.payment_intent?.status).toBe('requires_payment_method');
    expect(err.payment_intent?.last_payment_error?.decline_code).toBe(declineCode);
    const stored = standIn.paymentIntents().filter((pi) => pi.metadata['txplan_key'] === key);
    expect(stored.map((pi) => [pi.id, pi.status])).toEqual([[err.payment_intent?.id, 'requires_payment_method']]);
    expect(standIn.succeededByKey().get(key)).toBeUndefined();
  });

  it('pm_card_chargeCustomerFail attaches, then its charges decline', async () => {
    const { customer, paymentMethod } = await customerWith('pm_card_chargeCustomerFail');
    const err = await rejection(charge(customer, paymentMethod, 'txp_customer_fail'));
    expect(err).toBeInstanceOf(Stripe.errors.StripeCardError);
    expect(err.decline_code).toBe('generic_decline');
  });

  it('pm_card_authenticationRequired attaches, then an off-session charge needs the patient', async () => {
    const { customer, paymentMethod } = await customerWith('pm_card_authenticationRequired');
    const err = await rejection(charge(customer, paymentMethod, 'txp_sca'));
    expect(err).toBeInstanceOf(Stripe.errors.StripeCardError);
    expect(err.code).toBe('authentication_required');
    expect(err.payment_intent?.status).toBe('requires_payment_method');
  });

  it('setOutcome turns a saved card (and every clone of a test card) into a decline or requires_action, null clears', async () => {
    const { customer, paymentMethod } = await customerWith('pm_card_mastercard');
    standIn.setOutcome(paymentMethod, { code: 'card_declined', decline_code: 'stolen_card' });
    const stolen = await rejection(charge(customer, paymentMethod, 'txp_outcome_1'));
    expect(stolen.decline_code).toBe('stolen_card');
    standIn.setOutcome(paymentMethod, 'requires_action');
    const sca = await charge(customer, paymentMethod, 'txp_outcome_2');
    expect(sca.status).toBe('requires_action');
    standIn.setOutcome(paymentMethod, null);
    expect((await charge(customer, paymentMethod, 'txp_outcome_3')).status).toBe('succeeded');

    standIn.setOutcome('pm_card_mastercard', { code: 'card_declined', decline_code: 'insufficient_funds' });
    const byName = await rejection(charge(customer, paymentMethod, 'txp_outcome_4'));
    expect(byName.decline_code).toBe('insufficient_funds');
    standIn.setOutcome('pm_card_mastercard', null);
  });

  it('a pm_card_* name charged directly becomes a new pm_1…, and error_on_requires_action turns SCA into a decline', async () => {
    const pi = await stripe.paymentIntents.create({ amount: 300, currency: 'eur', payment_method: 'pm_card_visa', confirm: true });
    expect(pi.payment_method).toMatch(/^pm_1/);
    const { customer, paymentMethod } = await customerWith('pm_card_visa');
    standIn.setOutcome(paymentMethod, 'requires_action');
    const err = await rejection(stripe.paymentIntents.create({
      amount: 300, currency: 'eur', customer, payment_method: paymentMethod, confirm: true, off_session: true,
      error_on_requires_action: true,
    }));
    standIn.setOutcome(paymentMethod, null);
    expect(err).toBeInstanceOf(Stripe.errors.StripeCardError);
    expect(err.code).toBe('authentication_required');
    expect(err.payment_intent?.status).toBe('requires_payment_method');
  });

  it('an unknown payment method is an invalid request, resource_missing', async () => {
    const err = await rejection(charge(undefined, 'pm_1doesnotexist', 'txp_unknown_pm'));
    expect(err).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(err.code).toBe('resource_missing');
    expect(err.param).toBe('payment_method');
  });

  it("a saved method charged without its customer, or for another customer, is refused", async () => {
    const { paymentMethod } = await customerWith('pm_card_visa');
    const other = await stripe.customers.create({});
    expect(await rejection(charge(undefined, paymentMethod, 'txp_no_customer'))).toBeInstanceOf(
      Stripe.errors.StripeInvalidRequestError);
    expect(await rejection(charge(other.id, paymentMethod, 'txp_other_customer'))).toBeInstanceOf(
      Stripe.errors.StripeInvalidRequestError);
  });
});

describe('idempotency keys', () => {
  it('the same key with the same parameters replays the stored PI, marked Idempotent-Replayed', async () => {
    const { customer, paymentMethod } = await customerWith('pm_card_visa');
    const first = await charge(customer, paymentMethod, 'txp_replay');
    const second = await charge(customer, paymentMethod, 'txp_replay');
    expect(second.id).toBe(first.id);
    expect(second.lastResponse.headers['idempotent-replayed']).toBe('true');
    expect(first.lastResponse.headers['idempotent-replayed']).toBeUndefined();
    expect(piCount('txp_replay')).toBe(1);
  });

  it('a stored decline is replayed too, as the same error and the same PI', async () => {
    const first = await rejection(charge(undefined, 'pm_card_chargeDeclined', 'txp_replay_decline'));
    const second = await rejection(charge(undefined, 'pm_card_chargeDeclined', 'txp_replay_decline'));
    expect(second).toBeInstanceOf(Stripe.errors.StripeCardError);
    expect(second.payment_intent?.id).toBe(first.payment_intent?.id);
    expect(second.headers?.['idempotent-replayed']).toBe('true');
    expect(piCount('txp_replay_decline')).toBe(1);
  });

  it('the same key with another amount is an idempotency error and executes nothing', async () => {
    const { customer, paymentMethod } = await customerWith('pm_card_visa');
    await charge(customer, paymentMethod, 'txp_other_amount', 12_000);
    const err = await rejection(charge(customer, paymentMethod, 'txp_other_amount', 12_001));
    expect(err).toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
    expect(err.message).toContain("Try using a key other than 'txp_other_amount'");
    expect(piCount('txp_other_amount')).toBe(1);
  });

  it('a request refused for its parameters stores nothing under its key, as at Stripe', async () => {
    const { customer, paymentMethod } = await customerWith('pm_card_visa');
    const refused = await rejection(stripe.paymentIntents.create(
      { amount: 100, currency: 'eur', customer, payment_method: paymentMethod, confirm: true,
        metadata: { ['k'.repeat(41)]: 'v', txplan_key: 'txp_malformed' } },
      { idempotencyKey: 'txp_malformed' }));
    expect(refused).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    const fixed = await charge(customer, paymentMethod, 'txp_malformed');
    expect(fixed.status).toBe('succeeded');
    expect(fixed.lastResponse.headers['idempotent-replayed']).toBeUndefined();
  });

  it('the same key while its first request is still executing is 409 idempotency_key_in_use', async () => {
    const { customer, paymentMethod } = await customerWith('pm_card_visa');
    standIn.configure({ latencyMs: 300 });
    const [a, b] = await Promise.allSettled([
      charge(customer, paymentMethod, 'txp_concurrent'),
      charge(customer, paymentMethod, 'txp_concurrent'),
    ]);
    const outcomes = [a, b].map((r) => r.status);
    expect(outcomes.sort()).toEqual(['fulfilled', 'rejected']);
    const err = (a.status === 'rejected' ? a.reason : (b as PromiseRejectedResult).reason) as Stripe.errors.StripeError;
    expect(err.statusCode).toBe(409);
    expect(err.code).toBe('idempotency_key_in_use');
    expect(piCount('txp_concurrent')).toBe(1);
  });
});

describe('injected faults', () => {
  it('a 429 carries Retry-After, stores nothing, and the retry under the same key executes once', async () => {
    const { customer, paymentMethod } = await customerWith('pm_card_visa');
    standIn.configure({ faults: [{ kind: '429', route: 'POST /v1/payment_intents', times: 1, retryAfter: 3 }] });
    const err = await rejection(charge(customer, paymentMethod, 'txp_429'));
    expect(err).toBeInstanceOf(Stripe.errors.StripeRateLimitError);
    expect(err.headers?.['retry-after']).toBe('3');
    expect(piCount('txp_429')).toBe(0);
    const retry = await charge(customer, paymentMethod, 'txp_429');
    expect(retry.status).toBe('succeeded');
    expect(retry.lastResponse.headers['idempotent-replayed']).toBeUndefined();
    expect(piCount('txp_429')).toBe(1);
    expect(standIn.stats().faultsInjected['429']).toBeGreaterThanOrEqual(1);
  });

  it('a 500 stores nothing; the retry executes once', async () => {
    const { customer, paymentMethod } = await customerWith('pm_card_visa');
    standIn.configure({ faults: [{ kind: '500', route: 'POST /v1/payment_intents', times: 1 }] });
    const err = await rejection(charge(customer, paymentMethod, 'txp_500'));
    expect(err).toBeInstanceOf(Stripe.errors.StripeAPIError);
    expect(err.statusCode).toBe(500);
    expect(piCount('txp_500')).toBe(0);
    const retry = await charge(customer, paymentMethod, 'txp_500');
    expect(retry.lastResponse.headers['idempotent-replayed']).toBeUndefined();
    expect(piCount('txp_500')).toBe(1);
  });

  it('a dropped answer is a connection error after the charge happened; the retry under the same key replays it', async () => {
    const { customer, paymentMethod } = await customerWith('pm_card_visa');
    // stripe-node retries a closed connection once on its own, so two drops are needed for the caller to see one.
    standIn.configure({ faults: [{ kind: 'drop', route: 'POST /v1/payment_intents', times: 2 }] });
    const err = await rejection(charge(customer, paymentMethod, 'txp_drop'));
    expect(err).toBeInstanceOf(Stripe.errors.StripeConnectionError);
    expect(standIn.paymentIntents().filter((pi) => pi.metadata['txplan_key'] === 'txp_drop').map((pi) => pi.status))
      .toEqual(['succeeded']);
    const retry = await charge(customer, paymentMethod, 'txp_drop');
    expect(retry.lastResponse.headers['idempotent-replayed']).toBe('true');
    expect(piCount('txp_drop')).toBe(1);
    expect(standIn.succeededByKey().get('txp_drop')).toBe(1);
  });

  it("one dropped answer is absorbed by stripe-node's own retry, which gets the replay", async () => {
    const { customer, paymentMethod } = await customerWith('pm_card_visa');
    standIn.configure({ faults: [{ kind: 'drop', route: 'POST /v1/payment_intents', times: 1 }] });
    const pi = await charge(customer, paymentMethod, 'txp_drop_once');
    expect(pi.lastResponse.headers['idempotent-replayed']).toBe('true');
    expect(piCount('txp_drop_once')).toBe(1);
  });

  it('a hung answer times out at the client; the charge happened and the retry replays it', async () => {
    const { customer, paymentMethod } = await customerWith('pm_card_visa');
    standIn.configure({ faults: [{ kind: 'hang', route: 'POST /v1/payment_intents', times: 1 }] });
    const impatient = client(standIn, { timeout: 200 });
    const err = await rejection(impatient.paymentIntents.create(
      { amount: 500, currency: 'eur', customer, payment_method: paymentMethod, confirm: true, off_session: true,
        metadata: { txplan_key: 'txp_hang' } },
      { idempotencyKey: 'txp_hang' }));
    expect(err).toBeInstanceOf(Stripe.errors.StripeConnectionError);
    expect(err.message).toContain('timeout');
    expect(piCount('txp_hang')).toBe(1);
    const retry = await impatient.paymentIntents.create(
      { amount: 500, currency: 'eur', customer, payment_method: paymentMethod, confirm: true, off_session: true,
        metadata: { txplan_key: 'txp_hang' } },
      { idempotencyKey: 'txp_hang' });
    expect(retry.lastResponse.headers['idempotent-replayed']).toBe('true');
    expect(piCount('txp_hang')).toBe(1);
  });

  it('a seeded rate fires on some requests and not others, and every kind is refused when unknown', async () => {
    standIn.configure({ faults: [{ kind: '500', route: 'GET /v1/customers/:id', rate: 0.5 }] });
    const customer = await stripe.customers.create({});
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => stripe.customers.retrieve(customer.id)));
    const failed = results.filter((r) => r.status === 'rejected').length;
    expect(failed).toBeGreaterThan(0);
    expect(failed).toBeLessThan(20);
    expect(() => standIn.configure({ faults: [{ kind: '418' as '500' }] })).toThrow(/Unknown fault kind/);
  });
  it('limitRps answers 429 with Retry-After beyond the limit in a second, executing nothing', async () => {
    const customer = await stripe.customers.create({});
    standIn.configure({ limitRps: 3 });
    standIn.resetStats();
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => stripe.customers.retrieve(customer.id)));
    standIn.configure({ limitRps: 0 });
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason);
    expect(refused).toHaveLength(2);
    for (const err of refused) {
      expect(err).toBeInstanceOf(Stripe.errors.StripeRateLimitError);
      expect(err.headers['retry-after']).toBe('1');
    }
    expect(standIn.stats().rateLimited).toBe(2);
  });
});

describe('lists and search', () => {
  it('lists every PaymentIntent newest first through auto-pagination', async () => {
    const fresh = await startStandIn();
    try {
      const sdk = client(fresh);
      const created: string[] = [];
      for (let batch = 0; batch < 6; batch += 1) {
        const pis = await Promise.all(Array.from({ length: 20 }, (_, i) => sdk.paymentIntents.create({
          amount: 100 + batch * 20 + i, currency: 'eur', payment_method: 'pm_card_visa', confirm: true,
          metadata: { txplan_key: `txp_list_${batch * 20 + i}` },
        })));
        created.push(...pis.map((pi) => pi.id));
      }
      const seen: string[] = [];
      for await (const pi of sdk.paymentIntents.list({ limit: 100 })) seen.push(pi.id);
      expect(seen).toHaveLength(120);
      expect(new Set(seen).size).toBe(120);
      expect(seen).toEqual(fresh.paymentIntents().map((pi) => pi.id).reverse());
      expect(new Set(seen)).toEqual(new Set(created));
      expect(fresh.stats().byRoute['GET /v1/payment_intents']).toBe(2);

      const firstPage = await sdk.paymentIntents.list({ limit: 100 });
      expect(firstPage.has_more).toBe(true);
      const tooMany = await rejection(sdk.paymentIntents.list({ limit: 101 }));
      expect(tooMany.param).toBe('limit');
    } finally {
      await fresh.close();
    }
  });

  it('searches by metadata (AND of clauses) and pages through the results', async () => {
    const { customer, paymentMethod } = await customerWith('pm_card_visa');
    for (let i = 0; i < 5; i += 1) {
      await stripe.paymentIntents.create({
        amount: 700, currency: 'eur', customer, payment_method: paymentMethod, confirm: true, off_session: true,
        metadata: { txplan_db: 'txp_search_db', txplan_key: `txp_search_${i}`, txplan_plan_id: String(i % 2) },
      });
    }
    const all: string[] = [];
    for await (const pi of stripe.paymentIntents.search({ query: "metadata['txplan_db']:'txp_search_db'", limit: 2 })) {
      all.push(pi.metadata['txplan_key'] ?? '');
    }
    expect(all).toEqual(['txp_search_4', 'txp_search_3', 'txp_search_2', 'txp_search_1', 'txp_search_0']);
    const both = await stripe.paymentIntents.search({
      query: "metadata['txplan_db']:'txp_search_db' AND metadata['txplan_plan_id']:'1' AND status:'succeeded'",
    });
    expect(both.object).toBe('search_result');
    expect(both.data.map((pi) => pi.metadata['txplan_key'])).toEqual(['txp_search_3', 'txp_search_1']);
    expect(both.has_more).toBe(false);
    const bad = await rejection(stripe.paymentIntents.search({ query: 'metadata[' }));
    expect(bad).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
  });
  it('stamps created from a configured instant, and lists filter on it', async () => {
    const fresh = await startStandIn();
    try {
      const sdk = client(fresh);
      fresh.configure({ now: '2031-03-01T09:00:00Z' });
      const pi = await sdk.paymentIntents.create({ amount: 100, currency: 'eur', payment_method: 'pm_card_visa', confirm: true });
      const at = Date.parse('2031-03-01T09:00:00Z') / 1000;
      expect(pi.created).toBeGreaterThanOrEqual(at);
      expect(pi.created).toBeLessThan(at + 60);
      fresh.configure({ now: null });
      await sdk.paymentIntents.create({ amount: 100, currency: 'eur', payment_method: 'pm_card_visa', confirm: true });
      const since = await sdk.paymentIntents.list({ created: { gte: at } });
      expect(since.data.map((p) => p.id)).toEqual([pi.id]);
    } finally {
      await fresh.close();
    }
  });
});

describe('refunds', () => {
  it('refunds part, refuses more than is left, and lists the refunds of a PI newest first', async () => {
    const { customer, paymentMethod } = await customerWith('pm_card_visa');
    const pi = await charge(customer, paymentMethod, 'txp_refund', 10_000);
    const part = await stripe.refunds.create(
      { payment_intent: pi.id, amount: 4_000, metadata: { txplan_key: 'txp_refund-refund-1' } },
      { idempotencyKey: 'txp_refund-refund-1' });
    expect(part).toMatchObject({ object: 'refund', amount: 4_000, currency: 'eur', payment_intent: pi.id, status: 'succeeded' });
    const tooLarge = await rejection(stripe.refunds.create({ payment_intent: pi.id, amount: 6_001 }));
    expect(tooLarge).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(tooLarge.code).toBe('amount_too_large');
    const rest = await stripe.refunds.create({ payment_intent: pi.id });
    expect(rest.amount).toBe(6_000);
    const listed = await stripe.refunds.list({ payment_intent: pi.id });
    expect(listed.data.map((r) => r.id)).toEqual([rest.id, part.id]);
    expect(standIn.refunds().filter((r) => r.payment_intent === pi.id)).toHaveLength(2);
  });

  it('refuses a PI that did not succeed, and one it does not know', async () => {
    const declined = await rejection(charge(undefined, 'pm_card_chargeDeclined', 'txp_refund_declined'));
    const notRefundable = await rejection(stripe.refunds.create({ payment_intent: declined.payment_intent?.id ?? '' }));
    expect(notRefundable.code).toBe('charge_not_refundable');
    const unknown = await rejection(stripe.refunds.create({ payment_intent: 'pi_nope' }));
    expect(unknown.code).toBe('resource_missing');
  });
});

describe('authentication', () => {
  it('refuses a live key or a malformed one with 401, masking the key in the message', async () => {
    for (const key of ['sk_live_abcdefghijklmnop9876', 'not-a-key-5555']) {
      const err = await rejection(client(standIn, { key }).customers.create({}));
      expect(err).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
      expect(err.statusCode).toBe(401);
      expect(err.message).toMatch(/^Invalid API Key provided: .*\*{8}/);
      expect(err.message).not.toContain(key);
      expect(err.message).toContain(key.slice(-4));
    }
  });

  it('with apiKey set, only that key gets in', async () => {
    const strict = await startStandIn({ apiKey: KEY });
    try {
      expect((await client(strict).customers.create({})).id).toMatch(/^cus_/);
      const err = await rejection(client(strict, { key: 'sk_test_other' }).customers.create({}));
      expect(err).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
    } finally {
      await strict.close();
    }
  });
});

describe('latency and counting', () => {
  it('holds each answer for the configured latency, and counts requests, routes, the busiest second and the most in flight', async () => {
    const { customer } = await customerWith('pm_card_visa');
    standIn.configure({ latencyMs: 300 });
    standIn.resetStats();
    await Promise.all(Array.from({ length: 4 }, () => stripe.customers.retrieve(customer)));
    const stats = standIn.stats();
    expect(stats.requests).toBe(4);
    expect(stats.byRoute).toEqual({ 'GET /v1/customers/:id': 4 });
    expect(stats.requestTimes).toHaveLength(4);
    expect(stats.maxInAnySecond).toBe(4);
    expect(stats.maxInFlight).toBe(4);

    // The latency holds the answer back: a client that waits less gives up.
    const err = await rejection(client(standIn, { timeout: 50 }).customers.retrieve(customer));
    expect(err).toBeInstanceOf(Stripe.errors.StripeConnectionError);
    expect(err.message).toContain('timeout');
  });
});

describe('outside the process', () => {
  it('runs from the command line and answers the control endpoints, which are not counted', async () => {
    const script = fileURLToPath(new URL('../stripe/standin.mjs', import.meta.url));
    const child = spawn(process.execPath, [script, '--latency', '0', '--seed', '3'], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout! }).once('line', resolve);
        child.once('exit', (code) => reject(new Error(`the stand-in exited with ${code}`)));
      });
      const { url } = JSON.parse(line) as { url: string };
      const remote = { url } as StandIn;
      const sdk = client(remote);
      const control = async (path: string, body?: unknown) => {
        const res = await fetch(`${url}/__standin/${path}`, body === undefined ? {} : { method: 'POST', body: JSON.stringify(body) });
        expect(res.status).toBe(200);
        return res.json() as Promise<unknown>;
      };
      await control('outcome', { payment_method: 'pm_card_visa', outcome: { code: 'card_declined', decline_code: 'lost_card' } });
      const lost = await rejection(sdk.paymentIntents.create({ amount: 100, currency: 'eur', payment_method: 'pm_card_visa', confirm: true }));
      expect(lost.decline_code).toBe('lost_card');
      await control('outcome', { payment_method: 'pm_card_visa', outcome: null });
      await sdk.paymentIntents.create({ amount: 100, currency: 'eur', payment_method: 'pm_card_visa', confirm: true,
        metadata: { txplan_key: 'txp_cli' } });
      expect(await control('succeeded-by-key')).toEqual({ txp_cli: 1 });
      expect(await control('payment-intents')).toHaveLength(2);
      await control('configure', { faults: [{ kind: '429', times: 1 }] });
      expect(await rejection(sdk.customers.create({}))).toBeInstanceOf(Stripe.errors.StripeRateLimitError);
      const stats = await control('stats') as { requests: number; faultsInjected: Record<string, number> };
      expect(stats.requests).toBe(3);
      expect(stats.faultsInjected).toEqual({ 429: 1 });
      await control('reset-stats', {});
      expect((await control('stats') as { requests: number }).requests).toBe(0);
      const refused = await fetch(`${url}/__standin/configure`, { method: 'POST', body: '{"faults":[{"kind":"x"}]}' });
      expect(refused.status).toBe(400);
    } finally {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
    }
  });
});
