// A local Stripe stand-in for txplan's tests and benchmarks.
//
// It speaks the part of Stripe's API the txplan gateway uses (customers, payment methods, PaymentIntents,
// refunds, list and search), in test mode, the way Stripe documents it, so the official `stripe` SDK talks to
// it unchanged. It listens on 127.0.0.1 only and uses nothing beyond Node's built-ins.
//
// In a test (vitest) or a bench script (plain Node):
//
//   import { startStandIn } from '../stripe/standin.mjs';
//   const standIn = await startStandIn({ latencyMs: 0, seed: 1 });   // port 0 = a free port
//   // hand standIn.url to txplan as TXPLAN_STRIPE_API_BASE, with STRIPE_SECRET_KEY=sk_test_anything
//   standIn.configure({ latencyMs: 100, faults: [{ kind: '429', route: 'POST /v1/payment_intents', times: 2 }] });
//   standIn.setOutcome('pm_card_visa', { code: 'card_declined', decline_code: 'stolen_card' });
//   standIn.paymentIntents(); standIn.succeededByKey(); standIn.stats();
//   await standIn.close();
//
// From the command line (bench/, or a test that runs txplan as a child process and wants the stand-in in
// another process):
//
//   node test/stripe/standin.mjs [--port N] [--latency MS] [--seed N] [--api-key KEY]
//
// prints one line `{"url":"http://127.0.0.1:PORT"}` once it listens, and runs until SIGTERM or SIGINT.
// It is then driven over HTTP on the same port (control requests need no key and are not counted in stats):
//
//   GET  /__standin/stats              the stats() object
//   GET  /__standin/succeeded-by-key   { "<metadata.txplan_key>": <succeeded PIs carrying it> }
//   GET  /__standin/payment-intents    every PaymentIntent, oldest first
//   GET  /__standin/customers          every customer, oldest first
//   GET  /__standin/refunds            every refund, oldest first
//   POST /__standin/configure          JSON body like configure(): {"latencyMs":100,"faults":[...]}
//   POST /__standin/outcome            JSON body {"payment_method":"pm_…","outcome":{...}|"requires_action"|null}
//   POST /__standin/reset-stats
//
// Faults (configure({ faults })): each is { kind, route?, rate?, times?, retryAfter? }.
//   '429'  answered at once with HTTP 429 and a Retry-After header; not executed, nothing stored under the key.
//   '500'  HTTP 500 api_error; not executed, nothing stored.
//   'drop' executed and stored under the idempotency key, then the connection is closed with no answer.
//   'hang' executed and stored, then no answer ever (until close); the client's timeout fires.
// `route` is a route name as in stats().byRoute (e.g. 'POST /v1/payment_intents'); without it every /v1
// request matches. `times: N` fires on the next N matching requests, then the fault is spent; `rate: 0.1`
// fires on a seeded-random tenth of them; with neither it fires on every matching request until reconfigured.
// Beware: stripe-node retries a closed connection once on its own, even with maxNetworkRetries: 0 (under the
// same Idempotency-Key), so one 'drop' is usually invisible to the caller: the retry gets the replay.
// Use `times: 2` (or more) to make the caller actually see a connection error.
//
// Test payment methods follow Stripe's test mode: pm_card_visa, pm_card_mastercard, pm_card_amex,
// pm_card_chargeDeclined, …InsufficientFunds, …LostCard, …StolenCard, …ExpiredCard, …IncorrectCvc,
// …ProcessingError, …Fraudulent (these decline at attach and at charge), pm_card_chargeCustomerFail (attaches,
// then every charge declines) and pm_card_authenticationRequired (attaches; an off-session charge fails with
// authentication_required). Attaching a pm_card_* name creates a new pm_1… clone, as Stripe does.
//
// Beyond faults, configure() also takes `limitRps: N` (answer 429 with Retry-After: 1 to requests beyond N in any
// 1,000 ms, as Stripe's limiter does; 0 = off; counted in stats().rateLimited), `now: '2031-03-01'` (stamp
// `created` from that instant, moving on with real time; null = the real clock) and `seed` (reseed the RNG).
//
// Where it differs from, or adds to, the written contract for this stand-in:
// - A bad or live key gets 401 with Stripe's real body, type 'invalid_request_error', code 'api_key_invalid'
//   (the SDK still raises StripeAuthenticationError); startStandIn({ apiKey }) accepts only that exact key.
// - The installed SDK's API version names the PaymentIntent's types `allowed_payment_method_types`; both that
//   and `payment_method_types` are accepted. Parameters Stripe does not know are refused with 400
//   "Received unknown parameter: x" (the lists are those of the installed SDK's types), and metadata follows
//   Stripe's limits (50 keys, key up to 40 characters, value up to 500).
// - Like Stripe, a request whose parameters fail validation (unknown or malformed parameter, missing required
//   one) stores nothing under its idempotency key; errors once the work began (declines, resource_missing,
//   amount_too_large …) are stored and replayed.
// - A pm_card_* name given straight to a PaymentIntent becomes a new unattached pm_1… (the PI names that one), as
//   in Stripe's test mode. With error_on_requires_action=true, a 'requires_action' outcome is a 402
//   authentication_required decline instead of a PI in requires_action.
// - Also served: POST /v1/customers/:id (update), POST /v1/payment_methods/:id/detach (a detached method cannot
//   be used again, as at Stripe), GET /v1/refunds/:id, customer/created filters on the lists, search on status,
//   customer, currency, amount and created besides metadata, and `expand` of latest_charge, payment_method,
//   customer and payment_intent.

import http from 'node:http';
import { seededRandom } from '../random.mjs';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';

// ---------------------------------------------------------------------------------------------------------
// Stripe's test cards

const EXP = { exp_month: 12, exp_year: 2034 };
const DECLINED = 'Your card was declined.';

