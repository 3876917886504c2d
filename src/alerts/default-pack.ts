// The default rule pack: common practice for LLM services, plus the ServiceDegraded composite. SLO burn-rate rules
// are generated from `alerts.slos` (rules.ts). Thresholds are in base units: seconds, ratios, US dollars.
import { durationMs } from '../time.js';
import type { RuleInput } from './spec.js';
import { USD_VALUE } from './template.js';

const MODEL = '{{ $labels.model }}';

// The descriptions name the rule's threshold, window and `for`: they are written from the rule in force, so an
// override (alerts.overrides.HighLatency: { threshold: 3, for: 5m }) is described with its own figures.
const num = (v: number) => String(Number(v.toPrecision(6)));
/** What the descriptions read of a rule or of one of its conditions. */
type Figures = Pick<RuleInput, 'threshold' | 'op' | 'quantile'>;
const th = (r: Figures) => (typeof r.threshold === 'string' ? durationMs(r.threshold) / 1000 : (r.threshold ?? 0));
/** A threshold in seconds: 2s, 500ms. */
const secs = (r: Figures) => (th(r) < 1 ? `${num(th(r) * 1000)}ms` : `${num(th(r))}s`);
const pct = (r: Figures) => `${num(th(r) * 100)}%`;
const usd = (r: Figures) => `$${num(th(r))}`;
const q = (r: Figures) => num((r.quantile ?? 0.95) * 100);
const ABOVE = { '>': 'above', '>=': 'at or above', '<': 'under', '<=': 'at or under' } as const;
/** 'above 2s', 'under 80%': the comparison and the threshold (`over` in place of `above` where the text says so). */
const past = (r: Figures, value: (r: Figures) => string, above = 'above') =>
  `${(r.op ?? '>') === '>' ? above : ABOVE[r.op ?? '>']} ${value(r)}`;
/** '10m' → '10 minutes'; '1h' → 'hour' ('1 hour' with one). */
function span(d: RuleInput['for'], one = false): string {
  const ms = d === undefined ? 0 : durationMs(d);
  for (const [unit, size] of [
    ['day', 86_400_000],
    ['hour', 3_600_000],
    ['minute', 60_000],
    ['second', 1000],
  ] as const)
    if (ms >= size && ms % size === 0) return ms === size ? (one ? `1 ${unit}` : unit) : `${num(ms / size)} ${unit}s`;
  return `${num(ms)} ms`;
}
/** ' for 10 minutes', or nothing when the rule fires at once. */
const forSpan = (r: RuleInput) => (r.for === undefined || durationMs(r.for) === 0 ? '' : ` for ${span(r.for, true)}`);

type Annotate = (r: RuleInput) => Record<string, string>;

/** The default rules' annotations, from the rule as configured (the default or its override). */
const ANNOTATE: Record<string, Annotate> = {
  HighLatency: (r) => ({
    summary: `p${q(r)} latency of ${MODEL} is {{ $value | humanizeDuration }}`,
    description: `${q(r)}% of ${MODEL} requests took up to {{ $value | humanizeDuration }} over ${span(r.window, true)}, ${past(r, secs)}${forSpan(r)}.`,
  }),
  HighErrorRate: (r) => ({
    summary: `${MODEL} fails {{ $value | humanizePercentage }} of requests`,
    description: `{{ $value | humanizePercentage }} of ${MODEL} requests failed (upstream error, rate limited or timed out) over ${span(r.window, true)}, ${past(r, pct)}${forSpan(r)}.`,
  }),
  HighTTFT: (r) => ({
    summary: `p${q(r)} time to first token of ${MODEL} is {{ $value | humanizeDuration }}`,
    description: `Streamed ${MODEL} responses took up to {{ $value | humanizeDuration }} (p${q(r)}) to show their first token, ${past(r, secs)}${forSpan(r)}.`,
  }),
  HighTPOT: (r) => ({
    summary: `p${q(r)} time per output token of ${MODEL} is {{ $value | humanizeDuration }}`,
    description: `${MODEL} streamed at up to {{ $value | humanizeDuration }} per token (p${q(r)}), ${past(r, secs)}${forSpan(r)}.`,
  }),
  DailySpendHigh: (r) => ({
    summary: `LLM spend over the last 24 hours is ${USD_VALUE}`,
    description: `Tracked LLM spend over the trailing 24 hours is ${USD_VALUE}, ${past(r, usd)}${forSpan(r)}.`,
  }),
  SingleCallCostHigh: (r) => ({
    summary: `A single ${MODEL} call cost ${USD_VALUE}`,
    description: `A ${MODEL} call in the last ${span(r.window)} cost ${USD_VALUE}, ${past(r, usd)}; look for runaway prompts or max_tokens.`,
  }),
  BudgetExceeded: (r) => ({
    summary: 'Budget {{ $labels.budget }} is at {{ $value | humanizePercentage }}',
    description: `Spend in the current period of budget {{ $labels.budget }} is {{ $value | humanizePercentage }} of its limit, or it refused calls in the last ${span(r.window ?? '5m')} (read as 100%: a budget with action block refuses a call whose estimated cost would take the spend past the limit).`,
  }),
  CostPerRequestAnomaly: (r) => ({
    summary: `Cost per request of ${MODEL} is unusually high`,
    description: `Cost per request of ${MODEL} over the last ${span(r.window)} is {{ printf "%.1f" $value }} robust deviations above the same hour over the previous ${(r.baselineDays ?? 7) === 7 ? 'week' : `${r.baselineDays} days`}.`,
  }),
  HallucinationRateHigh: (r) => ({
    summary: 'Hallucination checks fail on {{ $value | humanizePercentage }} of responses',
    description: `{{ $value | humanizePercentage }} of hallucination evaluations failed over the last ${span(r.window)}, ${past(r, pct)}.`,
  }),
  GpuUnderutilized: (r) => ({
    summary: 'GPU {{ $labels.gpu }} on {{ $labels.host }} is {{ $value | humanizePercentage }} utilized',
    description: `GPU {{ $labels.gpu }} on {{ $labels.host }} averaged {{ $value | humanizePercentage }} utilization, ${past(r, pct)}${forSpan(r)}: capacity is paid for and idle.`,
  }),
  ServiceDegraded: (r) => {
    const [lat = {}, err = {}] = r.conditions ?? [];
    return {
      summary: `${MODEL} is degraded: slow and failing`,
      description: `${MODEL} has p${q(lat)} latency {{ $value | humanizeDuration }} (${past(lat, secs, 'over')}) and an error rate ${past(err, pct, 'over')}${forSpan(r) && `,${forSpan(r)}`}. This alert replaces HighLatency and HighErrorRate for the model.`,
    };
  },
};

