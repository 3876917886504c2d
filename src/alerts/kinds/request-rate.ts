// request_rate: requests per second over the window (a traffic drop or surge).
import { MINUTE_MS } from '../../time.js';
import type { Sample } from '../model.js';
import { by, canGroup, caseLabels, type KindDef, promDuration, rollupGroups, selector, sum } from './kind.js';
import { REQUEST_LABELS, seriesOf } from './request-ratio.js';

export const requestRate: KindDef = {
  kind: 'request_rate',
  unit: 'rps',
  source: 'rollups',
  defaults: { windowMs: 5 * MINUTE_MS, op: '<', groupBy: ['model'], minSamples: 0 },
  groupable: ['provider', 'model', 'endpoint', 'feature', 'team'],
  async evaluate(c, groupBy, env) {
    const from = Math.round((env.now - c.windowMs) / MINUTE_MS) * MINUTE_MS;
    const seconds = Math.max(1, (env.now - from) / 1000);
    const out: Sample[] = [];
    for (const g of (await rollupGroups(env, c, groupBy)).values()) {
      const requests = sum(g.points, (p) => p.requests);
      out.push({ labels: g.labels, value: requests / seconds, samples: requests });
    }
    return out;
  },
  promql(c, groupBy) {
    const sel = selector(c, REQUEST_LABELS);
    if (sel === null || !canGroup(groupBy, REQUEST_LABELS)) return null;
    return `sum ${by(groupBy)} (rate(llm_requests_total${sel}[${promDuration(c.windowMs)}]))`;
  },
  promCase(c, labels, mode) {
    const high = c.op === '>' || c.op === '>=';
    const wantHigh = mode === 'good' ? !high : high;
    if (mode === 'few') return null;
    const rps = wantHigh ? Math.max(c.threshold * 4, 1) : c.threshold / 4;
    if (!wantHigh && rps <= 0) return null;
    return {
      intervalMs: MINUTE_MS,
      series: [
        seriesOf(
          'llm_requests_total',
          { endpoint: 'chat.completions', ...caseLabels(c, labels), status: 'ok' },
          rps * 60,
        ),
      ],
      value: rps,
      warmupMs: c.windowMs,
    };
  },
};