/** name → { brand, last4, funding, failAtAttach?: error, chargeError?: error, authRequired?: true } */
const TEST_CARDS = {
  pm_card_visa: { brand: 'visa', last4: '4242', funding: 'credit' },
  pm_card_visa_debit: { brand: 'visa', last4: '5556', funding: 'debit' },
  pm_card_mastercard: { brand: 'mastercard', last4: '4444', funding: 'credit' },
  pm_card_amex: { brand: 'amex', last4: '8431', funding: 'credit' },
  pm_card_chargeDeclined: decliner('0002', 'card_declined', 'generic_decline', DECLINED),
  pm_card_chargeDeclinedInsufficientFunds: decliner(
    '9995', 'card_declined', 'insufficient_funds', 'Your card has insufficient funds.'),
  pm_card_chargeDeclinedLostCard: decliner('9987', 'card_declined', 'lost_card', DECLINED),
  pm_card_chargeDeclinedStolenCard: decliner('9979', 'card_declined', 'stolen_card', DECLINED),
  pm_card_chargeDeclinedExpiredCard: decliner('0069', 'expired_card', 'expired_card', 'Your card has expired.'),
  pm_card_chargeDeclinedIncorrectCvc: decliner(
    '0127', 'incorrect_cvc', 'incorrect_cvc', "Your card's security code is incorrect."),
  pm_card_chargeDeclinedProcessingError: decliner(
    '0119', 'processing_error', 'processing_error',
    'An error occurred while processing your card. Try again in a little bit.'),
  pm_card_chargeDeclinedFraudulent: decliner('0019', 'card_declined', 'fraudulent', DECLINED),
  pm_card_chargeCustomerFail: {
    brand: 'visa', last4: '0341', funding: 'credit',
    chargeError: { code: 'card_declined', decline_code: 'generic_decline', message: DECLINED },
  },
  pm_card_authenticationRequired: {
    brand: 'visa', last4: '3184', funding: 'credit',
    chargeError: {
      code: 'authentication_required', decline_code: 'authentication_required',
      message: 'Your card was declined. This transaction requires authentication.',
    },
  },
};

function decliner(last4, code, declineCode, message) {
  const error = { code, decline_code: declineCode, message };
  return { brand: 'visa', last4, funding: 'credit', failAtAttach: error, chargeError: error };
}

// ---------------------------------------------------------------------------------------------------------
// Small helpers

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
function randomId(prefix, length) {
  const bytes = randomBytes(length);
  let out = prefix;
  for (let i = 0; i < length; i += 1) out += ALNUM[bytes[i] % ALNUM.length];
  return out;
}


const clone = (value) => (value === undefined ? undefined : JSON.parse(JSON.stringify(value)));

/** Stripe-style form parameters (`metadata[k]=v`, `types[0]=card`, `expand[]=x`) into nested objects/arrays. */
export function parseStripeParams(searchParams) {
  const root = {};
  for (const [rawKey, value] of searchParams) {
    const first = rawKey.indexOf('[');
    const segments = first < 0 ? [rawKey] : [rawKey.slice(0, first)];
    if (first >= 0) {
      const rest = rawKey.slice(first);
      const re = /\[([^\]]*)\]/g;
      let m;
      while ((m = re.exec(rest)) !== null) segments.push(m[1]);
    }
    let container = root;
    for (let i = 0; i < segments.length; i += 1) {
      const seg = segments[i];
      const last = i === segments.length - 1;
      const nextIsIndex = !last && /^\d*$/.test(segments[i + 1]);
      if (Array.isArray(container)) {
        const index = seg === '' ? container.length : Number(seg);
        if (last) container[index] = value;
        else {
          if (container[index] === undefined || typeof container[index] !== 'object') {
            container[index] = nextIsIndex ? [] : {};
          }
          container = container[index];
        }
      } else if (last) {
        container[seg] = value;
      } else {
        if (container[seg] === undefined || typeof container[seg] !== 'object') container[seg] = nextIsIndex ? [] : {};
        container = container[seg];
      }
    }
  }
  return compactArrays(root);
}

function compactArrays(value) {
  if (Array.isArray(value)) return value.filter((v) => v !== undefined).map(compactArrays);
  if (value && typeof value === 'object') {
    const out = {};
    for (const [k, v] of Object.entries(value)) out[k] = compactArrays(v);
    return out;
  }
  return value;
}

/** A canonical string of parameters for the idempotency comparison (key order does not matter). */
function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function maskKey(key) {
  const m = /^((?:sk|rk|pk)_(?:test|live)_)(.*)$/.exec(key);
  const last4 = key.slice(-4);
  if (m) return `${m[1]}********${m[2].length > 4 ? last4 : ''}`;
  return key.length > 4 ? `********${last4}` : '********';
}

class ApiError {
  /** @param {number} status @param {Record<string, unknown>} error */
  constructor(status, error) {
    this.status = status;
    this.error = error;
  }
}

const invalid = (message, extra = {}) => new ApiError(400, { type: 'invalid_request_error', message, ...extra });
/** Parameters that fail validation: as at Stripe, the endpoint never began executing, so nothing is stored
 *  under the idempotency key. */
const malformed = (message, extra = {}) => Object.assign(invalid(message, extra), { stored: false });
const missing = (what, id, param, status = 404) =>
  new ApiError(status, {
    type: 'invalid_request_error', code: 'resource_missing', message: `No such ${what}: '${id}'`, param,
  });

function requireKnownParams(params, allowed) {
  for (const key of Object.keys(params)) {
    if (!allowed.includes(key)) throw malformed(`Received unknown parameter: ${key}`, { param: key });
  }
}

function parseInteger(params, name, { required = false, min } = {}) {
  const raw = params[name];
  if (raw === undefined || raw === '') {
    if (required) throw malformed(`Missing required param: ${name}.`, { code: 'parameter_missing', param: name });
    return undefined;
  }
  if (typeof raw !== 'string' || !/^-?\d+$/.test(raw)) {
    throw malformed(`Invalid integer: ${typeof raw === 'string' ? raw : JSON.stringify(raw)}`, {
      code: 'parameter_invalid_integer', param: name,
    });
  }
  const n = Number(raw);
  if (min !== undefined && n < min) {
    throw malformed(`This value must be greater than or equal to ${min}.`, { code: 'parameter_invalid_integer', param: name });
  }
  return n;
}

function parseBoolean(params, name) {
  const raw = params[name];
  if (raw === undefined || raw === '') return undefined;
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  throw malformed(`Invalid boolean: ${raw}`, { param: name });
}

function parseMetadata(params) {
  const raw = params.metadata;
  if (raw === undefined || raw === '') return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw malformed('Invalid metadata: must be an object.', { param: 'metadata' });
  const keys = Object.keys(raw);
  if (keys.length > 50) throw malformed('Invalid metadata: metadata can have up to 50 keys.', { param: 'metadata' });
  const out = {};
  for (const k of keys) {
    const v = raw[k];
    if (k.length > 40) {
      throw malformed(`Invalid metadata: metadata keys can have up to 40 characters (${k}).`, { param: `metadata[${k}]` });
    }
    if (typeof v !== 'string') throw malformed(`Invalid metadata value for ${k}: must be a string.`, { param: `metadata[${k}]` });
    if (v.length > 500) {
      throw malformed(`Invalid metadata: metadata values can have up to 500 characters (${k}).`, { param: `metadata[${k}]` });
    }
    if (v !== '') out[k] = v;
  }
  return out;
}

