// A small in-memory BM25 index (Okapi, k1 = 1.2, b = 0.75) over passages of stemmed content words.
// Enough for a knowledge base of thousands of passages; postings are per term, scoring touches only query terms.
import { contentStems } from './text.js';

export interface Bm25Hit<T> {
  doc: T;
  score: number;
}

export class Bm25Index<T> {
  private readonly docs: T[] = [];
  private readonly lengths: number[] = [];
  private readonly postings = new Map<string, { doc: number; tf: number }[]>();
  private totalLength = 0;

  constructor(
    private readonly k1 = 1.2,
    private readonly b = 0.75,
  ) {}

  get size(): number {
    return this.docs.length;
  }

  /** Adds a document; `text` is tokenised with the same stemmer the queries use. */
  add(doc: T, text: string): void {
    const id = this.docs.length;
    const terms = contentStems(text);
    this.docs.push(doc);
    this.lengths.push(terms.length);
    this.totalLength += terms.length;
    const tf = new Map<string, number>();
    for (const t of terms) tf.set(t, (tf.get(t) ?? 0) + 1);
    for (const [t, n] of tf) {
      let p = this.postings.get(t);
      if (!p) {
        p = [];
        this.postings.set(t, p);
      }
      p.push({ doc: id, tf: n });
    }
  }

  /** Inverse document frequency of a stemmed term (BM25+ style, never negative). */
  idf(term: string): number {
    const n = this.postings.get(term)?.length ?? 0;
    const N = this.docs.length;
    return Math.log(1 + (N - n + 0.5) / (n + 0.5));
  }

  has(term: string): boolean {
    return this.postings.has(term);
  }

  /** Top `k` documents for a query given as stemmed terms (duplicates count once). */
  search(terms: readonly string[], k = 3): Bm25Hit<T>[] {
    if (this.docs.length === 0) return [];
    const avg = this.totalLength / this.docs.length || 1;
    const scores = new Map<number, number>();
    for (const t of new Set(terms)) {
      const p = this.postings.get(t);
      if (!p) continue;
      const idf = this.idf(t);
      for (const { doc, tf } of p) {
        const len = this.lengths[doc] as number;
        const s = (idf * (tf * (this.k1 + 1))) / (tf + this.k1 * (1 - this.b + (this.b * len) / avg));
        scores.set(doc, (scores.get(doc) ?? 0) + s);
      }
    }
    const top: Bm25Hit<T>[] = [];
    for (const [doc, score] of scores) {
      if (top.length < k) {
        top.push({ doc: this.docs[doc] as T, score });
        top.sort((a, b) => b.score - a.score);
      } else if (score > (top[k - 1] as Bm25Hit<T>).score) {
        top[k - 1] = { doc: this.docs[doc] as T, score };
        top.sort((a, b) => b.score - a.score);
      }
    }
    return top;
  }
}
