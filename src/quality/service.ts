// The quality service: what the module's enrichers, sink and routes do, independent of HTTP.
//  - capture: picks (deterministically) which evaluators run on a call and keeps its text for them;
//  - onCalls: counts responses and refusals, queues the review sample and refusals, hands texts to the runner;
//  - evaluate: runs the chosen evaluators off the request path, stores results, counts verdicts, queues flags;
//  - feedback, review labels, summary and series for the API.
import type { Logger } from 'pino';
import type { Clock } from '../app-context.js';
import type { Enricher, LlmCall, Sink } from '../calls/index.js';
import { LlmscopeError } from '../errors.js';
import { withoutRanges } from '../providers/openai-compatible/index.js';
import type { Store } from '../store/store.js';
import { isRetryableAdd } from '../store/transient.js';
import type { Metrics } from '../telemetry/metrics.js';
import type { Evaluation, Feedback, ReviewItem as WireReviewItem } from '../wire/index.js';
import { EVAL_FEATURE } from './chat-client.js';
import type { QualityConfig } from './config.js';
import { withoutQuotes } from './evaluators/redact.js';
import { type EvaluationInput, type EvaluationResult, type Evaluator, errorResult } from './evaluators/types.js';
import type { KnowledgeBase } from './knowledge.js';
import type { BoundedRunner } from './runner.js';
import { sampled } from './sampling.js';
import {
  emptyCounts,
  type FeedbackRecord,
  type QualityCountRow,
  type QualityGroupBy,
  type QualityStore,
  type Rating,
  type ReviewEnqueue,
  type ReviewItem,
  type ReviewQuery,
  type StoredEvaluation,
} from './storage/types.js';
import { type QualityStats, type SummaryGroup, summarize } from './summary.js';

/** Where the capture enricher leaves the text for the quality sink (call.internal.hooks). */
export const TEXT_HOOK = 'quality.text';

export interface CapturedText {
  prompt: string;
  output: string;
  evaluators: readonly string[];
  /**
   * The parts cut to their limit before evaluation (`quality.maxChars` for the answer, `quality.maxContextChars` for
   * the prompt), counted in llmscope_quality_truncated_total{part}; absent when neither was.
   */
  cut?: readonly ('answer' | 'prompt')[];
}

/** The longest prompt text evaluated: `quality.maxContextChars`, else four times `quality.maxChars`. */
export function maxContextChars(cfg: QualityConfig): number {
  return cfg.maxContextChars ?? cfg.maxChars * 4;
}

/** How long a sink batch whose counts could not be written is tried again (as the store lane: server.ts STORE_RETRY_MS). */
const QUALITY_RETRY_MS = 5 * 60_000;
/** Calls per evaluation job: the runner's unit of concurrency, and of the writes of their results. */
const EVALUATION_BATCH = 32;

/** Longest stretch, in ms, evaluations hold the event loop before they yield to it (between two evaluators). */
export const EVALUATION_SLICE_MS = 1;

/** The hallucination evaluators a call may be sampled for, in run order. */
export const EVALUATOR_NAMES = ['grounding', 'attribution', 'consistency', 'judge', 'nli'] as const;
export type EvaluatorName = (typeof EVALUATOR_NAMES)[number];

/**
 * The enricher keeping the text of calls sampled for `names` in `call.internal.hooks` for the quality sink; it must
 * run before the content enricher clears the text. It reads only the config and the call, so it is part of the
 * module's per-call part (per-call.ts), which runs in each gateway worker with `serve --workers`.
 */
export function textCaptureEnricher(cfg: QualityConfig, names: readonly EvaluatorName[]): Enricher {
  // With every rate at 1 (the default) every call is sampled for every evaluator: one list for all of them.
  const everyCall = names.every((n) => cfg.sampling[n] >= 1) ? Object.freeze([...names]) : null;
  return {
    name: 'quality-capture',
    enrich: (call) => {
      if (names.length === 0 || call.endpoint === 'embeddings' || call.status !== 'ok') return;
      if (call.feature === EVAL_FEATURE || call.refusal) return;
      const chosen = everyCall ?? names.filter((n) => sampled(call.requestId, cfg.sampling[n], n));
      if (chosen.length === 0) return;
      const output = call.internal?.outputText ?? call.content?.output ?? null;
      if (!output || !call.internal) return;
      const { promptText, assistantRanges } = call.internal;
      const prompt =
        (promptText !== null && assistantRanges ? withoutRanges(promptText, assistantRanges) : promptText) ??
        call.content?.input ??
        '';
      call.internal.hooks ??= {};
      const promptMax = maxContextChars(cfg);
      const captured: CapturedText = {
        prompt: prompt.length > promptMax ? prompt.slice(0, promptMax) : prompt,
        output: output.length > cfg.maxChars ? output.slice(0, cfg.maxChars) : output,
        evaluators: chosen,
      };
      if (output.length > cfg.maxChars || prompt.length > promptMax)
        captured.cut = [
          ...(output.length > cfg.maxChars ? (['answer'] as const) : []),
          ...(prompt.length > promptMax ? (['prompt'] as const) : []),
        ];
      call.internal.hooks[TEXT_HOOK] = captured;
    },
  };
}

