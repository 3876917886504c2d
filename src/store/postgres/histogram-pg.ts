// The PostgreSQL form of a mergeable histogram: an `int8[]` with one element per non-empty bucket,
// `bucket << 40 | count`, ascending. Same `HistogramCounts` semantics as the SQLite packed form; values stay
// below 2^53, so JavaScript numbers carry them exactly.
import type { HistogramCounts } from '../store.js';

const COUNT_BITS = 2 ** 40;
const MAX_COUNT = COUNT_BITS - 1;

/** The array literal (`{…}`) of a histogram, for an `int8[]` parameter. */
export function pgHistogramLiteral(h: HistogramCounts): string {
  const out: number[] = [];
  for (const k in h) {
    const c = h[k as unknown as number] ?? 0;
    if (c > 0) out.push(Number(k));
  }
  out.sort((a, b) => a - b);
  return `{${out.map((i) => i * COUNT_BITS + Math.min(MAX_COUNT, Math.round(h[i] ?? 0))).join(',')}}`;
}

/** Reads the stored form back (null: empty). */
export function histogramOfPg(values: readonly number[] | null | undefined): HistogramCounts {
  const h: HistogramCounts = {};
  if (!values) return h;
  for (const v of values) {
    const i = Math.floor(v / COUNT_BITS);
    const c = v - i * COUNT_BITS;
    if (c > 0) h[i] = (h[i] ?? 0) + c;
  }
  return h;
}

/** Parses an `int8[]` in text form (`{1,2,3}`, no NULLs) into numbers — pg's default would give strings. */
export function parseInt8Array(text: string): number[] {
  if (text.length <= 2) return [];
  return text.slice(1, -1).split(',').map(Number);
}
