// budget_ratio: spend in the budget's period over its limit (1 = budget used up), per budget (signal from cost).
import { MINUTE_MS } from '../../time.js';
import { gaugeCase } from './gpu-utilization.js';
import { by, canGroup, seriesText } from './kind.js';
import { signalKind, unfiltered } from './signal.js';

export const budgetRatio = signalKind({
  kind: 'budget_ratio',
  unit: 'ratio',
  signal: 'budget_ratio',
  windowMs: 5 * MINUTE_MS,
  op: '>=',
  groupBy: ['budget'],
  minSamples: 0,
  promql(c, groupBy) {
    if (!unfiltered(c) || !canGroup(groupBy, ['budget'])) return null;
    return `max ${by(groupBy)} (llm_budget_spend_ratio)`;
  },
  promCase: (c, labels, mode) =>
    gaugeCase(
      c,
      mode,
      (v) => [{ series: seriesText('llm_budget_spend_ratio', labels), value: v }],
      (high) => (high ? c.threshold * 1.5 : c.threshold / 2),
    ),
});
