// What a rule kind declares: how to compute its value per group over rollups (or a registered signal), the PromQL
// that computes the same value in Prometheus (when its series exist there), and promtool test inputs.
import type { SignalRegistry } from '../../signals/index.js';
import { Dense } from '../../store/dense-histogram.js';
import type { RollupPoint, RollupQuery } from '../../store/store.js';
import { DAY_MS, HOUR_MS, MINUTE_MS } from '../../time.js';
import type { CallCostTracker } from '../call-cost-tracker.js';
import { type Condition, ERROR_STATUSES, isDimension, type Sample } from '../model.js';
import type { KindName, Op } from '../spec.js';

export interface EvalEnv {
  now: number;
  /** The store's rollups (cached for one evaluation cycle). */
  rollups(q: RollupQuery): Promise<RollupPoint[]>;
  signals: SignalRegistry;
  callCosts: CallCostTracker;
}

export type Unit = 'seconds' | 'ratio' | 'usd' | 'rps' | 'score';

/** One series for a promtool unit test: `values` gets how many samples to write. */
export interface PromSeries {
  series: string;
  values(count: number): string;
}

export interface PromCase {
  intervalMs: number;
  series: PromSeries[];
  /** The alert's value when it fires (bad cases only). */
  value: number;
  /** How long the series must run before the value is what it will be (the window). */
  warmupMs: number;
}

/** bad: the value crosses the threshold; good: it stays clear; few: bad ratio but fewer samples than minSamples. */
export type PromCaseMode = 'bad' | 'good' | 'few';

export interface KindDef {
  readonly kind: KindName;
  readonly unit: Unit;
  /** Where the data comes from: the store's rollups, a registered SignalSource, or calls seen by the recorder. */
  readonly source: 'rollups' | 'signal' | 'calls';
  /** The SignalSource signal a `signal` kind reads (backtest says which rules it cannot replay without it). */
  readonly signal?: string;
  readonly defaults: { windowMs: number; op: Op; groupBy: string[]; minSamples: number };
  /** Labels a rule of this kind may group by (null: any label the signal has). */
  readonly groupable: readonly string[] | null;
  evaluate(c: Condition, groupBy: string[], env: EvalEnv): Promise<Sample[]>;
  /** PromQL for the value per group, or null when Prometheus has no such series (or a filter label is missing). */
  promql(c: Condition, groupBy: string[]): string | null;
  /** promtool test inputs; null when not exported. `labels` are the group's label values. */
  promCase?(c: Condition, labels: Record<string, string>, mode: PromCaseMode, forMs: number): PromCase | null;
  /** promtool cases beyond promCase's (another way the value crosses, or stops crossing, the threshold). */
  morePromCases?(c: Condition, labels: Record<string, string>, forMs: number): NamedPromCase[];
}

/** A further promtool case: what it shows (the test's name after the rule's), and whether the alert fires. */
export interface NamedPromCase {
  what: string;
  mode: 'bad' | 'good';
  case: PromCase;
  /** A time (ms from the start) at which the alert fires before the case's end (a case that resolves). */
  firingAtMs?: number;
}

// ---------------------------------------------------------------------------------------------------------------
// Rollups

/** Key of a group (label values in groupBy order). */
export function groupKey(labels: Record<string, string>, groupBy: readonly string[]): string {
  return groupBy.map((g) => labels[g] ?? '').join('\u0000');
}

/** Rollup points over the window ending at `end`, grouped by the rule's dimensions; minute steps up to 6 h, hours beyond. */
export async function rollupGroups(
  env: EvalEnv,
  c: Condition,
  groupBy: readonly string[],
  windowMs: number = c.windowMs,
  end: number = env.now,
  stepOverride?: 'minute' | 'hour',
): Promise<Map<string, { labels: Record<string, string>; points: RollupPoint[] }>> {
  const step = stepOverride ?? (windowMs > 6 * HOUR_MS ? 'hour' : 'minute');
  const size = step === 'hour' ? HOUR_MS : MINUTE_MS;
  // whole buckets only: the one holding the window's start counts when most of it lies inside the window, so the
  // data covered is the window ± half a bucket (a 1-minute window at 12:00:40 reads the 12:00 bucket only)
  const from = Math.round((end - windowMs) / size) * size;
  const dims = groupBy.filter(isDimension);
  const points = await env.rollups({ from, to: end, step, groupBy: dims, filter: { ...c.filter } });
  const out = new Map<string, { labels: Record<string, string>; points: RollupPoint[] }>();
  for (const p of points) {
    const labels: Record<string, string> = {};
    for (const d of dims) labels[d] = p.group[d] ?? '';
    const k = groupKey(labels, dims);
    const g = out.get(k);
    if (g) g.points.push(p);
    else out.set(k, { labels, points: [p] });
  }
  return out;
}

export function errorsOf(p: RollupPoint): number {
  let n = 0;
  for (const s of ERROR_STATUSES) n += p.statuses[s] ?? 0;
  return n;
}

export function sum(points: readonly RollupPoint[], f: (p: RollupPoint) => number): number {
  let n = 0;
  for (const p of points) n += f(p);
  return n;
}

