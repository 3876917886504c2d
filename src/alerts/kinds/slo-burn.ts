// slo_burn: multi-window multi-burn-rate alerts on a declared SLO (SRE workbook, 30-day SLO): fire when the error
// ratio exceeds burn × (1 − objective) over both the long and the short window of a pair. `fast` pages (1h/5m at
// 14.4, 6h/30m at 6), `slow` opens a ticket (1d/2h at 3, 3d/6h at 1). The value is the worst long-window ratio.
import type { RollupPoint } from '../../store/store.js';
import { DAY_MS, HOUR_MS, MINUTE_MS } from '../../time.js';
import type { Condition, SloSpec } from '../model.js';
import {
  counterValues,
  ERROR_STATUS_RE,
  type EvalEnv,
  errorsOf,
  fmt,
  type KindDef,
  mergedDense,
  promDuration,
  rollupGroups,
  selector,
  seriesText,
  shareAbove,
  sum,
} from './kind.js';

export interface BurnWindow {
  longMs: number;
  shortMs: number;
  burn: number;
}

export const BURN_WINDOWS: Record<'fast' | 'slow', BurnWindow[]> = {
  fast: [
    { longMs: HOUR_MS, shortMs: 5 * MINUTE_MS, burn: 14.4 },
    { longMs: 6 * HOUR_MS, shortMs: 30 * MINUTE_MS, burn: 6 },
  ],
  slow: [
    { longMs: DAY_MS, shortMs: 2 * HOUR_MS, burn: 3 },
    { longMs: 3 * DAY_MS, shortMs: 6 * HOUR_MS, burn: 1 },
  ],
};

/** Every window an SLO's recording rules cover. */
export const SLO_WINDOWS = [5 * MINUTE_MS, 30 * MINUTE_MS, HOUR_MS, 2 * HOUR_MS, 6 * HOUR_MS, DAY_MS, 3 * DAY_MS];

/** Error-ratio threshold of a burn rate, rounded the same way in PromQL and in the engine. */
export function burnThreshold(slo: SloSpec, burn: number): number {
  return Number((burn * (1 - slo.objective)).toPrecision(12));
}

const REQUEST_LABELS = ['provider', 'model', 'endpoint', 'status'];

function sloCondition(slo: SloSpec): Condition {
  return {
    kind: 'slo_burn',
    windowMs: HOUR_MS,
    quantile: 0.95,
    op: '>',
    threshold: 0,
    minSamples: 0,
    filter: slo.filter,
    baselineDays: 7,
    minHistory: 3,
    slo,
    burn: 'fast',
  };
}

const latencyOf = (p: RollupPoint): RollupPoint['latency'] => p.latency;

/** The SLO's error ratio and request count over a window, from rollups. */
async function errorRatio(
  env: EvalEnv,
  slo: SloSpec,
  windowMs: number,
): Promise<{ ratio: number; requests: number } | null> {
  const groups = await rollupGroups(env, sloCondition(slo), [], windowMs);
  const points: RollupPoint[] = [];
  for (const g of groups.values()) points.push(...g.points);
  const requests = sum(points, (p) => p.requests);
  if (requests === 0) return null;
  if (slo.kind === 'availability') return { ratio: sum(points, errorsOf) / requests, requests };
  return { ratio: shareAbove(mergedDense(points, latencyOf), (slo.thresholdSec as number) * 1000), requests };
}

/** PromQL of an SLO's error ratio over a window (the body of its recording rule). */
export function sloErrorRatioExpr(slo: SloSpec, windowMs: number): string | null {
  const w = promDuration(windowMs);
  const c = sloCondition(slo);
  if (slo.kind === 'availability') {
    const sel = selector(c, REQUEST_LABELS);
    const errSel = selector(c, REQUEST_LABELS, [`status=~"${ERROR_STATUS_RE}"`]);
    if (sel === null || errSel === null) return null;
    return `(sum(rate(llm_requests_total${errSel}[${w}])) or vector(0)) / sum(rate(llm_requests_total${sel}[${w}]))`;
  }
  const labels = ['provider', 'model', 'endpoint', 'stream'];
  const sel = selector(c, labels);
  const good = selector(c, labels, [`le="${slo.thresholdSec}"`]);
  if (sel === null || good === null) return null;
  return `1 - (sum(rate(llm_request_duration_seconds_bucket${good}[${w}])) / sum(rate(llm_request_duration_seconds_count${sel}[${w}])))`;
}

