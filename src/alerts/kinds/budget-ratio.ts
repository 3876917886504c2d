// budget_ratio: spend in the budget's period over its limit (1 = budget used up), per budget (signal from cost). A
// `block` budget that refused a call within the window reads at least 1: it refuses a call whose estimate would pass
// its limit, so its spend can stay under the limit while its calls are refused (QA34).

import { MINUTE_MS } from '../../time.js';
import type { Condition } from '../model.js';
import { gaugeCase } from './gpu-utilization.js';
import { by, canGroup, fmt, type PromCase, promDuration, seriesText } from './kind.js';
import { signalKind, unfiltered } from './signal.js';

/** True when a budget at 1 (refusing calls) crosses the condition's threshold. */
function blockedCrosses(c: Condition): boolean {
  return (c.op === '>=' && c.threshold <= 1) || (c.op === '>' && c.threshold < 1);
}

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
    // The ratio, or 1 for a budget whose refusals (llmscope_budget_blocked_total) grew within the window: the
    // refusals' series gets a label of its own so `or` keeps both, and max takes the larger.
    const refusing = `label_replace((increase(llmscope_budget_blocked_total[${promDuration(c.windowMs)}]) > 0) * 0 + 1, "refusing", "true", "", "")`;
    return `max ${by(groupBy)} (llm_budget_spend_ratio or ${refusing})`;
  },
  promCase: (c, labels, mode) =>
    gaugeCase(
      c,
      mode,
      (v) => [{ series: seriesText('llm_budget_spend_ratio', labels), value: v }],
      (high) => (high ? c.threshold * 1.5 : c.threshold / 2),
    ),
  morePromCases(c, labels, forMs) {
    if (!blockedCrosses(c)) return [];
    const step = MINUTE_MS;
    const under = c.threshold / 2;
    const ratio = { series: seriesText('llm_budget_spend_ratio', labels), values: (n: number) => `${fmt(under)}x${n}` };
    const refusals = (stopAfter: number | null) => ({
      series: seriesText('llmscope_budget_blocked_total', labels),
      values: (n: number) => (stopAfter === null ? `0+1x${n}` : `0+1x${stopAfter} ${stopAfter}x${n - stopAfter}`),
    });
    const firing: PromCase = { intervalMs: step, warmupMs: c.windowMs, value: 1, series: [ratio, refusals(null)] };
    // refusals until the alert fires (pending from the second sample, then `for`), then none for longer than the
    // window: the refusals counter is flat over the window at the end
    const stopAfter = 2 + Math.ceil(forMs / step);
    const stopped: PromCase = {
      intervalMs: step,
      warmupMs: c.windowMs + stopAfter * step,
      value: 1,
      series: [ratio, refusals(stopAfter)],
    };
    return [
      { what: 'fires while a block budget refuses calls under its limit', mode: 'bad', case: firing },
      {
        what: 'fires while refusals happen and resolves once they stop, spend under the limit',
        mode: 'good',
        case: stopped,
        firingAtMs: stopAfter * step,
      },
    ];
  },
});
