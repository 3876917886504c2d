// ttft_quantile: a quantile (default p95) of time to first token of streamed calls, in seconds.
import { BUCKETS } from '../../telemetry/metrics.js';
import { quantileKind } from './quantile.js';

export const ttftQuantile = quantileKind({
  kind: 'ttft_quantile',
  metric: 'llm_time_to_first_token_seconds',
  labels: ['provider', 'model'],
  buckets: BUCKETS.ttft,
  pick: (p) => p.ttft,
});
