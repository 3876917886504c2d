// The recorder: the bounded hand-off between the gateway's hot path and everything that consumes calls.
// `record()` only enqueues; enrichers (cost, refusal, ...) and sinks (metrics, logs, store, ...) run later,
// each sink with its own bounded queue so one slow or broken sink never holds back the others or the client.
import type { LlmCall } from './call.js';

/** Fills in derived fields (cost, refusal, ...) before any sink sees the call. Must not throw; if it does, the call still goes on. */
export interface Enricher {
  readonly name: string;
  enrich(call: LlmCall): void;
}

/** A consumer of finished calls. A failed write is reported by throwing/rejecting; the recorder counts it as dropped. */
export interface Sink {
  readonly name: string;
  /** Largest batch this sink wants at once (default 256). */
  readonly maxBatch?: number;
  /**
   * Milliseconds to wait for a fuller batch before writing (default 0: write at once). A sink whose cost is
   * mostly per batch (one store transaction) sets it; the lane writes as soon as `maxBatch` calls are queued,
   * and `flush()`/`close()` never wait for it.
   */
  readonly lingerMs?: number;
  /**
   * How many batches the lane may have in `write` at once (default 1: one after another). A sink whose writes are
   * queued behind one another elsewhere anyway (the SQLite writer thread writes what it is handed in order) sets 2, so
   * its next batch is handed over while the one before is written, instead of after its answer has come back to a
   * busy event loop. Batches then may finish out of order (a retried one after a later one).
   */
  readonly inFlight?: number;
  /**
   * For a sink whose failures pass (a database restarting, a full disk being cleared): a failed batch for which
   * `retryable(err)` holds is written again, with backoff (100 ms doubling to 5 s), for up to `retryForMs`, while
   * later calls wait in the lane's bounded queue; then, or at shutdown, it is dropped and counted.
   */
  readonly retry?: { retryForMs: number; retryable(err: unknown): boolean };
  /**
   * A ledger (the store, spend, quality counts) rather than an exporter (logs, traces): senders of batches (ingest,
   * OTLP) wait for room in its lane (Recorder.holdRoom) instead of having it drop their calls.
   */
  readonly lossless?: boolean;
  write(calls: readonly LlmCall[]): void | Promise<void>;
  close?(): void | Promise<void>;
}

/** `s` with its lane settings and close, writing through `write` instead (a filter or a copy in front of it). */
export function sinkWithWrite(s: Sink, write: Sink['write']): Sink {
  return {
    name: s.name,
    maxBatch: s.maxBatch,
    lingerMs: s.lingerMs,
    inFlight: s.inFlight,
    retry: s.retry,
    lossless: s.lossless,
    write,
    close: s.close ? () => s.close?.() : undefined,
  };
}

export interface RecorderOptions {
  /** Per-sink queue capacity; calls beyond it are dropped and counted. */
  capacity?: number;
  /** `calls` are the calls dropped (a sink that must release what they hold: a gateway worker's hand-off). */
  onDrop?: (
    sink: string,
    count: number,
    reason: 'queue_full' | 'sink_error' | 'shutdown',
    calls: readonly LlmCall[],
  ) => void;
  onEnricherError?: (enricher: string, err: unknown) => void;
  onSinkError?: (sink: string, err: unknown) => void;
}

interface Lane {
  sink: Sink;
  queue: LlmCall[];
  head: number;
  running: boolean;
  idle: Array<() => void>;
  /** Pending linger timer, when the lane waits for a fuller batch. */
  timer: NodeJS.Timeout | null;
}

export class Recorder {
  private readonly lanes: Lane[] = [];
  private readonly enrichers: Enricher[] = [];
  private readonly pending: LlmCall[] = [];
  private scheduled = false;
  private closed = false;
  private closing = false;
  readonly capacity: number;

  constructor(private readonly opts: RecorderOptions = {}) {
    this.capacity = opts.capacity ?? 10_000;
  }

  addEnricher(e: Enricher): this {
    this.enrichers.push(e);
    return this;
  }

  addSink(sink: Sink): this {
    this.lanes.push({ sink, queue: [], head: 0, running: false, idle: [], timer: null });
    return this;
  }

  sinkNames(): string[] {
    return this.lanes.map((l) => l.sink.name);
  }

