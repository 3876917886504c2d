// The top spenders in bounded memory: a weighted Space-Saving sketch (Metwally et al., 2005). It keeps K counters;
// a newcomer replaces the smallest and inherits its count as its possible error. Any user whose true spend is more
// than total/K is guaranteed to be among the K. Exposed as `llm_user_cost_usd_total{user}` with the rest in `__other__`.
import { Counter, type Registry } from 'prom-client';

export interface HeavyHitter {
  item: string;
  /** Upper bound of the item's weight (true weight ≤ count). */
  count: number;
  /** Weight counted before this item was tracked (true weight ≥ count − error). */
  error: number;
}

export class SpaceSaving {
  private readonly entries = new Map<string, HeavyHitter>();
  private total = 0;

  constructor(readonly k: number) {
    if (!(k >= 1)) throw new Error('k must be at least 1');
  }

  add(item: string, weight: number): void {
    if (!(weight > 0)) return;
    this.total += weight;
    const e = this.entries.get(item);
    if (e) {
      e.count += weight;
      return;
    }
    if (this.entries.size < this.k) {
      this.entries.set(item, { item, count: weight, error: 0 });
      return;
    }
    // K is small (100 by default): a linear scan for the minimum is cheaper than keeping a heap in step.
    let min: HeavyHitter | null = null;
    for (const x of this.entries.values()) if (!min || x.count < min.count) min = x;
    const m = min as HeavyHitter;
    this.entries.delete(m.item);
    this.entries.set(item, { item, count: m.count + weight, error: m.count });
  }

  /** Tracked items, largest first. */
  top(n = this.k): HeavyHitter[] {
    return [...this.entries.values()].sort((a, b) => b.count - a.count).slice(0, n);
  }

  get totalWeight(): number {
    return this.total;
  }
}

export const OTHER = '__other__';

/**
 * `llm_user_cost_usd_total{user}`: each tracked user's spend counted since it was tracked (count − error, which only
 * grows while tracked), and `__other__` = everything else. Both only grow, so `rate()` works; a user who drops out
 * of the top K loses its series and its spend moves into `__other__`.
 */
export function userCostMetric(registry: Registry, sketch: SpaceSaving): Counter<'user'> {
  return new Counter({
    name: 'llm_user_cost_usd_total',
    help: 'Spend in US dollars of the top users (heavy-hitters sketch); everyone else is user="__other__".',
    labelNames: ['user'],
    registers: [registry],
    collect() {
      this.reset();
      let kept = 0;
      for (const h of sketch.top()) {
        const v = h.count - h.error;
        if (v <= 0) continue;
        kept += v;
        this.inc({ user: h.item === OTHER ? `${OTHER}_user` : h.item }, v);
      }
      const rest = sketch.totalWeight - kept;
      this.inc({ user: OTHER }, rest > 1e-12 ? rest : 0);
    },
  });
}
