// error_rate: share of requests that failed on the provider's side (upstream error, rate limited, timeout).
import { ERROR_STATUS_RE, errorsOf } from './kind.js';
import { requestRatioKind, seriesOf } from './request-ratio.js';

export const errorRate = requestRatioKind({
  kind: 'error_rate',
  numerator: errorsOf,
  promNumerator: (m, w) => `rate(llm_requests_total{${[...m, `status=~"${ERROR_STATUS_RE}"`].join(', ')}}[${w}])`,
  promSeries: (labels, total, bad) => [
    seriesOf('llm_requests_total', { endpoint: 'chat.completions', ...labels, status: 'ok' }, total - bad),
    seriesOf('llm_requests_total', { endpoint: 'chat.completions', ...labels, status: 'upstream_error' }, bad),
  ],
  minSamples: 20,
});
