// Shared shape of kinds that are a share of requests (error rate, refusal rate), over rollups and in PromQL.
import type { RollupPoint } from '../../store/store.js';
import { MINUTE_MS } from '../../time.js';
import type { Sample } from '../model.js';
import type { KindName } from '../spec.js';
import {
  badRatio,
  by,
  canGroup,
  caseLabels,
  counterValues,
  goodRatio,
  type KindDef,
  type PromSeries,
  promDuration,
  rollupGroups,
  selector,
  seriesText,
  sum,
  withMinSamples,
} from './kind.js';

export const REQUEST_LABELS = ['provider', 'model', 'endpoint', 'status'] as const;

export interface RequestRatioSpec {
  kind: KindName;
  numerator: (p: RollupPoint) => number;
  /** PromQL numerator over `sel` (the filter's matchers, without braces) and window `w`. */
  promNumerator: (matchers: string[], w: string) => string | null;
  /** promtool series whose per-step growth is `bad` of `total` requests. */
  promSeries: (labels: Record<string, string>, total: number, bad: number) => PromSeries[];
  minSamples: number;
}

export function requestRatioKind(spec: RequestRatioSpec): KindDef {
  return {
    kind: spec.kind,
    unit: 'ratio',
    source: 'rollups',
    defaults: { windowMs: 5 * MINUTE_MS, op: '>', groupBy: ['model'], minSamples: spec.minSamples },
    groupable: ['provider', 'model', 'endpoint', 'feature', 'team'],
    async evaluate(c, groupBy, env) {
      const out: Sample[] = [];
      for (const g of (await rollupGroups(env, c, groupBy)).values()) {
        const requests = sum(g.points, (p) => p.requests);
        if (requests > 0)
          out.push({ labels: g.labels, value: sum(g.points, spec.numerator) / requests, samples: requests });
      }
      return out;
    },
    promql(c, groupBy) {
      const sel = selector(c, REQUEST_LABELS);
      if (sel === null || !canGroup(groupBy, REQUEST_LABELS)) return null;
      const w = promDuration(c.windowMs);
      const matchers = sel ? sel.slice(1, -1).split(', ') : [];
      const num = spec.promNumerator(matchers, w);
      if (num === null) return null;
      const value = `sum ${by(groupBy)} (${num}) / sum ${by(groupBy)} (rate(llm_requests_total${sel}[${w}]))`;
      const count = `sum ${by(groupBy)} (increase(llm_requests_total${sel}[${w}]))`;
      return withMinSamples(value, count, c.minSamples, groupBy);
    },
    promCase(c, labels, mode) {
      const ratio = mode === 'good' ? goodRatio(c) : badRatio(c);
      const steps = c.windowMs / MINUTE_MS;
      if (mode === 'few' && c.minSamples <= 1) return null;
      // few: 3 bad in 4 calls over the window, or fewer than minSamples calls
      const total = mode === 'few' ? Math.min(4, (c.minSamples - 1) / 2) / steps : 60;
      const bad = mode === 'few' ? total * 0.75 : total * ratio;
      return {
        intervalMs: MINUTE_MS,
        series: spec.promSeries(caseLabels(c, labels), total, bad),
        value: ratio,
        warmupMs: c.windowMs,
      };
    },
  };
}

export function seriesOf(metric: string, labels: Record<string, string>, perStep: number): PromSeries {
  return { series: seriesText(metric, labels), values: counterValues(perStep) };
}
