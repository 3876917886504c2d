// The PostgreSQL form of a rollup row's three mergeable histograms (latency, TTFT, TPOT): one `int8[]` with one
// element per non-empty bucket, `(series << 11 | bucket) << 40 | count`, ascending. One array per row (not three)
// because reading rollups is dominated by per-array work in SQL. Same `HistogramCounts` semantics as the SQLite
// packed form; every value stays below 2^53, so JavaScript numbers carry them exactly.
import { MAX_BUCKET } from '../histogram.js';
import type { HistogramCounts } from '../store.js';

const COUNT_BITS = 2 ** 40;
const MAX_COUNT = COUNT_BITS - 1;
const BUCKET_SLOTS = 2048; // 11 bits; MAX_BUCKET is about 1040
/** Position of each histogram in the combined array. */
export const SERIES = ['latency', 'ttft', 'tpot'] as const;
export type Series = (typeof SERIES)[number];

if (MAX_BUCKET >= BUCKET_SLOTS) throw new Error('histogram buckets no longer fit the PostgreSQL form');

/** The array literal (`{…}`) of a row's histograms, for an `int8[]` parameter. */
export function pgHistogramLiteral(hs: Partial<Record<Series, HistogramCounts>>): string {
  const out: number[] = [];
  SERIES.forEach((name, s) => {
    const h = hs[name];
    if (!h) return;
    const idx: number[] = [];
    for (const k in h) if ((h[k as unknown as number] ?? 0) > 0) idx.push(Number(k));
    idx.sort((a, b) => a - b);
    for (const i of idx) out.push((s * BUCKET_SLOTS + i) * COUNT_BITS + Math.min(MAX_COUNT, Math.round(h[i] ?? 0)));
  });
  return `{${out.join(',')}}`;
}

/** Reads the stored form back into the three histograms; repeated buckets add up (concatenated arrays). */
export function histogramsOfPg(values: readonly number[] | null | undefined): Record<Series, HistogramCounts> {
  const out: Record<Series, HistogramCounts> = { latency: {}, ttft: {}, tpot: {} };
  if (!values) return out;
  for (const v of values) {
    const slot = Math.floor(v / COUNT_BITS);
    const c = v - slot * COUNT_BITS;
    if (c <= 0) continue;
    const h = out[SERIES[Math.floor(slot / BUCKET_SLOTS)] ?? 'latency'];
    const i = slot % BUCKET_SLOTS;
    h[i] = (h[i] ?? 0) + c;
  }
  return out;
}

/**
 * Parses an `int8[]` in text form (`{1,2,3}`, no NULLs) into numbers — pg's default would give strings. Digits are
 * summed in place (exact below 2^53) rather than split into strings and converted: a day of minute totals is ~400k
 * values, and this is 3–4× faster than `split(',').map(Number)`. Anything else (beyond 2^53, NULL) goes to Number().
 */
export function parseInt8Array(text: string): number[] {
  const end = text.length - 1; // the closing brace
  const out: number[] = [];
  let i = 1;
  while (i < end) {
    const start = i;
    const neg = text.charCodeAt(i) === 45; // '-'
    if (neg) i++;
    const first = i;
    let v = 0;
    let c = text.charCodeAt(i);
    while (c >= 48 && c <= 57) {
      v = v * 10 + (c - 48);
      c = text.charCodeAt(++i);
    }
    if (i === first || v > Number.MAX_SAFE_INTEGER || (i < end && c !== 44)) {
      while (i < end && text.charCodeAt(i) !== 44) i++;
      out.push(Number(text.slice(start, i)));
    } else out.push(neg ? -v : v);
    i++; // the comma
  }
  return out;
}
