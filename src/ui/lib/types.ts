// The shapes of the /api answers the dashboard reads (only the fields it uses; see each route's handler).

export interface Figures {
  requests: number;
  errors: number;
  error_rate: number | null;
  refusals: number;
  refusal_rate: number | null;
  rps: number;
  input_tokens: number;
  output_tokens: number;
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

export interface CurrentRate {
  from: number;
  to: number;
  seconds: number;
  partial: boolean;
  requests: number;
  errors: number;
  error_rate: number | null;
  rps: number;
  tokens_per_s: number;
  output_tokens_per_s: number;
}

export interface Overview {
  from: number;
  to: number;
  step: 'minute' | 'hour';
  step_ms: number;
  summary: Figures;
  /** When the window's data begins (the first call's start; `from` when data came before; null: none). */
  data_from?: number | null;
  complete_to?: number;
  current?: CurrentRate | null;
  points: ({ t: number; partial?: boolean } & Figures)[];
}

export interface CostFigures {
  cost_usd: number;
  requests: number;
  unpriced_requests: number;
  input_tokens: number;
  output_tokens: number;
  cost_per_request: number | null;
  cost_per_1k_tokens: number | null;
}

export interface CostSummary {
  resolution: 'minute' | 'day';
  total: CostFigures;
  groups: (CostFigures & { key: string | null; share: number | null })[];
  rest: CostFigures | null;
  month_to_date_usd?: number;
  forecast_month_end_usd?: number;
}

export interface Budget {
  name: string;
  scope: string;
  match: string | null;
  period: string;
  limit_usd: number;
  action: string;
  ratio: number;
  resets_at: string;
  buckets: { value: string | null; period_start: string; spent_usd: number; ratio: number | null }[];
}

export interface QualityStats {
  responses: number;
  refusals: number;
  refusal_rate: number | null;
  feedback: { up: number; down: number; satisfaction_rate: number | null };
  evaluated: number;
  flagged: number;
  hallucination_rate: number | null;
  reviewed: {
    sampled: number;
    hallucinated: number;
    rate: number | null;
    ci95: { low: number; high: number } | null;
    labeled_total: number;
  };
  detectors: Record<
    string,
    {
      flagged_reviewed: number;
      confirmed: number;
      precision: number | null;
      ci95: { low: number; high: number } | null;
    }
  >;
}

export interface Evaluation {
  evaluator: string;
  verdict: string;
  score: number | null;
  explanation: string | null;
  evidence: unknown;
  claims: unknown[];
  duration_ms: number | null;
  created_at: string;
}

export interface Feedback {
  source: string;
  rating: 'up' | 'down';
  comment: string | null;
  labels: string[];
  created_at: string;
}

export interface ReviewItem {
  request_id: string;
  reasons: string[];
  call_at: string;
  queued_at: string;
  model: string;
  provider: string;
  feature: string | null;
  refusal: boolean;
  flagged_by: string[];
  rating: string | null;
  labels: {
    hallucination: boolean | null;
    refusal_correct: boolean | null;
    notes: string | null;
    reviewer: string | null;
    labeled_at: string;
  } | null;
  evaluations?: Evaluation[];
  feedback?: Feedback[];
  content?: { input: string | null; output: string | null } | null;
}

export interface Alert {
  alertname: string;
  rule: string;
  fingerprint: string;
  state: 'firing' | 'pending';
  severity: string;
  value: number;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  active_at: string;
  fired_at: string | null;
  silenced_by: string[];
  inhibited_by: string | null;
}

export interface AlertsBody {
  enabled: boolean;
  evaluated_at: string | null;
  firing: Alert[];
  pending: Alert[];
  history: {
    alertname: string;
    labels: Record<string, string>;
    value: number;
    fired_at: string | null;
    resolved_at: string;
    duration_s: number | null;
  }[];
  rules: {
    id: string;
    alertname: string;
    severity: string;
    kinds: string[];
    health: string;
    last_error: string | null;
  }[];
}

export interface Silence {
  id: string;
  matchers: string[] | Record<string, string>;
  starts_at: string;
  ends_at: string;
  status: 'pending' | 'active' | 'expired';
  created_by: string | null;
  comment: string | null;
}

export interface GpuBody {
  available: boolean;
  reason?: string;
  step: 'minute' | 'hour';
  gpus: {
    host: string;
    gpu: string;
    name: string | null;
    utilization: number | null;
    memory_used_bytes: number | null;
    memory_total_bytes: number | null;
    temperature_c: number | null;
    power_w: number | null;
    updated_at: string;
  }[];
  series: {
    host: string;
    gpu: string;
    name: string | null;
    points: {
      t: number;
      utilization_avg: number | null;
      memory_used_avg: number | null;
      memory_total: number | null;
    }[];
  }[];
  efficiency: {
    kind: 'self_hosted' | 'api';
    provider: string | null;
    model: string | null;
    hosts: string[];
    gpu_hours: number | null;
    output_tokens: number;
    cost_usd: number | null;
    cost_per_1k_output_tokens: number | null;
    utilization_avg: number | null;
  }[];
  signals: { kind: 'low_utilization' | 'high_memory'; host: string; gpu: string; value: number; threshold: number }[];
}

export interface CallRecord {
  request_id: string;
  trace_id: string | null;
  started_at: string;
  ended_at: string;
  provider: string;
  model: string;
  endpoint: string;
  stream: boolean;
  status: string;
  http_status: number;
  error_type: string | null;
  user: string | null;
  team: string | null;
  feature: string | null;
  session: string | null;
  input_tokens: number | null;
  output_tokens: number | null;
  cached_input_tokens: number | null;
  token_source: string | null;
  ttft_ms: number | null;
  tpot_ms: number | null;
  latency_ms: number;
  overhead_ms: number;
  cost_usd: number | null;
  price: { input: number; cached_input?: number; cachedInput?: number; output: number; source: string } | null;
  finish_reason: string | null;
  refusal: boolean;
}

export interface Span {
  trace_id: string;
  span_id: string;
  parent_span_id: string | null;
  name: string;
  kind: string;
  start_time: string;
  end_time: string;
  duration_ms: number;
  status: string;
  attributes: Record<string, string | number | boolean>;
  events: { name: string; time: string; attributes: Record<string, unknown> }[];
}

export interface CallDetail extends CallRecord {
  /** The upstream's own error message, when the gateway keeps it (not yet in every build). */
  error_message?: string | null;
  spans: Span[];
  events: { time: string; name: string; attributes: Record<string, unknown> }[];
  evaluations: Evaluation[];
  feedback: Feedback[];
  content?: { input: string | null; output: string | null };
}
