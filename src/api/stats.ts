// GET /api/stats/timeseries and /api/stats/summary: latency percentiles, TTFT/TPOT, throughput and error rate,
// computed from the store's rollups (mergeable histograms), never from raw calls.
// The summary's rps and tokens_per_s average over the whole window; `current` is the rate now and `data_from` when
// the window's data begins (as /api/overview), and a timeseries point still filling says so (`partial`).
import { z } from 'zod';
import { ENDPOINTS } from '../calls/index.js';
import { LlmscopeError } from '../errors.js';
import { parseQuery, type Router, sendJson } from '../http/index.js';
import { mergeInto, quantiles } from '../store/histogram.js';
import { scopedStore } from '../store/scoped.js';
import type { RollupDimension, RollupPoint, RollupStep, Store } from '../store/store.js';
import { HOUR_MS, MINUTE_MS, timeParamSchema } from '../time.js';
import { dataAgeOf, SETTLE_MS } from './overview/index.js';

const DIMENSIONS = ['provider', 'model', 'endpoint', 'feature', 'team'] as const;
/** Points a timeseries has at most (as /api/overview's). */
const MAX_POINTS = 20_000;

const time = timeParamSchema;

const querySchema = z.object({
  from: time.optional(),
  to: time.optional(),
  step: z.enum(['minute', 'hour', 'auto']).default('auto'),
  provider: z.string().optional(),
  model: z.string().optional(),
  // an unknown endpoint is refused as /api/requests refuses it (it answered 200 with zero figures)
  endpoint: z
    .enum(ENDPOINTS as [string, ...string[]], { message: `expected one of ${ENDPOINTS.join(', ')}` })
    .optional(),
  feature: z.string().optional(),
  team: z.string().optional(),
  group_by: z.enum(DIMENSIONS).optional(),
});

export interface StatsQuery {
  from: number;
  to: number;
  step: RollupStep;
  filter: Partial<Record<RollupDimension, string>>;
  groupBy?: RollupDimension;
}

export function parseStatsQuery(url: URL, now = Date.now()): StatsQuery {
  const q = parseQuery(querySchema, url);
  const to = q.to ?? now;
  const from = q.from ?? to - 24 * HOUR_MS;
  if (from >= to)
    throw new LlmscopeError('LLMSCOPE_ERR_INVALID_QUERY', '"from" must be before "to"', { param: 'from' });
  const step: RollupStep = q.step === 'auto' ? (to - from <= 2 * 24 * HOUR_MS ? 'minute' : 'hour') : q.step;
  const filter: Partial<Record<RollupDimension, string>> = {};
  for (const d of DIMENSIONS) if (q[d]) filter[d] = q[d];
  return { from, to, step, filter, groupBy: q.group_by };
}

