import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { formatInstant } from '../domain/instants.js';
import { recordAudit } from '../store/audit.js';
import { billingLockHolder, billingLockLive, deleteBillingLock } from '../store/charges.js';
import { FailedError } from '../errors.js';
import type { Store } from '../store/store.js';
import type { BillingLockHolder } from '../domain/records.js';

/**
 * Who a process is, beyond its pid: pids are reused, so the lock also records
 * the host, the boot (/proc/sys/kernel/random/boot_id) and the process's start
 * time in clock ticks since boot (field 22 of /proc/<pid>/stat). Where there
 * is no /proc (macOS, BSD), the last two are null and only the pid is checked.
 */
export interface ProcessIdentity {
  pid: number;
  host: string;
  boot_id: string | null;
  start_ticks: number | null;
}

/** alive: the holder is running; stale: it is gone (or its pid now belongs to another process); unknown: it ran on another host. */
export type HolderState = 'alive' | 'stale' | 'unknown';

export function thisProcess(): ProcessIdentity {
  return { pid: process.pid, host: hostname(), boot_id: bootId(), start_ticks: startTicks(process.pid) };
}

export function holderState(holder: Pick<BillingLockHolder, 'pid' | 'host' | 'boot_id' | 'start_ticks'>, me: ProcessIdentity = thisProcess()): HolderState {
  // A process on another computer (a database on a shared folder) cannot be looked at from here.
  if (holder.host !== null && holder.host !== me.host) return 'unknown';
  if (holder.boot_id !== null && me.boot_id !== null && holder.boot_id !== me.boot_id) return 'stale';
  if (!processExists(holder.pid)) return 'stale';
  if (holder.start_ticks !== null) {
    const now = startTicks(holder.pid);
    if (now !== null && now !== holder.start_ticks) return 'stale';
  }
  return 'alive';
}

/** The lock and its holder's state, for `db check` and `billing unlock`. */
export function billingLock(store: Store): (BillingLockHolder & { state: HolderState }) | undefined {
  const holder = billingLockHolder(store);
  if (!holder) return undefined;
  // On PostgreSQL the server knows: the lock is held by a live session, or it is not held at all.
  const live = billingLockLive(store);
  return { ...holder, state: live === undefined ? holderState(holder) : live ? 'alive' : 'stale' };
}

/** Removes the lock whoever holds it, recording who did and whom it named. Returns the holder removed. */
export function unlockBilling(store: Store, by: { actor: string; now: Date }): BillingLockHolder | undefined {
  return store.transaction(() => {
    const holder = billingLockHolder(store);
    if (!holder) return undefined;
    if (billingLockLive(store)) {
      throw new FailedError(`The billing lock is held by a billing run that is still connected to the database (process ${holder.pid}${holder.host ? ` on ${holder.host}` : ''}); the server releases it as soon as that run ends, even if it is killed, so there is nothing to remove; nothing was changed`, 'billing_locked');
    }
    deleteBillingLock(store);
    const { pid, host, started_at } = holder;
    recordAudit(store, { at: by.now.toISOString(), actor: by.actor, action: 'billing.unlock', entity: 'billing_lock', entityId: 1, before: { pid, host, started_at, state: holderState(holder) } });
    return holder;
  });
}

/** "held by process 123 on clinic-pc since 2031-01-31 19:00 America/New_York (running)", the start shown in `zone`. */
export function describeHolder(holder: BillingLockHolder, state: HolderState, zone: string): string {
  const what = { alive: 'running', stale: 'no longer running', unknown: 'on another computer: cannot check' }[state];
  return `held by process ${holder.pid}${holder.host ? ` on ${holder.host}` : ''} since ${formatInstant(holder.started_at, zone)} (${what})`;
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function bootId(): string | null {
  const text = readProc('/proc/sys/kernel/random/boot_id')?.trim();
  return text ? text : null;
}

function startTicks(pid: number): number | null {
  const stat = readProc(`/proc/${pid}/stat`);
  if (stat === undefined) return null;
  // The command name (field 2) may hold spaces and parentheses: count fields after its closing ")".
  const ticks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
  return Number.isSafeInteger(ticks) ? ticks : null;
}

function readProc(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}
