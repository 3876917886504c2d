// Mergeable latency histograms over milliseconds: fixed log-scale buckets (DDSketch-style), stored sparse, so
// per-minute rollups can be added up into any window and still answer p50/p95/p99 within a known relative error.
import type { HistogramCounts } from './store.js';

/**
 * Relative accuracy α: for any value v in [MIN_MS, MAX_MS], the bucket's representative value r satisfies
 * |r − v| ≤ α·v. A quantile read from a histogram is therefore within α (1%) of the exact rank-based quantile
 * `sorted[floor(q·(n−1))]` of the values that went in (values outside the covered range: see MIN_MS / MAX_MS).
 */
export const RELATIVE_ACCURACY = 0.01;
/** Ratio between consecutive bucket bounds: γ = (1+α)/(1−α). */
export const GAMMA = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY);
/** Smallest value with a relative-error guarantee; values below it (and negatives) land in bucket 0 and read back as 0. */
export const MIN_MS = 0.01;
/** Largest value with a relative-error guarantee (~2.8 hours); larger values are clamped into the last bucket. */
export const MAX_MS = 1e7;

const LOG_GAMMA = Math.log(GAMMA);
/** Bucket i ≥ 1 covers [MIN_MS·γ^(i−1), MIN_MS·γ^i); its representative is the point of equal relative error. */
const indexOf = (ms: number): number => 1 + Math.floor(Math.log(ms / MIN_MS) / LOG_GAMMA);
/** Highest bucket index (the one holding MAX_MS); about 1040 buckets exist in all, but a histogram stores only non-empty ones. */
export const MAX_BUCKET = indexOf(MAX_MS);

/** The bucket index of a value in milliseconds (0 for values under MIN_MS, clamped at MAX_BUCKET). */
export function bucketOf(ms: number): number {
  if (!(ms >= MIN_MS)) return 0; // also NaN and negatives
  if (ms >= MAX_MS) return MAX_BUCKET;
  const i = indexOf(ms);
  return Math.min(MAX_BUCKET, Math.max(1, i));
}

/** The value a bucket stands for: 0 for bucket 0, else the point within α of every value the bucket covers. */
export function bucketValue(index: number): number {
  if (index <= 0) return 0;
  const lower = MIN_MS * GAMMA ** (index - 1);
  return (lower * 2 * GAMMA) / (1 + GAMMA);
}

/** Adds one observation in place (non-finite values are ignored); returns `h` for chaining. */
export function addTo(h: HistogramCounts, ms: number, times = 1): HistogramCounts {
  if (!Number.isFinite(ms) || !(times > 0)) return h;
  const i = bucketOf(ms);
  h[i] = (h[i] ?? 0) + times;
  return h;
}

/** A histogram of the given values. */
export function histogramOf(values: Iterable<number>): HistogramCounts {
  const h: HistogramCounts = {};
  for (const v of values) addTo(h, v);
  return h;
}

/** Adds `src` into `target` in place; returns `target`. */
export function mergeInto(target: HistogramCounts, src: HistogramCounts): HistogramCounts {
  for (const k in src) {
    const c = src[k as unknown as number];
    if (!c) continue;
    const i = Number(k);
    target[i] = (target[i] ?? 0) + c;
  }
  return target;
}

/** A new histogram holding both inputs' observations (inputs are not changed). Associative and commutative. */
export function merge(a: HistogramCounts, b: HistogramCounts): HistogramCounts {
  return mergeInto(mergeInto({}, a), b);
}

/** Number of observations. */
export function count(h: HistogramCounts): number {
  let n = 0;
  for (const k in h) n += h[k as unknown as number] ?? 0;
  return n;
}

function sortedBuckets(h: HistogramCounts): [number, number][] {
  const out: [number, number][] = [];
  for (const k in h) {
    const c = h[k as unknown as number] ?? 0;
    if (c > 0) out.push([Number(k), c]);
  }
  return out.sort((x, y) => x[0] - y[0]);
}

/**
 * The q-quantile (0 ≤ q ≤ 1) as a representative value in ms, or null for an empty histogram. It is within
 * RELATIVE_ACCURACY of the exact value `sorted[floor(q·(n−1))]` (the lower rank quantile) of the raw data.
 */
