// QualityStore: feedback, evaluation results, the review queue and per-minute quality counts. One interface, an
// in-memory implementation (tests, no database) here, a SQLite one (sqlite-store.ts) in the ledger's database, and
// a PostgreSQL one (postgres-store.ts) that every replica on the database shares.
import { HOUR_MS, MINUTE_MS } from '../time.js';
import type { EvaluationResult, Verdict } from './evaluators/types.js';

export type Rating = 'up' | 'down';

export interface FeedbackRecord {
  requestId: string;
  /** Who gave it (an app, a widget, a reviewer); feedback is idempotent per (requestId, source). */
  source: string;
  rating: Rating;
  comment: string | null;
  labels: string[];
  createdAt: number;
  updatedAt: number;
  model: string;
  provider: string;
  feature: string | null;
}

export interface StoredEvaluation {
  requestId: string;
  evaluator: string;
  verdict: Verdict;
  score: number;
  result: EvaluationResult;
  createdAt: number;
  model: string;
  feature: string | null;
}

/** Why a call is in the review queue. `flag:<evaluator>` when a detector failed it. */
export type ReviewReason = 'sample' | 'thumbs_down' | 'refusal' | 'manual' | `flag:${string}`;

export interface ReviewLabels {
  /** Did the answer hallucinate? null = not judged. */
  hallucination: boolean | null;
  /** Was the refusal verdict (refused or not) right? null = not judged. */
  refusalCorrect: boolean | null;
  notes: string | null;
  reviewer: string | null;
  labeledAt: number;
}

export interface ReviewItem {
  requestId: string;
  reasons: ReviewReason[];
  /** When the call happened (epoch ms); the queue is ordered and filtered by it. */
  callAt: number;
  createdAt: number;
  model: string;
  provider: string;
  feature: string | null;
  refusal: boolean;
  /** Evaluators whose verdict was `fail`. */
  flaggedBy: string[];
  rating: Rating | null;
  labels: ReviewLabels | null;
}

/** What to add to (or merge into) a review item. */
export interface ReviewEnqueue {
  requestId: string;
  reason: ReviewReason;
  callAt: number;
  model: string;
  provider: string;
  feature: string | null;
  refusal?: boolean;
  flaggedBy?: string[];
  rating?: Rating;
}

export interface QualityCounts {
  responses: number;
  refusals: number;
  /** Calls with at least one decisive (pass/fail) hallucination verdict. */
  evaluated: number;
  /** Calls some evaluator failed. */
  flagged: number;
  feedbackUp: number;
  feedbackDown: number;
}

export interface QualityCountRow extends QualityCounts {
  /** Bucket start (epoch ms); 0 for totals. */
  t: number;
  model: string;
  /** '' when the call had no feature. */
  feature: string;
}

export type QualityGroupBy = 'model' | 'feature';

export interface CountQuery {
  from: number;
  to: number;
  /** `total`: one row per group for the whole range. */
  step: 'minute' | 'hour' | 'total';
  /** Split by one dimension, or by several (the alert signals split by model and feature at once). */
  groupBy?: QualityGroupBy | readonly QualityGroupBy[];
}

/** True when a count query splits rows by `dim`. */
export function groupsBy(q: Pick<CountQuery, 'groupBy'>, dim: QualityGroupBy): boolean {
  return q.groupBy === dim || (Array.isArray(q.groupBy) && q.groupBy.includes(dim));
}

export interface ReviewQuery {
  status?: 'pending' | 'labeled' | 'all';
  reason?: string;
  from?: number;
  to?: number;
  limit?: number;
  cursor?: string;
}

export interface QualityStore {
  readonly kind: 'memory' | 'sqlite' | 'postgres';
  migrate(): Promise<void>;
  /** Inserts or updates feedback for (requestId, source); says whether it was new and what it replaced. */
  putFeedback(f: FeedbackRecord): Promise<{ created: boolean; previous: FeedbackRecord | null }>;
  feedbackFor(requestId: string): Promise<FeedbackRecord[]>;
  putEvaluations(rs: readonly StoredEvaluation[]): Promise<void>;
  evaluationsFor(requestId: string): Promise<StoredEvaluation[]>;
  /** Adds the call to the review queue, or merges the reason (and flags, rating) into its item. */
  enqueueReview(items: readonly ReviewEnqueue[]): Promise<void>;
  getReview(requestId: string): Promise<ReviewItem | null>;
  listReview(q: ReviewQuery): Promise<{ items: ReviewItem[]; nextCursor: string | null }>;
  labelReview(
    requestId: string,
    labels: Omit<ReviewLabels, 'labeledAt'> & { labeledAt: number },
  ): Promise<ReviewItem | null>;
  /** Labelled review items with calls in [from, to) — for rates and detector precision (at most `limit`, newest first). */
  labeledReviews(q: { from: number; to: number; limit?: number }): Promise<ReviewItem[]>;
  /** Adds (possibly negative) counts to the minute buckets. */
  addCounts(rows: readonly QualityCountRow[]): Promise<void>;
  queryCounts(q: CountQuery): Promise<QualityCountRow[]>;
  /** Deletes everything about calls before `before` (epoch ms); returns rows deleted. */
  applyRetention(before: number): Promise<number>;
  close?(): Promise<void>;
}

