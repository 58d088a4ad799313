#!/usr/bin/env node
// The floor for bench/stripe.mjs: the same PaymentIntents sent with the stripe
// SDK and nothing around it — no database, no rules, no audit. `count`
// off-session PaymentIntents (pm_card_visa, confirmed, one idempotency key
// each), `concurrency` at a time, and with `maxRps` > 0 no more than that many
// started in any sliding second (a plain list of the last start times, kept
// at the SDK's HTTP client as in txplan's gateway). Prints
// nothing; the bench times the whole process, as it times txplan's.
//
//   node bench/floor-stripe.mjs <api base> <count> <concurrency> <max rps>
import { randomBytes } from 'node:crypto';
import Stripe from 'stripe';

const [base, countArg, concurrencyArg, maxRpsArg] = process.argv.slice(2);
const count = Number(countArg);
const concurrency = Number(concurrencyArg);
const maxRps = Number(maxRpsArg);
const url = new URL(base);
const starts = [];
// A second and a little more: a request arrives a little after it starts here (a new connection takes
// longer than a kept one), and the processor counts arrivals. The same margin as txplan's pacer.
const WINDOW_MS = 1040;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
// One start at a time through the window, so two requests never take its last place together.
let gate = Promise.resolve();
const paced = () =>
  (gate = gate.then(async () => {
    if (maxRps > 0 && starts.length >= maxRps) {
      const wait = starts[starts.length - maxRps] + WINDOW_MS - performance.now();
      if (wait > 0) await sleep(wait);
    }
    starts.push(performance.now());
  }));
// Paced where the HTTP request is made: the SDK's own set-up before its first request (it runs `uname`
// for its user agent) would otherwise hold requests paced earlier and let them arrive together.
const http = Stripe.createNodeHttpClient();
const httpClient = {
  getClientName: () => http.getClientName(),
  makeRequest: async (...request) => {
    await paced();
    return http.makeRequest(...request);
  },
};
const stripe = new Stripe(process.env.STRIPE_SECRET_KEY, {
  httpClient,
  host: url.hostname,
  port: url.port,
  protocol: 'http',
  maxNetworkRetries: 0,
  telemetry: false,
});
const run = randomBytes(6).toString('hex');

let next = 0;
const worker = async () => {
  for (let i = next++; i < count; i = next++) {
    const intent = await stripe.paymentIntents.create(
      { amount: 24900, currency: 'usd', payment_method: 'pm_card_visa', confirm: true, off_session: true, metadata: { floor: run, n: String(i) } },
      { idempotencyKey: `floor_${run}_${i}` },
    );
    if (intent.status !== 'succeeded') throw new Error(`PaymentIntent ${i}: ${intent.status}`);
  }
};
await Promise.all(Array.from({ length: concurrency }, worker));
