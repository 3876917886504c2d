// The quality store's per-call SQLite writes — evaluations, the per-minute counts and review-queue entries — as a
// write job (store/backend.ts `write`): they run on the store's writer thread, beside its call batches, not on the
// event loop that serves calls. SqliteQualityStore runs the same `run` on its own connection where there is no thread.
import type { Database, Statement } from 'better-sqlite3';
import { fromReview, GET_REVIEW_SQL, PUT_REVIEW_SQL, type ReviewRow, toReview } from './sqlite-review.js';
import { mergeReview, minuteOf, type QualityCountRow, type ReviewEnqueue, type StoredEvaluation } from './types.js';

/**
 * An evaluation row as its column values (request_id, evaluator, verdict, score, result as JSON, created_at, model,
 * feature): the writer thread receives strings and numbers, not the result's nested objects, whose structured clone
 * cost more than the JSON.stringify that replaces it (evaluationValues).
 */
export type EvaluationValues = [string, string, string, number, string, number, string, string | null];

/** A stored evaluation's column values, its result serialised here (on the thread that hands it off). */
export function evaluationValues(r: StoredEvaluation): EvaluationValues {
  return [r.requestId, r.evaluator, r.verdict, r.score, JSON.stringify(r.result), r.createdAt, r.model, r.feature];
}

export type QualityWrite =
  | { kind: 'evaluations'; rows: readonly EvaluationValues[] }
  | { kind: 'counts'; rows: readonly QualityCountRow[] }
  | { kind: 'review'; items: readonly ReviewEnqueue[]; now: number };

interface Statements {
  evaluations: (rows: readonly EvaluationValues[]) => void;
  counts: (rows: readonly QualityCountRow[]) => void;
  review: (items: readonly ReviewEnqueue[], now: number) => void;
}

/** Prepared once per connection (the thread's, or the store's own). */
const prepared = new WeakMap<Database, Statements>();

function statements(db: Database): Statements {
  const had = prepared.get(db);
  if (had) return had;
  const putEvaluation: Statement = db.prepare(
    `INSERT OR REPLACE INTO quality_evaluations (request_id, evaluator, verdict, score, result, created_at, model, feature)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const addCount: Statement = db.prepare(
    `INSERT INTO quality_rollup_minute (t, model, feature, responses, refusals, evaluated, flagged, feedback_up, feedback_down)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (t, model, feature) DO UPDATE SET responses = responses + excluded.responses,
       refusals = refusals + excluded.refusals, evaluated = evaluated + excluded.evaluated,
       flagged = flagged + excluded.flagged, feedback_up = feedback_up + excluded.feedback_up,
       feedback_down = feedback_down + excluded.feedback_down`,
  );
  const evaluations = db.transaction((rows: readonly EvaluationValues[]) => {
    // bound positionally: cheaper than named parameters, and this runs for every evaluation
    for (const r of rows) putEvaluation.run(r);
  });
  const counts = db.transaction((rows: readonly QualityCountRow[]) => {
    for (const r of rows)
      addCount.run(
        minuteOf(r.t),
        r.model,
        r.feature,
        r.responses,
        r.refusals,
        r.evaluated,
        r.flagged,
        r.feedbackUp,
        r.feedbackDown,
      );
  });
  const getReview = db.prepare<[string], ReviewRow>(GET_REVIEW_SQL);
  const putReview = db.prepare(PUT_REVIEW_SQL);
  // A call already queued (sampled, then thumbs-down) keeps one entry with every reason (mergeReview).
  const review = db.transaction((items: readonly ReviewEnqueue[], now: number) => {
    for (const e of items) {
      const prev = getReview.get(e.requestId);
      putReview.run(fromReview(mergeReview(prev ? toReview(prev) : null, e, now)));
    }
  });
  const s: Statements = {
    evaluations: (rows) => evaluations.immediate(rows),
    counts: (rows) => counts.immediate(rows),
    review: (items, now) => review.immediate(items, now),
  };
  prepared.set(db, s);
  return s;
}

/** Writes one batch of evaluations, counts or review entries on `db`, in one transaction. */
export function run(db: Database, w: QualityWrite): void {
  if (w.kind === 'review') {
    if (w.items.length > 0) statements(db).review(w.items, w.now);
  } else if (w.rows.length === 0) return;
  else if (w.kind === 'evaluations') statements(db).evaluations(w.rows);
  else statements(db).counts(w.rows);
}
