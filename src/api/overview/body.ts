import { z } from 'zod';
import { ENDPOINTS } from '../../calls/index.js';
import { LlmscopeError } from '../../errors.js';
import { parseQuery } from '../../http/index.js';
import { Dense } from '../../store/dense-histogram.js';
import {
  type HistogramCounts,
  HOUR_MS,
  MINUTE_MS,
  type RollupDimension,
  type RollupPoint,
  type RollupStep,
} from '../../store/index.js';
import { timeParamSchema } from '../../time.js';

export const DIMENSIONS = ['provider', 'model', 'endpoint', 'feature', 'team'] as const;
/** A bucket is compacted once it ended this long ago. */
export const SEAL_LAG_MS = 10 * MINUTE_MS;
const MAX_POINTS = 20_000;
/** A bucket is complete once it ended this long ago: calls land in the bucket of their start, when they end. */
export const SETTLE_MS = 30_000;
/** The `current` rate spans the last this-many complete minutes. */
export const CURRENT_MS = 5 * MINUTE_MS;
/** The current rate needs at least this much complete data; else it is read from the still-filling minutes. */
const CURRENT_MIN_MS = 20_000;

const time = timeParamSchema;
const querySchema = z.object({
  from: time.optional(),
  to: time.optional(),
  step: z.enum(['minute', 'hour', 'auto', 'fit']).default('auto'),
  step_ms: z.coerce.number().int().positive().optional(),
  provider: z.string().max(256).optional(),
  model: z.string().max(256).optional(),
  // an unknown endpoint is refused as /api/requests refuses it (it answered 200 with zero figures)
  endpoint: z
    .enum(ENDPOINTS as [string, ...string[]], { message: `expected one of ${ENDPOINTS.join(', ')}` })
    .optional(),
  feature: z.string().max(256).optional(),
  team: z.string().max(256).optional(),
});

export interface OverviewQuery {
  from: number;
  to: number;
  /** The rollups read (their bucket size is the base of `stepMs`). */
  step: RollupStep;
  /** The points' bucket size: the rollups' size or a multiple of it. */
  stepMs: number;
  /** `step=fit`: step and stepMs are chosen once the data's start is known (fitStep). */
  fit: boolean;
  filter: Partial<Record<RollupDimension, string>>;
}

const baseMs = (step: RollupStep): number => (step === 'minute' ? MINUTE_MS : HOUR_MS);

/**
 * The bucket size that fits a span: 1 minute up to 6 hours, 5 minutes up to a day, 10 minutes up to two days,
 * 1 hour up to a week, 3 hours beyond (a few hundred points at most, each wide enough to see).
 */
export function fitStep(spanMs: number): { step: RollupStep; stepMs: number } {
  if (spanMs <= 6 * HOUR_MS) return { step: 'minute', stepMs: MINUTE_MS };
  if (spanMs <= 24 * HOUR_MS) return { step: 'minute', stepMs: 5 * MINUTE_MS };
  if (spanMs <= 48 * HOUR_MS) return { step: 'minute', stepMs: 10 * MINUTE_MS };
  if (spanMs <= 7 * 24 * HOUR_MS) return { step: 'hour', stepMs: HOUR_MS };
  return { step: 'hour', stepMs: 3 * HOUR_MS };
}

/**
 * The first point's bucket: the window's first, or with `step=fit` the one holding the data's first call. Before it
 * there is nothing to draw (the dashboard leaves those buckets out), and a young store's 30-day view fitted to
 * minutes was 43,200 empty points (16 MB of JSON) otherwise.
 */
export function pointsStart(q: OverviewQuery, dataFrom: number | null): number {
  const from = q.fit && dataFrom !== null && dataFrom > q.from ? dataFrom : q.from;
  return Math.floor(from / q.stepMs) * q.stepMs;
}

/** The query with its step fitted to the span that holds data (`dataFrom` to `to`). */
export function fitted(q: OverviewQuery, dataFrom: number | null): OverviewQuery {
  if (!q.fit) return q;
  return { ...q, ...fitStep(q.to - Math.max(q.from, dataFrom ?? q.from)) };
}

export function parseOverviewQuery(url: URL, now: number): OverviewQuery {
  const q = parseQuery(querySchema, url);
  const to = q.to ?? now;
  const from = q.from ?? to - 24 * HOUR_MS;
  if (from >= to)
    throw new LlmscopeError('LLMSCOPE_ERR_INVALID_QUERY', '"from" must be before "to"', { param: 'from' });
  const fit = q.step === 'fit';
  let step: RollupStep;
  if (q.step === 'fit') step = fitStep(to - from).step;
  else if (q.step === 'auto') step = to - from <= 2 * 24 * HOUR_MS ? 'minute' : 'hour';
  else step = q.step;
  const stepMs = fit ? fitStep(to - from).stepMs : (q.step_ms ?? baseMs(step));
  if (stepMs % baseMs(step) !== 0)
    throw new LlmscopeError(
      'LLMSCOPE_ERR_INVALID_QUERY',
      `step_ms must be a multiple of the ${step} (${baseMs(step)} ms)`,
      { param: 'step_ms' },
    );
  if ((to - from) / stepMs > MAX_POINTS)
    throw new LlmscopeError(
      'LLMSCOPE_ERR_INVALID_QUERY',
      `more than ${MAX_POINTS} points; use step=hour, a larger step_ms or a shorter range`,
      {
        param: 'step',
      },
    );
  const filter: Partial<Record<RollupDimension, string>> = {};
  for (const d of DIMENSIONS) if (q[d]) filter[d] = q[d];
  return { from, to, step, stepMs, fit, filter };
}

