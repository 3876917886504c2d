// The review queue's SQLite row: its shape, its conversion to and from a ReviewItem, and the statements that read and
// write one, shared by SqliteQualityStore and the write job that enqueues reviews on the writer thread.
import type { Rating, ReviewItem, ReviewReason } from './types.js';

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
