/** Time as the pacer sees it: a monotonic clock in milliseconds and a way to wait. */
export interface PacingClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const realClock: PacingClock = {
  now: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export interface PacingLimits {
  /** The most requests in flight at once. */
  concurrency: number;
  /** The most requests started in any sliding second; 0 for no cap. */
  maxRps: number;
  /**
   * Added to the second a start waits out: a request is counted by the
   * processor when it arrives, a little after it starts here (event loop,
   * loopback), so the window is kept a little longer than a second.
   */
  marginMs?: number;
}

/**
 * Paces requests to a processor: at most `concurrency` in flight, and at most
 * `maxRps` started in any sliding window of one second (every start time of the
 * last `maxRps` is kept; a new request waits until the oldest of them is more
 * than a second ago). Requests start in the order they asked. A processor's
 * "slow down" (Retry-After) holds every start until it has passed.
 */
export class Pacer {
  private readonly concurrency: number;
  private readonly maxRps: number;
  private readonly windowMs: number;
  private readonly waiting: Array<() => void> = [];
  /** The last `maxRps` start times, oldest first. */
  private readonly starts: number[] = [];
  private inFlight = 0;
  private heldUntil = 0;
  private pumping = false;

  constructor(
    limits: PacingLimits,
    private readonly clock: PacingClock = realClock,
  ) {
    this.concurrency = Math.max(1, Math.floor(limits.concurrency));
    this.maxRps = Math.max(0, Math.floor(limits.maxRps));
    this.windowMs = 1000 + (limits.marginMs ?? 40);
  }

  /** Runs `send` once a slot is free and the rate allows it to start. */
  async run<T>(send: () => Promise<T>): Promise<T> {
    await new Promise<void>((resolve) => {
      this.waiting.push(resolve);
      this.pump();
    });
    try {
      return await send();
    } finally {
      this.inFlight--;
      this.pump();
    }
  }

  /** Starts nothing more for `ms` from now (the processor asked to slow down). */
  holdFor(ms: number): void {
    this.heldUntil = Math.max(this.heldUntil, this.clock.now() + ms);
  }

  /** Requests in flight now (for tests and diagnostics). */
  get active(): number {
    return this.inFlight;
  }

  /**
   * Admits waiting requests in order, one at a time: a single loop decides,
   * so two requests can never both take the last start of a window.
   */
  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    void (async () => {
      try {
        while (this.waiting.length > 0 && this.inFlight < this.concurrency) {
          const wait = this.waitBeforeStart();
          if (wait > 0) {
            await this.clock.sleep(wait);
            continue;
          }
          this.inFlight++;
          this.recordStart(this.clock.now());
          this.waiting.shift()!();
        }
      } finally {
        this.pumping = false;
      }
    })();
  }

  private waitBeforeStart(): number {
    const now = this.clock.now();
    let wait = this.heldUntil - now;
    if (this.maxRps > 0 && this.starts.length >= this.maxRps) {
      // The start that would become the maxRps+1-th in the window.
      wait = Math.max(wait, this.starts[0]! + this.windowMs - now);
    }
    return wait > 0 ? Math.ceil(wait) : 0;
  }

  private recordStart(at: number): void {
    if (this.maxRps === 0) return;
    this.starts.push(at);
    if (this.starts.length > this.maxRps) this.starts.shift();
  }
}
