import { describe, expect, it } from 'vitest';
import { stripeConfig } from '../../src/billing/gateways/stripe.js';
import { mergeSettings } from '../../src/registry/settings.js';
import type { Settings } from '../../src/generated/schema-types.js';

const TEST_KEY = 'sk_test_51AbcdefghIJKLMNOP';
const LIVE_KEY = 'sk_live_51AbcdefghIJKLMNOP';

function config(stripe: NonNullable<Settings['payments']>['stripe'] = {}, env: { key?: string; base?: string } = { key: TEST_KEY }) {
  return stripeConfig(mergeSettings({ payments: { gateway: 'stripe', stripe } }), { stripeApiBase: env.base, stripeSecretKey: () => env.key });
}

function refusal(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected a refusal');
}

describe('the Stripe settings', () => {
  it('defaults: test mode, Stripe\'s own API, 8 in flight, 20 requests a second in test mode and 80 in live mode, 30 s per answer', () => {
    expect(config()).toMatchObject({ mode: 'test', concurrency: 8, maxRps: 20, timeoutMs: 30_000 });
    expect(config().apiBase.href).toBe('https://api.stripe.com/');
    expect(config({ mode: 'live' }, { key: LIVE_KEY })).toMatchObject({ mode: 'live', maxRps: 80 });
    expect(config({ concurrency: 16, max_rps: 0, timeout_seconds: 5 })).toMatchObject({ concurrency: 16, maxRps: 0, timeoutMs: 5000 });
    expect(config({ mode: 'test' }, { key: 'rk_test_51RestrictedKey1' }).mode).toBe('test');
  });

  it('takes the key only from the environment, and refuses a missing, malformed or other-mode key without repeating it', () => {
    expect(refusal(() => config({}, {}))).toMatch(/^payments\.gateway is stripe, but STRIPE_SECRET_KEY is not set/);
    expect(refusal(() => config({}, { key: 'pk_test_51Publishable00' }))).toMatch(/^STRIPE_SECRET_KEY is not a Stripe secret key/);
    expect(refusal(() => config({ mode: 'test' }, { key: LIVE_KEY }))).toMatch(/^STRIPE_SECRET_KEY is a live key, but payments\.stripe\.mode is test/);
    expect(refusal(() => config({ mode: 'live' }, { key: TEST_KEY }))).toMatch(/^STRIPE_SECRET_KEY is a test key, but payments\.stripe\.mode is live/);
    for (const message of [refusal(() => config({}, { key: 'pk_test_51Publishable00' })), refusal(() => config({ mode: 'test' }, { key: LIVE_KEY }))]) {
      expect(message).not.toContain('AbcdefghIJKLMNOP');
      expect(message).not.toContain('Publishable00');
    }
  });

  it('reaches the API base of TXPLAN_STRIPE_API_BASE over txplan.yaml; refuses a base with a path, and plain http with a live key', () => {
    expect(config({ api_base: 'http://127.0.0.1:12111' }).apiBase.href).toBe('http://127.0.0.1:12111/');
    expect(config({ api_base: 'http://127.0.0.1:12111' }, { key: TEST_KEY, base: 'http://localhost:9000' }).apiBase.href).toBe('http://localhost:9000/');
    expect(refusal(() => config({}, { key: TEST_KEY, base: 'http://127.0.0.1:1/v1' }))).toMatch(/^TXPLAN_STRIPE_API_BASE "http:\/\/127\.0\.0\.1:1\/v1" must be an http\(s\) origin without a path/);
    expect(refusal(() => config({ api_base: 'not a url' }))).toMatch(/^payments\.stripe\.api_base "not a url" is not a URL/);
    expect(refusal(() => config({ mode: 'live', api_base: 'http://127.0.0.1:12111' }, { key: LIVE_KEY }))).toMatch(/is plain http, and payments\.stripe\.mode is live: a live key is sent only over https/);
    expect(config({ mode: 'live', api_base: 'https://stripe-proxy.example.org' }, { key: LIVE_KEY }).apiBase.host).toBe('stripe-proxy.example.org');
  });
});