export interface QualityServiceDeps {
  store: QualityStore;
  calls: Store;
  metrics: Metrics;
  clock: Clock;
  logger: Logger;
  config: QualityConfig;
  runner: BoundedRunner;
  /**
   * The runner for evaluators that call out (the judge, consistency re-asking the upstream), and which those are for a
   * call. Without it they run in the batch's job like the others; with it, a call's local checks are stored with its
   * batch and its remote ones run here and are stored on their own, so a slow or unreachable judge holds only its
   * own queue (full: dropped and counted), never the checks that need no network.
   */
  remoteRunner?: BoundedRunner;
  isRemote?: (name: EvaluatorName, call: LlmCall) => boolean;
  knowledge?: KnowledgeBase;
  /**
   * `telemetry.captureContent`: when false (the default), stored evaluations keep no quotes of the prompt, the
   * answer or the sources — ids, scores, statuses and counts only.
   */
  captureContent?: boolean;
  /** Redacts what people write about a call (feedback comments, review notes) before it is kept (`privacy.redact`). */
  redact?: (text: string) => string;
  /** The evaluator for a name, for this call (consistency may fetch samples for the call's model). */
  evaluatorFor: (name: EvaluatorName, call: LlmCall) => Evaluator | null;
  /**
   * Writes the calls still on their way to the store now (the recorder's flush, bounded): feedback that follows an
   * answer within storage.flushInterval names a call not stored yet.
   */
  flushCalls?: () => Promise<unknown>;
}

export interface FeedbackBody {
  request_id: string;
  rating: Rating;
  comment?: string | null;
  labels?: string[];
  source?: string;
}

export interface LabelBody {
  request_id: string;
  hallucination?: boolean | null;
  refusal_correct?: boolean | null;
  notes?: string | null;
  reviewer?: string | null;
}

const iso = (t: number): string => new Date(t).toISOString();

export function evaluationToWire(e: StoredEvaluation): Evaluation {
  return {
    evaluator: e.evaluator,
    verdict: e.verdict,
    score: e.score,
    explanation: e.result.explanation,
    evidence: e.result.evidence,
    claims: e.result.claims ?? [],
    duration_ms: e.result.durationMs === undefined ? null : Math.round(e.result.durationMs * 1000) / 1000,
    created_at: iso(e.createdAt),
  };
}

export function feedbackToWire(f: FeedbackRecord): Feedback {
  return {
    request_id: f.requestId,
    source: f.source,
    rating: f.rating,
    comment: f.comment,
    labels: f.labels,
    created_at: iso(f.createdAt),
    updated_at: iso(f.updatedAt),
  };
}

export function reviewToWire(r: ReviewItem): WireReviewItem {
  return {
    request_id: r.requestId,
    reasons: r.reasons,
    call_at: iso(r.callAt),
    queued_at: iso(r.createdAt),
    model: r.model,
    provider: r.provider,
    feature: r.feature,
    refusal: r.refusal,
    flagged_by: r.flaggedBy,
    rating: r.rating,
    labels: r.labels
      ? {
          hallucination: r.labels.hallucination,
          refusal_correct: r.labels.refusalCorrect,
          notes: r.labels.notes,
          reviewer: r.labels.reviewer,
          labeled_at: iso(r.labels.labeledAt),
        }
      : null,
  };
}

const countRow = (t: number, model: string, feature: string | null): QualityCountRow => ({
  t,
  model,
  feature: feature ?? '',
  ...emptyCounts(),
});