function parseExpand(params) {
  const raw = params.expand;
  if (raw === undefined) return [];
  return (Array.isArray(raw) ? raw : [raw]).map(String);
}

function parseListWindow(params) {
  const limit = parseInteger(params, 'limit') ?? 10;
  if (limit < 1 || limit > 100) {
    throw malformed(`This value must be ${limit < 1 ? 'greater than or equal to 1' : 'less than or equal to 100'}.`, {
      code: 'parameter_invalid_integer', param: 'limit',
    });
  }
  return limit;
}

function parseCreatedFilter(params) {
  const raw = params.created;
  if (raw === undefined) return () => true;
  if (typeof raw === 'string') {
    const exact = parseInteger(params, 'created');
    return (o) => o.created === exact;
  }
  const bounds = {};
  for (const op of ['gt', 'gte', 'lt', 'lte']) bounds[op] = parseInteger(raw, op);
  return (o) =>
    (bounds.gt === undefined || o.created > bounds.gt) &&
    (bounds.gte === undefined || o.created >= bounds.gte) &&
    (bounds.lt === undefined || o.created < bounds.lt) &&
    (bounds.lte === undefined || o.created <= bounds.lte);
}

/** A page of a newest-first list, as Stripe cursors it. `items` is oldest first. */
function listPage(items, params, url) {
  const limit = parseListWindow(params);
  const newestFirst = items.slice().reverse();
  const after = params.starting_after;
  const before = params.ending_before;
  let data;
  let hasMore;
  if (before) {
    const index = newestFirst.findIndex((o) => o.id === before);
    if (index < 0) throw invalid(`No such object: '${before}'`, { code: 'resource_missing', param: 'ending_before' });
    const start = Math.max(0, index - limit);
    data = newestFirst.slice(start, index);
    hasMore = start > 0;
  } else {
    let start = 0;
    if (after) {
      const index = newestFirst.findIndex((o) => o.id === after);
      if (index < 0) throw invalid(`No such object: '${after}'`, { code: 'resource_missing', param: 'starting_after' });
      start = index + 1;
    }
    data = newestFirst.slice(start, start + limit);
    hasMore = start + limit < newestFirst.length;
  }
  return { object: 'list', data, has_more: hasMore, url };
}

// ---------------------------------------------------------------------------------------------------------
// Search query language (the subset Stripe documents for PaymentIntents)

