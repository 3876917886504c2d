import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { type HeavyHitter, SpaceSaving, userCostMetric } from './heavy-hitters.js';

/** The sketch as first written (a scan of the map for the minimum): the heap must pick the same item every time. */
class ScanSpaceSaving {
  readonly entries = new Map<string, HeavyHitter>();
  total = 0;
  constructor(readonly k: number) {}
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
    let min: HeavyHitter | null = null;
    for (const x of this.entries.values()) if (!min || x.count < min.count) min = x;
    const m = min as HeavyHitter;
    this.entries.delete(m.item);
    this.entries.set(item, { item, count: m.count + weight, error: m.count });
  }
  top(): HeavyHitter[] {
    return [...this.entries.values()].sort((a, b) => b.count - a.count);
  }
}

describe('heavy hitters', () => {
  it('keeps every user spending more than total/K among the K, in bounded memory', () => {
    const s = new SpaceSaving(10);
    let seed = 7;
    const rand = () => {
      seed = (seed * 48271) % 2147483647;
      return seed / 2147483647;
    };
    // Five whales among 5,000 minnows, interleaved.
    for (let i = 0; i < 20_000; i++) {
      s.add(`minnow-${Math.floor(rand() * 5000)}`, 0.01);
      if (i % 10 === 0) s.add(`whale-${i % 50 === 0 ? 0 : (i / 10) % 5}`, 1);
    }
    const top = s.top();
    expect(top.length).toBe(10);
    const names = top
      .slice(0, 5)
      .map((h) => h.item)
      .sort();
    expect(names).toEqual(['whale-0', 'whale-1', 'whale-2', 'whale-3', 'whale-4']);
    for (const h of top) expect(h.count - h.error).toBeLessThanOrEqual(h.count);
  });

  it('tracks exactly what a scan for the minimum would (ties, evictions, re-entries), at every step', () => {
    let seed = 11;
    const rand = () => {
      seed = (seed * 48271) % 2147483647;
      return seed / 2147483647;
    };
    for (const [k, integers] of [
      [1, false],
      [2, false],
      [7, true],
      [7, false],
      [100, true],
      [100, false],
    ] as const) {
      const heap = new SpaceSaving(k);
      const scan = new ScanSpaceSaving(k);
      for (let i = 0; i < 30_000; i++) {
        // integer weights make ties common; a few zero/negative weights are ignored by both
        const r = rand();
        const item = r < 0.3 ? `hot-${Math.floor(rand() * 5)}` : `u-${Math.floor(rand() * 400)}`;
        const weight = r < 0.02 ? 0 : r < 0.5 || integers ? Math.ceil(rand() * 3) : rand() * 0.01;
        heap.add(item, weight);
        scan.add(item, weight);
        if (i % 997 === 0 || i === 29_999) expect(heap.top()).toEqual(scan.top());
      }
      expect(heap.totalWeight).toBe(scan.total);
    }
  });

  it('exposes the top users and __other__ as counters that only grow', async () => {
    const registry = new Registry();
    const s = new SpaceSaving(2);
    userCostMetric(registry, s);
    const read = async () => {
      const m = await registry.getSingleMetricAsString('llm_user_cost_usd_total');
      return Object.fromEntries(
        m
          .split('\n')
          .filter((l) => l.startsWith('llm_user_cost_usd_total{'))
          .map((l) => [/user="([^"]+)"/.exec(l)?.[1], Number(l.split(' ')[1])]),
      );
    };
    s.add('ann', 5);
    s.add('bob', 3);
    expect(await read()).toEqual({ ann: 5, bob: 3, __other__: 0 });
    s.add('cid', 1); // replaces bob (3): cid is tracked from here with error 3, bob's 3 moves to __other__
    expect(await read()).toEqual({ ann: 5, cid: 1, __other__: 3 });
    s.add('cid', 10);
    s.add('dan', 0.5); // replaces ann? no: ann 5 < cid 14, so ann (5) is evicted
    expect(await read()).toEqual({ cid: 11, dan: 0.5, __other__: 8 });
  });

  it('forgets an erased user: its series goes, its spend counts as __other__, the heap stays a heap', async () => {
    const registry = new Registry();
    const s = new SpaceSaving(3);
    userCostMetric(registry, s);
    for (const [u, w] of [
      ['ann', 5],
      ['bob', 3],
      ['cid', 1],
    ] as const)
      s.add(u, w);
    expect(s.forget('bob')).toBe(true);
    expect(s.forget('bob')).toBe(false);
    const m = await registry.getSingleMetricAsString('llm_user_cost_usd_total');
    expect(m).not.toContain('user="bob"');
    expect(m).toContain('llm_user_cost_usd_total{user="__other__"} 3');
    // The freed slot takes a newcomer without evicting anyone; then the smallest (cid) is the one replaced.
    s.add('dan', 2);
    expect(s.top().map((h) => h.item)).toEqual(['ann', 'dan', 'cid']);
    s.add('eve', 4);
    expect(s.top().map((h) => [h.item, h.count, h.error])).toEqual([
      ['ann', 5, 0],
      ['eve', 5, 1],
      ['dan', 2, 0],
    ]);
    for (const u of ['ann', 'eve', 'dan']) s.forget(u);
    expect(s.top()).toEqual([]);
  });
});
