// spend_day: US dollars spent over the window (default the trailing 24 hours), from rollups.
import { DAY_MS, HOUR_MS } from '../../time.js';
import type { Sample } from '../model.js';
import {
  by,
  canGroup,
  caseLabels,
  counterValues,
  type KindDef,
  promDuration,
  rollupGroups,
  selector,
  seriesText,
  sum,
} from './kind.js';

export const COST_LABELS = ['provider', 'model', 'feature'] as const;

export const spendDay: KindDef = {
  kind: 'spend_day',
  unit: 'usd',
  source: 'rollups',
  defaults: { windowMs: DAY_MS, op: '>', groupBy: [], minSamples: 0 },
  groupable: ['provider', 'model', 'endpoint', 'feature', 'team'],
  async evaluate(c, groupBy, env) {
    const out: Sample[] = [];
    for (const g of (await rollupGroups(env, c, groupBy)).values())
      out.push({ labels: g.labels, value: sum(g.points, (p) => p.costUsd), samples: sum(g.points, (p) => p.requests) });
    return out;
  },
  promql(c, groupBy) {
    const sel = selector(c, COST_LABELS);
    if (sel === null || !canGroup(groupBy, COST_LABELS)) return null;
    return `sum ${by(groupBy)} (increase(llm_cost_usd_total${sel}[${promDuration(c.windowMs)}]))`;
  },
  promCase(c, labels, mode) {
    if (mode === 'few') return null;
    const high = c.op === '>' || c.op === '>=';
    const wantHigh = mode === 'good' ? !high : high;
    const total = wantHigh ? c.threshold * 2 : c.threshold / 4;
    const steps = c.windowMs / HOUR_MS;
    return {
      intervalMs: HOUR_MS,
      series: [
        { series: seriesText('llm_cost_usd_total', caseLabels(c, labels)), values: counterValues(total / steps) },
      ],
      value: total,
      warmupMs: c.windowMs,
    };
  },
};
