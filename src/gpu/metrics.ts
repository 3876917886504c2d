// GPU gauges (`gpu_utilization_ratio`, `gpu_memory_used_bytes`, `gpu_memory_total_bytes` {gpu, host}) computed at
// scrape time from the live view, so a GPU that disappears, or a source that stays down, leaves no stale series.
// Plus the collectors' own health: up, errors, skipped polls and poll duration.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { LabelGuard } from '../telemetry/label-guard.js';
import type { GpuSample } from './types.js';

type GpuLabels = 'gpu' | 'host';

export class GpuMetrics {
  readonly utilization: Gauge<GpuLabels>;
  readonly memoryUsed: Gauge<GpuLabels>;
  readonly memoryTotal: Gauge<GpuLabels>;
  readonly errors: Counter<'collector'>;
  readonly skipped: Counter<'collector'>;
  readonly pollDuration: Histogram<'collector'>;
  readonly unreadable: Gauge<'collector' | 'host'>;
  readonly up: Gauge<'collector' | 'source'>;

  constructor(
    registry: Registry,
    guard: LabelGuard,
    latest: () => GpuSample[],
    unreadable: () => { collector: string; host: string; gpus: number }[] = () => [],
    health: () => { collector: string; source: string; up: number }[] = () => [],
  ) {
    const registers = [registry];
    const labelsOf = (s: GpuSample): Record<GpuLabels, string> => {
      const host = guard.value('host', s.host);
      const gpu = guard.value('gpu', s.gpu);
      const [g, h] = guard.series_('gpu', [gpu, host]);
      return { gpu: g, host: h };
    };
    const gauge = (name: string, help: string, value: (s: GpuSample) => number | null): Gauge<GpuLabels> =>
      new Gauge({
        name,
        help,
        labelNames: ['gpu', 'host'],
        registers,
        collect() {
          this.reset();
          for (const s of latest()) {
            const v = value(s);
            if (v !== null) this.set(labelsOf(s), v);
          }
        },
      });
    this.utilization = gauge(
      'gpu_utilization_ratio',
      'Fraction of time the GPU was busy (0..1), as last read.',
      (s) => s.utilization,
    );
    this.memoryUsed = gauge(
      'gpu_memory_used_bytes',
      'GPU memory in use, in bytes, as last read.',
      (s) => s.memoryUsedBytes,
    );
    this.memoryTotal = gauge('gpu_memory_total_bytes', 'GPU memory in total, in bytes.', (s) => s.memoryTotalBytes);
    this.errors = new Counter({
      name: 'llmscope_gpu_collector_errors_total',
      help: 'GPU polls that failed or timed out, by collector (a host without GPUs is not an error).',
      labelNames: ['collector'],
      registers,
    });
    this.skipped = new Counter({
      name: 'llmscope_gpu_polls_skipped_total',
      help: 'GPU polls not started because the previous one was still running, by collector.',
      labelNames: ['collector'],
      registers,
    });
    this.pollDuration = new Histogram({
      name: 'llmscope_gpu_poll_duration_seconds',
      help: 'Time a GPU poll took, by collector.',
      labelNames: ['collector'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.unreadable = new Gauge({
      name: 'llmscope_gpu_unreadable_gpus',
      help: 'GPUs a collector lists but could not read at its last poll (nvidia-smi: a GPU fallen off the bus, Xid 79), by collector and host; 0 while it reads them all.',
      labelNames: ['collector', 'host'],
      registers,
      collect() {
        this.reset();
        for (const u of unreadable()) this.set({ collector: u.collector, host: guard.value('host', u.host) }, u.gpus);
      },
    });
    // A collector failing on every poll leaves no gpu_* series once its last readings go stale (gpu.interval × 3),
    // so nothing else says the GPUs went unwatched: this gauge does, as Prometheus's own `up` does for a target.
    this.up = new Gauge({
      name: 'llmscope_gpu_collector_up',
      help: "1 while a GPU collector's last poll answered (GPUs read, or none on its host), 0 while it fails or times out, by collector and source (nvidia-smi: local; dcgm: the exporter's URL).",
      labelNames: ['collector', 'source'],
      registers,
      collect() {
        this.reset();
        for (const h of health()) this.set({ collector: h.collector, source: h.source }, h.up);
      },
    });
  }
}