export { HOUR_MS, MINUTE_MS };
export const COUNT_FIELDS = ['responses', 'refusals', 'evaluated', 'flagged', 'feedbackUp', 'feedbackDown'] as const;

export const minuteOf = (t: number): number => Math.floor(t / MINUTE_MS) * MINUTE_MS;

export function emptyCounts(): QualityCounts {
  return { responses: 0, refusals: 0, evaluated: 0, flagged: 0, feedbackUp: 0, feedbackDown: 0 };
}

/** Folds minute rows into the query's step and grouping (shared by both stores). */
export function foldCounts(rows: Iterable<QualityCountRow>, q: CountQuery): QualityCountRow[] {
  const out = new Map<string, QualityCountRow>();
  for (const r of rows) {
    if (r.t < q.from || r.t >= q.to) continue;
    const t = q.step === 'total' ? 0 : q.step === 'hour' ? Math.floor(r.t / HOUR_MS) * HOUR_MS : r.t;
    const model = groupsBy(q, 'model') ? r.model : '';
    const feature = groupsBy(q, 'feature') ? r.feature : '';
    const key = `${t}\u0000${model}\u0000${feature}`;
    let acc = out.get(key);
    if (!acc) {
      acc = { t, model, feature, ...emptyCounts() };
      out.set(key, acc);
    }
    for (const f of COUNT_FIELDS) acc[f] += r[f];
  }
  return [...out.values()].sort(
    (a, b) => a.t - b.t || a.model.localeCompare(b.model) || a.feature.localeCompare(b.feature),
  );
}

export function encodeCursor(callAt: number, requestId: string): string {
  return Buffer.from(JSON.stringify([callAt, requestId])).toString('base64url');
}

export function decodeCursor(c: string): [number, string] | null {
  try {
    const v = JSON.parse(Buffer.from(c, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && typeof v[0] === 'number' && typeof v[1] === 'string') return [v[0], v[1]];
  } catch {
    /* fall through */
  }
  return null;
}

export function mergeReview(existing: ReviewItem | null, e: ReviewEnqueue, now: number): ReviewItem {
  const item: ReviewItem = existing
    ? { ...existing, reasons: [...existing.reasons], flaggedBy: [...existing.flaggedBy] }
    : {
        requestId: e.requestId,
        reasons: [],
        callAt: e.callAt,
        createdAt: now,
        model: e.model,
        provider: e.provider,
        feature: e.feature,
        refusal: false,
        flaggedBy: [],
        rating: null,
        labels: null,
      };
  if (!item.reasons.includes(e.reason)) item.reasons.push(e.reason);
  for (const f of e.flaggedBy ?? []) if (!item.flaggedBy.includes(f)) item.flaggedBy.push(f);
  if (e.refusal) item.refusal = true;
  if (e.rating) item.rating = e.rating;
  return item;
}

const MAX_MEMORY_ITEMS = 200_000;

/** The in-memory QualityStore: bounded (oldest entries go first), for tests and runs without a database. */
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

  async applyRetention(before: number) {
    let n = 0;
    for (const [k, v] of this.counts) if (v.t < before && this.counts.delete(k)) n++;
    for (const [k, v] of this.review) if (v.callAt < before && this.review.delete(k)) n++;
    for (const [k, v] of this.feedback) if (v.createdAt < before && this.feedback.delete(k)) n++;
    for (const [k, v] of this.evaluations) if ((v[0]?.createdAt ?? 0) < before && this.evaluations.delete(k)) n++;
    return n;
  }
}

export function statusMatches(r: ReviewItem, status: 'pending' | 'labeled' | 'all'): boolean {
  return status === 'all' || (status === 'labeled') === (r.labels !== null);
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
