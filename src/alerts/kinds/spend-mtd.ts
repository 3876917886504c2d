// spend_mtd: US dollars spent since the start of the month (UTC), from hourly rollups. Built-in only: Prometheus
// sees month-to-date spend through llm_budget_spend_ratio (the budget_ratio kind).
import { HOUR_MS } from '../../time.js';
import type { Condition, Sample } from '../model.js';
import { type EvalEnv, type KindDef, rollupGroups, sum } from './kind.js';

export function monthStart(now: number): number {
  const d = new Date(now);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}

export function monthEnd(now: number): number {
  const d = new Date(now);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

export async function monthToDate(c: Condition, groupBy: string[], env: EvalEnv): Promise<Sample[]> {
  const start = monthStart(env.now);
  const out: Sample[] = [];
  const groups = await rollupGroups(env, c, groupBy, env.now - start, env.now, 'hour');
  for (const g of groups.values()) {
    const points = g.points.filter((p) => p.t >= start);
    out.push({ labels: g.labels, value: sum(points, (p) => p.costUsd), samples: sum(points, (p) => p.requests) });
  }
  return out;
}

export const spendMtd: KindDef = {
  kind: 'spend_mtd',
  unit: 'usd',
  source: 'rollups',
  defaults: { windowMs: HOUR_MS, op: '>', groupBy: [], minSamples: 0 },
  groupable: ['provider', 'model', 'endpoint', 'feature', 'team'],
  evaluate: monthToDate,
  promql: () => null,
};
