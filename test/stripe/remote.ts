import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Fault, Outcome, StandInCustomer, StandInPaymentIntent, StandInRefund, StandInStats } from './standin.mjs';

/**
 * The stand-in in a process of its own, driven over its control endpoints.
 * Tests that run txplan with the blocking `txplan()` helper need this: while
 * spawnSync waits, the test's own event loop cannot answer, so a stand-in in
 * the test process would never reply.
 */
export interface RemoteStandIn {
  readonly url: string;
  readonly port: number;
  configure(settings: { latencyMs?: number; faults?: Fault[]; seed?: number; limitRps?: number }): Promise<void>;
  setOutcome(paymentMethod: string, outcome: Outcome): Promise<void>;
  paymentIntents(): Promise<StandInPaymentIntent[]>;
  customers(): Promise<StandInCustomer[]>;
  refunds(): Promise<StandInRefund[]>;
  succeededByKey(): Promise<Map<string, number>>;
  stats(): Promise<StandInStats>;
  close(): Promise<void>;
}

const script = fileURLToPath(new URL('./standin.mjs', import.meta.url));

export async function startStandInProcess(options: { latencyMs?: number; seed?: number; apiKey?: string } = {}): Promise<RemoteStandIn> {
  const args = [script, '--port', '0'];
  if (options.latencyMs !== undefined) args.push('--latency', String(options.latencyMs));
  if (options.seed !== undefined) args.push('--seed', String(options.seed));
  if (options.apiKey !== undefined) args.push('--api-key', options.apiKey);
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the Stripe stand-in exited (${code}) before it listened`)));
    lines.once('line', (line) => resolve((JSON.parse(line) as { url: string }).url));
  });
  const control = async <T,>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> => {
    const response = await fetch(`${url}/__standin/${path}`, { method, headers: body === undefined ? {} : { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    if (!response.ok) throw new Error(`stand-in ${method} ${path}: ${response.status} ${await response.text()}`);
    const text = await response.text();
    return (text ? JSON.parse(text) : undefined) as T;
  };
  return {
    url,
    port: Number(new URL(url).port),
    configure: (settings) => control('POST', 'configure', settings),
    setOutcome: (paymentMethod, outcome) => control('POST', 'outcome', { payment_method: paymentMethod, outcome }),
    paymentIntents: () => control('GET', 'payment-intents'),
    customers: () => control('GET', 'customers'),
    refunds: () => control('GET', 'refunds'),
    succeededByKey: async () => new Map(Object.entries(await control<Record<string, number>>('GET', 'succeeded-by-key'))),
    stats: () => control('GET', 'stats'),
    close: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