/** Rates and per-second figures keep 4 significant digits: enough for any chart, and half the JSON. */
const sig = (x: number): number => (x === 0 || !Number.isFinite(x) ? x : Number(x.toPrecision(4)));

/** One bucket's sums and histograms, accumulated from any number of rollup rows. */
export class Bucket {
  requests = 0;
  errors = 0;
  inputTokens = 0;
  outputTokens = 0;
  cachedInputTokens = 0;
  costUsd = 0;
  refusals = 0;
  readonly latency = new Dense();
  readonly ttft = new Dense();
  readonly tpot = new Dense();

  reset(): this {
    this.requests = this.errors = this.inputTokens = this.outputTokens = this.cachedInputTokens = 0;
    this.costUsd = this.refusals = 0;
    this.latency.reset();
    this.ttft.reset();
    this.tpot.reset();
    return this;
  }

  add(r: RawRow): void {
    this.requests += r[1];
    this.errors += r[2];
    this.inputTokens += r[3];
    this.outputTokens += r[4];
    this.cachedInputTokens += r[5];
    this.costUsd += r[6];
    this.refusals += r[7];
    this.latency.add(r[8]);
    this.ttft.add(r[9]);
    this.tpot.add(r[10]);
  }

  /** Adds another bucket (for the window's totals). */
  merge(b: Bucket): void {
    this.requests += b.requests;
    this.errors += b.errors;
    this.inputTokens += b.inputTokens;
    this.outputTokens += b.outputTokens;
    this.cachedInputTokens += b.cachedInputTokens;
    this.costUsd += b.costUsd;
    this.refusals += b.refusals;
    this.latency.merge(b.latency);
    this.ttft.merge(b.ttft);
    this.tpot.merge(b.tpot);
  }

  figures(seconds: number): OverviewFigures {
    const [l50, l95, l99] = this.latency.pcts();
    const [f50, f95, f99] = this.ttft.pcts();
    const [t50, t95, t99] = this.tpot.pcts();
    const r = this.requests;
    return {
      requests: r,
      errors: this.errors,
      error_rate: r ? sig(this.errors / r) : null,
      refusals: this.refusals,
      refusal_rate: r ? sig(this.refusals / r) : null,
      rps: sig(r / seconds),
      input_tokens: this.inputTokens,
      output_tokens: this.outputTokens,
      cached_input_tokens: this.cachedInputTokens,
      tokens_per_s: sig((this.inputTokens + this.outputTokens) / seconds),
      output_tokens_per_s: sig(this.outputTokens / seconds),
      cost_usd: Math.round(this.costUsd * 1e6) / 1e6,
      latency_p50: l50,
      latency_p95: l95,
      latency_p99: l99,
      ttft_p50: f50,
      ttft_p95: f95,
      ttft_p99: f99,
      tpot_p50: t50,
      tpot_p95: t95,
      tpot_p99: t99,
    };
  }
}

export interface OverviewFigures {
  requests: number;
  errors: number;
  error_rate: number | null;
  refusals: number;
  refusal_rate: number | null;
  rps: number;
  input_tokens: number;
  output_tokens: number;
  cached_input_tokens: number;
  tokens_per_s: number;
  output_tokens_per_s: number;
  cost_usd: number;
  latency_p50: number | null;
  latency_p95: number | null;
  latency_p99: number | null;
  ttft_p50: number | null;
  ttft_p95: number | null;
  ttft_p99: number | null;
  tpot_p50: number | null;
  tpot_p95: number | null;
  tpot_p99: number | null;
}

export interface OverviewBody {
  from: number;
  to: number;
  step: RollupStep;
  step_ms: number;
  filter: Partial<Record<RollupDimension, string>>;
  /** How the points were read: `compacted` (sealed buckets) + `rollups` (recent or filtered), for diagnosis. */
  source: { compacted_buckets: number; rollup_rows: number };
  summary: OverviewFigures;
  /**
   * When the window's data begins: the first call's start when the data begins inside the window, `from` when
   * calls came before it too, null when the window holds no calls.
   */
  data_from: number | null;
  /** Buckets ending after this are still filling (`partial`): now − SETTLE_MS, or `to` for a window in the past. */
  complete_to: number;
  /** The rate now: the last few complete minutes (or, for data younger than that, the minutes so far). */
  current: CurrentRate | null;
  /**
   * Every bucket of the window. Rates (rps, tokens/s) are per second of the bucket that held data: a first bucket
   * whose data began partway through, or a last one still filling, is not diluted by the time without data.
   */
  points: ({ t: number; partial: boolean } & OverviewFigures)[];
}

