// QualityStore on SQLite (better-sqlite3), in the app's database: its tables are the `quality` migration
// namespace, versioned in that database's schema_migrations as on PostgreSQL.
import type { Database, Statement } from 'better-sqlite3';
import type { SqliteBackend, SqliteMigration } from '../../store/index.js';
import { applyMigrations } from '../../store/sqlite/migrations.js';
import { HOUR_MS } from '../../time.js';
import type { EvaluationResult, Verdict } from '../evaluators/types.js';
import {
  type FeedbackRow,
  fromReview,
  GET_REVIEW_SQL,
  PUT_REVIEW_SQL,
  type ReviewRow,
  toFeedback,
  toReview,
} from './sqlite-review.js';
import {
  type EvaluationElement,
  evaluationValues,
  fromElement,
  type QualityWrite,
  run as runWrite,
} from './sqlite-write-job.js';
import {
  type CountQuery,
  decodeCursor,
  encodeCursor,
  type FeedbackRecord,
  groupsBy,
  QUALITY_NAMESPACE,
  type QualityCountRow,
  type QualityStore,
  type ReviewEnqueue,
  type ReviewLabels,
  type ReviewQuery,
  type StoredEvaluation,
} from './types.js';

export const QUALITY_SCHEMA = `
CREATE TABLE IF NOT EXISTS quality_feedback (
  request_id TEXT NOT NULL,
  source TEXT NOT NULL,
  rating TEXT NOT NULL,
  comment TEXT,
  labels TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  model TEXT NOT NULL,
  provider TEXT NOT NULL,
  feature TEXT,
  PRIMARY KEY (request_id, source)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS quality_feedback_created ON quality_feedback (created_at);
CREATE TABLE IF NOT EXISTS quality_evaluations (
  request_id TEXT NOT NULL,
  evaluator TEXT NOT NULL,
  verdict TEXT NOT NULL,
  score REAL NOT NULL,
  result TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  model TEXT NOT NULL,
  feature TEXT,
  PRIMARY KEY (request_id, evaluator)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS quality_evaluations_created ON quality_evaluations (created_at);
CREATE TABLE IF NOT EXISTS quality_review_queue (
  request_id TEXT PRIMARY KEY,
  reasons TEXT NOT NULL,
  call_at INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  model TEXT NOT NULL,
  provider TEXT NOT NULL,
  feature TEXT,
  refusal INTEGER NOT NULL,
  flagged_by TEXT NOT NULL,
  rating TEXT,
  labeled INTEGER NOT NULL DEFAULT 0,
  hallucination INTEGER,
  refusal_correct INTEGER,
  notes TEXT,
  reviewer TEXT,
  labeled_at INTEGER
);
CREATE INDEX IF NOT EXISTS quality_review_queue_order ON quality_review_queue (labeled, call_at, request_id);
CREATE INDEX IF NOT EXISTS quality_review_queue_call_at ON quality_review_queue (call_at);
CREATE TABLE IF NOT EXISTS quality_rollup_minute (
  t INTEGER NOT NULL,
  model TEXT NOT NULL,
  feature TEXT NOT NULL,
  responses INTEGER NOT NULL DEFAULT 0,
  refusals INTEGER NOT NULL DEFAULT 0,
  evaluated INTEGER NOT NULL DEFAULT 0,
  flagged INTEGER NOT NULL DEFAULT 0,
  feedback_up INTEGER NOT NULL DEFAULT 0,
  feedback_down INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (t, model, feature)
) WITHOUT ROWID;
`;

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

/** A call's stored evaluations, ordered as they were when each was a row: by created_at, then evaluator. */
function evaluationsOf(requestId: string, json: string): StoredEvaluation[] {
  return (JSON.parse(json) as EvaluationElement[])
    .map((e) => fromElement(requestId, e))
    .sort((a, b) => a.createdAt - b.createdAt || (a.evaluator < b.evaluator ? -1 : a.evaluator > b.evaluator ? 1 : 0));
}

/**
 * Version 2: a call's evaluations in one row (request_id, created_at: the latest, evaluations: a JSON array of
 * [evaluator, verdict, score, created_at, model, feature, result]) instead of a row per evaluator: the per-call writes
 * were three rows and three index entries for the three default evaluators. The rows version 1 kept are carried over
 * (in JavaScript, so numbers keep every digit).
 */
