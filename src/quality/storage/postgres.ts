// QualityStore on PostgreSQL, shared by every replica: feedback, evaluations, the review queue and the per-minute
// quality counts live in the store's database (migration namespace `quality`), with the same semantics as
// sqlite.ts. Each method is one statement per batch (arrays through `unnest`), and every merge happens inside
// the statement, so replicas writing at once lose nothing: counts add (`x = q.x + EXCLUDED.x`), review items merge
// their reasons and flags in the upsert, and feedback is created exactly once per (request_id, source).
import pg from 'pg';
import type { PgMigration, PostgresBackend } from '../../store/index.js';
import { isConnectFailure, markCommitInDoubt } from '../../store/transient.js';
import { HOUR_MS } from '../../time.js';
import type { EvaluationResult, Verdict } from '../evaluators/types.js';
import {
  type CountQuery,
  decodeCursor,
  encodeCursor,
  type FeedbackRecord,
  groupsBy,
  mergeReview,
  minuteOf,
  QUALITY_NAMESPACE,
  type QualityCountRow,
  type QualityStore,
  type Rating,
  type ReviewEnqueue,
  type ReviewItem,
  type ReviewLabels,
  type ReviewQuery,
  type ReviewReason,
  type StoredEvaluation,
} from './types.js';

// Times are epoch ms: `t` (a minute start, whole by construction) is bigint as the spend tables' `minute`; the
// others come from clocks and call starts and are double precision, as the ledger's `started_at`.
// Keys compare bytewise (COLLATE "C"), as SQLite and the listing's cursor do.
export const QUALITY_MIGRATIONS: readonly PgMigration[] = [
  {
    version: 1,
    name: 'quality feedback, evaluations, review queue, per-minute counts',
    up: `
CREATE TABLE quality_feedback (
  request_id text COLLATE "C" NOT NULL, source text COLLATE "C" NOT NULL, rating text NOT NULL, comment text,
  labels text[] NOT NULL, created_at double precision NOT NULL, updated_at double precision NOT NULL,
  model text NOT NULL, provider text NOT NULL, feature text,
  PRIMARY KEY (request_id, source));
CREATE INDEX quality_feedback_created ON quality_feedback (created_at);
CREATE TABLE quality_evaluations (
  request_id text COLLATE "C" NOT NULL, evaluator text COLLATE "C" NOT NULL, verdict text NOT NULL,
  score double precision NOT NULL, result text NOT NULL, created_at double precision NOT NULL, model text NOT NULL,
  feature text,
  PRIMARY KEY (request_id, evaluator));
CREATE INDEX quality_evaluations_created ON quality_evaluations (created_at);
CREATE TABLE quality_review_queue (
  request_id text COLLATE "C" PRIMARY KEY, reasons text[] NOT NULL, call_at double precision NOT NULL,
  created_at double precision NOT NULL, model text NOT NULL, provider text NOT NULL, feature text,
  refusal boolean NOT NULL, flagged_by text[] NOT NULL, rating text, labeled boolean NOT NULL DEFAULT false,
  hallucination boolean, refusal_correct boolean, notes text, reviewer text, labeled_at double precision);
CREATE INDEX quality_review_queue_order ON quality_review_queue (labeled, call_at, request_id);
CREATE INDEX quality_review_queue_call_at ON quality_review_queue (call_at);
CREATE TABLE quality_rollup_minute (
  t bigint NOT NULL, model text COLLATE "C" NOT NULL, feature text COLLATE "C" NOT NULL,
  responses bigint NOT NULL DEFAULT 0, refusals bigint NOT NULL DEFAULT 0, evaluated bigint NOT NULL DEFAULT 0,
  flagged bigint NOT NULL DEFAULT 0, feedback_up bigint NOT NULL DEFAULT 0, feedback_down bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (t, model, feature)) WITH (fillfactor = 80);
`,
  },
];

// bigint (the counts, their sums cast back to int8) as JavaScript numbers: every value stays below 2^53
const TYPES = {
  getTypeParser(oid: number, format?: string) {
    if (oid === 20) return (v: string) => Number(v);
    return (pg.types.getTypeParser as (oid: number, format?: string) => unknown)(oid, format);
  },
} as unknown as pg.QueryConfig['types'];

/** PostgreSQL text cannot hold NUL; a stray one (in a comment, a model name) must not fail the write. */
const txt = <T extends string | null>(v: T): T => (v?.includes('\u0000') ? v.replace(/\u0000/g, '\uFFFD') : v) as T;

/** SQLSTATEs after which a statement can simply run again (deadlock, serialization failure). */
const RETRYABLE = new Set(['40P01', '40001']);

