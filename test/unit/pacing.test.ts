import { describe, expect, it } from 'vitest';
import { Pacer, type PacingClock } from '../../src/billing/gateways/pacing.js';

/** A clock that moves only when told: sleepers wake in order of their deadlines. */
class FakeClock implements PacingClock {
  private t = 0;
  private sleepers: Array<{ until: number; wake: () => void }> = [];

  now(): number {
    return this.t;
  }

  sleep(ms: number): Promise<void> {
    return new Promise((wake) => this.sleepers.push({ until: this.t + ms, wake }));
  }

  /** Moves time forward step by step, letting every woken task run before the next step. */
  async advance(ms: number, step = 1): Promise<void> {
    const end = this.t + ms;
    while (this.t < end) {
      this.t = Math.min(end, this.t + step);
      const due = this.sleepers.filter((s) => s.until <= this.t);
      this.sleepers = this.sleepers.filter((s) => s.until > this.t);
      for (const s of due) s.wake();
      await settle();
    }
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

/** The largest number of `times` in any window shorter than `windowMs`. */
function maxInWindow(times: number[], windowMs: number): number {
  let best = 0;
  for (let i = 0; i < times.length; i++) {
    let n = 0;
    for (let j = i; j < times.length && times[j]! - times[i]! < windowMs; j++) n++;
    best = Math.max(best, n);
  }
  return best;
}

describe('the pacer', () => {
  it('keeps at most `concurrency` requests in flight and starts them in the order they asked', async () => {
    const clock = new FakeClock();
    const pacer = new Pacer({ concurrency: 3, maxRps: 0 }, clock);
    let inFlight = 0;
    let most = 0;
    const started: number[] = [];
    const finishers: Array<() => void> = [];
    const all = Array.from({ length: 10 }, (_, i) =>
      pacer.run(async () => {
        started.push(i);
        inFlight++;
        most = Math.max(most, inFlight);
        await new Promise<void>((done) => finishers.push(done));
        inFlight--;
        return i;
      }),
    );
    await settle();
    expect(started).toEqual([0, 1, 2]);
    while (finishers.length > 0) {
      finishers.shift()!();
      await settle();
    }
    expect(await Promise.all(all)).toEqual([...Array(10).keys()]);
    expect(started).toEqual([...Array(10).keys()]);
    expect(most).toBe(3);
  });

  it('starts at most maxRps requests in any sliding second, with the margin on top', async () => {
    const clock = new FakeClock();
    const pacer = new Pacer({ concurrency: 100, maxRps: 10, marginMs: 40 }, clock);
    const starts: number[] = [];
    // Requests of varying length, so starts are not in neat batches.
    const all = Array.from({ length: 45 }, (_, i) =>
      pacer.run(async () => {
        starts.push(clock.now());
        await clock.sleep((i * 37) % 300);
      }),
    );
    await settle();
    expect(starts).toHaveLength(10);
    await clock.advance(6000);
    await Promise.all(all);
    expect(starts).toHaveLength(45);
    expect(maxInWindow(starts, 1040)).toBe(10);
    // Not slower than it must be: the 11th starts as soon as the window allows.
    expect(starts[10]).toBe(1040);
  });

  it('holds every start while the processor asked to wait, then goes on', async () => {
    const clock = new FakeClock();
    const pacer = new Pacer({ concurrency: 4, maxRps: 0 }, clock);
    pacer.holdFor(2000);
    const starts: number[] = [];
    const all = Array.from({ length: 3 }, () => pacer.run(async () => void starts.push(clock.now())));
    await clock.advance(1999);
    expect(starts).toEqual([]);
    await clock.advance(1);
    await Promise.all(all);
    expect(starts).toEqual([2000, 2000, 2000]);
  });

  it('frees a slot when a request fails', async () => {
    const pacer = new Pacer({ concurrency: 1, maxRps: 0 }, new FakeClock());
    await expect(pacer.run(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await pacer.run(async () => 'next')).toBe('next');
    expect(pacer.active).toBe(0);
  });
});