/** A batch's count rows, one per minute, model and feature. */
class CountRows {
  private readonly rows = new Map<string, QualityCountRow>();
  private lastMinute = Number.NaN;
  private last: QualityCountRow | null = null;

  /** The row of a call's minute, model and feature, added at zero if new. */
  of(call: LlmCall): QualityCountRow {
    const minute = Math.floor(call.startedAt / 60_000);
    // Calls in a batch mostly share the row of the call before: found without building its key.
    const last = this.last;
    if (
      last !== null &&
      this.lastMinute === minute &&
      last.model === call.model &&
      last.feature === (call.feature ?? '')
    )
      return last;
    const key = `${minute}\u0000${call.model}\u0000${call.feature ?? ''}`;
    let row = this.rows.get(key);
    if (!row) {
      row = countRow(call.startedAt, call.model, call.feature);
      this.rows.set(key, row);
    }
    this.lastMinute = minute;
    this.last = row;
    return row;
  }

  values(): QualityCountRow[] {
    return [...this.rows.values()];
  }
}

/** A call's entry in the review queue. */
const reviewOf = (call: LlmCall, reason: 'refusal' | 'sample', refusal: boolean): ReviewEnqueue => ({
  requestId: call.requestId,
  callAt: call.startedAt,
  model: call.model,
  provider: call.provider,
  feature: call.feature,
  reason,
  refusal,
});

export class QualityService {
  private lastWarn = 0;
  /** When the evaluations now holding the event loop resumed (performance.now()); see runEvaluators. */
  private sliceStartedAt = 0;

  constructor(private readonly d: QualityServiceDeps) {}

  private warn(event: string, err: unknown): void {
    const t = Date.now();
    if (t - this.lastWarn < 10_000) return;
    this.lastWarn = t;
    this.d.logger.warn({ event, err: (err as Error)?.message ?? String(err) }, `quality: ${event}`);
  }

  private names(): EvaluatorName[] {
    const s = this.d.config.sampling;
    return EVALUATOR_NAMES.filter((n) => s[n] > 0 && (n !== 'nli' || this.d.config.evaluators.nli !== undefined));
  }

  /** The enricher keeping the text of calls sampled for evaluation (before the content enricher clears it). */
  captureEnricher(): Enricher {
    return textCaptureEnricher(this.d.config, this.names());
  }

  /** The recorder sink: counts, review sampling, and evaluation hand-off. Never waits for evaluations. */
  sink(): Sink {
    // lingers like the store: its writes (counts, review queue) cost per batch, not per call
    return {
      name: 'quality',
      lossless: true,
      maxBatch: 512,
      lingerMs: 50,
      // The database restarting or out of reach, a full disk: the batch's counts and review items are written again
      // (as the store writes its calls) for up to 5 minutes, each part once (onCalls), so /api/quality counts the
      // calls served meanwhile once it is back. A part whose write may have been applied is given up and counted.
      retry: { retryForMs: QUALITY_RETRY_MS, retryable: isRetryableAdd },
      write: (calls) => this.onCalls(calls),
    };
  }

  /** Per sink batch being written: which of its two writes are done (a batch tried again writes only the others). */
  private readonly written = new WeakMap<readonly LlmCall[], { counts: boolean; reviews: boolean }>();

  async onCalls(calls: readonly LlmCall[]): Promise<void> {
    const counts = new CountRows();
    const reviews: ReviewEnqueue[] = [];
    const toEvaluate: { call: LlmCall; text: CapturedText }[] = [];
    const rate = this.d.config.reviewRate;
    for (const call of calls) {
      if (call.feature === EVAL_FEATURE || call.endpoint === 'embeddings') continue;
      const text = call.internal?.hooks?.[TEXT_HOOK] as CapturedText | undefined;
      if (text && call.internal?.hooks) delete call.internal.hooks[TEXT_HOOK];
      if (call.status !== 'ok') continue;
      const row = counts.of(call);
      row.responses++;
      // Review entries are built only for the calls that get one (refusals, and the sampled share).
      if (call.refusal) {
        row.refusals++;
        reviews.push(reviewOf(call, 'refusal', true));
      }
      if (sampled(call.requestId, rate, 'review')) reviews.push(reviewOf(call, 'sample', call.refusal));
      if (text) {
        toEvaluate.push({ call, text });
        if (text.cut) for (const part of text.cut) this.d.metrics.qualityTruncated.inc({ part });
      }
    }
    this.submitEvaluations(toEvaluate);
    const done = this.written.get(calls) ?? { counts: false, reviews: false };
    this.written.set(calls, done);
    // Posted together, so the SQLite writer thread takes them in one transaction (b73f6a6), not one each.
    const [counted, queued] = await Promise.allSettled([
      done.counts
        ? null
        : this.d.store.addCounts(counts.values()).then(() => {
            done.counts = true;
          }),
      done.reviews
        ? null
        : this.d.store.enqueueReview(reviews).then(() => {
            done.reviews = true;
          }),
    ]);
    if (counted?.status === 'rejected') throw counted.reason;
    if (queued?.status === 'rejected') throw queued.reason;
  }