export interface CurrentRate {
  /** The span measured (epoch ms): from max(data_from, to − 5 min) to the end of the last complete minute. */
  from: number;
  to: number;
  seconds: number;
  /** True when no complete minute had enough data and the still-filling minutes were used. */
  partial: boolean;
  requests: number;
  errors: number;
  error_rate: number | null;
  rps: number;
  tokens_per_s: number;
  output_tokens_per_s: number;
}

/**
 * t, requests, errors, input, output, cached input, cost, refusals, latency, ttft, tpot. Histograms are packed
 * (SQLite's tables) or objects (`queryRollups` on other stores: no round trip through the packed form).
 */
export type Hist = Buffer | HistogramCounts;
export type RawRow = [number, number, number, number, number, number, number, number, Hist, Hist, Hist];

/**
 * The rate now: the minute rollups of the last CURRENT_MS ending at the last complete minute, over the seconds that
 * held data; for data younger than CURRENT_MIN_MS of complete minutes, the minutes so far (marked partial).
 */
export function currentOf(
  q: OverviewQuery,
  now: number,
  dataFrom: number | null,
  minuteRows: (from: number, to: number) => RawRow[],
): CurrentRate | null {
  if (dataFrom === null) return null;
  const end = Math.min(q.to, now);
  let to = Math.floor(Math.min(q.to, now - SETTLE_MS) / MINUTE_MS) * MINUTE_MS;
  let from = Math.max(to - CURRENT_MS, dataFrom);
  let partial = false;
  if (to - from < CURRENT_MIN_MS) {
    partial = true;
    to = end;
    from = Math.max(dataFrom, end - CURRENT_MS);
    if (to - from <= 0) return null;
  }
  const b = new Bucket();
  for (const r of minuteRows(Math.floor(from / MINUTE_MS) * MINUTE_MS, to)) b.add(r);
  const seconds = (to - from) / 1000;
  return {
    from,
    to,
    seconds,
    partial,
    requests: b.requests,
    errors: b.errors,
    error_rate: b.requests ? sig(b.errors / b.requests) : null,
    rps: sig(b.requests / seconds),
    tokens_per_s: sig((b.inputTokens + b.outputTokens) / seconds),
    output_tokens_per_s: sig(b.outputTokens / seconds),
  };
}

interface Timing {
  now: number;
  dataFrom: number | null;
  current: CurrentRate | null;
}

/** Points for every bucket of the window (empty ones included) and the window's totals. */
export function assemble(
  q: OverviewQuery,
  start: number,
  rows: RawRow[],
  compactedRows: number,
  rollupRows: number,
  timing: Timing,
): OverviewBody {
  const size = q.stepMs;
  const bucket = new Bucket();
  const total = new Bucket();
  const points: OverviewBody['points'] = [];
  const completeTo = Math.min(q.to, timing.now - SETTLE_MS);
  // Data that began before the window fills its first bucket from that bucket's start.
  const began = timing.dataFrom !== null && timing.dataFrom > q.from ? timing.dataFrom : null;
  let i = 0;
  for (let t = start; t < q.to; t += size) {
    bucket.reset();
    while (i < rows.length && (rows[i] as RawRow)[0] < t) i++;
    let any = false;
    while (i < rows.length && (rows[i] as RawRow)[0] < t + size) {
      bucket.add(rows[i] as RawRow);
      any = true;
      i++;
    }
    if (any) total.merge(bucket);
    // Rates per second of the bucket that held data (and had passed): not diluted at the data's start or now.
    const held = Math.min(t + size, timing.now) - Math.max(t, began ?? t);
    const seconds = any && held > 0 ? Math.max(1, held / 1000) : size / 1000;
    points.push({ t, partial: t + size > completeTo, ...bucket.figures(seconds) });
  }
  return {
    from: q.from,
    to: q.to,
    step: q.step,
    step_ms: size,
    filter: q.filter,
    source: { compacted_buckets: compactedRows, rollup_rows: rollupRows },
    summary: total.figures((q.to - q.from) / 1000),
    data_from: timing.dataFrom,
    complete_to: completeTo,
    current: timing.current,
    points,
  };
}

export const rawRowOf = (p: RollupPoint): RawRow => [
  p.t,
  p.requests,
  p.errors,
  p.inputTokens,
  p.outputTokens,
  p.cachedInputTokens,
  p.costUsd,
  p.refusals,
  p.latency,
  p.ttft,
  p.tpot,
];
