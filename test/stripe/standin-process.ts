import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { StandIn } from './standin.mjs';

/**
 * The Stripe stand-in in a process of its own, read and driven synchronously.
 *
 * Tests that run txplan with the synchronous `txplan()` helper cannot use an
 * in-process stand-in (startStandIn()): while spawnSync waits for txplan, the
 * test's event loop is blocked and the stand-in never answers. This one runs
 * `node standin.mjs` as a child and talks to its /__standin/ control endpoints
 * with a short synchronous request, so a test reads it between commands.
 */
export type StandInProcess = Pick<StandIn, 'url' | 'port' | 'configure' | 'setOutcome' | 'paymentIntents' | 'customers' | 'refunds' | 'stats' | 'close'>;

const script = fileURLToPath(new URL('./standin.mjs', import.meta.url));

// One request, made by a short-lived Node process so the caller can wait for it synchronously.
const REQUEST = `
const [url, method, body] = process.argv.slice(1);
fetch(url, { method, headers: { 'content-type': 'application/json' }, body: method === 'GET' ? undefined : body })
  .then(async (res) => { const text = await res.text(); if (!res.ok) { process.stderr.write(res.status + ' ' + text); process.exit(1); } process.stdout.write(text); })
  .catch((e) => { process.stderr.write(String(e)); process.exit(1); });
`;

export async function startStandInProcess(options: { seed?: number; latencyMs?: number; apiKey?: string } = {}): Promise<StandInProcess> {
  const args = [script, '--port', '0', '--seed', String(options.seed ?? 1), '--latency', String(options.latencyMs ?? 0)];
  if (options.apiKey !== undefined) args.push('--api-key', options.apiKey);
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n')) {
        child.stdout!.off('data', onData);
        try {
          resolve((JSON.parse(line!) as { url: string }).url);
        } catch {
          reject(new Error(`the stand-in printed ${line}`));
        }
      }
    };
    child.stdout!.on('data', onData);
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the stand-in exited ${code} before it listened`)));
  });
  child.stdout!.resume();
  const control = <T>(method: 'GET' | 'POST', path: string, body?: unknown): T => {
    const result = spawnSync(process.execPath, ['-e', REQUEST, `${url}/__standin/${path}`, method, JSON.stringify(body ?? {})], { encoding: 'utf8', timeout: 20_000 });
    if (result.status !== 0) throw new Error(`stand-in ${method} ${path}: ${result.stderr || result.error}`);
    return JSON.parse(result.stdout) as T;
  };
  return {
    url,
    port: Number(new URL(url).port),
    configure: (settings) => void control('POST', 'configure', settings),
    setOutcome: (paymentMethod, outcome) => void control('POST', 'outcome', { payment_method: paymentMethod, outcome }),
    paymentIntents: () => control('GET', 'payment-intents'),
    customers: () => control('GET', 'customers'),
    refunds: () => control('GET', 'refunds'),
    stats: () => control('GET', 'stats'),
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
