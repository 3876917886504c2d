// The review queue's and feedback's SQLite rows: their shapes, their conversions (to and from a ReviewItem, to a
// FeedbackRecord), and the statements that read and write one, shared by SqliteQualityStore and the write job that
// enqueues reviews and stores feedback on the writer thread.
import type { Database } from 'better-sqlite3';
import type { FeedbackRecord, Rating, ReviewItem, ReviewReason } from './types.js';

export interface ReviewRow {
  request_id: string;
  reasons: string;
  call_at: number;
  created_at: number;
  model: string;
  provider: string;
  feature: string | null;
  refusal: number;
  flagged_by: string;
  rating: string | null;
  labeled: number;
  hallucination: number | null;
  refusal_correct: number | null;
  notes: string | null;
  reviewer: string | null;
  labeled_at: number | null;
}

export const boolOrNull = (v: number | null): boolean | null => (v === null ? null : v !== 0);
export const intOrNull = (v: boolean | null): number | null => (v === null ? null : v ? 1 : 0);

export const toReview = (r: ReviewRow): ReviewItem => ({
  requestId: r.request_id,
  reasons: JSON.parse(r.reasons) as ReviewReason[],
  callAt: r.call_at,
  createdAt: r.created_at,
  model: r.model,
  provider: r.provider,
  feature: r.feature,
  refusal: r.refusal !== 0,
  flaggedBy: JSON.parse(r.flagged_by) as string[],
  rating: r.rating as Rating | null,
  labels: r.labeled
    ? {
        hallucination: boolOrNull(r.hallucination),
        refusalCorrect: boolOrNull(r.refusal_correct),
        notes: r.notes,
        reviewer: r.reviewer,
        labeledAt: r.labeled_at ?? 0,
      }
    : null,
});

export const fromReview = (i: ReviewItem) => ({
  request_id: i.requestId,
  reasons: JSON.stringify(i.reasons),
  call_at: i.callAt,
  created_at: i.createdAt,
  model: i.model,
  provider: i.provider,
  feature: i.feature,
  refusal: i.refusal ? 1 : 0,
  flagged_by: JSON.stringify(i.flaggedBy),
  rating: i.rating,
  labeled: i.labels ? 1 : 0,
  hallucination: intOrNull(i.labels?.hallucination ?? null),
  refusal_correct: intOrNull(i.labels?.refusalCorrect ?? null),
  notes: i.labels?.notes ?? null,
  reviewer: i.labels?.reviewer ?? null,
  labeled_at: i.labels?.labeledAt ?? null,
});

export const GET_REVIEW_SQL = 'SELECT * FROM quality_review_queue WHERE request_id = ?';
export const PUT_REVIEW_SQL = `INSERT OR REPLACE INTO quality_review_queue (request_id, reasons, call_at, created_at, model, provider, feature, refusal,
         flagged_by, rating, labeled, hallucination, refusal_correct, notes, reviewer, labeled_at)
       VALUES (@request_id, @reasons, @call_at, @created_at, @model, @provider, @feature, @refusal, @flagged_by, @rating,
         @labeled, @hallucination, @refusal_correct, @notes, @reviewer, @labeled_at)`;

export interface FeedbackRow {
  request_id: string;
  source: string;
  rating: string;
  comment: string | null;
  labels: string;
  created_at: number;
  updated_at: number;
  model: string;
  provider: string;
  feature: string | null;
}

export const toFeedback = (r: FeedbackRow): FeedbackRecord => ({
  requestId: r.request_id,
  source: r.source,
  rating: r.rating as Rating,
  comment: r.comment,
  labels: JSON.parse(r.labels) as string[],
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  model: r.model,
  provider: r.provider,
  feature: r.feature,
});

/**
 * Stores one feedback (a source's rating of a call replaces that source's earlier one, keeping its created_at) in the
 * transaction open on `db`; returns the one it replaced, or null.
 */
export function feedbackWriter(db: Database): (f: FeedbackRecord) => FeedbackRecord | null {
  const get = db.prepare<[string, string], FeedbackRow>(
    'SELECT * FROM quality_feedback WHERE request_id = ? AND source = ?',
  );
  const upsert = db.prepare(
    `INSERT INTO quality_feedback (request_id, source, rating, comment, labels, created_at, updated_at, model, provider, feature)
     VALUES (@request_id, @source, @rating, @comment, @labels, @created_at, @updated_at, @model, @provider, @feature)
     ON CONFLICT (request_id, source) DO UPDATE SET rating = excluded.rating, comment = excluded.comment,
       labels = excluded.labels, updated_at = excluded.updated_at`,
  );
  return (f) => {
    const prev = get.get(f.requestId, f.source);
    upsert.run({
      request_id: f.requestId,
      source: f.source,
      rating: f.rating,
      comment: f.comment,
      labels: JSON.stringify(f.labels),
      created_at: f.createdAt,
      updated_at: f.updatedAt,
      model: f.model,
      provider: f.provider,
      feature: f.feature,
    });
    return prev ? toFeedback(prev) : null;
  };
}
