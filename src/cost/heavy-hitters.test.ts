import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { SpaceSaving, userCostMetric } from './heavy-hitters.js';

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
});
