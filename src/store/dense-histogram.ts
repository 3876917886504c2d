// Dense histograms: a histogram as a Float64Array over the bucket indexes (histogram.ts's log-linear buckets), for
// merging many packed histograms fast (the overview's compaction and reads) and reading quantiles from the merge.
import { bucketValue, MAX_BUCKET } from './histogram.js';
import type { HistogramCounts } from './store.js';

const SIZE = MAX_BUCKET + 1;
/** Where `encode` writes before copying out: at most 2 bytes a delta and 8 a count (below 2^53) a bucket, and the format byte. */
const SCRATCH = Buffer.alloc(1 + SIZE * 10);
const VALUES = Float64Array.from({ length: SIZE }, (_, i) => bucketValue(i));

/** (index, count) pairs of frozen histograms, ascending by index (see Dense.addCounts). */
const PAIRS = new WeakMap<HistogramCounts, Float64Array>();

function pairsOf(h: HistogramCounts): Float64Array {
  const out: number[] = [];
  for (const k in h) {
    const index = Number(k);
    const count = Math.round(h[index] ?? 0);
    if (index >= 0 && index < SIZE && count > 0) out.push(index, count);
  }
  const pairs = new Float64Array(out);
  // integer keys enumerate in ascending order; sort anyway for objects built otherwise
  for (let k = 2; k < pairs.length; k += 2)
    if ((pairs[k] as number) < (pairs[k - 2] as number)) {
      const sorted = [];
      for (let j = 0; j < pairs.length; j += 2) sorted.push([pairs[j] as number, pairs[j + 1] as number]);
      sorted.sort((x, y) => (x[0] as number) - (y[0] as number));
      return new Float64Array(sorted.flat());
    }
  return pairs;
}

/**
 * A histogram as a dense array over the bucket indexes, remembering the range of indexes it touched, so resetting,
 * merging and reading quantiles cost the span of the data (a few hundred buckets), not all ~1,040.
 */
export class Dense {
  readonly a = new Float64Array(SIZE);
  n = 0;
  lo = SIZE;
  hi = -1;

  reset(): void {
    if (this.hi >= this.lo) this.a.fill(0, this.lo, this.hi + 1);
    this.n = 0;
    this.lo = SIZE;
    this.hi = -1;
  }

  /**
   * Adds a histogram in the store's packed form (histogram.ts: format byte 1, then LEB128 varint pairs of index
   * delta and count) without allocating.
   */
  addPacked(buf: Uint8Array | null): void {
    if (!buf || buf.length < 2) return;
    if (buf[0] !== 1) throw new Error(`unknown histogram format ${buf[0]}`);
    const a = this.a;
    let pos = 1;
    let index = -1;
    const len = buf.length;
    while (pos < len) {
      let delta = 0;
      let mul = 1;
      let b: number;
      do {
        b = buf[pos++] as number;
        delta += (b & 0x7f) * mul;
        mul *= 128;
      } while (b >= 0x80 && pos < len);
      if (b >= 0x80 || pos >= len) break;
      let count = 0;
      mul = 1;
      do {
        b = buf[pos++] as number;
        count += (b & 0x7f) * mul;
        mul *= 128;
      } while (b >= 0x80 && pos < len);
      if (b >= 0x80) break;
      index = index < 0 ? delta : index + delta;
      if (index >= SIZE || count <= 0) continue;
      a[index] = (a[index] as number) + count;
      this.n += count;
      if (index < this.lo) this.lo = index;
      if (index > this.hi) this.hi = index;
    }
  }

  /** Adds one observation in bucket `index` (histogram.ts `bucketOf`). */
  addIndex(index: number): void {
    this.a[index] = (this.a[index] as number) + 1;
    this.n++;
    if (index < this.lo) this.lo = index;
    if (index > this.hi) this.hi = index;
  }