function evaluationsPerCall(db: Database): void {
  db.exec('ALTER TABLE quality_evaluations RENAME TO quality_evaluations_v1');
  db.exec(`CREATE TABLE quality_evaluations (
  request_id TEXT NOT NULL PRIMARY KEY,
  created_at INTEGER NOT NULL,
  evaluations TEXT NOT NULL
) WITHOUT ROWID`);
  const put = db.prepare('INSERT INTO quality_evaluations (request_id, created_at, evaluations) VALUES (?, ?, ?)');
  // a page of calls at a time (a statement cannot write while another reads)
  const ids = db
    .prepare<[string, number], { request_id: string }>(
      'SELECT DISTINCT request_id FROM quality_evaluations_v1 WHERE request_id > ? ORDER BY request_id LIMIT ?',
    )
    .pluck();
  const rows = db.prepare<[string, string], EvaluationRow>(
    `SELECT * FROM quality_evaluations_v1 WHERE request_id >= ? AND request_id <= ?
     ORDER BY request_id, created_at, evaluator`,
  );
  for (let after = ''; ; ) {
    const page = ids.all(after, 1000) as unknown as string[];
    if (page.length === 0) break;
    after = page[page.length - 1] as string;
    for (const row of evaluationValues(rows.all(page[0] as string, after).map(toEvaluation))) put.run(row);
  }
  db.exec('DROP TABLE quality_evaluations_v1');
  db.exec('CREATE INDEX quality_evaluations_created ON quality_evaluations (created_at)');
}

/** The per-call writes' job module (store/backend.ts `write`). */
const WRITE_JOB = new URL('./sqlite-write-job.js', import.meta.url);

/** The `quality` namespace's SQLite migrations; never edit a shipped one, add a new version. */
export const SQLITE_QUALITY_MIGRATIONS: readonly SqliteMigration[] = [
  { version: 1, name: 'feedback, evaluations and their rollups', up: QUALITY_SCHEMA },
  { version: 2, name: 'evaluations: one row per call', up: evaluationsPerCall },
];

export class SqliteQualityStore implements QualityStore {
  readonly kind = 'sqlite' as const;
  private s: ReturnType<SqliteQualityStore['prepare']> | null = null;
  private readonly countStatements = new Map<string, Statement>();

  /**
   * On the app's store, `register` (its backend's migrations, bound to the `quality` namespace) adds the schema to
   * the store's own migrations. Either way `migrate()` applies what is pending to this database, versioned in its
   * schema_migrations: a database an older llmscope made (the tables there, with or without their version recorded)
   * is brought up to date in place.
   */
  constructor(
    private readonly db: Database,
    private readonly now: () => number = Date.now,
    private register?: (migrations: readonly SqliteMigration[]) => void,
    /** The store backend's `write` (its writer thread): the per-call writes run there; without it, on `db`. */
    private readonly write?: SqliteBackend['write'],
  ) {}

  /**
   * Evaluations, counts, review entries and feedback: on the writer thread when there is one (sqlite-write-job.ts), so
   * the event loop never waits for SQLite's write lock behind the thread's transaction; else here.
   */
  private async writeJob(w: QualityWrite): Promise<FeedbackRecord | null | undefined> {
    this.st(); // the tables exist before the thread's first statement
    if (this.write) return this.write(WRITE_JOB, w);
    return runWrite(this.db, w);
  }

  async migrate(): Promise<void> {
    this.migrateNow();
  }

  private migrateNow() {
    this.register?.(SQLITE_QUALITY_MIGRATIONS);
    this.register = undefined;
    applyMigrations(this.db, QUALITY_NAMESPACE, SQLITE_QUALITY_MIGRATIONS);
    this.s = this.prepare();
    return this.s;
  }

  private st() {
    return this.s ?? this.migrateNow();
  }

  private prepare() {
    const db = this.db;
    const getReview = db.prepare<[string], ReviewRow>(GET_REVIEW_SQL);
    const putReview = db.prepare(PUT_REVIEW_SQL);
    return {
      feedbackFor: db.prepare<[string], FeedbackRow>(
        'SELECT * FROM quality_feedback WHERE request_id = ? ORDER BY created_at, source',
      ),
      evaluationsFor: db.prepare<[string], { evaluations: string }>(
        'SELECT evaluations FROM quality_evaluations WHERE request_id = ?',
      ),
      getReview,
      putReview,
      labeled: db.prepare<[number, number, number], ReviewRow>(
        'SELECT * FROM quality_review_queue WHERE labeled = 1 AND call_at >= ? AND call_at < ? ORDER BY call_at DESC LIMIT ?',
      ),
      eraseTx: db.transaction((ids: string) => {
        const of = (table: string) =>
          db.prepare(`DELETE FROM ${table} WHERE request_id IN (SELECT value FROM json_each(?))`).run(ids).changes;
        // counted by evaluation, as when each was a row
        const evaluations = (
          db
            .prepare(
              `SELECT COALESCE(SUM(json_array_length(evaluations)), 0) AS n FROM quality_evaluations
               WHERE request_id IN (SELECT value FROM json_each(?))`,
            )
            .get(ids) as { n: number }
        ).n;
        of('quality_evaluations');
        return {
          feedback: of('quality_feedback'),
          evaluations,
          reviewItems: of('quality_review_queue'),
        };
      }),
      retentionTx: db.transaction((before: number) => {
        let n = 0;
        n += db.prepare('DELETE FROM quality_rollup_minute WHERE t < ?').run(before).changes;
        n += db.prepare('DELETE FROM quality_review_queue WHERE call_at < ?').run(before).changes;
        n += db.prepare('DELETE FROM quality_feedback WHERE created_at < ?').run(before).changes;
        // a call's evaluations go together, once the latest of them is older than `before`; counted by evaluation
        n += (
          db
            .prepare(
              'SELECT COALESCE(SUM(json_array_length(evaluations)), 0) AS n FROM quality_evaluations WHERE created_at < ?',
            )
            .get(before) as { n: number }
        ).n;
        db.prepare('DELETE FROM quality_evaluations WHERE created_at < ?').run(before);
        return n;
      }),
    };
  }

