// The quality store's per-call SQLite writes — evaluations, the per-minute counts and review-queue entries — as a
// write job (store/backend.ts `write`): they run on the store's writer thread, beside its call batches, not on the
// event loop that serves calls. SqliteQualityStore runs the same `run` on its own connection where there is no thread.
import type { Database, Statement } from 'better-sqlite3';
import { bareResult, isBareResult } from '../evaluators/redact.js';
import {
  feedbackWriter,
  fromReview,
  GET_REVIEW_SQL,
  PUT_REVIEW_SQL,
  type ReviewRow,
  toReview,
} from './sqlite-review.js';
import {
  type FeedbackRecord,
  mergeReview,
  minuteOf,
  type QualityCountRow,
  type ReviewEnqueue,
  type StoredEvaluation,
} from './types.js';

/**
 * One call's evaluations as the row that holds them all (request_id, created_at: the latest of them, evaluations: the
 * JSON array of their `EvaluationElement`s), serialised on the thread that hands it off. One row per call rather than
 * one per evaluator: three evaluations per call were three b-tree rows and three index entries, and the writes cost
 * 11 against 4.5 µs of the writer thread per call (512 calls a transaction, the same bytes).
 */
export type EvaluationValues = [requestId: string, createdAt: number, evaluations: string];

/**
 * A stored evaluation inside its call's row: [evaluator, verdict, score, created_at, model, feature, result]; or, when
 * the result is what withoutQuotes makes of one with no claims and no evidence (content capture off: most `unknown`
 * results), [evaluator, verdict, score, created_at, model, feature, durationMs or null, 1 if it had a claims array
 * else 0], the result rebuilt from these on reading (`bareResult`): the same object, for a fifth of the bytes and no
 * serialising of it.
 */
export type EvaluationElement =
  | [string, string, number, number, string, string | null, unknown]
  | [string, string, number, number, string, string | null, number | null, 0 | 1];

export const elementOf = (r: StoredEvaluation): EvaluationElement => {
  const x = r.result;
  return x.evaluator === r.evaluator && x.verdict === r.verdict && x.score === r.score && isBareResult(x)
    ? [r.evaluator, r.verdict, r.score, r.createdAt, r.model, r.feature, x.durationMs ?? null, x.claims ? 1 : 0]
    : [r.evaluator, r.verdict, r.score, r.createdAt, r.model, r.feature, x];
};

/** The element's stored evaluation. */
export function fromElement(requestId: string, e: EvaluationElement): StoredEvaluation {
  const verdict = e[1] as StoredEvaluation['verdict'];
  return {
    requestId,
    evaluator: e[0],
    verdict,
    score: e[2],
    result:
      e.length === 8
        ? bareResult(e[0], verdict, e[2], e[7] === 1, e[6] === null ? undefined : e[6])
        : (e[6] as StoredEvaluation['result']),
    createdAt: e[3],
    model: e[4],
    feature: e[5],
  };
}