/** The annotations a default rule gets from its own figures; undefined for a name not in the pack. */
export function packAnnotations(r: RuleInput): Record<string, string> | undefined {
  return ANNOTATE[r.name]?.(r);
}

const BASE: RuleInput[] = [
  {
    name: 'HighLatency',
    kind: 'latency_quantile',
    quantile: 0.95,
    window: '5m',
    op: '>',
    threshold: 2,
    minSamples: 10,
    for: '10m',
    severity: 'warning',
  },
  {
    name: 'HighErrorRate',
    kind: 'error_rate',
    window: '5m',
    op: '>',
    threshold: 0.01,
    minSamples: 20,
    for: '10m',
    severity: 'warning',
  },
  {
    name: 'HighTTFT',
    kind: 'ttft_quantile',
    quantile: 0.95,
    window: '5m',
    op: '>',
    threshold: 0.5,
    minSamples: 10,
    for: '10m',
    severity: 'warning',
  },
  {
    name: 'HighTPOT',
    kind: 'tpot_quantile',
    quantile: 0.95,
    window: '5m',
    op: '>',
    threshold: 0.05,
    minSamples: 10,
    for: '10m',
    severity: 'warning',
  },
  {
    name: 'DailySpendHigh',
    kind: 'spend_day',
    window: '1d',
    op: '>',
    threshold: 1000,
    severity: 'warning',
    groupBy: [],
  },
  {
    name: 'SingleCallCostHigh',
    kind: 'single_call_cost',
    window: '5m',
    op: '>',
    threshold: 1,
    severity: 'warning',
  },
  {
    name: 'BudgetExceeded',
    kind: 'budget_ratio',
    op: '>=',
    threshold: 1,
    severity: 'warning',
  },
  {
    name: 'CostPerRequestAnomaly',
    kind: 'cost_anomaly',
    window: '1h',
    op: '>',
    threshold: 3.5,
    minSamples: 50,
    baselineDays: 7,
    minHistory: 3,
    for: '30m',
    severity: 'warning',
  },
  {
    name: 'HallucinationRateHigh',
    kind: 'hallucination_rate',
    window: '1h',
    op: '>',
    threshold: 0.05,
    minSamples: 20,
    for: '15m',
    severity: 'warning',
  },
  {
    name: 'GpuUnderutilized',
    kind: 'gpu_utilization',
    window: '5m',
    op: '<',
    threshold: 0.8,
    for: '30m',
    severity: 'info',
  },
  {
    name: 'ServiceDegraded',
    kind: 'all',
    conditions: [
      { kind: 'latency_quantile', quantile: 0.95, window: '5m', op: '>', threshold: 2, minSamples: 10 },
      { kind: 'error_rate', window: '5m', op: '>', threshold: 0.01, minSamples: 20 },
    ],
    groupBy: ['model'],
    for: '10m',
    severity: 'critical',
  },
];

export const DEFAULT_PACK: RuleInput[] = BASE.map((r) => ({ ...r, annotations: packAnnotations(r) }));

/** Annotations of the generated SLO burn-rate rules. */
export function sloAnnotations(slo: string, burn: 'fast' | 'slow', objective: number): Record<string, string> {
  const pct = `${Number((objective * 100).toPrecision(6))}%`;
  return {
    summary: `SLO ${slo} is burning its error budget ${burn === 'fast' ? 'fast' : 'steadily'}`,
    description:
      burn === 'fast'
        ? `The ${slo} SLO (${pct}) error ratio is {{ $value | humanizePercentage }}: at this rate a 30-day error budget is gone within days (1h/5m at 14.4x or 6h/30m at 6x).`
        : `The ${slo} SLO (${pct}) error ratio is {{ $value | humanizePercentage }}: the 30-day error budget will run out before the period ends (1d/2h at 3x or 3d/6h at 1x).`,
  };
}
