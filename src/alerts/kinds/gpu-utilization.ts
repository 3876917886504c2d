// gpu_utilization: average GPU utilization (0–1) over the window, per GPU (signal from the gpu module).
import { MINUTE_MS } from '../../time.js';
import type { Condition } from '../model.js';
import type { PromCaseMode } from './kind.js';
import { by, canGroup, gaugeValues, type PromCase, promDuration, seriesText } from './kind.js';
import { signalKind, unfiltered } from './signal.js';

export const GPU_LABELS = ['gpu', 'host'] as const;

/** A gauge below/above the threshold for a promtool case. */
export function gaugeCase(
  c: Condition,
  mode: PromCaseMode,
  series: (value: number) => { series: string; value: number }[],
  value: (wantHigh: boolean) => number,
): PromCase | null {
  if (mode === 'few') return null;
  const high = c.op === '>' || c.op === '>=';
  const wantHigh = mode === 'good' ? !high : high;
  const v = value(wantHigh);
  return {
    intervalMs: MINUTE_MS,
    warmupMs: c.windowMs,
    value: v,
    series: series(v).map((s) => ({ series: s.series, values: gaugeValues(s.value) })),
  };
}

export const gpuUtilization = signalKind({
  kind: 'gpu_utilization',
  unit: 'ratio',
  signal: 'gpu_utilization',
  windowMs: 5 * MINUTE_MS,
  op: '<',
  groupBy: ['gpu', 'host'],
  minSamples: 0,
  promql(c, groupBy) {
    if (!unfiltered(c) || !canGroup(groupBy, GPU_LABELS)) return null;
    return `avg ${by(groupBy)} (avg_over_time(gpu_utilization_ratio[${promDuration(c.windowMs)}]))`;
  },
  promCase: (c, labels, mode) =>
    gaugeCase(
      c,
      mode,
      (v) => [{ series: seriesText('gpu_utilization_ratio', labels), value: v }],
      (high) => (high ? Math.min(1, (1 + c.threshold) / 2) : c.threshold / 2),
    ),
});