/** Characters JSON.stringify may escape (quote, backslash, controls) or that need a closer look (anything past ASCII). */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\u007f-\uffff]/;
/** JSON.stringify of a string: printable ASCII without a quote or backslash as is, the rest by JSON.stringify. */
const str = (s: string): string => (NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`);
/** JSON.stringify of a number (non-finite: null). */
const num = (v: number): string => (Number.isFinite(v) ? String(v) : 'null');

/** The start of a bare element's JSON, up to its duration: the same for a batch's evaluations by one evaluator. */
interface Prefix {
  evaluator: string;
  verdict: string;
  score: number;
  createdAt: number;
  model: string;
  feature: string | null;
  text: string;
}

/** Prefixes a batch keeps (its evaluators and verdicts); past it the list starts again. */
const MAX_PREFIXES = 16;

/**
 * `[evaluator,verdict,score,created_at,model,feature,` of a bare element, from the batch's list when an element
 * before had the same six values (a batch's evaluations share their time, and mostly their model, feature and
 * verdict): one concatenation per element instead of fourteen, and no escape checks.
 */
function prefixOf(r: StoredEvaluation, prefixes: Prefix[]): string {
  for (const p of prefixes)
    if (
      p.evaluator === r.evaluator &&
      p.verdict === r.verdict &&
      p.score === r.score &&
      p.createdAt === r.createdAt &&
      p.model === r.model &&
      p.feature === r.feature
    )
      return p.text;
  const text = `[${str(r.evaluator)},${str(r.verdict)},${String(r.score)},${num(r.createdAt)},${str(r.model)},${r.feature === null ? 'null' : str(r.feature)},`;
  if (prefixes.length >= MAX_PREFIXES) prefixes.length = 0;
  prefixes.push({
    evaluator: r.evaluator,
    verdict: r.verdict,
    score: r.score,
    createdAt: r.createdAt,
    model: r.model,
    feature: r.feature,
    text,
  });
  return text;
}

/**
 * JSON.stringify(elementOf(r)), the same text, written directly for the bare form (content capture off: most results)
 * instead of building the element's array and walking it; any other element (or a field not of its declared type)
 * goes through JSON.stringify. `prefixes`: the batch's element starts (prefixOf).
 */
function elementJson(r: StoredEvaluation, prefixes: Prefix[]): string {
  const x = r.result;
  if (
    x.evaluator === r.evaluator &&
    x.verdict === r.verdict &&
    x.score === r.score &&
    typeof r.createdAt === 'number' &&
    typeof r.model === 'string' &&
    (r.feature === null || typeof r.feature === 'string') &&
    isBareResult(x)
  ) {
    // isBareResult: evaluator and verdict are strings, score and durationMs (when there) finite numbers
    const d = x.durationMs;
    return `${prefixOf(r, prefixes)}${d === undefined ? 'null' : String(d)}${x.claims ? ',1]' : ',0]'}`;
  }
  return JSON.stringify(elementOf(r));
}

/**
 * Evaluations as one row per call, in the order first seen; a later evaluation by the same evaluator of the same call
 * replaces the earlier one (as each row's INSERT OR REPLACE did when they were rows of their own). The evaluations
 * column is JSON.stringify of the call's elements, written element by element (elementJson).
 */
export function evaluationValues(rs: readonly StoredEvaluation[]): EvaluationValues[] {
  const out: EvaluationValues[] = [];
  const kept: StoredEvaluation[] = [];
  const prefixes: Prefix[] = [];
  let i = 0;
  while (i < rs.length) {
    const first = rs[i] as StoredEvaluation;
    const id = first.requestId;
    // A call's evaluations come together (the quality service stores them so): gather the run of this id.
    let j = i + 1;
    while (j < rs.length && (rs[j] as StoredEvaluation).requestId === id) j++;
    let createdAt = first.createdAt;
    kept.length = 0;
    for (let k = i; k < j; k++) {
      const r = rs[k] as StoredEvaluation;
      if (r.createdAt > createdAt) createdAt = r.createdAt;
      let at = -1;
      for (let e = 0; e < kept.length; e++)
        if ((kept[e] as StoredEvaluation).evaluator === r.evaluator) {
          at = e;
          break;
        }
      if (at === -1) kept.push(r);
      else kept[at] = r;
    }
    let json = '[';
    for (let e = 0; e < kept.length; e++)
      json += (e === 0 ? '' : ',') + elementJson(kept[e] as StoredEvaluation, prefixes);
    out.push([id, createdAt, `${json}]`]);
    i = j;
  }
  return out;
}

/** `stored` (a call's row) with `added` merged in: an evaluator's newer element replaces its older one. */
export function mergeElements(stored: string, added: string): string {
  const into = JSON.parse(stored) as EvaluationElement[];
  for (const e of JSON.parse(added) as EvaluationElement[]) {
    const at = into.findIndex((x) => x[0] === e[0]);
    if (at === -1) into.push(e);
    else into[at] = e;
  }
  return JSON.stringify(into);
}

export type QualityWrite =
  | { kind: 'evaluations'; rows: readonly EvaluationValues[] }
  | { kind: 'counts'; rows: readonly QualityCountRow[] }
  | { kind: 'review'; items: readonly ReviewEnqueue[]; now: number }
  /** One feedback: answered with the one it replaced (that source's earlier rating of the call), or null. */
  | { kind: 'feedback'; record: FeedbackRecord };

/** Writes one batch in the transaction open on the connection; a feedback's answer is the one it replaced. */
type Writes = (w: QualityWrite) => FeedbackRecord | null | undefined;
interface Statements {
  /** The batch's writes, in the transaction open on the connection (the writer thread's group). */
  write: Writes;
  /** The same in a transaction of their own. */
  run: Writes;
}

/** Prepared once per connection (the thread's, or the store's own). */
const prepared = new WeakMap<Database, Statements>();

function statements(db: Database): Statements {
  const had = prepared.get(db);
  if (had) return had;
  const addEvaluations: Statement = db.prepare(
    'INSERT INTO quality_evaluations (request_id, created_at, evaluations) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
  );
  const getEvaluations = db.prepare<[string], { created_at: number; evaluations: string }>(
    'SELECT created_at, evaluations FROM quality_evaluations WHERE request_id = ?',
  );
  const setEvaluations: Statement = db.prepare(
    'UPDATE quality_evaluations SET created_at = ?, evaluations = ? WHERE request_id = ?',
  );
  const addCount: Statement = db.prepare(
    `INSERT INTO quality_rollup_minute (t, model, feature, responses, refusals, evaluated, flagged, feedback_up, feedback_down)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (t, model, feature) DO UPDATE SET responses = responses + excluded.responses,
       refusals = refusals + excluded.refusals, evaluated = evaluated + excluded.evaluated,
       flagged = flagged + excluded.flagged, feedback_up = feedback_up + excluded.feedback_up,
       feedback_down = feedback_down + excluded.feedback_down`,
  );
  const evaluations = (rows: readonly EvaluationValues[]) => {
    // bound positionally: cheaper than named parameters, and this runs for every call evaluated
    for (const r of rows) {
      if (addEvaluations.run(...r).changes > 0) continue;
      // the call has evaluations already (evaluated again, or a migrated copy): merge by evaluator
      const had = getEvaluations.get(r[0]);
      if (had) setEvaluations.run(Math.max(had.created_at, r[1]), mergeElements(had.evaluations, r[2]), r[0]);
    }
  };
  const counts = (rows: readonly QualityCountRow[]) => {
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
  };
  const getReview = db.prepare<[string], ReviewRow>(GET_REVIEW_SQL);
  const putReview = db.prepare(PUT_REVIEW_SQL);
  // A call already queued (sampled, then thumbs-down) keeps one entry with every reason (mergeReview).
  const review = (items: readonly ReviewEnqueue[], now: number) => {
    for (const e of items) {
      const prev = getReview.get(e.requestId);
      putReview.run(fromReview(mergeReview(prev ? toReview(prev) : null, e, now)));
    }
  };
  const feedback = feedbackWriter(db);
  const write: Writes = (w) => {
    if (w.kind === 'review') review(w.items, w.now);
    else if (w.kind === 'evaluations') evaluations(w.rows);
    else if (w.kind === 'feedback') return feedback(w.record);
    else counts(w.rows);
    return undefined;
  };
  const tx = db.transaction(write);
  const s: Statements = { write, run: (w) => tx.immediate(w) };
  prepared.set(db, s);
  return s;
}

const empty = (w: QualityWrite): boolean =>
  w.kind === 'feedback' ? false : w.kind === 'review' ? w.items.length === 0 : w.rows.length === 0;

/** Writes one batch of evaluations, counts, review entries or a feedback on `db`, in one transaction. */
export function run(db: Database, w: QualityWrite): FeedbackRecord | null | undefined {
  return empty(w) ? undefined : statements(db).run(w);
}

/** As `run`, inside the transaction open on `db` (the writer thread's group, store/sqlite/writer-thread.ts). */
export function write(db: Database, w: QualityWrite): FeedbackRecord | null | undefined {
  return empty(w) ? undefined : statements(db).write(w);
}
