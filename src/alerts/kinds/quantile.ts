// Shared shape of the quantile kinds (latency, TTFT, TPOT): a quantile of a mergeable rollup histogram, and the
// matching histogram_quantile over the Prometheus histogram's buckets.
import type { RollupPoint } from '../../store/store.js';
import { MINUTE_MS } from '../../time.js';
import type { Condition } from '../model.js';
import type { KindName } from '../spec.js';
import {
  by,
  canGroup,
  caseLabels,
  counterValues,
  gaugeValues,
  type KindDef,
  type PromCase,
  type PromCaseMode,
  promDuration,
  quantileSeconds,
  rollupGroups,
  selector,
  seriesText,
  withMinSamples,
} from './kind.js';

export interface QuantileKindSpec {
  kind: KindName;
  metric: string;
  /** Labels the Prometheus histogram carries. */
  labels: readonly string[];
  buckets: readonly number[];
  pick: (p: RollupPoint) => RollupPoint['latency'];
}

export function quantileKind(spec: QuantileKindSpec): KindDef {
  return {
    kind: spec.kind,
    unit: 'seconds',
    source: 'rollups',
    defaults: { windowMs: 5 * MINUTE_MS, op: '>', groupBy: ['model'], minSamples: 10 },
    groupable: ['provider', 'model', 'endpoint', 'feature', 'team'],
    async evaluate(c, groupBy, env) {
      const groups = await rollupGroups(env, c, groupBy);
      const out = [];
      for (const g of groups.values()) {
        const { value, count } = quantileSeconds(g.points, spec.pick, c.quantile);
        if (value !== null) out.push({ labels: g.labels, value, samples: count });
      }
      return out;
    },
    promql(c, groupBy) {
      const sel = selector(c, spec.labels);
      if (sel === null || !canGroup(groupBy, spec.labels)) return null;
      const w = promDuration(c.windowMs);
      const value = `histogram_quantile(${c.quantile}, sum ${by(groupBy, ['le'])} (rate(${spec.metric}_bucket${sel}[${w}])))`;
      const count = `sum ${by(groupBy)} (increase(${spec.metric}_count${sel}[${w}]))`;
      return withMinSamples(value, count, c.minSamples, groupBy);
    },
    promCase(c, labels, mode) {
      return histogramCase(spec, c, labels, mode);
    },
  };
}

/** Observations all land in one bucket, chosen so the quantile is clearly past (bad) or inside (good) the threshold. */
function histogramCase(
  spec: QuantileKindSpec,
  c: Condition,
  labels: Record<string, string>,
  mode: PromCaseMode,
): PromCase | null {
  const b = spec.buckets;
  const high = c.op === '>' || c.op === '>=';
  const wantHigh = mode === 'good' ? !high : high;
  let idx: number;
  if (wantHigh) {
    // first bucket whose lower bound is at or past the threshold
    idx = b.findIndex((_, i) => i > 0 && (b[i - 1] as number) >= c.threshold);
    if (idx < 0) return null;
  } else {
    idx = -1;
    for (let i = 0; i < b.length; i++) if ((b[i] as number) < c.threshold) idx = i;
    if (idx < 0) return null;
  }
  const lower = idx === 0 ? 0 : (b[idx - 1] as number);
  const upper = b[idx] as number;
  const value = lower + (upper - lower) * c.quantile;
  const steps = c.windowMs / MINUTE_MS;
  const perStep = mode === 'few' ? Math.max(0.1, (c.minSamples - 1) / 2 / steps) : 60;
  if (mode === 'few' && c.minSamples <= 1) return null;
  const l = caseLabels(c, labels);
  const series = [];
  for (let i = 0; i < b.length; i++)
    series.push({
      series: seriesText(`${spec.metric}_bucket`, { ...l, le: String(b[i]) }),
      values: i >= idx ? counterValues(perStep) : gaugeValues(0),
    });
  series.push({ series: seriesText(`${spec.metric}_bucket`, { ...l, le: '+Inf' }), values: counterValues(perStep) });
  series.push({ series: seriesText(`${spec.metric}_count`, l), values: counterValues(perStep) });
  return { intervalMs: MINUTE_MS, series, value, warmupMs: c.windowMs };
}
