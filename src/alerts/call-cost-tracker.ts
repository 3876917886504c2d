// The single-call cost signal: the most expensive call per minute and group, kept in memory from the recorder
// (rollups hold sums, not maxima). Bounded: minutes past the horizon are dropped, and groups per minute are capped.
import type { LlmCall, Sink } from '../calls/index.js';
import { MINUTE_MS } from '../time.js';
import type { Dimension } from './spec.js';

const DIMS: readonly Dimension[] = ['provider', 'model', 'endpoint', 'feature', 'team'];
const MAX_GROUPS_PER_MINUTE = 2000;

interface Entry {
  labels: Record<Dimension, string>;
  max: number;
  count: number;
}

export class CallCostTracker {
  private readonly minutes = new Map<number, Map<string, Entry>>();

  constructor(private readonly horizonMs = 6 * 3_600_000) {}

  observe(call: Pick<LlmCall, 'endedAt' | 'costUsd' | 'provider' | 'model' | 'endpoint' | 'feature' | 'team'>): void {
    if (call.costUsd === null || call.costUsd === undefined) return;
    const t = Math.floor(call.endedAt / MINUTE_MS) * MINUTE_MS;
    let m = this.minutes.get(t);
    if (!m) {
      m = new Map();
      this.minutes.set(t, m);
      this.prune(t);
    }
    const feature = call.feature ?? '';
    const team = call.team ?? '';
    // the group's key (DIMS' values in order), its labels object made only for a new group
    const key = `${call.provider}\u0000${call.model}\u0000${call.endpoint}\u0000${feature}\u0000${team}`;
    const e = m.get(key);
    if (e) {
      e.max = Math.max(e.max, call.costUsd);
      e.count++;
    } else if (m.size < MAX_GROUPS_PER_MINUTE) {
      const labels = { provider: call.provider, model: call.model, endpoint: call.endpoint, feature, team };
      m.set(key, { labels, max: call.costUsd, count: 1 });
    }
  }

  /** Max single-call cost per group over [from, to). */
  max(
    from: number,
    to: number,
    filter: Partial<Record<Dimension, string>>,
    groupBy: readonly Dimension[],
  ): { labels: Record<string, string>; max: number; count: number }[] {
    const out = new Map<string, { labels: Record<string, string>; max: number; count: number }>();
    for (const [t, m] of this.minutes) {
      if (t + MINUTE_MS <= from || t >= to) continue;
      for (const e of m.values()) {
        if (DIMS.some((d) => filter[d] !== undefined && filter[d] !== e.labels[d])) continue;
        const labels: Record<string, string> = {};
        for (const d of groupBy) labels[d] = e.labels[d];
        const k = groupBy.map((d) => labels[d]).join('\u0000');
        const g = out.get(k);
        if (g) {
          g.max = Math.max(g.max, e.max);
          g.count += e.count;
        } else out.set(k, { labels, max: e.max, count: e.count });
      }
    }
    return [...out.values()];
  }

  sink(): Sink {
    return {
      name: 'alerts-call-cost',
      maxBatch: 1024,
      write: (calls) => {
        for (const c of calls) this.observe(c);
      },
    };
  }

  private prune(latest: number): void {
    for (const t of this.minutes.keys()) if (t < latest - this.horizonMs) this.minutes.delete(t);
  }
}