  /**
   * Hands a sink batch's calls to the runner in jobs of EVALUATION_BATCH calls (its unit of concurrency and of
   * yielding), and stores their results together once the batch's last job is done: a transaction per table per sink
   * batch (up to 512 calls) rather than per job of 32. Storing 3 evaluations per call in one write of 512 calls
   * rather than 16 of 32 cost 17.5 instead of 26.7 µs of CPU per call (SQLite writer thread and its hand-off).
   * A job the runner refuses (queue full) is counted there. When the runner shuts down and drops the batch's jobs not
   * started yet (counted as abandoned), the last of its jobs still running stores what the batch has, so finished
   * evaluations are not lost with them.
   */
  private submitEvaluations(items: readonly { call: LlmCall; text: CapturedText }[]): void {
    const done: { call: LlmCall; results: EvaluationResult[] }[] = [];
    let submitted = 0;
    let started = 0;
    let finished = 0;
    for (let i = 0; i < items.length; i += EVALUATION_BATCH) {
      const batch = items.slice(i, i + EVALUATION_BATCH);
      const job = async (): Promise<void> => {
        started++;
        try {
          for (const { call, text } of batch) {
            const remote = this.remoteOf(call, text.evaluators);
            const local = remote ? text.evaluators.filter((n) => !remote.includes(n)) : text.evaluators;
            const r = this.runEvaluators(call, text, local);
            const results = r instanceof Promise ? await r : r;
            done.push({ call, results });
            if (remote) this.submitRemote(call, text, remote, results);
          }
        } finally {
          finished++;
          // None of the batch's jobs running, and none left to run: every job was submitted before any ran (the
          // runner starts each on a later turn), or the runner's queue is empty, so those not started were dropped.
          // (A job the runner has just taken but not yet started also reads as dropped: then this stores what the
          // batch has so far, and that job stores its own; an extra write, nothing lost.)
          if (finished === started && (started === submitted || this.d.runner.pending === 0)) {
            const results = done.splice(0);
            if (results.length > 0) await this.storeResults(results);
          }
        }
      };
      submitted++;
      if (!this.d.runner.submit(job, batch.length)) submitted--;
    }
  }

  /** The evaluators of `names` that call out, when a remote runner takes them; null when none. */
  private remoteOf(call: LlmCall, names: readonly string[]): string[] | null {
    const { remoteRunner, isRemote } = this.d;
    if (!remoteRunner || !isRemote) return null;
    const out = names.filter((n) => isRemote(n as EvaluatorName, call));
    return out.length > 0 ? out : null;
  }

  /**
   * Runs a call's remote evaluators on the remote runner and stores their results by themselves; `prior` (the call's
   * local results) keeps the call counted once as evaluated and once as flagged. A full queue drops them (counted).
   */
  private submitRemote(
    call: LlmCall,
    text: CapturedText,
    names: readonly string[],
    prior: readonly EvaluationResult[],
  ): void {
    (this.d.remoteRunner as BoundedRunner).submit(async () => {
      const r = this.runEvaluators(call, text, names);
      const results = r instanceof Promise ? await r : r;
      await this.storeResults([{ call, results, prior }]);
    });
  }

  /** Runs the chosen evaluators on one call; results are stored and counted; nothing is thrown. */
  async evaluate(call: LlmCall, text: CapturedText): Promise<EvaluationResult[]> {
    const results = await this.runEvaluators(call, text);
    await this.storeResults([{ call, results }]);
    return results;
  }

  /**
   * Evaluates a batch of calls one after another, then stores all their results at once (a transaction per table
   * per batch rather than per call: under load most of an evaluation's cost was its writes).
   */
  async evaluateMany(items: readonly { call: LlmCall; text: CapturedText }[]): Promise<void> {
    const done: { call: LlmCall; results: EvaluationResult[] }[] = [];
    for (const { call, text } of items) done.push({ call, results: await this.runEvaluators(call, text) });
    await this.storeResults(done);
  }

