// reconciliation_gap: |tracked spend − billed spend| / billed spend for the last reconciled period, per provider
// (signal from cost reconciliation). No Prometheus series: built-in only.
import { DAY_MS } from '../../time.js';
import { signalKind } from './signal.js';

export const reconciliationGap = signalKind({
  kind: 'reconciliation_gap',
  unit: 'ratio',
  signal: 'reconciliation_gap',
  windowMs: DAY_MS,
  op: '>',
  groupBy: ['provider'],
  minSamples: 0,
});
