// The default rule pack: common practice for LLM services, plus the ServiceDegraded composite. SLO burn-rate rules
// are generated from `alerts.slos` (rules.ts). Thresholds are in base units: seconds, ratios, US dollars.
import type { RuleInput } from './spec.js';
import { USD_VALUE } from './template.js';

const MODEL = '{{ $labels.model }}';

export const DEFAULT_PACK: RuleInput[] = [
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
    annotations: {
      summary: `p95 latency of ${MODEL} is {{ $value | humanizeDuration }}`,
      description: `95% of ${MODEL} requests took up to {{ $value | humanizeDuration }} over 5 minutes, above 2s for 10 minutes.`,
    },
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
    annotations: {
      summary: `${MODEL} fails {{ $value | humanizePercentage }} of requests`,
      description: `{{ $value | humanizePercentage }} of ${MODEL} requests failed (upstream error, rate limited or timed out) over 5 minutes, above 1% for 10 minutes.`,
    },
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
    annotations: {
      summary: `p95 time to first token of ${MODEL} is {{ $value | humanizeDuration }}`,
      description: `Streamed ${MODEL} responses took up to {{ $value | humanizeDuration }} (p95) to show their first token, above 500ms for 10 minutes.`,
    },
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
    annotations: {
      summary: `p95 time per output token of ${MODEL} is {{ $value | humanizeDuration }}`,
      description: `${MODEL} streamed at up to {{ $value | humanizeDuration }} per token (p95), above 50ms for 10 minutes.`,
    },
  },
  {
    name: 'DailySpendHigh',
    kind: 'spend_day',
    window: '1d',
    op: '>',
    threshold: 1000,
    severity: 'warning',
    groupBy: [],
    annotations: {
      summary: `LLM spend over the last 24 hours is ${USD_VALUE}`,
      description: `Tracked LLM spend over the trailing 24 hours is ${USD_VALUE}, above $1000.`,
    },
  },
  {
    name: 'SingleCallCostHigh',
    kind: 'single_call_cost',
    window: '5m',
    op: '>',
    threshold: 1,
    severity: 'warning',
    annotations: {
      summary: `A single ${MODEL} call cost ${USD_VALUE}`,
      description: `A ${MODEL} call in the last 5 minutes cost ${USD_VALUE}, above $1; look for runaway prompts or max_tokens.`,
    },
  },
  {
    name: 'BudgetExceeded',
    kind: 'budget_ratio',
    op: '>=',
    threshold: 1,
    severity: 'warning',
    annotations: {
      summary: 'Budget {{ $labels.budget }} is at {{ $value | humanizePercentage }}',
      description:
        'Spend in the current period of budget {{ $labels.budget }} is {{ $value | humanizePercentage }} of its limit.',
    },
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
    annotations: {
      summary: `Cost per request of ${MODEL} is unusually high`,
      description: `Cost per request of ${MODEL} over the last hour is {{ printf "%.1f" $value }} robust deviations above the same hour over the previous week.`,
    },
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
    annotations: {
      summary: 'Hallucination checks fail on {{ $value | humanizePercentage }} of responses',
      description:
        '{{ $value | humanizePercentage }} of hallucination evaluations failed over the last hour, above 5%.',
    },
  },
  {
    name: 'GpuUnderutilized',
    kind: 'gpu_utilization',
    window: '5m',
    op: '<',
    threshold: 0.8,
    for: '30m',
    severity: 'info',
    annotations: {
      summary: 'GPU {{ $labels.gpu }} on {{ $labels.host }} is {{ $value | humanizePercentage }} utilized',
      description:
        'GPU {{ $labels.gpu }} on {{ $labels.host }} averaged {{ $value | humanizePercentage }} utilization, under 80% for 30 minutes: capacity is paid for and idle.',
    },
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
    annotations: {
      summary: `${MODEL} is degraded: slow and failing`,
      description: `${MODEL} has p95 latency {{ $value | humanizeDuration }} (over 2s) and an error rate over 1%, for 10 minutes. This alert replaces HighLatency and HighErrorRate for the model.`,
    },
  },
];

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