  /** Queue depth per sink, for `llmscope_recorder_queue_depth`. */
  depths(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const l of this.lanes) out[l.sink.name] = l.queue.length - l.head;
    out['_pending'] = this.pending.length;
    return out;
  }

  /** Room promised by holdRoom() to callers that have not yet recorded. */
  private held = 0;

  /**
   * Whether every lossless lane can take `n` more calls now: calls not yet dispatched and room other callers hold
   * count as queued, and a batch larger than a lane waits for it to be empty. True when no sink is lossless. (The
   * batches being written, at most `inFlight` of `maxBatch` calls, are the sink's.)
   */
  hasRoom(n: number): boolean {
    const size = Math.min(n, this.capacity);
    for (const l of this.lanes)
      if (l.sink.lossless && l.queue.length - l.head + this.pending.length + this.held + size > this.capacity)
        return false;
    return true;
  }

  /**
   * For senders of batches (ingest, OTLP) that must be slowed to the ledgers' pace rather than have their calls
   * dropped: waits, polling every 5 ms for at most `timeoutMs`, until every lossless lane has room for `n` calls, and
   * holds that room, so concurrent batches cannot overfill a lane while each awaits before recording. Returns the
   * function that releases it (call it once the calls are recorded), or null when a lane stayed full.
   */
  async holdRoom(n: number, timeoutMs: number): Promise<(() => void) | null> {
    const deadline = Date.now() + timeoutMs;
    while (!this.hasRoom(n)) {
      if (Date.now() >= deadline) return null;
      await new Promise((r) => setTimeout(r, 5));
    }
    const size = Math.min(n, this.capacity);
    this.held += size;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.held -= size;
    };
  }

  /** Hot path: O(1), never throws, never awaits. */
  record(call: LlmCall): void {
    if (this.closed) {
      for (const l of this.lanes) this.opts.onDrop?.(l.sink.name, 1, 'shutdown', [call]);
      return;
    }
    this.pending.push(call);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.dispatch);
    }
  }

  private readonly dispatch = (): void => {
    this.scheduled = false;
    const batch = this.pending.splice(0, this.pending.length);
    for (const call of batch) {
      for (const e of this.enrichers) {
        try {
          e.enrich(call);
        } catch (err) {
          this.opts.onEnricherError?.(e.name, err);
        }
      }
    }
    for (const lane of this.lanes) {
      let room = this.capacity - (lane.queue.length - lane.head);
      let dropped = 0;
      for (const call of batch) {
        if (room > 0) {
          lane.queue.push(call);
          room--;
        } else dropped++;
      }
      // Once the lane is full every later call of the batch is dropped: they are its last `dropped`.
      if (dropped > 0) this.opts.onDrop?.(lane.sink.name, dropped, 'queue_full', batch.slice(batch.length - dropped));
      if (!lane.running) this.start(lane, false);
    }
  };

  /** Starts draining `lane` now, or (for a lingering sink with less than a full batch) when its timer fires. */
  private start(lane: Lane, now: boolean): void {
    const queued = lane.queue.length - lane.head;
    if (queued === 0) return;
    const linger = lane.sink.lingerMs ?? 0;
    if (!now && linger > 0 && queued < (lane.sink.maxBatch ?? 256)) {
      if (lane.timer === null) {
        lane.timer = setTimeout(() => {
          lane.timer = null;
          if (!lane.running) void this.drain(lane);
        }, linger);
        lane.timer.unref();
      }
      return;
    }
    if (lane.timer !== null) {
      clearTimeout(lane.timer);
      lane.timer = null;
    }
    void this.drain(lane);
  }

  private async drain(lane: Lane): Promise<void> {
    lane.running = true;
    const max = lane.sink.maxBatch ?? 256;
    const width = Math.max(1, Math.floor(lane.sink.inFlight ?? 1));
    const writes = new Set<Promise<void>>();
    for (;;) {
      while (writes.size < width && lane.queue.length > lane.head && !this.closing) {
        const end = Math.min(lane.queue.length, lane.head + max);
        const batch = lane.queue.slice(lane.head, end);
        lane.head = end;
        if (lane.head > 4096 && lane.head * 2 > lane.queue.length) {
          lane.queue = lane.queue.slice(lane.head);
          lane.head = 0;
        }
        const w: Promise<void> = this.write(lane, batch).then(() => {
          writes.delete(w);
        });
        writes.add(w);
      }
      if (writes.size === 0) break;
      // write() never rejects
      await Promise.race(writes);
    }
    lane.queue = [];
    lane.head = 0;
    lane.running = false;
    for (const resolve of lane.idle.splice(0)) resolve();
  }

  /** Writes one batch, retrying it while the sink says its failure may pass; never throws. */
  private async write(lane: Lane, batch: LlmCall[]): Promise<void> {
    const retry = lane.sink.retry;
    let firstFailure = 0;
    let backoff = 100;
    for (;;) {
      try {
        await lane.sink.write(batch);
        return;
      } catch (err) {
        this.opts.onSinkError?.(lane.sink.name, err);
        const at = Date.now();
        if (firstFailure === 0) firstFailure = at;
        if (!retry?.retryable(err) || at - firstFailure >= retry.retryForMs || this.closing) {
          this.opts.onDrop?.(lane.sink.name, batch.length, this.closing ? 'shutdown' : 'sink_error', batch);
          return;
        }
      }
      // Sleep in short steps, so shutdown need not wait out a long backoff.
      for (let slept = 0; slept < backoff && !this.closing; slept += 50) await new Promise((r) => setTimeout(r, 50));
      backoff = Math.min(backoff * 2, 5_000);
    }
  }

  /** Waits until every queued call has reached its sinks, or until timeoutMs; returns true if fully flushed. */
  async flush(timeoutMs = 10_000): Promise<boolean> {
    if (this.pending.length > 0) this.dispatch();
    for (const l of this.lanes) if (!l.running) this.start(l, true);
    const waits = this.lanes
      .filter((l) => l.running || l.queue.length > l.head)
      .map((l) => new Promise<void>((resolve) => l.idle.push(resolve)));
    if (waits.length === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const done = await Promise.race([Promise.all(waits).then(() => true as const), timeout]);
    clearTimeout(timer);
    return done;
  }

  /** Flushes, then stops accepting calls and closes every sink. What is still queued after the timeout is counted as dropped. */
  async close(timeoutMs = 10_000): Promise<void> {
    await this.flush(timeoutMs);
    this.closed = true;
    // A lane still retrying a failed write gives up now (its batch counts as dropped at shutdown).
    this.closing = true;
    for (const lane of this.lanes) {
      const left = lane.queue.length - lane.head;
      if (left > 0) this.opts.onDrop?.(lane.sink.name, left, 'shutdown', lane.queue.slice(lane.head));
      try {
        await lane.sink.close?.();
      } catch (err) {
        this.opts.onSinkError?.(lane.sink.name, err);
      }
    }
  }
}
