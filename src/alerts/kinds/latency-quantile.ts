// latency_quantile: a quantile (default p95) of total request latency, in seconds.
import { BUCKETS } from '../../telemetry/metrics.js';
import { quantileKind } from './quantile.js';

export const latencyQuantile = quantileKind({
  kind: 'latency_quantile',
  metric: 'llm_request_duration_seconds',
  labels: ['provider', 'model', 'endpoint', 'stream'],
  buckets: BUCKETS.duration,
  pick: (p) => p.latency,
});
