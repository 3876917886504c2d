// The cost capability's per-call shortcuts must answer exactly as the plain computations they replace: dayOf's
// memo of the last day, the price book's per-day resolution cache, and deltasOf's per-dimension maps.
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { LlmCall } from '../calls/index.js';
import { costConfigOf } from './config.js';
import { dayOf, PriceBook } from './pricing.js';
import { MemorySpendStore } from './storage/memory.js';
import { SqliteSpendStore } from './storage/sqlite.js';
import {
  addFigures,
  deltasOf,
  dimensionValue,
  SPEND_DIMENSIONS,
  type SpendDelta,
  type SpendFigures,
  toolCostOf,
} from './storage/types.js';
import { fakeCall } from './testing.js';

const DAY = 86_400_000;

function rng(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 48271) % 2147483647;
    return s / 2147483647;
  };
}

/** deltasOf as first written (a string key per minute, dimension and value), the reference for the faster one. */
function referenceDeltas(calls: readonly LlmCall[], unpriced: (c: LlmCall) => boolean): SpendDelta[] {
  const out = new Map<string, SpendDelta>();
  for (const c of calls) {
    const minute = Math.floor(c.startedAt / 60_000) * 60_000;
    const f: SpendFigures = {
      costUsd: c.costUsd ?? 0,
      requests: 1,
      unpriced: unpriced(c) ? 1 : 0,
      inputTokens: c.inputTokens ?? 0,
      outputTokens: c.outputTokens ?? 0,
      cachedInputTokens: c.cachedInputTokens ?? 0,
      bytes: (c.requestBytes ?? 0) + (c.responseBytes ?? 0),
      cacheWriteInputTokens: c.cacheWriteInputTokens ?? 0,
      reasoningTokens: c.reasoningTokens ?? 0,
      toolCostUsd: c.costUsd === null ? 0 : toolCostOf(c),
    };
    for (const dimension of SPEND_DIMENSIONS) {
      const value = dimensionValue(c, dimension);
      const k = `${minute}\u0000${dimension}\u0000${value}`;
      const d = out.get(k);
      if (d) addFigures(d, f);
      else out.set(k, { minute, dimension, value, ...f });
    }
  }
  return [...out.values()];
}

/** A batch with many keys: minutes across a day boundary, thousands of users, nulls, unpriced calls. */
function batch(n: number, seed: number): LlmCall[] {
  const r = rng(seed);
  const t0 = Date.parse('2025-07-15T23:55:00Z');
  return Array.from({ length: n }, () =>
    fakeCall({
      startedAt: t0 + Math.floor(r() * 10 * 60_000) + (r() < 0.1 ? 0.5 : 0),
      provider: ['openai', 'anthropic', 'gemini'][Math.floor(r() * 3)] as string,
      model: ['gpt-4o', 'gpt-4o-mini', 'claude-sonnet-4-5', 'mystery'][Math.floor(r() * 4)] as string,
      user: r() < 0.1 ? null : `user-${Math.floor(r() * 3000)}`,
      team: r() < 0.2 ? null : `team-${Math.floor(r() * 20)}`,
      feature: r() < 0.3 ? null : `feature-${Math.floor(r() * 8)}`,
      apiKeyId: r() < 0.5 ? null : `k${Math.floor(r() * 5)}`,
      costUsd: r() < 0.1 ? null : r() * 0.01,
      inputTokens: r() < 0.05 ? null : Math.floor(r() * 4000),
      outputTokens: Math.floor(r() * 600),
      cachedInputTokens: r() < 0.5 ? null : Math.floor(r() * 100),
      requestBytes: Math.floor(r() * 5000),
      responseBytes: Math.floor(r() * 9000),
    }),
  );
}

