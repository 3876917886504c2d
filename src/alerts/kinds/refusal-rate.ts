// refusal_rate: share of requests in which the model declined to answer.
import { requestRatioKind, seriesOf } from './request-ratio.js';

export const refusalRate = requestRatioKind({
  kind: 'refusal_rate',
  numerator: (p) => p.refusals,
  promNumerator: (m, w) => {
    if (m.some((x) => x.startsWith('endpoint='))) return null; // llm_refusals_total has provider and model only
    return `rate(llm_refusals_total${m.length ? `{${m.join(', ')}}` : ''}[${w}])`;
  },
  promSeries: (labels, total, bad) => [
    seriesOf('llm_requests_total', { endpoint: 'chat.completions', ...labels, status: 'ok' }, total),
    seriesOf('llm_refusals_total', labels, bad),
  ],
  minSamples: 20,
});
