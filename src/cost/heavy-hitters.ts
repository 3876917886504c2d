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

/** A tracked item in the heap: ordered by count, ties by when it started being tracked (the map's order). */
interface Slot {
  hit: HeavyHitter;
  seq: number;
  pos: number;
}

export class SpaceSaving {
  /** In the order items started being tracked (top() breaks ties by it). */
  private readonly entries = new Map<string, Slot>();
  /** A binary min-heap of the tracked items by (count, seq): the root is the one a newcomer replaces. */
  private readonly heap: Slot[] = [];
  private seq = 0;
  private total = 0;

  constructor(readonly k: number) {
    if (!(k >= 1)) throw new Error('k must be at least 1');
  }

  add(item: string, weight: number): void {
    if (!(weight > 0)) return;
    this.total += weight;
    const e = this.entries.get(item);
    if (e) {
      e.hit.count += weight;
      this.down(e.pos);
      return;
    }
    if (this.entries.size < this.k) {
      const slot: Slot = { hit: { item, count: weight, error: 0 }, seq: this.seq++, pos: this.heap.length };
      this.entries.set(item, slot);
      this.heap.push(slot);
      this.up(slot.pos);
      return;
    }
    // The smallest count, the earliest tracked among equals: the same item a scan of the map in order would pick.
    const m = (this.heap[0] as Slot).hit;
    this.entries.delete(m.item);
    const slot: Slot = { hit: { item, count: m.count + weight, error: m.count }, seq: this.seq++, pos: 0 };
    this.entries.set(item, slot);
    this.heap[0] = slot;
    this.down(0);
  }

  private static less(a: Slot, b: Slot): boolean {
    return a.hit.count < b.hit.count || (!(b.hit.count < a.hit.count) && a.seq < b.seq);
  }

  private up(i: number): void {
    const h = this.heap;
    const x = h[i] as Slot;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = h[p] as Slot;
      if (!SpaceSaving.less(x, parent)) break;
      h[i] = parent;
      parent.pos = i;
      i = p;
    }
    h[i] = x;
    x.pos = i;
  }

  private down(i: number): void {
    const h = this.heap;
    const n = h.length;
    const x = h[i] as Slot;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && SpaceSaving.less(h[r] as Slot, h[l] as Slot) ? r : l;
      const child = h[c] as Slot;
      if (!SpaceSaving.less(child, x)) break;
      h[i] = child;
      child.pos = i;
      i = c;
    }
    h[i] = x;
    x.pos = i;
  }

  /**
   * Stops tracking `item` (an erased user): its slot is freed, and its weight stays in the total, so it counts as
   * everyone else's from now on (`__other__` grows by it: the counters still only grow). Returns whether it was tracked.
   */
  forget(item: string): boolean {
    const e = this.entries.get(item);
    if (!e) return false;
    this.entries.delete(item);
    const last = this.heap.pop() as Slot;
    if (last !== e) {
      this.heap[e.pos] = last;
      last.pos = e.pos;
      this.up(last.pos);
      this.down(last.pos);
    }
    return true;
  }

  /** The tracked items, in no particular order. */
  items(): string[] {
    return [...this.entries.keys()];
  }

  /** Tracked items, largest first. */
  top(n = this.k): HeavyHitter[] {
    return [...this.entries.values()]
      .map((s) => s.hit)
      .sort((a, b) => b.count - a.count)
      .slice(0, n);
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
