// gpu_memory: GPU memory used over total (0–1), averaged over the window, per GPU (signal from the gpu module).
import { MINUTE_MS } from '../../time.js';
import { GPU_LABELS, gaugeCase } from './gpu-utilization.js';
import { by, canGroup, promDuration, seriesText } from './kind.js';
import { signalKind, unfiltered } from './signal.js';

const TOTAL = 80 * 2 ** 30;

export const gpuMemory = signalKind({
  kind: 'gpu_memory',
  unit: 'ratio',
  signal: 'gpu_memory',
  windowMs: 5 * MINUTE_MS,
  op: '>',
  groupBy: ['gpu', 'host'],
  minSamples: 0,
  promql(c, groupBy) {
    if (!unfiltered(c) || !canGroup(groupBy, GPU_LABELS)) return null;
    const w = promDuration(c.windowMs);
    return `avg ${by(groupBy)} (avg_over_time(gpu_memory_used_bytes[${w}])) / avg ${by(groupBy)} (avg_over_time(gpu_memory_total_bytes[${w}]))`;
  },
  promCase: (c, labels, mode) =>
    gaugeCase(
      c,
      mode,
      (v) => [
        { series: seriesText('gpu_memory_used_bytes', labels), value: v * TOTAL },
        { series: seriesText('gpu_memory_total_bytes', labels), value: TOTAL },
      ],
      (high) => (high ? Math.min(1, (1 + c.threshold) / 2) : c.threshold / 2),
    ),
});
