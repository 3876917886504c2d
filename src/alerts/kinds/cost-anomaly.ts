// cost_anomaly: how far cost per request over the last hour sits from the same hour on the previous days, as a
// robust z-score: (x − median) / (1.4826 · MAD), the MAD floored at 5% of the median so a flat history does not
// turn a cent's change into infinity. Medians ignore one odd day; a mean and standard deviation would not.
import { DAY_MS, HOUR_MS, MINUTE_MS } from '../../time.js';
import type { Condition, Sample } from '../model.js';
import {
  by,
  canGroup,
  caseLabels,
  type EvalEnv,
  fmt,
  type KindDef,
  rollupGroups,
  selector,
  seriesText,
  sum,
  withMinSamples,
} from './kind.js';

export const MAD_SCALE = 1.4826;
export const MAD_FLOOR = 0.05;

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return Number.NaN;
  const mid = Math.floor(n / 2);
  return n % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** Robust z-score of x against a history, or null when the history is too short. */
export function robustScore(x: number, history: readonly number[], minHistory: number): number | null {
  if (history.length < minHistory) return null;
  const m = median(history);
  const mad = median(history.map((h) => Math.abs(h - m)));
  const scale = Math.max(MAD_SCALE * mad, MAD_FLOOR * m);
  if (scale === 0) return x === m ? 0 : Number.POSITIVE_INFINITY;
  return (x - m) / scale;
}

async function costPerRequest(
  env: EvalEnv,
  c: Condition,
  groupBy: string[],
  end: number,
  step: 'minute' | 'hour',
): Promise<Map<string, { labels: Record<string, string>; value: number; requests: number }>> {
  const out = new Map<string, { labels: Record<string, string>; value: number; requests: number }>();
  for (const [k, g] of await rollupGroups(env, c, groupBy, c.windowMs, end, step)) {
    const requests = sum(g.points, (p) => p.requests);
    if (requests > 0) out.set(k, { labels: g.labels, value: sum(g.points, (p) => p.costUsd) / requests, requests });
  }
  return out;
}

const LABELS = ['provider', 'model'] as const;

/** Recording rule of cost per request over 1h (export/recording.ts records it for these levels). */
export const COST_PER_REQUEST_RECORD = (level: 'job' | 'model') => `${level}:llm_cost_usd_per_requests:ratio_rate1h`;

/** The recorded series a condition can read (with `offset` for history), when it matches one exactly. */
function recordedCostPerRequest(c: Condition, groupBy: string[]): string | null {
  if (c.windowMs !== HOUR_MS || Object.values(c.filter).some((v) => v !== undefined)) return null;
  if (groupBy.length === 0) return COST_PER_REQUEST_RECORD('job');
  if (groupBy.length === 1 && groupBy[0] === 'model') return COST_PER_REQUEST_RECORD('model');
  return null;
}

export const costAnomaly: KindDef = {
  kind: 'cost_anomaly',
  unit: 'score',
  source: 'rollups',
  defaults: { windowMs: HOUR_MS, op: '>', groupBy: ['model'], minSamples: 50 },
  groupable: ['provider', 'model', 'endpoint', 'feature', 'team'],
  async evaluate(c, groupBy, env) {
    const current = await costPerRequest(env, c, groupBy, env.now, 'minute');
    const history = new Map<string, number[]>();
    for (let k = 1; k <= c.baselineDays; k++) {
      // hourly rollups: minute rollups may be gone a week back
      for (const [key, v] of await costPerRequest(env, c, groupBy, env.now - k * DAY_MS, 'hour')) {
        const h = history.get(key);
        if (h) h.push(v.value);
        else history.set(key, [v.value]);
      }
    }
    const out: Sample[] = [];
    for (const [key, cur] of current) {
      const score = robustScore(cur.value, history.get(key) ?? [], c.minHistory);
      if (score !== null) out.push({ labels: cur.labels, value: score, samples: cur.requests });
    }
    return out;
  },
  promql(c, groupBy) {
    const sel = selector(c, LABELS);
    if (sel === null || !canGroup(groupBy, LABELS) || c.windowMs % MINUTE_MS !== 0) return null;
    const w = `${c.windowMs / MINUTE_MS}m`;
    const g = groupBy.join(', ');
    const recorded = recordedCostPerRequest(c, groupBy);
    const x = (days: number) => {
      const off = days ? ` offset ${days}d` : '';
      if (recorded) return `${recorded}${off}`;
      return `(sum ${by(groupBy)} (rate(llm_cost_usd_total${sel}[${w}]${off})) / sum ${by(groupBy)} (rate(llm_requests_total${sel}[${w}]${off})))`;
    };
    const hist = Array.from(
      { length: c.baselineDays },
      (_, i) => `label_replace(${x(i + 1)}, "baseline_day", "${i + 1}", "", "")`,
    ).join(' or ');
    const med = `quantile ${by(groupBy)} (0.5, ${hist})`;
    const mad = `quantile ${by(groupBy)} (0.5, abs((${hist}) - on(${g}) group_left() (${med})))`;
    const scale = `((${MAD_SCALE} * ${mad}) > (${MAD_FLOOR} * ${med}) or (${MAD_FLOOR} * ${med}))`;
    const score = `((${x(0)} - on(${g}) (${med})) / on(${g}) ${scale}) and on(${g}) (count ${by(groupBy)} (${hist}) >= ${c.minHistory})`;
    const count = `sum ${by(groupBy)} (increase(llm_requests_total${sel}[${w}]))`;
    return withMinSamples(score, count, c.minSamples, groupBy);
  },
  promCase(c, labels, mode, forMs) {
    if (mode === 'few' || c.op === '<' || c.op === '<=') return null;
    // 5-minute samples: a 1h rate has several, and an alert evaluated before the recording rule of the same tick
    // still sees the previous tick's value (5m lookback). The spike covers the last window plus `for`.
    const step = 5 * MINUTE_MS;
    if (c.windowMs % step !== 0) return null;
    const warmupMs = (c.baselineDays + 1) * DAY_MS;
    const spikeSteps = Math.ceil((c.windowMs + forMs) / step) + 2;
    const reqPerStep = 300;
    const base = 0.001 * reqPerStep;
    const spike = mode === 'bad' ? base * 10 : base;
    const l = caseLabels(c, labels);
    const value = (spike / reqPerStep - 0.001) / (MAD_FLOOR * 0.001);
    return {
      intervalMs: step,
      warmupMs,
      value,
      series: [
        {
          series: seriesText('llm_requests_total', { endpoint: 'chat.completions', ...l, status: 'ok' }),
          values: (n) => `0+${reqPerStep}x${n}`,
        },
        {
          series: seriesText('llm_cost_usd_total', { ...l, feature: 'chat' }),
          values: (n) =>
            `0+${fmt(base)}x${n - spikeSteps} ${fmt((n - spikeSteps) * base + spike)}+${fmt(spike)}x${spikeSteps - 1}`,
        },
      ],
    };
  },
};