/** Quantile in seconds of a rollup histogram (stored in ms), or null when empty. */
export function quantileSeconds(
  points: readonly RollupPoint[],
  pick: (p: RollupPoint) => RollupPoint['latency'],
  q: number,
): { value: number | null; count: number } {
  // one dense accumulator, reset per call: merging sparse objects into an object and sorting its keys for each
  // quantile was most of a backtest's time (and of each live evaluation of the quantile kinds)
  const h = mergedDense(points, pick);
  if (h.n === 0) return { value: null, count: 0 };
  const v = h.quantile(q);
  return { value: v === null || Number.isNaN(v) ? null : v / 1000, count: h.n };
}

/** The merged histogram of many rollups' (a scratch Dense, valid until the next call of scratch()). */
export function mergedDense(points: readonly RollupPoint[], pick: (p: RollupPoint) => RollupPoint['latency']): Dense {
  const h = scratch();
  for (const p of points) h.addCounts(pick(p));
  return h;
}

let SCRATCH: Dense | null = null;
function scratch(): Dense {
  SCRATCH ??= new Dense();
  SCRATCH.reset();
  return SCRATCH;
}

/**
 * Share of observations above `limitMs` in a histogram, found from quantile() alone (bisection on q), so it agrees
 * with the quantile kinds to the bucket. Takes a Dense (one pass over the span per step) or a sparse histogram.
 */
export function shareAbove(hist: RollupPoint['latency'] | Dense, limitMs: number): number {
  let h: Dense;
  if (hist instanceof Dense) h = hist;
  else {
    h = scratch();
    h.addCounts(hist);
  }
  if (h.n === 0) return 0;
  const at = (q: number): number => {
    const v = h.quantile(q);
    return v === null || Number.isNaN(v) ? 0 : v;
  };
  if (at(1) <= limitMs) return 0;
  if (at(0) > limitMs) return 1;
  let lo = 0;
  let hi = 1;
  for (let i = 0; i < 30; i++) {
    const mid = (lo + hi) / 2;
    if (at(mid) <= limitMs) lo = mid;
    else hi = mid;
  }
  return 1 - lo;
}

// ---------------------------------------------------------------------------------------------------------------
// PromQL

export const ERROR_STATUS_RE = ERROR_STATUSES.join('|');

/** Prometheus duration of a window (`5m`, `1h`, `1d`, `90s`). */
export function promDuration(msv: number): string {
  if (msv % DAY_MS === 0) return `${msv / DAY_MS}d`;
  if (msv % HOUR_MS === 0) return `${msv / HOUR_MS}h`;
  if (msv % MINUTE_MS === 0) return `${msv / MINUTE_MS}m`;
  if (msv % 1000 === 0) return `${msv / 1000}s`;
  return `${Math.round(msv)}ms`;
}

export function promString(s: string): string {
  return JSON.stringify(s);
}

/**
 * The label matchers for a condition's filter on a metric that has `labels`; null when the filter names a label the
 * metric lacks (Prometheus cannot compute the rule). `extra` adds fixed matchers.
 */
export function selector(c: Condition, labels: readonly string[], extra: string[] = []): string | null {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(c.filter)) {
    if (v === undefined) continue;
    if (!labels.includes(k)) return null;
    parts.push(`${k}=${promString(v)}`);
  }
  parts.push(...extra);
  return parts.length ? `{${parts.join(', ')}}` : '';
}

export function by(groupBy: readonly string[], extra: string[] = []): string {
  return `by (${[...extra, ...groupBy].join(', ')})`;
}

/** Appends the min-samples guard: keep groups with at least `min` events of `countExpr` in the window. */
export function withMinSamples(value: string, countExpr: string, min: number, groupBy: readonly string[]): string {
  if (min <= 0) return value;
  return `(${value}) and on(${groupBy.join(', ')}) (${countExpr} >= ${min})`;
}

export function canGroup(groupBy: readonly string[], labels: readonly string[]): boolean {
  return groupBy.every((g) => labels.includes(g));
}

/** Prometheus series selector text for promtool input series. */
export function seriesText(metric: string, labels: Record<string, string>): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}=${promString(v)}`);
  return `${metric}{${parts.join(', ')}}`;
}

/** promtool expanding notation for a counter growing by `perStep` each step. */
export function counterValues(perStep: number): (n: number) => string {
  return (n) => `0+${fmt(perStep)}x${n}`;
}

export function gaugeValues(v: number): (n: number) => string {
  return (n) => `${fmt(v)}x${n}`;
}

export function fmt(n: number): string {
  return Number.isInteger(n) ? String(n) : String(Number(n.toPrecision(12)));
}

/** Labels of a condition's series in a promtool test: the filter's values plus the group's. */
export function caseLabels(c: Condition, labels: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(c.filter)) if (v !== undefined) out[k] = v;
  return { ...out, ...labels };
}

/** A ratio for a bad case: clearly past the threshold, and a round number. */
export function badRatio(c: Condition): number {
  if (c.op === '>' || c.op === '>=') return Math.min(1, niceAbove(c.threshold));
  return Math.max(0, c.threshold / 2);
}

export function goodRatio(c: Condition): number {
  if (c.op === '>' || c.op === '>=') return 0;
  return Math.min(1, niceAbove(c.threshold));
}

function niceAbove(t: number): number {
  if (t <= 0) return 0.1;
  const target = t * 3;
  for (const v of [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1]) if (v >= target) return v;
  return 1;
}