  /**
   * The call's evaluators in order, their results as stored (without quotes unless content is captured). Returned as
   * they are when every evaluator answered at once (`evaluateNow`: most calls, whose checks their shortcuts decide)
   * and no yield was due; from the first evaluator that answers with a promise, or the first yield, the rest runs
   * asynchronously (`awaitEvaluator`, `yieldThen`). A promise and an await per evaluator and call cost more than
   * most of the checks they wrapped.
   */
  private runEvaluators(
    call: LlmCall,
    text: CapturedText,
    names: readonly string[] = text.evaluators,
  ): EvaluationResult[] | Promise<EvaluationResult[]> {
    const input: EvaluationInput = {
      context: text.prompt ? [text.prompt] : [],
      response: text.output,
      knowledge: this.d.knowledge,
    };
    return this.evaluatorsFrom(call, names, input, [], 0);
  }

  private evaluatorsFrom(
    call: LlmCall,
    names: readonly string[],
    input: EvaluationInput,
    results: EvaluationResult[],
    from: number,
  ): EvaluationResult[] | Promise<EvaluationResult[]> {
    for (let i = from; i < names.length; i++) {
      const name = names[i] as string;
      const ev = this.d.evaluatorFor(name as EvaluatorName, call);
      if (!ev) continue;
      let r: EvaluationResult | PromiseLike<EvaluationResult>;
      try {
        r = ev.evaluateNow ? ev.evaluateNow(input) : ev.evaluate(input);
      } catch (err) {
        r = errorResult(name, err);
      }
      if (typeof (r as Partial<PromiseLike<unknown>>).then === 'function')
        return this.awaitEvaluator(call, names, input, results, i, r as PromiseLike<EvaluationResult>);
      r = r as EvaluationResult;
      results.push(this.d.captureContent ? r : withoutQuotes(r));
      // Between evaluators, once evaluations have held the event loop for a slice, yield to it (setImmediate), so
      // CPU-bound checks never hold it long. The slice is the service's, shared by the runner's concurrent jobs:
      // those that run in one turn yield together. Yielding after every evaluator instead cost a macrotask and two
      // promises per evaluator and call.
      if (performance.now() - this.sliceStartedAt >= EVALUATION_SLICE_MS)
        return this.yieldThen(call, names, input, results, i + 1);
    }
    return results;
  }

  /** Evaluator `at`'s result on its way: awaited, kept, then (after a yield if due) the evaluators after it. */
  private async awaitEvaluator(
    call: LlmCall,
    names: readonly string[],
    input: EvaluationInput,
    results: EvaluationResult[],
    at: number,
    pending: PromiseLike<EvaluationResult>,
  ): Promise<EvaluationResult[]> {
    let r: EvaluationResult;
    try {
      r = await pending;
    } catch (err) {
      r = errorResult(names[at] as string, err);
    }
    results.push(this.d.captureContent ? r : withoutQuotes(r));
    if (performance.now() - this.sliceStartedAt >= EVALUATION_SLICE_MS)
      return this.yieldThen(call, names, input, results, at + 1);
    return this.evaluatorsFrom(call, names, input, results, at + 1);
  }

  /** Yields to the event loop (a new slice starts), then runs the evaluators from `from` on. */
  private async yieldThen(
    call: LlmCall,
    names: readonly string[],
    input: EvaluationInput,
    results: EvaluationResult[],
    from: number,
  ): Promise<EvaluationResult[]> {
    await new Promise((resolve) => setImmediate(resolve));
    this.sliceStartedAt = performance.now();
    return this.evaluatorsFrom(call, names, input, results, from);
  }

  /**
   * `llm_evaluations_total`: each evaluator and verdict of the batch added once, with how many times it came
   * (whole numbers, so the same totals as one increment per evaluation, for a label lookup per pair).
   */
  private countVerdicts(done: readonly { results: EvaluationResult[] }[]): void {
    const n = new Map<string, Map<string, number>>();
    for (const { results } of done)
      for (const r of results) {
        let byVerdict = n.get(r.evaluator);
        if (!byVerdict) {
          byVerdict = new Map();
          n.set(r.evaluator, byVerdict);
        }
        byVerdict.set(r.verdict, (byVerdict.get(r.verdict) ?? 0) + 1);
      }
    for (const [evaluator, byVerdict] of n)
      for (const [verdict, count] of byVerdict) this.d.metrics.evaluations.inc({ evaluator, verdict }, count);
  }

