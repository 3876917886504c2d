// thumbs_down_rate: share of user feedback that is a thumbs-down (signal from the quality module's feedback).
import { HOUR_MS, MINUTE_MS } from '../../time.js';
import { badRatio, counterValues, goodRatio, promDuration, seriesText, withMinSamples } from './kind.js';
import { signalKind, unfiltered } from './signal.js';

export const thumbsDownRate = signalKind({
  kind: 'thumbs_down_rate',
  unit: 'ratio',
  signal: 'thumbs_down_rate',
  windowMs: HOUR_MS,
  op: '>',
  groupBy: [],
  minSamples: 20,
  promql(c, groupBy) {
    if (!unfiltered(c) || groupBy.length > 0) return null;
    const w = promDuration(c.windowMs);
    const value = `sum(rate(llm_feedback_total{rating="down"}[${w}])) / sum(rate(llm_feedback_total[${w}]))`;
    return withMinSamples(value, `sum(increase(llm_feedback_total[${w}]))`, c.minSamples, groupBy);
  },
  promCase(c, _labels, mode) {
    if (mode === 'few' && c.minSamples <= 1) return null;
    const ratio = mode === 'good' ? goodRatio(c) : badRatio(c);
    const steps = c.windowMs / MINUTE_MS;
    const total = mode === 'few' ? Math.min(4, (c.minSamples - 1) / 2) / steps : 60;
    const bad = mode === 'few' ? total * 0.75 : total * ratio;
    return {
      intervalMs: MINUTE_MS,
      warmupMs: c.windowMs,
      value: ratio,
      series: [
        { series: seriesText('llm_feedback_total', { rating: 'up' }), values: counterValues(total - bad) },
        { series: seriesText('llm_feedback_total', { rating: 'down' }), values: counterValues(bad) },
      ],
    };
  },
});
