import { describe, expect, it } from 'vitest';
import {
  addTo,
  bucketOf,
  bucketValue,
  count,
  decodeHistogram,
  encodeHistogram,
  histogramOf,
  MAX_BUCKET,
  MAX_MS,
  MIN_MS,
  merge,
  mergeEncoded,
  quantile,
  quantiles,
  RELATIVE_ACCURACY,
} from './histogram.js';

/** A small deterministic PRNG (mulberry32), so failures reproduce. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const exactQuantile = (sorted: number[], q: number): number => sorted[Math.floor(q * (sorted.length - 1))] as number;
// A hair over α for floating-point rounding at bucket bounds.
const BOUND = RELATIVE_ACCURACY * (1 + 1e-9);

type Dist = 'uniform' | 'lognormal' | 'exponential' | 'bimodal' | 'tiny';

function distributions(seed: number): Record<Dist, number[]> {
  const r = rng(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  const n = 5000;
  return {
    uniform: Array.from({ length: n }, () => 50 + r() * 1950),
    lognormal: Array.from({ length: n }, () => Math.exp(6 + 1.2 * normal())),
    exponential: Array.from({ length: n }, () => -Math.log(1 - r()) * 300),
    // bimodal: fast cache hits and slow generations, the shape that breaks averages
    bimodal: Array.from({ length: n }, () => (r() < 0.8 ? 20 + r() * 10 : 4000 + r() * 8000)),
    tiny: Array.from({ length: n }, () => 0.02 + r() * 2),
  };
}

describe('histogram buckets', () => {
  it('every value in range reads back within the relative error', () => {
    const r = rng(1);
    for (let k = 0; k < 20000; k++) {
      const v = MIN_MS * (MAX_MS / MIN_MS) ** r();
      const back = bucketValue(bucketOf(v));
      expect(Math.abs(back - v) / v).toBeLessThanOrEqual(BOUND);
    }
  });

  it('values below the range read back as 0 and values above are clamped, NaN is ignored', () => {
    expect(bucketOf(0)).toBe(0);
    expect(bucketOf(-5)).toBe(0);
    expect(bucketOf(MIN_MS / 2)).toBe(0);
    expect(bucketValue(0)).toBe(0);
    expect(bucketOf(MIN_MS)).toBe(1);
    expect(bucketOf(1e12)).toBe(MAX_BUCKET);
    const h = addTo(addTo({}, Number.NaN), Number.POSITIVE_INFINITY);
    expect(count(h)).toBe(0);
    expect(quantile(h, 0.5)).toBeNull();
  });

  it('bucket indices increase with the value', () => {
    let prev = -1;
    for (let v = 0.005; v < MAX_MS * 2; v *= 1.003) {
      const i = bucketOf(v);
      expect(i).toBeGreaterThanOrEqual(prev);
      prev = i;
    }
    expect(MAX_BUCKET).toBeLessThan(1100);
  });
});

describe('merge', () => {
  const { lognormal, bimodal, uniform } = distributions(7);
  const a = histogramOf(lognormal);
  const b = histogramOf(bimodal);
  const c = histogramOf(uniform);

  it('is commutative and associative, and leaves its inputs alone', () => {
    const aCopy = { ...a };
    expect(merge(a, b)).toEqual(merge(b, a));
    expect(merge(merge(a, b), c)).toEqual(merge(a, merge(b, c)));
    expect(a).toEqual(aCopy);
    expect(count(merge(merge(a, b), c))).toBe(15000);
  });

  it('has the empty histogram as identity', () => {
    expect(merge(a, {})).toEqual(a);
    expect(merge({}, a)).toEqual(a);
  });

  it('equals the histogram of the concatenated data', () => {
    expect(merge(merge(a, b), c)).toEqual(histogramOf([...lognormal, ...bimodal, ...uniform]));
  });
});

describe('quantile', () => {
  for (const [name, values] of Object.entries(distributions(42))) {
    it(`p50/p95/p99 of merged histograms match the exact quantiles of ${name} data within ${RELATIVE_ACCURACY * 100}%`, () => {
      // split into 60 "minutes", one histogram each, then merge them like a rollup query does
      let merged = {};
      for (let m = 0; m < 60; m++) merged = merge(merged, histogramOf(values.filter((_, i) => i % 60 === m)));
      const sorted = [...values].sort((x, y) => x - y);
      for (const q of [0, 0.5, 0.9, 0.95, 0.99, 0.999, 1]) {
        const exact = exactQuantile(sorted, q);
        const got = quantile(merged, q) as number;
        expect(Math.abs(got - exact) / exact, `${name} q=${q} exact=${exact} got=${got}`).toBeLessThanOrEqual(BOUND);
      }
    });
  }

  it('quantiles() gives the same answers as quantile() one by one', () => {
    const h = histogramOf(distributions(3).lognormal);
    const qs = [0.5, 0.95, 0.99];
    expect(quantiles(h, qs)).toEqual(qs.map((q) => quantile(h, q)));
  });

  it('is monotonic in q', () => {
    const h = histogramOf(distributions(5).bimodal);
    let prev = 0;
    for (let q = 0; q <= 1; q += 0.01) {
      const v = quantile(h, q) as number;
      expect(v).toBeGreaterThanOrEqual(prev);
      prev = v;
    }
  });

  it('reports exact zeros as 0', () => {
    expect(quantile(histogramOf([0, 0, 0, 5]), 0.5)).toBe(0);
  });
});

describe('storage encoding', () => {
  it('round-trips and is compact', () => {
    const h = histogramOf(distributions(9).exponential);
    const buf = encodeHistogram(h);
    expect(decodeHistogram(buf)).toEqual(h);
    expect(buf.length).toBeLessThan(Object.keys(h).length * 4 + 1);
    expect(encodeHistogram({})).toEqual(Buffer.from([1]));
    expect(decodeHistogram(encodeHistogram({ 3: 2, 1: 1, 1040: 3_000_000_000 }))).toEqual({
      1: 1,
      3: 2,
      1040: 3_000_000_000,
    });
  });

  it('reads null or empty input as an empty histogram and refuses an unknown format', () => {
    expect(decodeHistogram(null)).toEqual({});
    expect(decodeHistogram(new Uint8Array(0))).toEqual({});
    expect(() => decodeHistogram(Buffer.from([9, 1, 1]))).toThrow(/unknown histogram format/);
  });

  it('merges encoded histograms exactly like merge()', () => {
    const d = distributions(11);
    const a = histogramOf(d.bimodal);
    const b = histogramOf(d.tiny);
    const c = histogramOf([0, 0, 3, 1e9]);
    expect(decodeHistogram(mergeEncoded(encodeHistogram(a), encodeHistogram(b)))).toEqual(merge(a, b));
    expect(decodeHistogram(mergeEncoded(encodeHistogram(c), encodeHistogram(a)))).toEqual(merge(c, a));
    expect(decodeHistogram(mergeEncoded(encodeHistogram(a), null))).toEqual(a);
    expect(mergeEncoded(encodeHistogram(b), encodeHistogram(a))).toEqual(
      mergeEncoded(encodeHistogram(a), encodeHistogram(b)),
    );
  });
});