describe('dayOf', () => {
  it('answers as toISOString does, for times in any order (same day, next day, fractional, before 1970)', () => {
    const r = rng(17);
    const times = [0, -0.5, -1, -DAY, -DAY - 0.5, DAY - 0.5, DAY, 8.64e15, -8.64e15];
    for (let i = 0; i < 5000; i++) {
      const base = Date.parse('2025-07-15T00:00:00Z') + Math.floor(r() * 4) * DAY;
      times.push(base + (r() < 0.5 ? -1 : 1) * r() * 1000, base + r() * DAY);
    }
    for (const t of times) expect(dayOf(t), String(t)).toBe(new Date(t).toISOString().slice(0, 10));
    for (const t of [Number.NaN, 8.64e15 + 1, Number.POSITIVE_INFINITY]) {
      dayOf(8.64e15); // the memo holds the last valid day: a time past the range still throws
      expect(() => dayOf(t)).toThrow(RangeError);
    }
  });
});

describe('price book cache', () => {
  it('prices each call by its own day, however calls of different days interleave', () => {
    const pricing = {
      models: [
        { model: 'o3', input: 1, output: 2, effectiveFrom: '2025-08-01' },
        { model: 'x-*', provider: 'azure', input: 5, output: 5 },
      ],
    };
    const cached = new PriceBook(costConfigOf({ pricing }).pricing);
    const r = rng(5);
    const days = ['2025-07-30', '2025-07-31', '2025-08-01', '2025-08-02', '2024-05-01', '2025-01-01'];
    for (let i = 0; i < 2000; i++) {
      const call = fakeCall({
        startedAt: Date.parse(`${days[Math.floor(r() * days.length)]}T00:00:00Z`) + Math.floor(r() * DAY),
        model: ['o3', 'gpt-4o', 'gpt-4o-mini', 'x-1', 'mystery'][Math.floor(r() * 5)] as string,
        provider: ['openai', 'azure'][Math.floor(r() * 2)] as string,
        inputTokens: 1_000_000,
        outputTokens: 1000,
      });
      // a fresh book has nothing cached: it must agree with the one that has seen every call before
      const fresh = new PriceBook(costConfigOf({ pricing }).pricing);
      expect(cached.priceCall(call)).toEqual(fresh.priceCall(call));
    }
  });
});

describe('spend deltas', () => {
  it('are the reference deltas, in the same order, for batches with many keys', () => {
    for (const [n, seed] of [
      [1, 1],
      [50, 2],
      [1024, 3],
      [4000, 4],
    ] as const) {
      const calls = batch(n, seed);
      const unpriced = (c: LlmCall) => c.model === 'mystery';
      const got = deltasOf(calls, unpriced);
      expect(got).toEqual(referenceDeltas(calls, unpriced));
      // key order too: it is the order rows are written in
      expect(got.map((d) => [d.minute, d.dimension, d.value])).toEqual(
        referenceDeltas(calls, unpriced).map((d) => [d.minute, d.dimension, d.value]),
      );
    }
  });

  it('give the same spend rows applied as one batch or call by call', async () => {
    const calls = batch(3000, 9);
    const unpriced = (c: LlmCall) => c.model === 'mystery';
    for (const make of [() => new MemorySpendStore(), () => new SqliteSpendStore(new Database(':memory:'))]) {
      const whole = make();
      const single = make();
      await whole.apply(deltasOf(calls, unpriced));
      for (const c of calls) await single.apply(deltasOf([c], unpriced));
      const from = Date.parse('2025-07-15T00:00:00Z');
      for (const dimension of SPEND_DIMENSIONS)
        for (const read of ['minutes', 'daily'] as const) {
          const a = await whole[read]({ dimension, from, to: from + 2 * DAY });
          const b = await single[read]({ dimension, from, to: from + 2 * DAY });
          expect(a.length).toBe(b.length);
          a.forEach((row, i) => {
            const o = b[i] as typeof row;
            expect({ ...row, costUsd: 0 }).toEqual({ ...o, costUsd: 0 });
            // costs are fractional: summed per batch first, they may differ from call-by-call sums in the last bits
            expect(row.costUsd).toBeCloseTo(o.costUsd, 12);
          });
        }
    }
  });
});
