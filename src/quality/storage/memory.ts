// The in-memory QualityStore: bounded (oldest entries go first), for tests and runs without a database, and the
// reference the SQLite and PostgreSQL stores are checked against (quality.contract.ts).
import {
  COUNT_FIELDS,
  type CountQuery,
  decodeCursor,
  emptyCounts,
  encodeCursor,
  type FeedbackRecord,
  foldCounts,
  mergeReview,
  minuteOf,
  type QualityCountRow,
  type QualityStore,
  type ReviewEnqueue,
  type ReviewItem,
  type ReviewLabels,
  type ReviewQuery,
  type StoredEvaluation,
  statusMatches,
} from './types.js';

const MAX_MEMORY_ITEMS = 200_000;

export class MemoryQualityStore implements QualityStore {
  readonly kind = 'memory' as const;
  private readonly feedback = new Map<string, FeedbackRecord>();
  private readonly evaluations = new Map<string, StoredEvaluation[]>();
  private readonly review = new Map<string, ReviewItem>();
  private readonly counts = new Map<string, QualityCountRow>();

  constructor(private readonly now: () => number = Date.now) {}

  async migrate(): Promise<void> {}

  async putFeedback(f: FeedbackRecord) {
    const key = `${f.requestId}\u0000${f.source}`;
    const previous = this.feedback.get(key) ?? null;
    this.feedback.set(key, previous ? { ...f, createdAt: previous.createdAt } : f);
    bound(this.feedback);
    return { created: previous === null, previous };
  }

  async feedbackFor(requestId: string) {
    return [...this.feedback.values()]
      .filter((f) => f.requestId === requestId)
      .sort((a, b) => a.createdAt - b.createdAt);
  }

  async putEvaluations(rs: readonly StoredEvaluation[]) {
    for (const r of rs) {
      const list = this.evaluations.get(r.requestId) ?? [];
      const i = list.findIndex((x) => x.evaluator === r.evaluator);
      if (i >= 0) list[i] = r;
      else list.push(r);
      this.evaluations.set(r.requestId, list);
    }
    bound(this.evaluations);
  }

  async evaluationsFor(requestId: string) {
    return [...(this.evaluations.get(requestId) ?? [])];
  }

  async enqueueReview(items: readonly ReviewEnqueue[]) {
    for (const e of items)
      this.review.set(e.requestId, mergeReview(this.review.get(e.requestId) ?? null, e, this.now()));
    bound(this.review);
  }

  async getReview(requestId: string) {
    return this.review.get(requestId) ?? null;
  }

  async listReview(q: ReviewQuery) {
    const limit = Math.min(Math.max(q.limit ?? 50, 1), 500);
    const after = q.cursor ? decodeCursor(q.cursor) : null;
    const all = [...this.review.values()]
      .filter((r) => statusMatches(r, q.status ?? 'pending'))
      .filter((r) => !q.reason || r.reasons.some((x) => x === q.reason || x.startsWith(`${q.reason}:`)))
      .filter((r) => (q.from === undefined || r.callAt >= q.from) && (q.to === undefined || r.callAt < q.to))
      .sort((a, b) => b.callAt - a.callAt || (a.requestId < b.requestId ? 1 : -1))
      .filter((r) => !after || r.callAt < after[0] || (r.callAt === after[0] && r.requestId < after[1]));
    const items = all.slice(0, limit);
    const last = items.at(-1);
    return { items, nextCursor: all.length > limit && last ? encodeCursor(last.callAt, last.requestId) : null };
  }

  async labelReview(requestId: string, labels: ReviewLabels) {
    const item = this.review.get(requestId);
    if (!item) return null;
    const updated = { ...item, labels: { ...labels } };
    this.review.set(requestId, updated);
    return updated;
  }

  async labeledReviews(q: { from: number; to: number; limit?: number }) {
    return [...this.review.values()]
      .filter((r) => r.labels !== null && r.callAt >= q.from && r.callAt < q.to)
      .sort((a, b) => b.callAt - a.callAt)
      .slice(0, q.limit ?? 100_000);
  }

  async addCounts(rows: readonly QualityCountRow[]) {
    for (const r of rows) {
      const t = minuteOf(r.t);
      const key = `${t}\u0000${r.model}\u0000${r.feature}`;
      let acc = this.counts.get(key);
      if (!acc) {
        acc = { t, model: r.model, feature: r.feature, ...emptyCounts() };
        this.counts.set(key, acc);
      }
      for (const f of COUNT_FIELDS) acc[f] += r[f];
    }
    bound(this.counts);
  }

  async queryCounts(q: CountQuery) {
    return foldCounts(this.counts.values(), q);
  }

  async eraseCalls(requestIds: readonly string[]) {
    const ids = new Set(requestIds);
    const out = { feedback: 0, evaluations: 0, reviewItems: 0 };
    for (const [k, v] of this.feedback) if (ids.has(v.requestId) && this.feedback.delete(k)) out.feedback++;
    for (const id of ids) {
      out.evaluations += this.evaluations.get(id)?.length ?? 0;
      this.evaluations.delete(id);
      if (this.review.delete(id)) out.reviewItems++;
    }
    return out;
  }

  async applyRetention(before: number) {
    let n = 0;
    for (const [k, v] of this.counts) if (v.t < before && this.counts.delete(k)) n++;
    for (const [k, v] of this.review) if (v.callAt < before && this.review.delete(k)) n++;
    for (const [k, v] of this.feedback) if (v.createdAt < before && this.feedback.delete(k)) n++;
    for (const [k, v] of this.evaluations) if ((v[0]?.createdAt ?? 0) < before && this.evaluations.delete(k)) n++;
    return n;
  }
}

function bound<K, V>(m: Map<K, V>): void {
  if (m.size <= MAX_MEMORY_ITEMS) return;
  const drop = m.size - MAX_MEMORY_ITEMS;
  let i = 0;
  for (const k of m.keys()) {
    if (i++ >= drop) break;
    m.delete(k);
  }
}
