// hallucination_rate: share of hallucination evaluations that failed (signal from the quality module). In Prometheus:
// llm_evaluations_total{verdict="fail"} over verdicts pass|fail (unknown and error are no verdict) of the
// quality module's hallucination evaluators.
import { HOUR_MS, MINUTE_MS } from '../../time.js';
import { badRatio, by, canGroup, counterValues, goodRatio, promDuration, seriesText, withMinSamples } from './kind.js';
import { signalKind, unfiltered } from './signal.js';

/** The quality module's hallucination evaluators (src/quality/evaluators). */
export const HALLUCINATION_EVALUATORS = 'grounding|consistency|attribution|judge';
export const FAILED_VERDICT = 'fail';
const DECIDED = 'pass|fail';

export const hallucinationRate = signalKind({
  kind: 'hallucination_rate',
  unit: 'ratio',
  signal: 'hallucination_rate',
  windowMs: HOUR_MS,
  op: '>',
  groupBy: [],
  minSamples: 20,
  promql(c, groupBy) {
    if (!unfiltered(c) || !canGroup(groupBy, ['evaluator'])) return null;
    const w = promDuration(c.windowMs);
    const all = `llm_evaluations_total{evaluator=~"${HALLUCINATION_EVALUATORS}", verdict=~"${DECIDED}"}`;
    const failed = `llm_evaluations_total{evaluator=~"${HALLUCINATION_EVALUATORS}", verdict="${FAILED_VERDICT}"}`;
    const value = `sum ${by(groupBy)} (rate(${failed}[${w}])) / sum ${by(groupBy)} (rate(${all}[${w}]))`;
    return withMinSamples(value, `sum ${by(groupBy)} (increase(${all}[${w}]))`, c.minSamples, groupBy);
  },
  promCase(c, labels, mode) {
    if (mode === 'few' && c.minSamples <= 1) return null;
    const ratio = mode === 'good' ? goodRatio(c) : badRatio(c);
    const steps = c.windowMs / MINUTE_MS;
    const total = mode === 'few' ? Math.min(4, (c.minSamples - 1) / 2) / steps : 60;
    const bad = mode === 'few' ? total * 0.75 : total * ratio;
    const l = { evaluator: 'grounding', ...labels };
    return {
      intervalMs: MINUTE_MS,
      warmupMs: c.windowMs,
      value: ratio,
      series: [
        { series: seriesText('llm_evaluations_total', { ...l, verdict: 'pass' }), values: counterValues(total - bad) },
        { series: seriesText('llm_evaluations_total', { ...l, verdict: FAILED_VERDICT }), values: counterValues(bad) },
      ],
    };
  },
});
