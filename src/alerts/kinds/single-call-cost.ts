// single_call_cost: the most expensive single call in the window, in US dollars. Rollups hold sums, so this reads
// the recorder-fed CallCostTracker; Prometheus has no per-call series, so it is not exported.
import { MINUTE_MS } from '../../time.js';
import type { Sample } from '../model.js';
import { isDimension } from '../model.js';
import type { KindDef } from './kind.js';

export const singleCallCost: KindDef = {
  kind: 'single_call_cost',
  unit: 'usd',
  source: 'calls',
  defaults: { windowMs: 5 * MINUTE_MS, op: '>', groupBy: ['model'], minSamples: 0 },
  groupable: ['provider', 'model', 'endpoint', 'feature', 'team'],
  async evaluate(c, groupBy, env) {
    return env.callCosts
      .max(env.now - c.windowMs, env.now + 1, c.filter, groupBy.filter(isDimension))
      .map((g): Sample => ({ labels: g.labels, value: g.max, samples: g.count }));
  },
  promql: () => null,
};
