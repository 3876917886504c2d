// QualityStore: feedback, evaluation results, the review queue and per-minute quality counts. The interface and
// its shapes, and the folding, merging and cursor rules every backend shares; the backends sit beside it:
// memory.ts (tests, runs without a database), sqlite.ts (the app's SQLite database) and postgres.ts (the app's
// PostgreSQL, shared by every replica).
import { HOUR_MS, MINUTE_MS } from '../../time.js';
import type { EvaluationResult, Verdict } from '../evaluators/types.js';

/** The migration namespace of the quality tables, on SQLite and PostgreSQL alike. */
export const QUALITY_NAMESPACE = 'quality';

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

export interface ErasedQuality {
  feedback: number;
  evaluations: number;
  reviewItems: number;
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
  /** Deletes the feedback, evaluations and review items of these calls (a user's data erased); counts by kind. */
  eraseCalls(requestIds: readonly string[]): Promise<ErasedQuality>;
  close?(): Promise<void>;
}

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

export function statusMatches(r: ReviewItem, status: 'pending' | 'labeled' | 'all'): boolean {
  return status === 'all' || (status === 'labeled') === (r.labels !== null);
}