  /** Stores evaluation results with their counts and review flags; a failure is logged, never thrown. */
  private async storeResults(
    done: readonly { call: LlmCall; results: EvaluationResult[]; prior?: readonly EvaluationResult[] }[],
  ): Promise<void> {
    this.countVerdicts(done);
    const now = this.d.clock.now();
    const evaluations: StoredEvaluation[] = [];
    const counts = new CountRows();
    const reviews: ReviewEnqueue[] = [];
    for (const { call, results, prior } of done) {
      for (const r of results)
        evaluations.push({
          requestId: call.requestId,
          evaluator: r.evaluator,
          verdict: r.verdict,
          score: r.score,
          result: r,
          createdAt: now,
          model: call.model,
          feature: call.feature,
        });
      // Most calls have no verdict that counts (every check `unknown`): no arrays are built for them.
      let decided = false;
      let failed: string[] | null = null;
      for (const r of results)
        if (r.verdict === 'fail') {
          decided = true;
          failed ??= [];
          failed.push(r.evaluator);
        } else if (r.verdict === 'pass') decided = true;
      // Results stored after the call's others (`prior`) count it only where those did not already.
      const priorDecided = prior?.some((r) => r.verdict === 'pass' || r.verdict === 'fail') ?? false;
      const priorFailed = prior?.some((r) => r.verdict === 'fail') ?? false;
      if (decided && (!priorDecided || (failed !== null && !priorFailed))) {
        const row = counts.of(call);
        if (!priorDecided) row.evaluated++;
        if (failed !== null && !priorFailed) row.flagged++;
      }
      if (failed !== null)
        for (const f of failed)
          reviews.push({
            requestId: call.requestId,
            reason: `flag:${f}` as const,
            callAt: call.startedAt,
            model: call.model,
            provider: call.provider,
            feature: call.feature,
            flaggedBy: failed,
            refusal: call.refusal,
          });
    }
    if (evaluations.length === 0) return;
    try {
      // Posted together (one writer-thread transaction); one that fails no longer keeps the others from being stored.
      await Promise.all([
        this.d.store.putEvaluations(evaluations),
        this.d.store.addCounts(counts.values()),
        this.d.store.enqueueReview(reviews),
      ]);
    } catch (err) {
      this.warn('evaluation_store_failed', err);
    }
  }

  /** Free text a person wrote, redacted like the call's own text. */
  private free(text: string): string {
    return this.d.redact ? this.d.redact(text) : text;
  }

  /** The stored call, or, when it is not stored yet, the same after the calls on their way are written. */
  private async recordedCall(requestId: string): Promise<LlmCall | null> {
    const call = await this.d.calls.getCall(requestId);
    if (call || !this.d.flushCalls) return call;
    await this.d.flushCalls();
    return this.d.calls.getCall(requestId);
  }

  async giveFeedback(body: FeedbackBody): Promise<{ created: boolean; feedback: ReturnType<typeof feedbackToWire> }> {
    const call = await this.recordedCall(body.request_id);
    if (!call)
      throw new LlmscopeError(
        'LLMSCOPE_ERR_NOT_FOUND',
        `no call with request_id "${body.request_id}"; feedback needs the x-request-id of a call this llmscope recorded`,
        { param: 'request_id' },
      );
    const now = this.d.clock.now();
    const rec: FeedbackRecord = {
      requestId: call.requestId,
      source: body.source ?? 'default',
      rating: body.rating,
      comment: body.comment ? this.free(body.comment) : (body.comment ?? null),
      labels: body.labels ?? [],
      createdAt: now,
      updatedAt: now,
      model: call.model,
      provider: call.provider,
      feature: call.feature,
    };
    const { created, previous } = await this.d.store.putFeedback(rec);
    const bucket = previous?.createdAt ?? now;
    const delta = countRow(bucket, call.model, call.feature);
    if (created || previous?.rating !== rec.rating) {
      if (rec.rating === 'up') delta.feedbackUp++;
      else delta.feedbackDown++;
      if (previous) {
        if (previous.rating === 'up') delta.feedbackUp--;
        else delta.feedbackDown--;
      }
      await this.d.store.addCounts([delta]);
      this.d.metrics.feedback.inc({ rating: rec.rating });
    }
    if (rec.rating === 'down')
      await this.d.store.enqueueReview([
        {
          requestId: call.requestId,
          reason: 'thumbs_down',
          callAt: call.startedAt,
          model: call.model,
          provider: call.provider,
          feature: call.feature,
          rating: 'down',
          refusal: call.refusal,
        },
      ]);
    return { created, feedback: feedbackToWire({ ...rec, createdAt: previous?.createdAt ?? now }) };
  }