const FEEDBACK_COLUMNS =
  'request_id, source, rating, comment, labels, created_at, updated_at, model, provider, feature';

const INSERT_FEEDBACK = `
  INSERT INTO quality_feedback (${FEEDBACK_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
  ON CONFLICT (request_id, source) DO NOTHING RETURNING request_id`;

// The row as it was before this update, from a subquery that locks it: under READ COMMITTED the lock waits for a
// concurrent writer and then reads its version, so `old` is exactly what this update replaced.
const UPDATE_FEEDBACK = `
  UPDATE quality_feedback f SET rating = $3, comment = $4, labels = $5, updated_at = $6
  FROM (SELECT ${FEEDBACK_COLUMNS} FROM quality_feedback WHERE request_id = $1 AND source = $2 FOR UPDATE) old
  WHERE f.request_id = old.request_id AND f.source = old.source
  RETURNING ${FEEDBACK_COLUMNS.split(', ')
    .map((c) => `old.${c}`)
    .join(', ')}`;

const UPSERT_EVALUATIONS = `
  INSERT INTO quality_evaluations (request_id, evaluator, verdict, score, result, created_at, model, feature)
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::float8[], $5::text[], $6::float8[], $7::text[],
    $8::text[])
  ON CONFLICT (request_id, evaluator) DO UPDATE SET verdict = EXCLUDED.verdict, score = EXCLUDED.score,
    result = EXCLUDED.result, created_at = EXCLUDED.created_at, model = EXCLUDED.model, feature = EXCLUDED.feature`;

/** A text[] from a JSON array of strings, in its order. */
const fromJson = (j: string) =>
  `ARRAY(SELECT x FROM json_array_elements_text(${j}::json) WITH ORDINALITY AS n(x, i) ORDER BY i)`;

/** Appends the elements of `b` that `a` lacks, in their order (mergeReview's rule, in SQL). */
const appendNew = (a: string, b: string) =>
  `${a} || ARRAY(SELECT x FROM unnest(${b}) WITH ORDINALITY AS n(x, i) WHERE x <> ALL (${a}) ORDER BY i)`;

// A new item is inserted as the batch merged it; an existing one keeps its call, creation and labels and takes the
// new reasons and flags (appended), refusal (or'ed) and rating (when one is given) — mergeReview, in one upsert.
const UPSERT_REVIEW = `
  INSERT INTO quality_review_queue AS q (request_id, reasons, call_at, created_at, model, provider, feature, refusal,
    flagged_by, rating)
  SELECT u.request_id, ${fromJson('u.reasons')}, u.call_at, u.created_at, u.model, u.provider, u.feature, u.refusal,
    ${fromJson('u.flagged_by')}, u.rating
  FROM unnest($1::text[], $2::text[], $3::float8[], $4::float8[], $5::text[], $6::text[], $7::text[], $8::bool[],
    $9::text[], $10::text[]) AS u(request_id, reasons, call_at, created_at, model, provider, feature, refusal,
    flagged_by, rating)
  ON CONFLICT (request_id) DO UPDATE SET reasons = ${appendNew('q.reasons', 'EXCLUDED.reasons')},
    flagged_by = ${appendNew('q.flagged_by', 'EXCLUDED.flagged_by')}, refusal = q.refusal OR EXCLUDED.refusal,
    rating = coalesce(EXCLUDED.rating, q.rating)`;

const COUNT_COLUMNS = ['responses', 'refusals', 'evaluated', 'flagged', 'feedback_up', 'feedback_down'];
const UPSERT_COUNTS = `
  INSERT INTO quality_rollup_minute AS q (t, model, feature, ${COUNT_COLUMNS.join(', ')})
  SELECT * FROM unnest($1::int8[], $2::text[], $3::text[], $4::int8[], $5::int8[], $6::int8[], $7::int8[],
    $8::int8[], $9::int8[])
  ON CONFLICT (t, model, feature) DO UPDATE SET ${COUNT_COLUMNS.map((c) => `${c} = q.${c} + EXCLUDED.${c}`).join(', ')}`;

const RETENTION = `
  WITH c AS (DELETE FROM quality_rollup_minute WHERE t < ceil($1::float8)::int8 RETURNING 1),
    r AS (DELETE FROM quality_review_queue WHERE call_at < $1 RETURNING 1),
    f AS (DELETE FROM quality_feedback WHERE created_at < $1 RETURNING 1),
    e AS (DELETE FROM quality_evaluations WHERE created_at < $1 RETURNING 1)
  SELECT ((SELECT count(*) FROM c) + (SELECT count(*) FROM r) + (SELECT count(*) FROM f)
    + (SELECT count(*) FROM e))::int8 AS n`;