export function quantile(h: HistogramCounts, q: number): number | null {
  return quantiles(h, [q])[0] ?? null;
}

/** Several quantiles in one pass over the buckets (same definition and error bound as `quantile`). */
export function quantiles(h: HistogramCounts, qs: readonly number[]): (number | null)[] {
  const buckets = sortedBuckets(h);
  let n = 0;
  for (const [, c] of buckets) n += c;
  if (n === 0) return qs.map(() => null);
  return qs.map((q) => {
    const rank = Math.floor((Number.isNaN(q) ? 0.5 : Math.min(1, Math.max(0, q))) * (n - 1));
    let cum = 0;
    for (const [i, c] of buckets) {
      cum += c;
      if (cum > rank) return bucketValue(i);
    }
    return bucketValue((buckets[buckets.length - 1] as [number, number])[0]);
  });
}

// Storage form: a format byte (1), then one (index delta, count) pair per non-empty bucket in ascending index
// order, each an unsigned LEB128 varint — typically 2–3 bytes a bucket. Stored rollups merge in this form
// (`mergeEncoded`) with one linear pass and no objects, which keeps the per-batch rollup upsert cheap.
const FORMAT = 1;

function writeVarint(out: number[], v: number): void {
  let x = v;
  while (x >= 0x80) {
    out.push((x % 0x80) | 0x80);
    x = Math.floor(x / 0x80);
  }
  out.push(x);
}

/** Reads encoded (index, count) pairs; stops at the end or at a truncated pair. */
class PairReader {
  private pos = 1;
  index = -1;
  count = 0;

  constructor(private readonly buf: Uint8Array) {
    if (buf.length > 0 && buf[0] !== FORMAT) throw new Error(`unknown histogram format ${buf[0]}`);
  }

  private varint(): number | null {
    let v = 0;
    let mul = 1;
    while (this.pos < this.buf.length) {
      const b = this.buf[this.pos++] as number;
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v;
      mul *= 0x80;
    }
    return null;
  }

  /** Advances to the next pair; false at the end. */
  next(): boolean {
    const delta = this.varint();
    if (delta === null) return false;
    const c = this.varint();
    if (c === null) return false;
    this.index = this.index < 0 ? delta : this.index + delta;
    this.count = c;
    return true;
  }
}

/** The compact binary storage form of a histogram (empty histogram: one byte). */
export function encodeHistogram(h: HistogramCounts): Buffer {
  const out: number[] = [FORMAT];
  let prev = -1;
  for (const [i, c] of sortedBuckets(h)) {
    writeVarint(out, prev < 0 ? i : i - prev);
    writeVarint(out, Math.round(c));
    prev = i;
  }
  return Buffer.from(out);
}

/** Reads `encodeHistogram`'s form; null or empty input is an empty histogram. */
export function decodeHistogram(buf: Uint8Array | null | undefined): HistogramCounts {
  const h: HistogramCounts = {};
  if (!buf || buf.length === 0) return h;
  const r = new PairReader(buf);
  while (r.next()) if (r.count > 0) h[r.index] = (h[r.index] ?? 0) + r.count;
  return h;
}

/** Merges two encoded histograms without decoding them into objects (a linear merge of the sorted pairs). */
export function mergeEncoded(a: Uint8Array | null | undefined, b: Uint8Array | null | undefined): Buffer {
  const ra = new PairReader(a ?? new Uint8Array(0));
  const rb = new PairReader(b ?? new Uint8Array(0));
  const out: number[] = [FORMAT];
  let prev = -1;
  const emit = (i: number, c: number) => {
    if (c <= 0) return;
    writeVarint(out, prev < 0 ? i : i - prev);
    writeVarint(out, c);
    prev = i;
  };
  let hasA = ra.next();
  let hasB = rb.next();
  while (hasA || hasB) {
    if (hasA && (!hasB || ra.index < rb.index)) {
      emit(ra.index, ra.count);
      hasA = ra.next();
    } else if (hasB && (!hasA || rb.index < ra.index)) {
      emit(rb.index, rb.count);
      hasB = rb.next();
    } else {
      emit(ra.index, ra.count + rb.count);
      hasA = ra.next();
      hasB = rb.next();
    }
  }
  return Buffer.from(out);
}
