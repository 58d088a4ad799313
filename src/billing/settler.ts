/**
 * Gathers answers that arrive in the same turn of the event loop and records
 * them together, right after: a processor answering one at a time gets one
 * commit per answer, one answering a whole batch at once (the sandbox) one
 * commit for the batch. A failure to record is raised from the last flush.
 */
export class Settler<T> {
  private queue: T[] = [];
  private failure: unknown;
  /** The drain scheduled for the next turn, cancelled by flush: a run that never yields (the sandbox answers in microtasks) must not keep every chunk's answers alive until it ends. */
  private scheduled: NodeJS.Immediate | undefined;

  constructor(private readonly record: (batch: T[]) => void) {}

  add(item: T): void {
    this.queue.push(item);
    if (this.queue.length === 1 && !this.scheduled) {
      this.scheduled = setImmediate(() => {
        this.scheduled = undefined;
        this.drain();
      });
    }
  }

  flush(): void {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    this.drain();
    if (this.failure !== undefined) throw this.failure;
  }

  private drain(): void {
    const batch = this.queue.splice(0);
    if (batch.length === 0 || this.failure !== undefined) return;
    try {
      this.record(batch);
    } catch (error) {
      this.failure = error;
    }
  }
}
