// The live view: the latest samples and the status of every collector, fed by the pollers' outcomes.
// Logs a state change once (no GPU, failing, recovered), never on every poll.
import type { Logger } from 'pino';
import type { PollOutcome } from './poller.js';
import type { CollectorKind, GpuSample } from './types.js';

export type SourceStatus = 'pending' | 'ok' | 'unavailable' | 'error';

export interface SourceState {
  kind: CollectorKind;
  source: string;
  status: SourceStatus;
  /** Why there is no GPU (unavailable), what failed (error), or which GPUs could not be read beside the others (ok). */
  reason: string | null;
  /** GPUs an `ok` source listed but could not read at its last poll (nvidia-smi: a GPU fallen off the bus). */
  unreadable: number;
  samples: GpuSample[];
  lastOkAt: number | null;
  consecutiveErrors: number;
}

export interface Availability {
  available: boolean;
  reason?: string;
}

export class GpuState {
  private readonly sources = new Map<string, SourceState>();

  constructor(
    private readonly opts: {
      logger?: Logger;
      /** Samples older than this (after failed polls) stop being reported. */
      staleAfterMs: number;
      now: () => number;
      /** Why nothing is collected at all (collector: none). */
      disabledReason?: string;
    },
  ) {}

  register(kind: CollectorKind, source: string): void {
    this.sources.set(`${kind} ${source}`, {
      kind,
      source,
      status: 'pending',
      reason: null,
      unreadable: 0,
      samples: [],
      lastOkAt: null,
      consecutiveErrors: 0,
    });
  }

  /** Applies a poll's outcome; returns it as applied (a source that lost the GPUs it read: an error). */
  update(kind: CollectorKind, source: string, polled: PollOutcome): PollOutcome {
    const key = `${kind} ${source}`;
    const s = this.sources.get(key);
    if (!s) return polled;
    // A source that has read GPUs and now finds none lost them (nvidia-smi cannot reach the driver, exit 9: a driver
    // crashed, unloaded or replaced under it; exit 6: every device gone; an exporter that stopped listing any): a
    // failure, so llmscope_gpu_collector_up reads 0 and GpuCollectorDown can fire, not a host without GPUs.
    const outcome: PollOutcome =
      polled.kind === 'unavailable' && s.lastOkAt !== null
        ? {
            kind: 'error',
            error: `${polled.reason} (it read GPUs until ${new Date(s.lastOkAt).toISOString()})`,
            timedOut: false,
            durationMs: polled.durationMs,
          }
        : polled;
    const log = this.opts.logger;
    const where = kind === 'nvidia-smi' ? 'this host' : source;
    if (outcome.kind === 'ok') {
      if (s.status !== 'ok')
        log?.info(
          { event: 'gpu_collector_ok', collector: kind, source, gpus: outcome.samples.length },
          `GPU collector ${kind} reads ${outcome.samples.length} GPU(s) on ${where}`,
        );
      const warning = outcome.warning ?? null;
      if (warning !== null && (s.status !== 'ok' || s.reason !== warning))
        log?.warn(
          { event: 'gpu_unreadable', collector: kind, source, gpus: outcome.samples.length, warning },
          `GPU collector ${kind} on ${where}: ${warning} (the other ${outcome.samples.length} GPU(s) are read; logged once until it changes)`,
        );
      s.status = 'ok';
      s.reason = warning;
      s.unreadable = outcome.unreadable ?? 0;
      s.samples = outcome.samples;
      s.lastOkAt = this.opts.now();
      s.consecutiveErrors = 0;
    } else if (outcome.kind === 'unavailable') {
      if (s.status !== 'unavailable' || s.reason !== outcome.reason)
        log?.info(
          { event: 'gpu_unavailable', collector: kind, source, reason: outcome.reason },
          `no GPU on ${where} (${kind}): ${outcome.reason}`,
        );
      s.status = 'unavailable';
      s.reason = outcome.reason;
      s.unreadable = 0;
      s.samples = [];
      s.consecutiveErrors = 0;
    } else {
      if (s.status !== 'error')
        log?.warn(
          { event: 'gpu_collector_failed', collector: kind, source, err: outcome.error },
          `GPU collector ${kind} failed on ${where}: ${outcome.error} (logged once until it recovers; counted in llmscope_gpu_collector_errors_total)`,
        );
      s.status = 'error';
      s.reason = outcome.error;
      s.consecutiveErrors++;
    }
    return outcome;
  }

  /**
   * Fresh samples of every source, stale ones (a source failing for longer than staleAfterMs) left out. A GPU two
   * sources read under the same host and index (nvidia-smi on this host and the host's own DCGM exporter, named
   * alike) is listed once, from the source registered first (nvidia-smi, then the exporters in config order).
   */
  latest(): GpuSample[] {
    const now = this.opts.now();
    const out: GpuSample[] = [];
    const seen = new Set<string>();
    for (const s of this.sources.values()) {
      if (s.lastOkAt === null || now - s.lastOkAt > this.opts.staleAfterMs) continue;
      for (const x of s.samples) {
        const key = `${x.host}\u0000${x.gpu}`;
        if (seen.has(key)) continue;
        seen.add(key);
        out.push(x);
      }
    }
    return out;
  }

  /**
   * The GPUs each source that reads (status ok) listed but could not read at its last poll, by collector and host; a
   * source that reads all of its GPUs says 0, so the series is there before a GPU is lost.
   */
  unreadable(): { collector: CollectorKind; host: string; gpus: number }[] {
    const out: { collector: CollectorKind; host: string; gpus: number }[] = [];
    for (const s of this.sources.values()) {
      const host = s.samples[0]?.host;
      if (s.status === 'ok' && host !== undefined) out.push({ collector: s.kind, host, gpus: s.unreadable });
    }
    return out;
  }

  /**
   * Whether each source's last poll answered (GPUs read, or none on its host: 1) or failed (an error, a timeout: 0),
   * by collector and source; a source not yet polled is left out, as Prometheus has no `up` before its first scrape.
   */
  health(): { collector: CollectorKind; source: string; up: number }[] {
    const out: { collector: CollectorKind; source: string; up: number }[] = [];
    for (const s of this.sources.values())
      if (s.status !== 'pending') out.push({ collector: s.kind, source: s.source, up: s.status === 'error' ? 0 : 1 });
    return out;
  }

  states(): SourceState[] {
    return [...this.sources.values()];
  }

  availability(): Availability {
    if (this.latest().length > 0) return { available: true };
    if (this.sources.size === 0)
      return { available: false, reason: this.opts.disabledReason ?? 'no GPU collector configured' };
    const parts: string[] = [];
    for (const s of this.sources.values()) {
      const label = s.kind === 'nvidia-smi' ? 'nvidia-smi' : `dcgm ${s.source}`;
      if (s.status === 'pending') parts.push(`${label}: waiting for the first reading`);
      else if (s.status === 'error') parts.push(`${label}: failed: ${s.reason}`);
      else parts.push(`${label}: ${s.reason ?? 'no GPU'}`);
    }
    return { available: false, reason: parts.join('; ') };
  }
}
