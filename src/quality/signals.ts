// The quality module's alert signals: `hallucination_rate` (calls some evaluator failed / calls with a pass or fail
// verdict, as /api/quality/summary computes it) and `thumbs_down_rate` (down / (up + down)), read from the per-minute
// quality rollups over the rule's window, split by the rule's model/feature groupBy.

import type { SignalSample as Sample, SignalQuery, SignalSource } from '../signals/index.js';
import { MINUTE_MS } from '../time.js';
import type { QualityCounts, QualityGroupBy, QualityStore } from './storage/index.js';

/** Dimensions the quality rollups keep; a filter or groupBy on any other call dimension cannot be answered. */
const DIMS: readonly QualityGroupBy[] = ['model', 'feature'];

/** The signals this source answers. */
export const QUALITY_SIGNALS = ['hallucination_rate', 'thumbs_down_rate'] as const;

/**
 * A SignalSource over the quality rollups. A rule filtered on a dimension the rollups lack (provider, team,
 * endpoint) fails with a message (rule health `err`) rather than alerting on data outside its filter; groupBy labels
 * the rollups lack are left off the samples (those groups are merged).
 */
export function qualitySignalSource(store: QualityStore): SignalSource {
  return {
    name: 'quality',
    signals: QUALITY_SIGNALS,
    query: (q) => querySignal(store, q),
  };
}

async function querySignal(store: QualityStore, q: SignalQuery): Promise<Sample[]> {
  const unsupported = Object.entries(q.filter)
    .filter(([k, v]) => v !== undefined && !DIMS.includes(k as QualityGroupBy))
    .map(([k]) => k);
  if (unsupported.length > 0)
    throw new Error(
      `${q.signal} cannot be filtered by ${unsupported.join(', ')}: quality counts are kept per model and feature only`,
    );
  const { numerator, denominator } = ratioOf(q.signal);
  const dims = DIMS.filter((d) => q.groupBy.includes(d));
  // Whole minutes, as the rollup kinds read them: the bucket holding the window's start counts when most of it lies
  // inside the window. `to` includes the current minute (and a bucket starting exactly now).
  const from = Math.round((q.now - q.windowMs) / MINUTE_MS) * MINUTE_MS;
  const rows = await store.queryCounts({ from, to: q.now + 1, step: 'total', groupBy: ['model', 'feature'] });
  const groups = new Map<string, { labels: Record<string, string>; num: number; den: number }>();
  for (const r of rows) {
    if (q.filter.model !== undefined && r.model !== q.filter.model) continue;
    if (q.filter.feature !== undefined && r.feature !== q.filter.feature) continue;
    const labels: Record<string, string> = {};
    for (const d of dims) labels[d] = r[d];
    const key = dims.map((d) => labels[d]).join('\u0000');
    let g = groups.get(key);
    if (!g) {
      g = { labels, num: 0, den: 0 };
      groups.set(key, g);
    }
    g.num += numerator(r);
    g.den += denominator(r);
  }
  return [...groups.values()]
    .filter((g) => g.den > 0)
    .map((g) => ({ labels: g.labels, value: g.num / g.den, samples: g.den }));
}

function ratioOf(signal: string): {
  numerator: (c: QualityCounts) => number;
  denominator: (c: QualityCounts) => number;
} {
  switch (signal) {
    case 'hallucination_rate':
      return { numerator: (c) => c.flagged, denominator: (c) => c.evaluated };
    case 'thumbs_down_rate':
      return { numerator: (c) => c.feedbackDown, denominator: (c) => c.feedbackUp + c.feedbackDown };
    default:
      throw new Error(`the quality module has no signal ${signal}`);
  }
}
