// Prometheus recording rules, named level:metric:operations (the level is the labels kept; `_total` is dropped under
// rate). Dashboards read these; SLO rules add one error-ratio series per SLO and window (Sloth's naming).

import { COST_PER_REQUEST_RECORD } from '../kinds/cost-anomaly.js';
import { ERROR_STATUS_RE, fmt } from '../kinds/kind.js';
import { SLO_WINDOWS, sloErrorRatioExpr, sloRecordName } from '../kinds/slo-burn.js';
import { sloSpecOf } from '../rules.js';
import type { AlertsConfig } from '../spec.js';

export interface RecordingRule {
  record: string;
  expr: string;
  labels?: Record<string, string>;
}

export interface RuleGroup {
  name: string;
  interval?: string;
  rules: RecordingRule[];
}

const ERR = `status=~"${ERROR_STATUS_RE}"`;

/** Levels: job (everything summed) and model. */
const LEVELS: { level: 'job' | 'model'; by: string }[] = [
  { level: 'job', by: '' },
  { level: 'model', by: 'model' },
];

function sumBy(by: string, extra = ''): string {
  const labels = [extra, by].filter(Boolean).join(', ');
  return labels ? `sum by (${labels})` : 'sum';
}

/** Names dashboards and docs refer to. */
export const REC = {
  requests: (l: string) => `${l}:llm_requests:rate5m`,
  errors: (l: string) => `${l}:llm_request_errors:rate5m`,
  errorRatio: (l: string) => `${l}:llm_request_errors_per_requests:ratio_rate5m`,
  latency: (l: string, p: number) => `${l}:llm_request_duration_seconds:p${p}_rate5m`,
  ttft: (l: string, p: number) => `${l}:llm_time_to_first_token_seconds:p${p}_rate5m`,
  tpot: (l: string, p: number) => `${l}:llm_time_per_output_token_seconds:p${p}_rate5m`,
  tokens: (l: string) => `${l === 'job' ? 'type' : `${l}_type`}:llm_tokens:rate5m`,
  cost: (l: string) => `${l}:llm_cost_usd:rate5m`,
  cost1h: (l: string) => `${l}:llm_cost_usd:increase1h`,
  cost1d: (l: string) => `${l}:llm_cost_usd:increase1d`,
  costPerRequest: (l: 'job' | 'model') => COST_PER_REQUEST_RECORD(l),
  refusalRatio: (l: string) => `${l}:llm_refusals_per_requests:ratio_rate5m`,
  feedbackDown: 'job:llm_feedback_down_per_feedback:ratio_rate1h',
  evaluationsFailed: 'evaluator:llm_evaluations_failed_per_evaluations:ratio_rate1h',
  gpuUtil: 'host_gpu:gpu_utilization_ratio:avg5m',
  gpuMemory: 'host_gpu:gpu_memory_used_per_total:ratio',
  overhead: 'job:llmscope_gateway_overhead_seconds:p99_rate5m',
  sloObjective: 'slo:objective:ratio',
} as const;

const QUANTILES = [50, 95, 99] as const;

export function recordingGroups(cfg: AlertsConfig): RuleGroup[] {
  const rules: RecordingRule[] = [];
  for (const { level, by } of LEVELS) {
    const s = sumBy(by);
    rules.push({ record: REC.requests(level), expr: `${s} (rate(llm_requests_total[5m]))` });
    rules.push({
      record: REC.errors(level),
      // zero, not absent, when a model had no errors: ratios and dashboards then show 0%
      expr: `${s} (rate(llm_requests_total{${ERR}}[5m])) or ${s} (rate(llm_requests_total[5m])) * 0`,
    });
    rules.push({ record: REC.errorRatio(level), expr: `${REC.errors(level)} / ${REC.requests(level)}` });
    for (const p of QUANTILES) {
      rules.push({
        record: REC.latency(level, p),
        expr: `histogram_quantile(${p / 100}, ${sumBy(by, 'le')} (rate(llm_request_duration_seconds_bucket[5m])))`,
      });
      rules.push({
        record: REC.ttft(level, p),
        expr: `histogram_quantile(${p / 100}, ${sumBy(by, 'le')} (rate(llm_time_to_first_token_seconds_bucket[5m])))`,
      });
      rules.push({
        record: REC.tpot(level, p),
        expr: `histogram_quantile(${p / 100}, ${sumBy(by, 'le')} (rate(llm_time_per_output_token_seconds_bucket[5m])))`,
      });
    }
    rules.push({ record: REC.tokens(level), expr: `${sumBy(by, 'type')} (rate(llm_tokens_total[5m]))` });
    rules.push({ record: REC.cost(level), expr: `${s} (rate(llm_cost_usd_total[5m]))` });
    rules.push({ record: REC.cost1h(level), expr: `${s} (increase(llm_cost_usd_total[1h]))` });
    rules.push({ record: REC.cost1d(level), expr: `${s} (increase(llm_cost_usd_total[1d]))` });
    rules.push({
      record: REC.costPerRequest(level),
      expr: `${s} (rate(llm_cost_usd_total[1h])) / ${s} (rate(llm_requests_total[1h]))`,
    });
    rules.push({
      record: REC.refusalRatio(level),
      expr: `(${s} (rate(llm_refusals_total[5m])) or ${s} (rate(llm_requests_total[5m])) * 0) / ${REC.requests(level)}`,
    });
  }
  rules.push({ record: REC.cost('feature'), expr: 'sum by (feature) (rate(llm_cost_usd_total[5m]))' });
  rules.push({ record: REC.cost1d('feature'), expr: 'sum by (feature) (increase(llm_cost_usd_total[1d]))' });
  rules.push({
    record: REC.feedbackDown,
    expr: 'sum(rate(llm_feedback_total{rating="down"}[1h])) / sum(rate(llm_feedback_total[1h]))',
  });
  rules.push({
    record: REC.evaluationsFailed,
    expr: 'sum by (evaluator) (rate(llm_evaluations_total{verdict="fail"}[1h])) / sum by (evaluator) (rate(llm_evaluations_total{verdict=~"pass|fail"}[1h]))',
  });
  rules.push({ record: REC.gpuUtil, expr: 'avg by (host, gpu) (avg_over_time(gpu_utilization_ratio[5m]))' });
  rules.push({
    record: REC.gpuMemory,
    expr: 'sum by (host, gpu) (gpu_memory_used_bytes) / sum by (host, gpu) (gpu_memory_total_bytes)',
  });
  rules.push({
    record: REC.overhead,
    expr: 'histogram_quantile(0.99, sum by (le) (rate(llmscope_gateway_overhead_seconds_bucket[5m])))',
  });

  const slo: RecordingRule[] = [];
  for (const input of cfg.slos) {
    const spec = sloSpecOf(input);
    for (const w of SLO_WINDOWS) {
      const expr = sloErrorRatioExpr(spec, w);
      if (expr) slo.push({ record: sloRecordName(w), expr, labels: { slo: spec.name } });
    }
    slo.push({ record: REC.sloObjective, expr: `vector(${fmt(spec.objective)})`, labels: { slo: spec.name } });
  }
  const groups: RuleGroup[] = [{ name: 'llmscope-recording', rules }];
  if (slo.length) groups.push({ name: 'llmscope-slo', rules: slo });
  return groups;
}