  /** histogram.ts's packed form (`encodeHistogram` of `sparse()`, byte for byte), in one pass over the span. */
  encode(): Buffer {
    const out = SCRATCH;
    out[0] = 1;
    let pos = 1;
    let prev = -1;
    const a = this.a;
    for (let i = this.lo; i <= this.hi; i++) {
      const c = a[i] as number;
      if (!(c > 0)) continue;
      let x = prev < 0 ? i : i - prev;
      while (x >= 0x80) {
        out[pos++] = (x % 0x80) | 0x80;
        x = Math.floor(x / 0x80);
      }
      out[pos++] = x;
      x = Math.round(c);
      while (x >= 0x80) {
        out[pos++] = (x % 0x80) | 0x80;
        x = Math.floor(x / 0x80);
      }
      out[pos++] = x;
      prev = i;
    }
    return Buffer.from(out.subarray(0, pos));
  }

  /**
   * Adds a histogram in its object form (what `Store.queryRollups` returns). A frozen one (the backtest's shared
   * rollups, added again at every step of a sliding window) is read as (index, count) pairs kept beside it, since
   * walking an object's keys was most of a backtest's time.
   */
  addCounts(h: HistogramCounts): void {
    if (Object.isFrozen(h)) {
      let pairs = PAIRS.get(h);
      if (!pairs) {
        pairs = pairsOf(h);
        PAIRS.set(h, pairs);
      }
      this.addPairs(pairs);
      return;
    }
    const a = this.a;
    for (const k in h) {
      const index = Number(k);
      const count = Math.round(h[index] ?? 0);
      if (!(index >= 0 && index < SIZE) || !(count > 0)) continue;
      a[index] = (a[index] as number) + count;
      this.n += count;
      if (index < this.lo) this.lo = index;
      if (index > this.hi) this.hi = index;
    }
  }

  private addPairs(pairs: Float64Array): void {
    const a = this.a;
    const len = pairs.length;
    if (len === 0) return;
    for (let k = 0; k < len; k += 2) {
      const index = pairs[k] as number;
      const count = pairs[k + 1] as number;
      a[index] = (a[index] as number) + count;
      this.n += count;
    }
    const first = pairs[0] as number;
    const last = pairs[len - 2] as number;
    if (first < this.lo) this.lo = first;
    if (last > this.hi) this.hi = last;
  }

  /** Either form: the packed bytes (SQLite) or the object (other stores). */
  add(h: Uint8Array | HistogramCounts | null): void {
    if (h instanceof Uint8Array || h === null) this.addPacked(h);
    else this.addCounts(h);
  }

  merge(d: Dense): void {
    for (let i = d.lo; i <= d.hi; i++) this.a[i] = (this.a[i] as number) + (d.a[i] as number);
    this.n += d.n;
    if (d.lo < this.lo) this.lo = d.lo;
    if (d.hi > this.hi) this.hi = d.hi;
  }

  /** p50, p95, p99 with histogram.ts's definition (lower rank quantile, the bucket's representative value). */
  pcts(): [number | null, number | null, number | null] {
    const n = this.n;
    if (n <= 0) return [null, null, null];
    const ranks = [Math.floor(0.5 * (n - 1)), Math.floor(0.95 * (n - 1)), Math.floor(0.99 * (n - 1))];
    const out: [number | null, number | null, number | null] = [null, null, null];
    let cum = 0;
    let k = 0;
    for (let i = this.lo; i <= this.hi && k < 3; i++) {
      cum += this.a[i] as number;
      while (k < 3 && cum > (ranks[k] as number)) out[k++] = Math.round((VALUES[i] as number) * 100) / 100;
    }
    return out;
  }

  /**
   * The q-quantile in ms (histogram.ts `quantile`'s definition and value, unrounded: the lower rank quantile, the
   * bucket's representative value), or null when empty. One pass over the span, no sort.
   */
  quantile(q: number): number | null {
    const n = this.n;
    if (n <= 0) return null;
    const rank = Math.floor((Number.isNaN(q) ? 0.5 : Math.min(1, Math.max(0, q))) * (n - 1));
    let cum = 0;
    for (let i = this.lo; i <= this.hi; i++) {
      cum += this.a[i] as number;
      if (cum > rank) return VALUES[i] as number;
    }
    return VALUES[this.hi] as number;
  }

  sparse(): HistogramCounts {
    const h: HistogramCounts = {};
    for (let i = this.lo; i <= this.hi; i++) if (this.a[i]) h[i] = this.a[i] as number;
    return h;
  }
}