export interface Figures {
  requests: number;
  errors: number;
  error_rate: number | null;
  rps: number;
  input_tokens: number;
  output_tokens: number;
  tokens_per_s: number;
  cost_usd: number;
  refusals: number;
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

const PCTS = [0.5, 0.95, 0.99] as const;
const pcts = (h: RollupPoint['latency']): (number | null)[] =>
  quantiles(h, PCTS).map((v) => (v === null ? null : Math.round(v * 1000) / 1000));

/** Merges rollup points into one set of figures over `seconds` of wall time. */
export function figuresOf(points: readonly RollupPoint[], seconds: number): Figures {
  let requests = 0;
  let errors = 0;
  let input = 0;
  let output = 0;
  let cost = 0;
  let refusals = 0;
  const latency = {};
  const ttft = {};
  const tpot = {};
  for (const p of points) {
    requests += p.requests;
    errors += p.errors;
    input += p.inputTokens;
    output += p.outputTokens;
    cost += p.costUsd;
    refusals += p.refusals;
    mergeInto(latency, p.latency);
    mergeInto(ttft, p.ttft);
    mergeInto(tpot, p.tpot);
  }
  const [l50, l95, l99] = pcts(latency);
  const [f50, f95, f99] = pcts(ttft);
  const [t50, t95, t99] = pcts(tpot);
  return {
    requests,
    errors,
    error_rate: requests ? errors / requests : null,
    rps: requests / seconds,
    input_tokens: input,
    output_tokens: output,
    tokens_per_s: (input + output) / seconds,
    cost_usd: Math.round(cost * 1e6) / 1e6,
    refusals,
    latency_p50: l50 ?? null,
    latency_p95: l95 ?? null,
    latency_p99: l99 ?? null,
    ttft_p50: f50 ?? null,
    ttft_p95: f95 ?? null,
    ttft_p99: f99 ?? null,
    tpot_p50: t50 ?? null,
    tpot_p95: t95 ?? null,
    tpot_p99: t99 ?? null,
  };
}

export function registerStatsRoutes(router: Router, all: Store, now: () => number = Date.now): void {
  router.get('/api/stats/summary', async ({ res, url, principal }) => {
    const store = scopedStore(all, principal?.scope);
    const sq = parseStatsQuery(url, now());
    const seconds = (sq.to - sq.from) / 1000;
    const dim = sq.groupBy;
    const points = await store.queryRollups({
      from: sq.from,
      to: sq.to,
      step: sq.step,
      filter: sq.filter,
      groupBy: dim ? [dim] : [],
    });
    const age = await dataAgeOf(store, sq.from, sq.to, sq.filter, now());
    // group_by: the same figures per value of one dimension (null: calls without it), most spend first
    let groups: ({ key: string | null } & Figures)[] | undefined;
    if (dim) {
      const byKey = new Map<string | null, RollupPoint[]>();
      for (const p of points) {
        const k = p.group[dim] ?? null;
        const list = byKey.get(k);
        if (list) list.push(p);
        else byKey.set(k, [p]);
      }
      groups = [...byKey]
        .map(([key, ps]) => ({ key, ...figuresOf(ps, seconds) }))
        .sort((a, b) => b.cost_usd - a.cost_usd || b.requests - a.requests);
    }
    sendJson(res, 200, {
      from: sq.from,
      to: sq.to,
      step: sq.step,
      ...figuresOf(points, seconds),
      ...age,
      ...(dim ? { group_by: dim, groups } : {}),
    });
  });

  router.get('/api/stats/timeseries', async ({ res, url, principal }) => {
    const store = scopedStore(all, principal?.scope);
    const sq = parseStatsQuery(url, now());
    const size = sq.step === 'minute' ? MINUTE_MS : HOUR_MS;
    const completeTo = Math.min(sq.to, now() - SETTLE_MS);
    const start = Math.floor(sq.from / size) * size;
    // every step of the window is a point of each series: from=0&to=9999-12-31 (70 million hours) ran the server
    // out of memory
    if ((sq.to - start) / size > MAX_POINTS)
      throw new LlmscopeError(
        'LLMSCOPE_ERR_INVALID_QUERY',
        `more than ${MAX_POINTS} points; use step=hour or a shorter range`,
        { param: 'step' },
      );
    const points = await store.queryRollups({
      from: start,
      to: sq.to,
      step: sq.step,
      filter: sq.filter,
      groupBy: sq.groupBy ? [sq.groupBy] : [],
    });
    const groups = new Map<string, Map<number, RollupPoint[]>>();
    for (const p of points) {
      const key = sq.groupBy ? (p.group[sq.groupBy] ?? 'none') : 'all';
      let g = groups.get(key);
      if (!g) {
        g = new Map();
        groups.set(key, g);
      }
      const list = g.get(p.t);
      if (list) list.push(p);
      else g.set(p.t, [p]);
    }
    if (groups.size === 0) groups.set('all', new Map());
    const series = [...groups.entries()].map(([key, byT]) => {
      const out: ({ t: number; partial: boolean } & Figures)[] = [];
      for (let t = start; t < sq.to; t += size)
        out.push({ t, partial: t + size > completeTo, ...figuresOf(byT.get(t) ?? [], size / 1000) });
      return { group: key, points: out };
    });
    sendJson(res, 200, {
      from: sq.from,
      to: sq.to,
      step: sq.step,
      step_ms: size,
      group_by: sq.groupBy ?? null,
      series,
      points: series.length === 1 ? series[0]?.points : undefined,
    });
  });
}