  async putFeedback(f: FeedbackRecord) {
    const previous = (await this.writeJob({ kind: 'feedback', record: f })) ?? null;
    return { created: previous === null, previous };
  }

  async feedbackFor(requestId: string) {
    return this.st().feedbackFor.all(requestId).map(toFeedback);
  }

  async putEvaluations(rs: readonly StoredEvaluation[]) {
    if (rs.length) await this.writeJob({ kind: 'evaluations', rows: evaluationValues(rs) });
  }

  async evaluationsFor(requestId: string) {
    const row = this.st().evaluationsFor.get(requestId);
    return row ? evaluationsOf(requestId, row.evaluations) : [];
  }

  async enqueueReview(items: readonly ReviewEnqueue[]) {
    if (items.length) await this.writeJob({ kind: 'review', items, now: this.now() });
  }

  async getReview(requestId: string) {
    const r = this.st().getReview.get(requestId);
    return r ? toReview(r) : null;
  }

  async listReview(q: ReviewQuery) {
    this.st();
    const limit = Math.min(Math.max(q.limit ?? 50, 1), 500);
    const where: string[] = [];
    const args: Record<string, unknown> = { limit: limit + 1 };
    const status = q.status ?? 'pending';
    if (status !== 'all') where.push(status === 'labeled' ? 'labeled = 1' : 'labeled = 0');
    if (q.reason) {
      where.push(`(instr(reasons, '"' || @reason || '"') > 0 OR instr(reasons, '"' || @reason || ':') > 0)`);
      args.reason = q.reason;
    }
    if (q.from !== undefined) {
      where.push('call_at >= @from');
      args.from = q.from;
    }
    if (q.to !== undefined) {
      where.push('call_at < @to');
      args.to = q.to;
    }
    const after = q.cursor ? decodeCursor(q.cursor) : null;
    if (after) {
      where.push('(call_at < @cat OR (call_at = @cat AND request_id < @cid))');
      args.cat = after[0];
      args.cid = after[1];
    }
    const sql = `SELECT * FROM quality_review_queue ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY call_at DESC, request_id DESC LIMIT @limit`;
    const rows = this.db.prepare<[Record<string, unknown>], ReviewRow>(sql).all(args);
    const items = rows.slice(0, limit).map(toReview);
    const last = items.at(-1);
    return { items, nextCursor: rows.length > limit && last ? encodeCursor(last.callAt, last.requestId) : null };
  }

  async labelReview(requestId: string, labels: ReviewLabels) {
    const s = this.st();
    const prev = s.getReview.get(requestId);
    if (!prev) return null;
    const item = { ...toReview(prev), labels: { ...labels } };
    s.putReview.run(fromReview(item));
    return item;
  }

  async labeledReviews(q: { from: number; to: number; limit?: number }) {
    return this.st()
      .labeled.all(q.from, q.to, q.limit ?? 100_000)
      .map(toReview);
  }

  async addCounts(rows: readonly QualityCountRow[]) {
    if (rows.length) await this.writeJob({ kind: 'counts', rows });
  }

  async queryCounts(q: CountQuery) {
    this.st();
    const model = groupsBy(q, 'model') ? 'model' : "''";
    const feature = groupsBy(q, 'feature') ? 'feature' : "''";
    const key = `${q.step}:${model}:${feature}`;
    let stmt = this.countStatements.get(key);
    if (!stmt) {
      const bucket = q.step === 'total' ? '0' : q.step === 'hour' ? `(t / ${HOUR_MS}) * ${HOUR_MS}` : 't';
      stmt = this.db.prepare(
        `SELECT ${bucket} AS t, ${model} AS model, ${feature} AS feature, SUM(responses) AS responses,
           SUM(refusals) AS refusals, SUM(evaluated) AS evaluated, SUM(flagged) AS flagged,
           SUM(feedback_up) AS feedbackUp, SUM(feedback_down) AS feedbackDown
         FROM quality_rollup_minute WHERE t >= ? AND t < ? GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
      );
      this.countStatements.set(key, stmt);
    }
    return stmt.all(q.from, q.to) as QualityCountRow[];
  }

  async applyRetention(before: number) {
    return this.st().retentionTx(before);
  }

  async eraseCalls(requestIds: readonly string[]) {
    return this.st().eraseTx(JSON.stringify(requestIds));
  }
}