export function sloRecordName(windowMs: number): string {
  return `slo:sli_error:ratio_rate${promDuration(windowMs)}`;
}

export const sloBurn: KindDef = {
  kind: 'slo_burn',
  unit: 'ratio',
  source: 'rollups',
  defaults: { windowMs: HOUR_MS, op: '>', groupBy: [], minSamples: 20 },
  groupable: [],
  async evaluate(c, _groupBy, env) {
    const slo = c.slo;
    if (!slo) return [];
    let holding: number | null = null;
    let any: number | null = null;
    for (const w of BURN_WINDOWS[c.burn]) {
      const long = await errorRatio(env, slo, w.longMs);
      if (!long) continue;
      const short = await errorRatio(env, slo, w.shortMs);
      const t = burnThreshold(slo, w.burn);
      any = Math.max(any ?? 0, long.ratio);
      if (long.ratio > t && (short?.ratio ?? 0) > t && long.requests >= c.minSamples)
        holding = Math.max(holding ?? 0, long.ratio);
    }
    if (any === null) return [];
    return [{ labels: {}, value: holding ?? any, samples: null, holds: holding !== null }];
  },
  promql(c) {
    const slo = c.slo;
    if (!slo) return null;
    const sel = selector(c, REQUEST_LABELS);
    if (sel === null || sloErrorRatioExpr(slo, HOUR_MS) === null) return null;
    const s = `{slo="${slo.name}"}`;
    const branches = BURN_WINDOWS[c.burn].map((w) => {
      const t = fmt(burnThreshold(slo, w.burn));
      const pair = `${sloRecordName(w.longMs)}${s} > ${t} and ${sloRecordName(w.shortMs)}${s} > ${t}`;
      if (c.minSamples <= 0) return `(${pair})`;
      return `(${pair} and on() (sum(increase(llm_requests_total${sel}[${promDuration(w.longMs)}])) >= ${c.minSamples}))`;
    });
    return `max by (slo) (${branches.join(' or ')})`;
  },
  promCase(c, _labels, mode) {
    const slo = c.slo;
    if (!slo || mode === 'few') return null;
    // fast: past 14.4× the budget rate; slow: between 3× and 6×, so only the slow rule fires
    const budget = 1 - slo.objective;
    const ratio = mode === 'good' ? 0 : Number(Math.min(1, (c.burn === 'fast' ? 20 : 4) * budget).toPrecision(6));
    const l: Record<string, string> = {};
    for (const [k, v] of Object.entries(slo.filter)) if (v !== undefined) l[k] = v;
    const total = 60;
    const series =
      slo.kind === 'availability'
        ? [
            {
              series: seriesText('llm_requests_total', { endpoint: 'chat.completions', ...l, status: 'ok' }),
              values: counterValues(total * (1 - ratio)),
            },
            {
              series: seriesText('llm_requests_total', {
                endpoint: 'chat.completions',
                ...l,
                status: 'upstream_error',
              }),
              values: counterValues(total * ratio),
            },
          ]
        : [
            {
              series: seriesText('llm_requests_total', { endpoint: 'chat.completions', ...l, status: 'ok' }),
              values: counterValues(total),
            },
            {
              series: seriesText('llm_request_duration_seconds_bucket', {
                endpoint: 'chat.completions',
                ...l,
                stream: 'true',
                le: String(slo.thresholdSec),
              }),
              values: counterValues(total * (1 - ratio)),
            },
            {
              series: seriesText('llm_request_duration_seconds_count', {
                endpoint: 'chat.completions',
                ...l,
                stream: 'true',
              }),
              values: counterValues(total),
            },
          ];
    return { intervalMs: MINUTE_MS, series, value: ratio, warmupMs: 10 * MINUTE_MS };
  },
};
