// spend_forecast: month-end spend projected linearly from month-to-date spend (UTC month). Built-in only.
import { HOUR_MS } from '../../time.js';
import type { Sample } from '../model.js';
import type { KindDef } from './kind.js';
import { monthEnd, monthStart, monthToDate } from './spend-mtd.js';

export const spendForecast: KindDef = {
  kind: 'spend_forecast',
  unit: 'usd',
  source: 'rollups',
  defaults: { windowMs: HOUR_MS, op: '>', groupBy: [], minSamples: 0 },
  groupable: ['provider', 'model', 'endpoint', 'feature', 'team'],
  async evaluate(c, groupBy, env) {
    const start = monthStart(env.now);
    const elapsed = env.now - start;
    // Too early in the month for a projection to mean anything: wait for a day of data.
    if (elapsed < 24 * HOUR_MS) return [];
    const factor = (monthEnd(env.now) - start) / elapsed;
    const mtd = await monthToDate(c, groupBy, env);
    return mtd.map((s): Sample => ({ ...s, value: s.value * factor }));
  },
  promql: () => null,
};