function parseSearchQuery(query) {
  if (typeof query !== 'string' || query.trim() === '') {
    throw malformed('Missing required param: query.', { code: 'parameter_missing', param: 'query' });
  }
  const clauses = [];
  const joins = [];
  const clauseRe =
    /\s*(-?)(metadata\[(?:'([^']*)'|"([^"]*)")\]|[a-z_]+)\s*(:|>=|<=|>|<)\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"|([^\s'"]+))\s*/y;
  const joinRe = /(AND|OR)\b/iy;
  let pos = 0;
  for (;;) {
    clauseRe.lastIndex = pos;
    const m = clauseRe.exec(query);
    if (!m) throw malformed(`Invalid search query: could not parse '${query.slice(pos)}'.`, { param: 'query' });
    pos = clauseRe.lastIndex;
    const field = m[2].startsWith('metadata[') ? { metadata: m[3] ?? m[4] } : m[2];
    const rawValue = m[6] ?? m[7] ?? m[8] ?? '';
    clauses.push({ negate: m[1] === '-', field, op: m[5], value: rawValue.replace(/\\(.)/g, '$1') });
    if (pos >= query.length) break;
    joinRe.lastIndex = pos;
    const j = joinRe.exec(query);
    if (!j) throw malformed(`Invalid search query: expected AND or OR at '${query.slice(pos)}'.`, { param: 'query' });
    joins.push(j[1].toUpperCase());
    pos = joinRe.lastIndex;
  }
  if (new Set(joins).size > 1) throw malformed('Invalid search query: AND and OR cannot be mixed.', { param: 'query' });
  const mode = joins[0] ?? 'AND';
  const fields = ['status', 'customer', 'currency', 'amount', 'created', 'payment_method'];
  for (const c of clauses) {
    if (typeof c.field === 'string' && !fields.includes(c.field)) {
      throw malformed(`Invalid search query: unsupported field '${c.field}'.`, { param: 'query' });
    }
  }
  const test = (pi, c) => {
    let result;
    if (typeof c.field === 'object') {
      const v = pi.metadata[c.field.metadata];
      result = c.op === ':' && v !== undefined && v === c.value;
    } else {
      const actual = pi[c.field];
      if (c.op === ':') result = String(actual) === c.value;
      else {
        const a = Number(actual);
        const b = Number(c.value);
        result = c.op === '>' ? a > b : c.op === '<' ? a < b : c.op === '>=' ? a >= b : a <= b;
      }
    }
    return c.negate ? !result : result;
  };
  return (pi) => (mode === 'AND' ? clauses.every((c) => test(pi, c)) : clauses.some((c) => test(pi, c)));
}

// ---------------------------------------------------------------------------------------------------------
// The server

const ROUTES = [
  ['POST', /^\/v1\/customers$/, 'POST /v1/customers'],
  ['GET', /^\/v1\/customers\/([^/]+)$/, 'GET /v1/customers/:id'],
  ['GET', /^\/v1\/payment_methods\/([^/]+)$/, 'GET /v1/payment_methods/:id'],
  ['POST', /^\/v1\/customers\/([^/]+)$/, 'POST /v1/customers/:id'],
  ['POST', /^\/v1\/payment_methods\/([^/]+)\/attach$/, 'POST /v1/payment_methods/:id/attach'],
  ['POST', /^\/v1\/payment_methods\/([^/]+)\/detach$/, 'POST /v1/payment_methods/:id/detach'],
  ['POST', /^\/v1\/payment_intents$/, 'POST /v1/payment_intents'],
  ['GET', /^\/v1\/payment_intents$/, 'GET /v1/payment_intents'],
  ['GET', /^\/v1\/payment_intents\/search$/, 'GET /v1/payment_intents/search'],
  ['GET', /^\/v1\/payment_intents\/([^/]+)$/, 'GET /v1/payment_intents/:id'],
  ['POST', /^\/v1\/refunds$/, 'POST /v1/refunds'],
  ['GET', /^\/v1\/refunds$/, 'GET /v1/refunds'],
  ['GET', /^\/v1\/refunds\/([^/]+)$/, 'GET /v1/refunds/:id'],
];

/**
 * Starts a stand-in on 127.0.0.1.
 * @param {{ latencyMs?: number, seed?: number, port?: number, apiKey?: string }} [options]
 */
export async function startStandIn(options = {}) {
  let latencyMs = options.latencyMs ?? 0;
  let limitRps = 0; // 0 = no limit
  let clockBase; // { at: ms the caller asked for, setAt: Date.now() then } or undefined = the real clock
  const nowSeconds = () =>
    Math.floor((clockBase ? clockBase.at + (Date.now() - clockBase.setAt) : Date.now()) / 1000);
  let faults = [];
  let random = seededRandom(options.seed ?? 1);
  const requiredKey = options.apiKey;

  const customers = new Map();
  const paymentMethods = new Map(); // pm_1… → { object, base }
  const paymentIntents = new Map();
  const charges = new Map();
  const refunds = new Map();
  const outcomes = new Map(); // pm id or pm_card_* name → outcome
  const idempotency = new Map(); // key → { fingerprint, done, status, body, requestId }

  let origin = performance.now();
  let stats = freshStats();
  let inFlight = 0;
  const timers = new Set();
  const hanging = new Set();
  let closed = false;

  function freshStats() {
    return {
      requests: 0, byRoute: {}, maxInFlight: 0, replays: 0, faultsInjected: {}, rateLimited: 0, requestTimes: [],
    };
  }

  function sleep(ms) {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.add(t);
    });
  }

  function configure(settings = {}) {
    if (settings.latencyMs !== undefined) {
      if (!Number.isFinite(settings.latencyMs) || settings.latencyMs < 0) {
        throw new Error(`latencyMs must be a number of milliseconds, 0 or more (got ${settings.latencyMs}).`);
      }
      latencyMs = settings.latencyMs;
    }
    if (settings.seed !== undefined) random = seededRandom(settings.seed);
    if (settings.limitRps !== undefined) {
      if (!Number.isInteger(settings.limitRps) || settings.limitRps < 0) {
        throw new Error(`limitRps must be a whole number of requests per second, 0 for no limit (got ${settings.limitRps}).`);
      }
      limitRps = settings.limitRps;
    }
    if (settings.now !== undefined) {
      if (settings.now === null) clockBase = undefined;
      else {
        const at = Date.parse(String(settings.now));
        if (Number.isNaN(at)) throw new Error(`now must be an ISO date or instant, or null (got ${settings.now}).`);
        clockBase = { at, setAt: Date.now() };
      }
    }
    if (settings.faults !== undefined) {
      for (const f of settings.faults) {
        if (!['429', '500', 'drop', 'hang'].includes(String(f.kind))) {
          throw new Error(`Unknown fault kind ${JSON.stringify(f.kind)}: use '429', '500', 'drop' or 'hang'.`);
        }
        if (f.route !== undefined && !ROUTES.some((r) => r[2] === f.route)) {
          throw new Error(`Unknown route ${JSON.stringify(f.route)}: use one of ${ROUTES.map((r) => r[2]).join(', ')}.`);
        }
      }
      faults = settings.faults.map((f) => ({ ...f, kind: String(f.kind), left: f.times ?? Infinity }));
    }
  }
  configure({ latencyMs });

  function pickFault(routeName) {
    for (const f of faults) {
      if (f.left <= 0) continue;
      if (f.route !== undefined && f.route !== routeName) continue;
      if (f.rate !== undefined && !(random() < f.rate)) continue;
      f.left -= 1;
      stats.faultsInjected[f.kind] = (stats.faultsInjected[f.kind] ?? 0) + 1;
      return f;
    }
    return undefined;
  }

  function setOutcome(paymentMethodId, outcome) {
    if (outcome === null || outcome === undefined) outcomes.delete(paymentMethodId);
    else if (outcome === 'requires_action' || (typeof outcome === 'object' && typeof outcome.code === 'string')) {
      outcomes.set(paymentMethodId, outcome);
    } else {
      throw new Error("An outcome is { code, decline_code?, message? }, 'requires_action' or null.");
    }
  }

  // --- resources ------------------------------------------------------------------------------------------

  function testCardObject(name, card, id, customer) {
    return {
      id,
      object: 'payment_method',
      type: 'card',
      billing_details: { address: null, email: null, name: null, phone: null },
      card: {
        brand: card.brand, last4: card.last4, ...EXP, funding: card.funding, country: 'US',
        display_brand: card.brand,
      },
      created: nowSeconds(),
      customer,
      livemode: false,
      metadata: {},
    };
  }

  /** A payment method by id: a pm_1… created here, or a pm_card_* test name. */
  function findPaymentMethod(id) {
    const known = paymentMethods.get(id);
    if (known) return known;
    const card = TEST_CARDS[id];
    if (card) return { object: testCardObject(id, card, id, null), base: id };
    return undefined;
  }

  function createCustomer(params) {
    requireKnownParams(params, [
      'address', 'balance', 'business_name', 'cash_balance', 'description', 'email', 'expand', 'individual_name',
      'invoice_prefix', 'invoice_settings', 'metadata', 'name', 'next_invoice_sequence', 'payment_method', 'phone',
      'preferred_locales', 'shipping', 'source', 'tax', 'tax_exempt', 'tax_id_data', 'test_clock', 'validate',
    ]);
    const metadata = parseMetadata(params);
    const { expand: _expand, metadata: _metadata, ...rest } = params;
    const customer = {
      id: randomId('cus_', 14),
      object: 'customer',
      created: nowSeconds(),
      livemode: false,
      email: null,
      name: null,
      description: null,
      ...rest,
      metadata,
    };
    customers.set(customer.id, customer);
    return customer;
  }

  function attach(id, params) {
    requireKnownParams(params, ['customer', 'customer_account', 'expand']);
    const customerId = params.customer;
    if (!customerId) throw malformed('Missing required param: customer.', { code: 'parameter_missing', param: 'customer' });
    const pm = findPaymentMethod(id);
    if (!pm) throw missing('PaymentMethod', id, 'payment_method');
    if (!customers.has(customerId)) throw missing('customer', customerId, 'customer');
    if (paymentMethods.has(id)) {
      if (pm.detached) throw detachedError();
      if (pm.object.customer && pm.object.customer !== customerId) {
        throw invalid('The payment method you provided has already been attached to a customer.', {
          code: 'payment_method_unexpected_state', param: 'payment_method',
        });
      }
      pm.object.customer = customerId;
      return pm.object;
    }
    const card = TEST_CARDS[pm.base];
    if (card.failAtAttach) throw cardError(card.failAtAttach, {});
    const object = testCardObject(pm.base, card, randomId('pm_1', 23), customerId);
    paymentMethods.set(object.id, { object, base: pm.base });
    return object;
  }

  function detachedError() {
    return invalid(
      'The provided PaymentMethod was previously used with a PaymentIntent without Customer attachment, shared with a connected account without Customer attachment, or was detached from a Customer. It may not be used again. To use a PaymentMethod multiple times, you must attach it to a Customer first.',
      { param: 'payment_method' });
  }

  function cardError(e, extra) {
    return new ApiError(402, {
      type: 'card_error',
      code: e.code,
      ...(e.decline_code ? { decline_code: e.decline_code } : {}),
      message: e.message ?? DECLINED,
      doc_url: `https://stripe.com/docs/error-codes/${e.code.replace(/_/g, '-')}`,
      ...extra,
    });
  }

  function outcomeFor(pm) {
    const set = outcomes.get(pm.object.id) ?? outcomes.get(pm.base);
    if (set) return set;
    return TEST_CARDS[pm.base]?.chargeError;
  }

  function createPaymentIntent(params) {
    // The parameters of PaymentIntentCreateParams in the installed SDK's API version, which names the allowed
    // types `allowed_payment_method_types`; the older `payment_method_types` is accepted as well.
    requireKnownParams(params, [
      'amount', 'currency', 'allowed_payment_method_types', 'amount_details', 'application_fee_amount',
      'automatic_payment_methods', 'capture_method', 'confirm', 'confirmation_method', 'confirmation_token',
      'customer', 'customer_account', 'description', 'error_on_requires_action', 'excluded_payment_method_types',
      'expand', 'hooks', 'mandate', 'mandate_data', 'metadata', 'off_session', 'on_behalf_of', 'payment_details',
      'payment_method', 'payment_method_configuration', 'payment_method_data', 'payment_method_options',
      'radar_options', 'receipt_email', 'return_url', 'setup_future_usage', 'shipping', 'statement_descriptor',
      'statement_descriptor_suffix', 'transfer_data', 'transfer_group', 'use_stripe_sdk', 'payment_method_types',
    ]);
    const amount = parseInteger(params, 'amount', { required: true, min: 1 });
    const currency = params.currency;
    if (!currency) throw malformed('Missing required param: currency.', { code: 'parameter_missing', param: 'currency' });
    if (typeof currency !== 'string' || !/^[A-Za-z]{3}$/.test(currency)) {
      throw malformed(`Invalid currency: ${currency}.`, { code: 'parameter_invalid_string', param: 'currency' });
    }
    const confirm = parseBoolean(params, 'confirm') ?? false;
    const offSession = parseBoolean(params, 'off_session');
    if (offSession !== undefined && !confirm) {
      throw malformed('You can only pass in `off_session` when `confirm=true`.', { param: 'off_session' });
    }
    const metadata = parseMetadata(params);
    const customerId = params.customer || null;
    if (customerId && !customers.has(customerId)) throw missing('customer', customerId, 'customer', 400);
    const pmId = params.payment_method || null;
    let pm = pmId ? findPaymentMethod(pmId) : undefined;
    if (pmId && !pm) throw missing('PaymentMethod', pmId, 'payment_method', 400);
    if (pm?.detached) throw detachedError();
    if (pm && pm.object.customer && pm.object.customer !== customerId) {
      throw invalid(
        customerId
          ? `The provided PaymentMethod ${pmId} does not belong to the Customer ${customerId}.`
          : `The provided PaymentMethod ${pmId} belongs to a Customer, but you did not provide a Customer. Please provide the Customer that owns the PaymentMethod.`,
        { param: 'payment_method' });
    }
    if (confirm && !pm) {
      throw invalid('You cannot confirm this PaymentIntent because it\'s missing a payment method.', {
        code: 'payment_intent_unexpected_state', param: 'payment_method',
      });
    }
    if (pm && !paymentMethods.has(pm.object.id)) {
      // A pm_card_* name used directly becomes a new, unattached pm_1… as in Stripe's test mode.
      const object = testCardObject(pm.base, TEST_CARDS[pm.base], randomId('pm_1', 23), null);
      pm = { object, base: pm.base };
      paymentMethods.set(object.id, pm);
    }
    const errorOnRequiresAction = parseBoolean(params, 'error_on_requires_action') ?? false;
    const asList = (v) => (v === undefined || v === '' ? undefined : Array.isArray(v) ? v : [v]);
    const allowed = asList(params.allowed_payment_method_types);
    const types = asList(params.payment_method_types) ?? allowed ?? ['card'];
    const pi = {
      id: randomId('pi_', 24),
      object: 'payment_intent',
      amount,
      amount_capturable: 0,
      amount_received: 0,
      capture_method: params.capture_method ?? 'automatic',
      confirmation_method: params.confirmation_method ?? 'automatic',
      created: nowSeconds(),
      currency: currency.toLowerCase(),
      customer: customerId,
      description: params.description ?? null,
      last_payment_error: null,
      latest_charge: null,
      livemode: false,
      metadata,
      next_action: null,
      payment_method: pm ? pm.object.id : null,
      allowed_payment_method_types: allowed ?? null,
      payment_method_types: types,
      status: pm ? 'requires_confirmation' : 'requires_payment_method',
    };
    paymentIntents.set(pi.id, pi);
    if (!confirm) return pi;

    let outcome = outcomeFor(pm);
    if (outcome === 'requires_action' && errorOnRequiresAction) {
      outcome = {
        code: 'authentication_required', decline_code: 'authentication_required',
        message: TEST_CARDS.pm_card_authenticationRequired.chargeError.message,
      };
    }
    if (outcome === 'requires_action') {
      pi.status = 'requires_action';
      pi.next_action = { type: 'use_stripe_sdk', use_stripe_sdk: { type: 'three_d_secure_redirect' } };
      return pi;
    }
    const charge = {
      id: randomId('ch_', 24),
      object: 'charge',
      amount,
      amount_captured: 0,
      amount_refunded: 0,
      created: pi.created,
      currency: pi.currency,
      customer: customerId,
      livemode: false,
      metadata: { ...metadata },
      paid: false,
      payment_intent: pi.id,
      payment_method: pi.payment_method,
      payment_method_details: { type: 'card', card: { ...pm.object.card } },
      refunded: false,
      status: 'failed',
      failure_code: null,
      outcome: null,
    };
    charges.set(charge.id, charge);
    pi.latest_charge = charge.id;
    if (outcome) {
      const e = { code: outcome.code, decline_code: outcome.decline_code, message: outcome.message ?? DECLINED };
      charge.failure_code = e.code;
      charge.outcome = { type: 'issuer_declined', reason: e.decline_code ?? e.code };
      pi.status = 'requires_payment_method';
      pi.last_payment_error = {
        type: 'card_error', code: e.code, ...(e.decline_code ? { decline_code: e.decline_code } : {}),
        message: e.message, charge: charge.id, payment_method: clone(pm.object),
      };
      throw cardError(e, { charge: charge.id, payment_intent: clone(pi), payment_method: clone(pm.object) });
    }
    charge.status = 'succeeded';
    charge.paid = true;
    charge.amount_captured = amount;
    charge.outcome = { type: 'authorized', network_status: 'approved_by_network' };
    pi.status = 'succeeded';
    pi.amount_received = amount;
    return pi;
  }

  function createRefund(params) {
    requireKnownParams(params, [
      'amount', 'charge', 'currency', 'customer', 'expand', 'instructions_email', 'metadata', 'origin',
      'payment_intent', 'reason', 'refund_application_fee', 'reverse_transfer',
    ]);
    let pi;
    if (params.payment_intent) {
      pi = paymentIntents.get(params.payment_intent);
      if (!pi) throw missing('payment_intent', params.payment_intent, 'payment_intent');
    } else if (params.charge) {
      const ch = charges.get(params.charge);
      if (!ch) throw missing('charge', params.charge, 'charge');
      pi = paymentIntents.get(ch.payment_intent);
    } else {
      throw malformed('One of the following params should be provided for this request: payment_intent or charge.', {
        code: 'parameter_missing', param: 'payment_intent',
      });
    }
    const reason = params.reason || null;
    if (reason && !['duplicate', 'fraudulent', 'requested_by_customer'].includes(reason)) {
      throw malformed(`Invalid reason: must be one of duplicate, fraudulent, or requested_by_customer`, { param: 'reason' });
    }
    const metadata = parseMetadata(params);
    const charge = pi.latest_charge ? charges.get(pi.latest_charge) : undefined;
    if (pi.status !== 'succeeded' || !charge) {
      throw invalid(`This PaymentIntent (${pi.id}) does not have a successful charge to refund.`, {
        code: 'charge_not_refundable', param: 'payment_intent',
      });
    }
    const left = charge.amount - charge.amount_refunded;
    const amount = parseInteger(params, 'amount', { min: 1 }) ?? left;
    if (left === 0) {
      throw invalid(`Charge ${charge.id} has already been refunded.`, { code: 'charge_already_refunded' });
    }
    if (amount > left) {
      throw invalid(
        `Refund amount (${amount}) is greater than unrefunded amount on charge (${left})`,
        { code: 'amount_too_large', param: 'amount' });
    }
    charge.amount_refunded += amount;
    charge.refunded = charge.amount_refunded === charge.amount;
    const refund = {
      id: randomId('re_', 24),
      object: 'refund',
      amount,
      charge: charge.id,
      created: nowSeconds(),
      currency: pi.currency,
      metadata,
      payment_intent: pi.id,
      reason,
      status: 'succeeded',
    };
    refunds.set(refund.id, refund);
    return refund;
  }

  function expandOn(object, expand) {
    if (!expand.length) return object;
    const out = { ...object };
    for (const path of expand) {
      const field = path.replace(/^data\./, '');
      const id = out[field];
      if (typeof id !== 'string') continue;
      const found =
        field === 'latest_charge' || field === 'charge' ? charges.get(id)
          : field === 'payment_method' ? findPaymentMethod(id)?.object
            : field === 'customer' ? customers.get(id)
              : field === 'payment_intent' ? paymentIntents.get(id)
                : undefined;
      if (found === undefined) throw invalid(`This property cannot be expanded (${field}).`, { param: 'expand' });
      out[field] = found;
    }
    return out;
  }

  /** Runs one /v1 request. Returns [status, body]; throws ApiError for an error answer. */
  function execute(routeName, match, params) {
    const expand = parseExpand(params);
    switch (routeName) {
      case 'POST /v1/customers':
        return expandOn(createCustomer(params), expand);
      case 'GET /v1/customers/:id': {
        requireKnownParams(params, ['expand']);
        const c = customers.get(match[1]);
        if (!c) throw missing('customer', match[1], 'id');
        return expandOn(c, expand);
      }
      case 'GET /v1/payment_methods/:id': {
        requireKnownParams(params, ['expand']);
        const pm = findPaymentMethod(match[1]);
        if (!pm) throw missing('PaymentMethod', match[1], 'id');
        return expandOn(pm.object, expand);
      }
      case 'POST /v1/customers/:id': {
        const c = customers.get(match[1]);
        if (!c) throw missing('customer', match[1], 'id');
        requireKnownParams(params, [
          'address', 'balance', 'business_name', 'cash_balance', 'default_source', 'description', 'email', 'expand',
          'individual_name', 'invoice_prefix', 'invoice_settings', 'metadata', 'name', 'next_invoice_sequence',
          'phone', 'preferred_locales', 'shipping', 'source', 'tax', 'tax_exempt', 'validate',
        ]);
        const { expand: _e, metadata: _m, ...rest } = params;
        Object.assign(c, rest);
        if (params.metadata !== undefined) {
          // As Stripe: keys sent are set, keys sent empty are removed, `metadata=` clears them all.
          const raw = params.metadata;
          if (raw === '') c.metadata = {};
          else {
            const set = parseMetadata(params);
            for (const k of Object.keys(raw)) if (raw[k] === '') delete c.metadata[k];
            Object.assign(c.metadata, set);
          }
        }
        return expandOn(c, expand);
      }
      case 'POST /v1/payment_methods/:id/detach': {
        requireKnownParams(params, ['expand']);
        const pm = paymentMethods.get(match[1]);
        if (!pm) throw missing('PaymentMethod', match[1], 'payment_method');
        if (!pm.object.customer) {
          throw invalid('The payment method you provided is not attached to a customer so detachment is impossible.', {
            code: 'payment_method_unexpected_state', param: 'payment_method',
          });
        }
        pm.object.customer = null;
        pm.detached = true;
        return expandOn(pm.object, expand);
      }
      case 'POST /v1/payment_methods/:id/attach':
        return expandOn(attach(match[1], params), expand);
      case 'POST /v1/payment_intents':
        return expandOn(createPaymentIntent(params), expand);
      case 'GET /v1/payment_intents': {
        requireKnownParams(params, ['limit', 'starting_after', 'ending_before', 'customer', 'customer_account', 'created',
          'expand']);
        const inCreated = parseCreatedFilter(params);
        const items = [...paymentIntents.values()].filter(
          (pi) => (!params.customer || pi.customer === params.customer) && inCreated(pi));
        const page = listPage(items, params, '/v1/payment_intents');
        return { ...page, data: page.data.map((pi) => expandOn(pi, expand)) };
      }
      case 'GET /v1/payment_intents/search': {
        requireKnownParams(params, ['query', 'limit', 'page', 'expand']);
        const limit = parseListWindow(params);
        const matches = parseSearchQuery(params.query);
        const found = [...paymentIntents.values()].filter(matches).reverse();
        let start = 0;
        if (params.page) {
          const after = Buffer.from(String(params.page), 'base64url').toString('utf8');
          const index = found.findIndex((pi) => pi.id === after);
          if (!after.startsWith('pi_') || index < 0) throw invalid(`Invalid page: ${params.page}`, { param: 'page' });
          start = index + 1;
        }
        const data = found.slice(start, start + limit).map((pi) => expandOn(pi, expand));
        const hasMore = start + limit < found.length;
        return {
          object: 'search_result',
          data,
          has_more: hasMore,
          next_page: hasMore ? Buffer.from(data[data.length - 1].id, 'utf8').toString('base64url') : null,
          url: '/v1/payment_intents/search',
        };
      }
      case 'GET /v1/payment_intents/:id': {
        requireKnownParams(params, ['client_secret', 'expand']);
        const pi = paymentIntents.get(match[1]);
        if (!pi) throw missing('payment_intent', match[1], 'intent');
        return expandOn(pi, expand);
      }
      case 'POST /v1/refunds':
        return expandOn(createRefund(params), expand);
      case 'GET /v1/refunds': {
        requireKnownParams(params, ['limit', 'starting_after', 'ending_before', 'payment_intent', 'charge', 'created',
          'expand']);
        const inCreated = parseCreatedFilter(params);
        const items = [...refunds.values()].filter((r) =>
          (!params.payment_intent || r.payment_intent === params.payment_intent) &&
          (!params.charge || r.charge === params.charge) && inCreated(r));
        const page = listPage(items, params, '/v1/refunds');
        return { ...page, data: page.data.map((r) => expandOn(r, expand)) };
      }
      case 'GET /v1/refunds/:id': {
        requireKnownParams(params, ['expand']);
        const r = refunds.get(match[1]);
        if (!r) throw missing('refund', match[1], 'id');
        return expandOn(r, expand);
      }
      default:
        throw new Error(`unrouted ${routeName}`);
    }
  }

  // --- HTTP -----------------------------------------------------------------------------------------------

  function send(res, status, body, headers = {}) {
    if (res.destroyed || res.writableEnded) return;
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(text),
      'Stripe-Version': '2025-01-01',
      ...headers,
    });
    res.end(text);
  }

  function readBody(req) {
    return new Promise((resolve, reject) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      req.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
      req.on('error', reject);
    });
  }

  function authError(header) {
    const bearer = /^Bearer\s+(.+)$/i.exec(header ?? '');
    if (!bearer) {
      return new ApiError(401, {
        type: 'invalid_request_error',
        message:
          "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.",
      });
    }
    const key = bearer[1].trim();
    const ok = requiredKey !== undefined ? key === requiredKey : /^(sk|rk)_test_[A-Za-z0-9_]+$/.test(key);
    if (ok) return undefined;
    return new ApiError(401, {
      type: 'invalid_request_error',
      code: 'api_key_invalid',
      message: `Invalid API Key provided: ${maskKey(key)}`,
    });
  }

  /** Stripe-like rate limiting: more than limitRps requests answered normally in the last 1,000 ms. */
  const admitted = [];
  function overLimit(arrival) {
    while (admitted.length > 0 && arrival - admitted[0] >= 1000) admitted.shift();
    if (admitted.length >= limitRps) return true;
    admitted.push(arrival);
    return false;
  }

  async function handleApi(req, res, url) {
    const arrival = performance.now() - origin;
    const method = req.method ?? 'GET';
    let route;
    let match;
    for (const [m, re, name] of ROUTES) {
      if (m !== method) continue;
      const found = re.exec(url.pathname);
      if (found) {
        route = name;
        match = found;
        break;
      }
    }
    const routeName = route ?? `${method} (unknown)`;
    stats.requests += 1;
    stats.byRoute[routeName] = (stats.byRoute[routeName] ?? 0) + 1;
    stats.requestTimes.push(arrival);
    inFlight += 1;
    if (inFlight > stats.maxInFlight) stats.maxInFlight = inFlight;
    let counted = true;
    res.on('close', () => {
      if (counted) {
        counted = false;
        inFlight -= 1;
      }
    });

    const requestId = randomId('req_', 14);
    const headers = { 'request-id': requestId };
    const rawBody = await readBody(req);
    const params = parseStripeParams(method === 'GET' || method === 'DELETE' ? url.searchParams : new URLSearchParams(rawBody));
    const key = method === 'POST' ? req.headers['idempotency-key'] : undefined;
    if (typeof key === 'string') headers['Idempotency-Key'] = key;

    let fault = route ? pickFault(route) : undefined;
    if (!fault && limitRps > 0 && overLimit(performance.now())) {
      stats.rateLimited += 1;
      fault = { kind: '429', retryAfter: 1 };
    }
    if (fault?.kind === '429') {
      headers['Retry-After'] = String(fault.retryAfter ?? 1);
      send(res, 429, {
        error: {
          type: 'invalid_request_error', code: 'rate_limit',
          message: 'Too many requests hit the API too quickly. We recommend an exponential backoff of your requests.',
        },
      }, headers);
      return;
    }

    let status;
    let body;
    let store; // idempotency entry to fill once executed
    const failure = authError(req.headers.authorization);
    if (failure) {
      status = failure.status;
      body = { error: failure.error };
    } else if (!route) {
      status = 404;
      body = {
        error: {
          type: 'invalid_request_error',
          message: `Unrecognized request URL (${method}: ${url.pathname}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.`,
        },
      };
    } else if (fault?.kind === '500') {
      status = 500;
      body = { error: { type: 'api_error', message: 'An unknown error occurred (injected by the stand-in).' } };
    } else if (typeof key === 'string' && key.length > 255) {
      status = 400;
      body = { error: { type: 'invalid_request_error', message: 'Idempotency key is too long; keys can be up to 255 characters.' } };
    } else if (typeof key === 'string' && key !== '') {
      const fingerprint = `${method} ${url.pathname} ${canonical(params)}`;
      const entry = idempotency.get(key);
      if (entry && !entry.done) {
        status = 409;
        body = {
          error: {
            type: 'invalid_request_error', code: 'idempotency_key_in_use',
            message: 'There is currently another in-progress request using this Stripe-Account/Idempotency-Key combination. Please try again later.',
          },
        };
      } else if (entry && entry.fingerprint !== fingerprint) {
        status = 400;
        body = {
          error: {
            type: 'idempotency_error',
            message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
          },
        };
      } else if (entry) {
        status = entry.status;
        body = entry.body;
        headers['Idempotent-Replayed'] = 'true';
        headers['Original-Request'] = entry.requestId;
        stats.replays += 1;
      } else {
        store = { fingerprint, done: false, requestId };
        idempotency.set(key, store);
      }
    }

    await sleep(latencyMs);
    if (closed) return;
    if (status === undefined) {
      try {
        status = 200;
        body = clone(execute(route, match, params));
      } catch (e) {
        if (e instanceof ApiError) {
          status = e.status;
          body = { error: e.error };
          if (e.stored === false && store) {
            idempotency.delete(key);
            store = undefined;
          }
        } else {
          // A bug in the stand-in: answer like Stripe's 500 and keep nothing under the key.
          if (typeof key === 'string') idempotency.delete(key);
          store = undefined;
          status = 500;
          body = { error: { type: 'api_error', message: `The stand-in failed: ${e instanceof Error ? e.message : e}` } };
        }
      }
      if (store) {
        store.status = status;
        store.body = body;
        store.done = true;
      }
    }

    if (fault?.kind === 'drop') {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'hang') {
      hanging.add(res);
      res.on('close', () => hanging.delete(res));
      return;
    }
    send(res, status, body, headers);
  }

  async function handleControl(req, res, url) {
    const method = req.method ?? 'GET';
    const path = url.pathname.slice('/__standin/'.length);
    const text = method === 'POST' ? await readBody(req) : '';
    let input = {};
    if (text.trim() !== '') {
      try {
        input = JSON.parse(text);
      } catch {
        send(res, 400, { error: 'The body is not JSON.' });
        return;
      }
    }
    try {
      if (method === 'GET' && path === 'stats') return send(res, 200, api.stats());
      if (method === 'GET' && path === 'succeeded-by-key') {
        return send(res, 200, Object.fromEntries(api.succeededByKey()));
      }
      if (method === 'GET' && path === 'payment-intents') return send(res, 200, api.paymentIntents());
      if (method === 'GET' && path === 'customers') return send(res, 200, api.customers());
      if (method === 'GET' && path === 'refunds') return send(res, 200, api.refunds());
      if (method === 'POST' && path === 'configure') {
        configure(input);
        return send(res, 200, { ok: true });
      }
      if (method === 'POST' && path === 'outcome') {
        setOutcome(input.payment_method, input.outcome ?? null);
        return send(res, 200, { ok: true });
      }
      if (method === 'POST' && path === 'reset-stats') {
        api.resetStats();
        return send(res, 200, { ok: true });
      }
      return send(res, 404, { error: `No control endpoint ${method} /__standin/${path}.` });
    } catch (e) {
      return send(res, 400, { error: e instanceof Error ? e.message : String(e) });
    }
  }

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const handler = url.pathname.startsWith('/__standin/') ? handleControl : handleApi;
    handler(req, res, url).catch((e) => {
      send(res, 500, { error: { type: 'api_error', message: `The stand-in failed: ${e instanceof Error ? e.message : e}` } });
    });
  });
  server.keepAliveTimeout = 60_000;

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  const api = {
    url: `http://127.0.0.1:${port}`,
    port,
    configure,
    setOutcome,
    paymentIntents: () => clone([...paymentIntents.values()]),
    customers: () => clone([...customers.values()]),
    refunds: () => clone([...refunds.values()]),
    succeededByKey() {
      const counts = new Map();
      for (const pi of paymentIntents.values()) {
        const key = pi.metadata.txplan_key;
        if (pi.status !== 'succeeded' || key === undefined) continue;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      return counts;
    },
    stats() {
      const times = stats.requestTimes;
      let maxInAnySecond = 0;
      let lo = 0;
      for (let hi = 0; hi < times.length; hi += 1) {
        while (times[hi] - times[lo] >= 1000) lo += 1;
        maxInAnySecond = Math.max(maxInAnySecond, hi - lo + 1);
      }
      return {
        requests: stats.requests,
        byRoute: { ...stats.byRoute },
        maxInAnySecond,
        maxInFlight: stats.maxInFlight,
        replays: stats.replays,
        faultsInjected: { ...stats.faultsInjected },
        rateLimited: stats.rateLimited,
        requestTimes: times.slice(),
      };
    },
    resetStats() {
      stats = freshStats();
      stats.maxInFlight = inFlight;
      origin = performance.now();
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      await new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
  return api;
}

// ---------------------------------------------------------------------------------------------------------
// CLI: node test/stripe/standin.mjs [--port N] [--latency MS] [--seed N]

function cliOptions(argv) {
  const options = {};
  const names = { '--port': 'port', '--latency': 'latencyMs', '--seed': 'seed', '--api-key': 'apiKey' };
  for (let i = 0; i < argv.length; i += 1) {
    const name = names[argv[i]];
    const value = argv[i + 1];
    if (!name || value === undefined) {
      throw new Error(`Unknown or incomplete option ${argv[i]}: use --port N, --latency MS, --seed N, --api-key KEY.`);
    }
    if (name === 'apiKey') options.apiKey = value;
    else {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 0) throw new Error(`${argv[i]} takes a whole number, 0 or more (got ${value}).`);
      options[name] = n;
    }
    i += 1;
  }
  return options;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  let options;
  try {
    options = cliOptions(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${e.message}\n`);
    process.exit(2);
  }
  const standIn = await startStandIn(options);
  process.stdout.write(`${JSON.stringify({ url: standIn.url })}\n`);
  const stop = () => {
    standIn.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
