// The writer's rollup fold (RollupFold) against the reference fold every store shares (rollup.ts RollupBatch, then
// storedRollupOf): the same rows, sums and histogram bytes, on calls with odd figures too.
import { describe, expect, it } from 'vitest';
import type { LlmCall } from '../../calls/index.js';
import { Dense } from '../dense-histogram.js';
import { bucketOf, encodeHistogram, histogramOf } from '../histogram.js';
import { HOUR_MS, MINUTE_MS, RollupBatch, type RollupInput } from '../rollup.js';
import { T0 } from '../store.contract.js';
import { RollupFold, type StoredRollupRow, storedRollupOf } from './call-writer.js';

/** A small deterministic generator, so a failure can be replayed. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const STATUSES = ['ok', 'ok', 'ok', 'client_error', 'upstream_error', 'rate_limited', 'timeout', 'cancelled', 'weird'];
const ODD = [Number.NaN, Number.POSITIVE_INFINITY, -5, 0, 0.001, 1e9, 123.456];

function inputs(n: number, seed: number): RollupInput[] {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  return Array.from({ length: n }, () => ({
    startedAt: T0 + Math.floor(r() * 3 * HOUR_MS) + r(),
    provider: pick(['openai', 'anthropic', 'gemini']),
    model: pick(['gpt-4o', 'gpt-4o-mini', 'claude', 'é😀']),
    endpoint: pick(['chat.completions', 'embeddings']) as LlmCall['endpoint'],
    feature: pick([null, 'search', 'chat', '']),
    team: pick([null, 'a', 'b']),
    status: pick(STATUSES) as LlmCall['status'],
    inputTokens: r() < 0.1 ? null : r() < 0.05 ? pick(ODD) : Math.floor(r() * 5000),
    outputTokens: r() < 0.1 ? null : Math.floor(r() * 800),
    cachedInputTokens: r() < 0.5 ? null : Math.floor(r() * 100),
    costUsd: r() < 0.2 ? null : r() < 0.05 ? pick(ODD) : r() / 100,
    refusal: r() < 0.1 ? 1 : 0,
    latencyMs: r() < 0.05 ? pick(ODD) : r() * 20_000,
    ttftMs: r() < 0.3 ? null : r() < 0.05 ? pick(ODD) : r() * 2000,
    tpotMs: r() < 0.4 ? null : r() * 50,
  }));
}

const key = (x: StoredRollupRow) => [x.t, x.provider, x.model, x.endpoint, x.feature, x.team].join('\u0000');
const sorted = (rows: StoredRollupRow[]) => [...rows].sort((a, b) => (key(a) < key(b) ? -1 : 1));

describe('RollupFold', () => {
  it('gives the stored rows RollupBatch + storedRollupOf give, batch after batch (its arrays reused)', () => {
    const fold = new RollupFold();
    for (let seed = 1; seed <= 6; seed++) {
      const calls = inputs(seed * 400, seed);
      const minute = new RollupBatch(MINUTE_MS);
      const hour = new RollupBatch(HOUR_MS);
      for (const c of calls) {
        minute.add(c);
        hour.add(c);
        fold.add(c);
      }
      expect(sorted(fold.take('minute'))).toEqual(sorted([...minute.values()].map(storedRollupOf)));
      expect(sorted(fold.take('hour'))).toEqual(sorted([...hour.values()].map(storedRollupOf)));
    }
    expect(fold.take('minute')).toEqual([]);
  });
});

describe('Dense.encode', () => {
  it('packs byte for byte as encodeHistogram does, empty, one bucket, wide spans and large counts', () => {
    const cases = [[], [5], [0.001, 0.02, 1e8], Array.from({ length: 5000 }, (_, i) => (i * 7.3) % 30_000)];
    for (const values of cases) {
      const d = new Dense();
      for (const v of values) if (Number.isFinite(v)) d.addIndex(bucketOf(v));
      expect(d.encode()).toEqual(encodeHistogram(histogramOf(values)));
    }
    const big = new Dense();
    for (let i = 0; i < 300_000; i++) big.addIndex(700);
    expect(big.encode()).toEqual(encodeHistogram({ 700: 300_000 }));
  });
});