interface FeedbackRow {
  request_id: string;
  source: string;
  rating: string;
  comment: string | null;
  labels: string[];
  created_at: number;
  updated_at: number;
  model: string;
  provider: string;
  feature: string | null;
}

interface EvaluationRow {
  request_id: string;
  evaluator: string;
  verdict: string;
  score: number;
  result: string;
  created_at: number;
  model: string;
  feature: string | null;
}

interface ReviewRow {
  request_id: string;
  reasons: string[];
  call_at: number;
  created_at: number;
  model: string;
  provider: string;
  feature: string | null;
  refusal: boolean;
  flagged_by: string[];
  rating: string | null;
  labeled: boolean;
  hallucination: boolean | null;
  refusal_correct: boolean | null;
  notes: string | null;
  reviewer: string | null;
  labeled_at: number | null;
}

const toFeedback = (r: FeedbackRow): FeedbackRecord => ({
  requestId: r.request_id,
  source: r.source,
  rating: r.rating as Rating,
  comment: r.comment,
  labels: r.labels,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  model: r.model,
  provider: r.provider,
  feature: r.feature,
});

const toEvaluation = (r: EvaluationRow): StoredEvaluation => ({
  requestId: r.request_id,
  evaluator: r.evaluator,
  verdict: r.verdict as Verdict,
  score: r.score,
  result: JSON.parse(r.result) as EvaluationResult,
  createdAt: r.created_at,
  model: r.model,
  feature: r.feature,
});

const toReview = (r: ReviewRow): ReviewItem => ({
  requestId: r.request_id,
  reasons: r.reasons as ReviewReason[],
  callAt: r.call_at,
  createdAt: r.created_at,
  model: r.model,
  provider: r.provider,
  feature: r.feature,
  refusal: r.refusal,
  flaggedBy: r.flagged_by,
  rating: r.rating as Rating | null,
  labels: r.labeled
    ? {
        hallucination: r.hallucination,
        refusalCorrect: r.refusal_correct,
        notes: r.notes,
        reviewer: r.reviewer,
        labeledAt: r.labeled_at ?? 0,
      }
    : null,
});

/** Batch rows keyed and sorted by key: an upsert may not touch one row twice, and replicas lock rows in one order. */
function sortedValues<T>(m: Map<string, T>): T[] {
  return [...m.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([, v]) => v);
}

/** Per database (the app store's backend): its `quality` migrations, registered once however many quality stores sit on it. */
const registered = new WeakMap<PostgresBackend, Promise<void>>();

/**
 * The quality module's store on the app's PostgreSQL. `await migrate()` once (it registers the `quality`
 * namespace); the quality module does so itself when the app's store is PostgreSQL.
 */
export class PostgresQualityStore implements QualityStore {
  readonly kind = 'postgres' as const;

  constructor(
    private readonly backend: PostgresBackend,
    private readonly now: () => number = Date.now,
  ) {}

  async migrate(): Promise<void> {
    let done = registered.get(this.backend);
    if (!done) {
      done = this.backend.migrations.register(QUALITY_NAMESPACE, QUALITY_MIGRATIONS);
      registered.set(this.backend, done);
    }
    await done;
  }

  private async rows<R extends pg.QueryResultRow>(text: string, values: unknown[]): Promise<R[]> {
    return (await this.backend.pool.query<R>({ text, values, types: TYPES })).rows;
  }

