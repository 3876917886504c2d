// Rollup arithmetic shared by every Store implementation: which bucket a call lands in, how a batch of calls is
// folded into one row per rollup key before it touches the database, and how stored rows become query points.
import { CALL_STATUSES, type CallStatus, type LlmCall } from '../calls/index.js';
import { HOUR_MS, MINUTE_MS } from '../time.js';
import { addTo, mergeInto } from './histogram.js';
import type { HistogramCounts, RollupDimension, RollupPoint, RollupStep } from './store.js';

export { HOUR_MS, MINUTE_MS };
export const ROLLUP_DIMENSIONS: readonly RollupDimension[] = ['provider', 'model', 'endpoint', 'feature', 'team'];
/** Statuses counted in `errors`. `cancelled` is not one: the client went away, the service did not fail. */
export const ERROR_STATUSES: readonly CallStatus[] = ['client_error', 'upstream_error', 'rate_limited', 'timeout'];

export const stepMs = (step: RollupStep): number => (step === 'hour' ? HOUR_MS : MINUTE_MS);

/**
 * One stored rollup row. Key: (t, provider, model, endpoint, feature, team); a call without a feature or team is
 * stored under '' (so the key has no NULLs) and reported with that dimension absent from `group`.
 * Calls land in the bucket of their `startedAt`, the same time the ledger is searched and retained by.
 */
export interface RollupRow {
  t: number;
  provider: string;
  model: string;
  endpoint: string;
  feature: string;
  team: string;
  requests: number;
  statuses: Record<CallStatus, number>;
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
  costUsd: number;
  refusals: number;
  latency: HistogramCounts;
  ttft: HistogramCounts;
  tpot: HistogramCounts;
}

/** A rollup row whose histograms are kept as `H` while a batch is folded (RollupBatch: counts objects). */
export type RollupSums<H> = Omit<RollupRow, 'latency' | 'ttft' | 'tpot'> & { latency: H; ttft: H; tpot: H };

/** The empty row of key (t, the call's provider, model and endpoint, feature, team), histograms from `histogram`. */
export function emptyRollupRow<H>(
  t: number,
  c: Pick<RollupInput, 'provider' | 'model' | 'endpoint'>,
  feature: string,
  team: string,
  histogram: () => H,
): RollupSums<H> {
  return {
    t,
    provider: c.provider,
    model: c.model,
    endpoint: c.endpoint,
    feature,
    team,
    requests: 0,
    statuses: emptyStatuses(),
    inputTokens: 0,
    outputTokens: 0,
    cachedInputTokens: 0,
    costUsd: 0,
    refusals: 0,
    latency: histogram(),
    ttft: histogram(),
    tpot: histogram(),
  };
}

const emptyCounts = (): HistogramCounts => ({});

export const emptyStatuses = (): Record<CallStatus, number> => ({
  ok: 0,
  client_error: 0,
  upstream_error: 0,
  rate_limited: 0,
  timeout: 0,
  cancelled: 0,
});

/** Unknown or non-finite figures add nothing, so one bad record cannot poison a rollup with NaN. */
const finite = (v: number | null | undefined): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/** What a rollup reads of a call (an LlmCall, or a stored row's values read back by column). */
export type RollupInput = Pick<
  LlmCall,
  | 'startedAt'
  | 'provider'
  | 'model'
  | 'endpoint'
  | 'feature'
  | 'team'
  | 'status'
  | 'inputTokens'
  | 'outputTokens'
  | 'cachedInputTokens'
  | 'costUsd'
  | 'latencyMs'
  | 'ttftMs'
  | 'tpotMs'
> & { refusal: boolean | number };

/** Folds calls into one row per rollup key for buckets of `bucketMs`, so a batch costs one upsert per key. */
export class RollupBatch {
  private readonly rows = new Map<string, RollupRow>();

  constructor(readonly bucketMs: number) {}

  add(c: RollupInput): void {
    const t = Math.floor(c.startedAt / this.bucketMs) * this.bucketMs;
    const feature = c.feature ?? '';
    const team = c.team ?? '';
    const key = `${t}\u0000${c.provider}\u0000${c.model}\u0000${c.endpoint}\u0000${feature}\u0000${team}`;
    let r = this.rows.get(key);
    if (!r) {
      r = emptyRollupRow(t, c, feature, team, emptyCounts);
      this.rows.set(key, r);
    }
    r.requests++;
    if (c.status in r.statuses) r.statuses[c.status]++;
    r.inputTokens += finite(c.inputTokens);
    r.outputTokens += finite(c.outputTokens);
    r.cachedInputTokens += finite(c.cachedInputTokens);
    r.costUsd += finite(c.costUsd);
    if (c.refusal) r.refusals++;
    addTo(r.latency, c.latencyMs);
    if (c.ttftMs !== null) addTo(r.ttft, c.ttftMs);
    if (c.tpotMs !== null) addTo(r.tpot, c.tpotMs);
  }

  get size(): number {
    return this.rows.size;
  }

  values(): IterableIterator<RollupRow> {
    return this.rows.values();
  }
}

/** Merges stored rows into one point per (t, values of `groupBy`), ordered by t then group. */
export function pointsOf(rows: Iterable<RollupRow>, groupBy: readonly RollupDimension[] = []): RollupPoint[] {
  const points = new Map<string, RollupPoint>();
  for (const r of rows) {
    let key = String(r.t);
    for (const d of groupBy) key += `\u0000${r[d]}`;
    let p = points.get(key);
    if (!p) {
      const group: Partial<Record<RollupDimension, string>> = {};
      for (const d of groupBy) if (r[d] !== '') group[d] = r[d];
      p = {
        t: r.t,
        group,
        requests: 0,
        statuses: emptyStatuses(),
        errors: 0,
        inputTokens: 0,
        outputTokens: 0,
        cachedInputTokens: 0,
        costUsd: 0,
        refusals: 0,
        latency: {},
        ttft: {},
        tpot: {},
      };
      points.set(key, p);
    }
    p.requests += r.requests;
    const st = p.statuses as Record<CallStatus, number>;
    for (const s of CALL_STATUSES) st[s] += r.statuses[s];
    for (const s of ERROR_STATUSES) p.errors += r.statuses[s];
    p.inputTokens += r.inputTokens;
    p.outputTokens += r.outputTokens;
    p.cachedInputTokens += r.cachedInputTokens;
    p.costUsd += r.costUsd;
    p.refusals += r.refusals;
    mergeInto(p.latency, r.latency);
    mergeInto(p.ttft, r.ttft);
    mergeInto(p.tpot, r.tpot);
  }
  const groupKey = (p: RollupPoint) => groupBy.map((d) => p.group[d] ?? '').join('\u0000');
  return [...points.values()].sort((a, b) => a.t - b.t || (groupKey(a) < groupKey(b) ? -1 : 1));
}
