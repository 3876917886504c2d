// Runs evaluations off the request path: a bounded queue with bounded concurrency. When the queue is full, new
// work is dropped and counted (never buffered without limit); a failing job is counted, never thrown.
export interface RunnerOptions {
  concurrency: number;
  maxPending: number;
  /** Called with the weight of each job dropped (how many items it carried). */
  onDrop?: (count: number) => void;
  onError?: (err: unknown) => void;
}

export class BoundedRunner {
  private readonly queue: (() => Promise<void>)[] = [];
  private active = 0;
  private readonly idleWaiters: (() => void)[] = [];
  private closed = false;
  /** The weight of each queued job, and their sum (what maxPending bounds). */
  private readonly weights: number[] = [];
  private queued = 0;

  constructor(private readonly opts: RunnerOptions) {}

  /** Items waiting (the sum of queued jobs' weights). */
  get pending(): number {
    return this.queued;
  }

  get running(): number {
    return this.active;
  }

  /**
   * Queues a job carrying `weight` items (the queue's bound counts items); false, and the items counted as dropped,
   * when that would overfill the queue or it is closed.
   */
  submit(job: () => Promise<void>, weight = 1): boolean {
    if (this.closed || this.queued + weight > this.opts.maxPending) {
      this.opts.onDrop?.(weight);
      return false;
    }
    this.queued += weight;
    this.weights.push(weight);
    this.queue.push(job);
    this.pump();
    return true;
  }

  private pump(): void {
    while (this.active < this.opts.concurrency && this.queue.length > 0) {
      const job = this.queue.shift() as () => Promise<void>;
      this.queued -= this.weights.shift() ?? 1;
      this.active++;
      // setImmediate: each job starts on a fresh turn, so a burst of CPU-bound checks never starves the gateway.
      setImmediate(() => {
        job()
          .catch((err) => this.opts.onError?.(err))
          .finally(() => {
            this.active--;
            this.pump();
            if (this.active === 0 && this.queue.length === 0) for (const w of this.idleWaiters.splice(0)) w();
          });
      });
    }
  }

  /** Resolves when nothing is queued or running (or after timeoutMs); true if idle. */
  async idle(timeoutMs = 10_000): Promise<boolean> {
    if (this.active === 0 && this.queue.length === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const done = await Promise.race([
      new Promise<true>((resolve) => this.idleWaiters.push(() => resolve(true))),
      new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    return done;
  }

  /** Stops taking work; waits (bounded) for what is queued; returns how many jobs were abandoned. */
  async close(timeoutMs = 5_000): Promise<number> {
    this.closed = true;
    await this.idle(timeoutMs);
    const left = this.queued;
    this.queue.length = 0;
    this.weights.length = 0;
    this.queued = 0;
    return left;
  }
}
