// tpot_quantile: a quantile (default p95) of time per output token after the first, in seconds.
import { BUCKETS } from '../../telemetry/metrics.js';
import { quantileKind } from './quantile.js';

export const tpotQuantile = quantileKind({
  kind: 'tpot_quantile',
  metric: 'llm_time_per_output_token_seconds',
  labels: ['provider', 'model'],
  buckets: BUCKETS.tpot,
  pick: (p) => p.tpot,
});