  async label(body: LabelBody): Promise<ReviewItem> {
    let item = await this.d.store.getReview(body.request_id);
    if (!item) {
      const call = await this.recordedCall(body.request_id);
      if (!call)
        throw new LlmscopeError('LLMSCOPE_ERR_NOT_FOUND', `no call with request_id "${body.request_id}" to label`, {
          param: 'request_id',
        });
      await this.d.store.enqueueReview([
        {
          requestId: call.requestId,
          reason: 'manual',
          callAt: call.startedAt,
          model: call.model,
          provider: call.provider,
          feature: call.feature,
          refusal: call.refusal,
        },
      ]);
      item = await this.d.store.getReview(body.request_id);
    }
    const prev = item?.labels;
    const labeled = await this.d.store.labelReview(body.request_id, {
      hallucination: body.hallucination !== undefined ? body.hallucination : (prev?.hallucination ?? null),
      refusalCorrect: body.refusal_correct !== undefined ? body.refusal_correct : (prev?.refusalCorrect ?? null),
      notes: body.notes !== undefined ? (body.notes ? this.free(body.notes) : body.notes) : (prev?.notes ?? null),
      reviewer: body.reviewer !== undefined ? body.reviewer : (prev?.reviewer ?? null),
      labeledAt: this.d.clock.now(),
    });
    if (!labeled) throw new LlmscopeError('LLMSCOPE_ERR_INTERNAL', 'the review item disappeared while labelling it');
    return labeled;
  }

  async listReview(q: ReviewQuery) {
    const page = await this.d.store.listReview(q);
    const items = await Promise.all(
      page.items.map(async (r) => {
        const [evaluations, feedback, call] = await Promise.all([
          this.d.store.evaluationsFor(r.requestId),
          this.d.store.feedbackFor(r.requestId),
          this.d.calls.getCall(r.requestId).catch(() => null),
        ]);
        return {
          ...reviewToWire(r),
          evaluations: evaluations.map(evaluationToWire),
          feedback: feedback.map(feedbackToWire),
          content: call?.content ?? null,
        };
      }),
    );
    return { data: items, next_cursor: page.nextCursor };
  }

  async summary(q: {
    from: number;
    to: number;
    groupBy?: QualityGroupBy;
  }): Promise<{ groups: SummaryGroup[]; total: QualityStats }> {
    const [rows, reviews] = await Promise.all([
      this.d.store.queryCounts({ from: q.from, to: q.to, step: 'total', groupBy: q.groupBy }),
      this.d.store.labeledReviews({ from: q.from, to: q.to }),
    ]);
    return summarize(rows, reviews, q.groupBy);
  }

  async series(q: { from: number; to: number; step: 'minute' | 'hour'; groupBy?: QualityGroupBy }) {
    const rows = await this.d.store.queryCounts(q);
    const r4 = (a: number, b: number) => (b > 0 ? Math.round((a / b) * 10_000) / 10_000 : null);
    return rows.map((r) => ({
      t: iso(r.t),
      ...(q.groupBy === 'model' ? { model: r.model } : q.groupBy === 'feature' ? { feature: r.feature || null } : {}),
      responses: r.responses,
      refusals: r.refusals,
      refusal_rate: r4(r.refusals, r.responses),
      feedback_up: r.feedbackUp,
      feedback_down: r.feedbackDown,
      satisfaction_rate: r4(r.feedbackUp, r.feedbackUp + r.feedbackDown),
      evaluated: r.evaluated,
      flagged: r.flagged,
      hallucination_rate: r4(r.flagged, r.evaluated),
    }));
  }

  async evaluationsFor(requestId: string) {
    return (await this.d.store.evaluationsFor(requestId)).map(evaluationToWire);
  }

  async feedbackFor(requestId: string) {
    return (await this.d.store.feedbackFor(requestId)).map(feedbackToWire);
  }
}
