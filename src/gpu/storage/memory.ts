// GPU samples in memory: for tests, for runs given no database, and the reference the SQLite and PostgreSQL
// stores are checked against (gpu.contract.ts).
import type { GpuSample } from '../types.js';
import {
  byGpu,
  foldSample,
  type GpuRange,
  type GpuSeries,
  type GpuStore,
  type GpuUsage,
  type MinuteRow,
  minuteOf,
  seriesOf,
  usageOf,
} from './types.js';

/**
 * Keeps everything in memory. Raw samples and minute rows are capped (oldest dropped first) so memory stays bounded whatever the retention says.
 */
export class MemoryGpuStore implements GpuStore {
  readonly kind = 'memory' as const;
  private raw: GpuSample[] = [];
  private readonly minutes = new Map<string, MinuteRow>();

  constructor(
    private readonly maxRaw = 50_000,
    private readonly maxMinuteRows = 100_000,
  ) {}

  async insertSamples(samples: readonly GpuSample[], intervalMs: number): Promise<void> {
    for (const s of samples) {
      this.raw.push(s);
      const key = `${s.host}\u0000${s.gpu}\u0000${minuteOf(s.at)}`;
      this.minutes.set(key, foldSample(this.minutes.get(key), s, intervalMs));
    }
    if (this.raw.length > this.maxRaw) this.raw.splice(0, this.raw.length - this.maxRaw);
    // Map order is insertion order, which is time order for rows of a running poller.
    for (const k of this.minutes.keys()) {
      if (this.minutes.size <= this.maxMinuteRows) break;
      this.minutes.delete(k);
    }
  }

  private rows(q: GpuRange): MinuteRow[] {
    return [...this.minutes.values()].filter((r) => r.t >= q.from && r.t < q.to);
  }

  async querySeries(q: GpuRange & { step: 'minute' | 'hour' }): Promise<GpuSeries[]> {
    return seriesOf(this.rows(q), q.step);
  }

  async usage(q: GpuRange): Promise<GpuUsage[]> {
    return byGpu(this.rows(q))
      .map(usageOf)
      .filter((u): u is GpuUsage => u !== null);
  }

  async applyRetention(opts: {
    rawBefore: number;
    minuteBefore: number;
  }): Promise<{ deletedSamples: number; deletedMinutes: number }> {
    const before = this.raw.length;
    const keep = this.raw.filter((s) => s.at >= opts.rawBefore);
    this.raw = keep;
    let deletedMinutes = 0;
    for (const [k, r] of this.minutes)
      if (r.t < opts.minuteBefore) {
        this.minutes.delete(k);
        deletedMinutes++;
      }
    return { deletedSamples: before - keep.length, deletedMinutes };
  }

  /** Raw samples kept (for tests). */
  rawCount(): number {
    return this.raw.length;
  }
}
