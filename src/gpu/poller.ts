// Polls one collector on an interval: never two polls at once, each poll aborted past its timeout, every outcome
// handed back as a value. A collector that hangs or throws never blocks the caller or the event loop.
import { type GpuCollector, type GpuSample, GpuUnavailableError } from './types.js';

export type PollOutcome =
  | {
      kind: 'ok';
      samples: GpuSample[];
      durationMs: number;
      /**
       * The poll intervals these samples stand for: 1, plus the ticks that found this poll still running (a collector
       * slower than the interval answers every other tick; its samples then cover both ticks' GPU time).
       */
      intervals?: number;
      /** GPUs the source could not read beside these: what it said, and how many. */
      warning?: string;
      unreadable?: number;
    }
  | { kind: 'unavailable'; reason: string; durationMs: number }
  | { kind: 'error'; error: string; timedOut: boolean; durationMs: number };

export interface PollerOptions {
  collector: GpuCollector;
  intervalMs: number;
  timeoutMs: number;
  onOutcome: (outcome: PollOutcome, collector: GpuCollector) => void;
  /** Called when a tick found the previous poll still running. */
  onSkip?: (collector: GpuCollector) => void;
}

export class Poller {
  private timer: NodeJS.Timeout | undefined;
  private current: Promise<PollOutcome> | null = null;
  private controller: AbortController | null = null;
  private stopped = false;
  /** Ticks skipped while the running poll ran. */
  private skippedTicks = 0;

  constructor(private readonly opts: PollerOptions) {}

  get collector(): GpuCollector {
    return this.opts.collector;
  }

  /** Polls at once, then every interval. */
  start(): void {
    if (this.timer) return;
    this.stopped = false;
    void this.poll();
    this.timer = setInterval(() => void this.poll(), this.opts.intervalMs);
    this.timer.unref();
  }

  /** One poll now; 'skipped' when one is already running. */
  poll(): Promise<PollOutcome | 'skipped'> {
    if (this.current) {
      this.skippedTicks++;
      this.opts.onSkip?.(this.opts.collector);
      return Promise.resolve('skipped');
    }
    this.skippedTicks = 0;
    const run = this.run().finally(() => {
      this.current = null;
      this.controller = null;
    });
    this.current = run;
    return run;
  }

  private async run(): Promise<PollOutcome> {
    const controller = new AbortController();
    this.controller = controller;
    const started = performance.now();
    let timedOut = false;
    let timeout: NodeJS.Timeout | undefined;
    // Settles when the poll is aborted even if the collector ignores its signal.
    const aborted = new Promise<never>((_, reject) => {
      timeout = setTimeout(() => {
        timedOut = true;
        controller.abort(new Error(`timed out after ${this.opts.timeoutMs} ms`));
      }, this.opts.timeoutMs);
      timeout.unref();
      controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true });
    });
    aborted.catch(() => undefined);
    let outcome: PollOutcome;
    try {
      const samples = await Promise.race([this.opts.collector.collect(controller.signal), aborted]);
      const { warning, unreadable } = this.opts.collector;
      outcome = {
        kind: 'ok',
        samples,
        durationMs: performance.now() - started,
        intervals: 1 + this.skippedTicks,
        ...(warning ? { warning } : {}),
        ...(unreadable ? { unreadable } : {}),
      };
    } catch (err) {
      const durationMs = performance.now() - started;
      if (err instanceof GpuUnavailableError) outcome = { kind: 'unavailable', reason: err.reason, durationMs };
      else
        outcome = {
          kind: 'error',
          error: timedOut ? `timed out after ${this.opts.timeoutMs} ms` : errorText(err),
          timedOut,
          durationMs,
        };
    } finally {
      clearTimeout(timeout);
      if (!controller.signal.aborted) controller.abort(new Error('poll finished'));
    }
    if (!this.stopped || outcome.kind !== 'error') {
      try {
        this.opts.onOutcome(outcome, this.opts.collector);
      } catch {
        /* a broken consumer must not stop polling */
      }
    }
    return outcome;
  }

  /** Stops the timer and aborts a running poll; resolves when it has settled. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.timer = undefined;
    this.controller?.abort(new Error('stopped'));
    await this.current?.catch(() => undefined);
  }
}

function errorText(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return code && !err.message.includes(code) ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}