  /** A single-statement write, run again after a deadlock or serialization failure. */
  private async write(text: string, values: unknown[]): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.backend.pool.query({ text, values });
        return;
      } catch (err) {
        const code = err instanceof pg.DatabaseError ? err.code : undefined;
        // Neither answered by the server nor a connection that could not be had: the connection was lost while the
        // statement ran, which may have applied it; the counts it adds must not be added again (the recorder's
        // quality lane tries again only a write certainly not applied).
        if (code === undefined && !isConnectFailure(err)) throw markCommitInDoubt(err);
        if (attempt >= 4 || !code || !RETRYABLE.has(code)) throw err;
      }
    }
  }

  async putFeedback(f: FeedbackRecord) {
    const labels = f.labels.map(txt);
    // Insert if new (a concurrent insert of the same key waits, then finds the row); otherwise update it and return
    // the row it replaced. A row deleted (retention) between the two is inserted on the next turn.
    for (let attempt = 0; ; attempt++) {
      const inserted = await this.rows(INSERT_FEEDBACK, [
        txt(f.requestId),
        txt(f.source),
        f.rating,
        txt(f.comment),
        labels,
        f.createdAt,
        f.updatedAt,
        txt(f.model),
        txt(f.provider),
        txt(f.feature),
      ]);
      if (inserted.length > 0) return { created: true, previous: null };
      const old = await this.rows<FeedbackRow>(UPDATE_FEEDBACK, [
        txt(f.requestId),
        txt(f.source),
        f.rating,
        txt(f.comment),
        labels,
        f.updatedAt,
      ]);
      if (old[0]) return { created: false, previous: toFeedback(old[0]) };
      if (attempt >= 4) throw new Error(`quality feedback for ${f.requestId} kept disappearing while being written`);
    }
  }

  async feedbackFor(requestId: string) {
    const rows = await this.rows<FeedbackRow>(
      `SELECT ${FEEDBACK_COLUMNS} FROM quality_feedback WHERE request_id = $1 ORDER BY created_at, source`,
      [requestId],
    );
    return rows.map(toFeedback);
  }

  async putEvaluations(rs: readonly StoredEvaluation[]) {
    if (rs.length === 0) return;
    // the last result for a (request, evaluator) wins, as successive INSERT OR REPLACE would leave it
    const byKey = new Map<string, StoredEvaluation>();
    for (const r of rs) byKey.set(`${r.requestId}\u0000${r.evaluator}`, r);
    const list = sortedValues(byKey);
    await this.write(UPSERT_EVALUATIONS, [
      list.map((r) => txt(r.requestId)),
      list.map((r) => txt(r.evaluator)),
      list.map((r) => r.verdict),
      list.map((r) => r.score),
      list.map((r) => JSON.stringify(r.result)),
      list.map((r) => r.createdAt),
      list.map((r) => txt(r.model)),
      list.map((r) => txt(r.feature)),
    ]);
  }

  async evaluationsFor(requestId: string) {
    const rows = await this.rows<EvaluationRow>(
      'SELECT * FROM quality_evaluations WHERE request_id = $1 ORDER BY created_at, evaluator',
      [requestId],
    );
    return rows.map(toEvaluation);
  }

  async enqueueReview(items: readonly ReviewEnqueue[]) {
    if (items.length === 0) return;
    // Several entries for one call in a batch merge here first; the upsert merges the result into the stored item
    // (appending reasons and flags is associative, so this is the same as merging them one by one).
    const now = this.now();
    const byId = new Map<string, ReviewItem>();
    for (const e of items) {
      const id = txt(e.requestId);
      byId.set(id, mergeReview(byId.get(id) ?? null, { ...e, requestId: id }, now));
    }
    const list = sortedValues(byId);
    await this.write(UPSERT_REVIEW, [
      list.map((i) => i.requestId),
      list.map((i) => JSON.stringify(i.reasons.map(txt))),
      list.map((i) => i.callAt),
      list.map((i) => i.createdAt),
      list.map((i) => txt(i.model)),
      list.map((i) => txt(i.provider)),
      list.map((i) => txt(i.feature)),
      list.map((i) => i.refusal),
      list.map((i) => JSON.stringify(i.flaggedBy.map(txt))),
      list.map((i) => i.rating),
    ]);
  }

  async getReview(requestId: string) {
    const rows = await this.rows<ReviewRow>('SELECT * FROM quality_review_queue WHERE request_id = $1', [requestId]);
    return rows[0] ? toReview(rows[0]) : null;
  }

  async listReview(q: ReviewQuery) {
    const limit = Math.min(Math.max(q.limit ?? 50, 1), 500);
    const where: string[] = [];
    const args: unknown[] = [];
    const arg = (v: unknown) => {
      args.push(v);
      return `$${args.length}`;
    };
    const status = q.status ?? 'pending';
    if (status !== 'all') where.push(status === 'labeled' ? 'labeled' : 'NOT labeled');
    if (q.reason) {
      const r = arg(q.reason);
      const prefix = arg(`${q.reason}:`);
      where.push(`EXISTS (SELECT 1 FROM unnest(reasons) x WHERE x = ${r} OR left(x, length(${prefix})) = ${prefix})`);
    }
    if (q.from !== undefined) where.push(`call_at >= ${arg(q.from)}`);
    if (q.to !== undefined) where.push(`call_at < ${arg(q.to)}`);
    const after = q.cursor ? decodeCursor(q.cursor) : null;
    if (after) where.push(`(call_at, request_id) < (${arg(after[0])}::float8, ${arg(after[1])}::text)`);
    const sql = `SELECT * FROM quality_review_queue ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY call_at DESC, request_id DESC LIMIT ${arg(limit + 1)}`;
    const rows = await this.rows<ReviewRow>(sql, args);
    const items = rows.slice(0, limit).map(toReview);
    const last = items.at(-1);
    return { items, nextCursor: rows.length > limit && last ? encodeCursor(last.callAt, last.requestId) : null };
  }

  async labelReview(requestId: string, labels: ReviewLabels) {
    const rows = await this.rows<ReviewRow>(
      `UPDATE quality_review_queue SET labeled = true, hallucination = $2, refusal_correct = $3, notes = $4,
         reviewer = $5, labeled_at = $6
       WHERE request_id = $1 RETURNING *`,
      [
        requestId,
        labels.hallucination,
        labels.refusalCorrect,
        txt(labels.notes),
        txt(labels.reviewer),
        labels.labeledAt,
      ],
    );
    return rows[0] ? toReview(rows[0]) : null;
  }

  async labeledReviews(q: { from: number; to: number; limit?: number }) {
    const rows = await this.rows<ReviewRow>(
      `SELECT * FROM quality_review_queue WHERE labeled AND call_at >= $1 AND call_at < $2
       ORDER BY call_at DESC LIMIT $3`,
      [q.from, q.to, q.limit ?? 100_000],
    );
    return rows.map(toReview);
  }

  async addCounts(rows: readonly QualityCountRow[]) {
    if (rows.length === 0) return;
    const byKey = new Map<string, QualityCountRow>();
    for (const r of rows) {
      const t = minuteOf(r.t);
      const model = txt(r.model);
      const feature = txt(r.feature);
      const key = `${t}\u0000${model}\u0000${feature}`;
      const acc = byKey.get(key);
      if (!acc) byKey.set(key, { ...r, t, model, feature });
      else {
        acc.responses += r.responses;
        acc.refusals += r.refusals;
        acc.evaluated += r.evaluated;
        acc.flagged += r.flagged;
        acc.feedbackUp += r.feedbackUp;
        acc.feedbackDown += r.feedbackDown;
      }
    }
    const list = sortedValues(byKey);
    await this.write(UPSERT_COUNTS, [
      list.map((r) => r.t),
      list.map((r) => r.model),
      list.map((r) => r.feature),
      list.map((r) => r.responses),
      list.map((r) => r.refusals),
      list.map((r) => r.evaluated),
      list.map((r) => r.flagged),
      list.map((r) => r.feedbackUp),
      list.map((r) => r.feedbackDown),
    ]);
  }

  async queryCounts(q: CountQuery) {
    const model = groupsBy(q, 'model') ? 'model' : "''::text";
    const feature = groupsBy(q, 'feature') ? 'feature' : "''::text";
    const bucket = q.step === 'total' ? '0::int8' : q.step === 'hour' ? `(t / ${HOUR_MS}) * ${HOUR_MS}` : 't';
    // t is a whole number of ms: comparing with ceil() keeps fractional bounds exact and the index usable
    return this.rows<QualityCountRow>(
      `SELECT ${bucket} AS t, ${model} AS model, ${feature} AS feature, sum(responses)::int8 AS responses,
         sum(refusals)::int8 AS refusals, sum(evaluated)::int8 AS evaluated, sum(flagged)::int8 AS flagged,
         sum(feedback_up)::int8 AS "feedbackUp", sum(feedback_down)::int8 AS "feedbackDown"
       FROM quality_rollup_minute WHERE t >= ceil($1::float8)::int8 AND t < ceil($2::float8)::int8
       GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
      [q.from, q.to],
    );
  }

  async applyRetention(before: number) {
    const rows = await this.rows<{ n: number }>(RETENTION, [before]);
    return rows[0]?.n ?? 0;
  }

  async eraseCalls(requestIds: readonly string[]) {
    const rows = await this.rows<{ f: number; e: number; r: number }>(
      `WITH f AS (DELETE FROM quality_feedback WHERE request_id = ANY($1::text[]) RETURNING 1),
         e AS (DELETE FROM quality_evaluations WHERE request_id = ANY($1::text[]) RETURNING 1),
         r AS (DELETE FROM quality_review_queue WHERE request_id = ANY($1::text[]) RETURNING 1)
       SELECT (SELECT count(*) FROM f)::int8 AS f, (SELECT count(*) FROM e)::int8 AS e, (SELECT count(*) FROM r)::int8 AS r`,
      [requestIds],
    );
    const r = rows[0];
    return { feedback: Number(r?.f ?? 0), evaluations: Number(r?.e ?? 0), reviewItems: Number(r?.r ?? 0) };
  }
}
