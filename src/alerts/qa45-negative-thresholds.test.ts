// A negative threshold on a kind whose value is never negative (a latency, a rate of calls, dollars, a budget's
// ratio) passed check-config (QA45): with `>` it fired on every group with data, with `<` never. Refused at its path,
// in a rule and in an `all` rule's condition; cost_anomaly's z-score, negative below its baseline, keeps negatives.
import { describe, expect, it } from 'vitest';
import { alertsConfigIssues } from './testing.js';

const issuesOf = (rules: unknown[]): string[] => alertsConfigIssues({ rules });

describe('thresholds of kinds that are never negative', () => {
  it('refuses a negative one, at its path', () => {
    expect(
      issuesOf([
        { name: 'Slow', kind: 'latency_quantile', threshold: -1 },
        { name: 'Spend', kind: 'spend_day', threshold: -5 },
        { name: 'Quiet', kind: 'request_rate', op: '<', threshold: -0.5 },
        { name: 'Budget', kind: 'budget_ratio', threshold: -0.1 },
        {
          name: 'Both',
          kind: 'all',
          conditions: [
            { kind: 'error_rate', threshold: 0.1 },
            { kind: 'single_call_cost', threshold: -2 },
          ],
        },
      ]),
    ).toEqual([
      'alerts.rules[0].threshold: latency_quantile is never negative, so -1 is crossed always or never',
      'alerts.rules[1].threshold: spend_day is never negative, so -5 is crossed always or never',
      'alerts.rules[2].threshold: request_rate is never negative, so -0.5 is crossed always or never',
      'alerts.rules[3].threshold: budget_ratio is never negative, so -0.1 is crossed always or never',
      'alerts.rules[4].conditions[1].threshold: single_call_cost is never negative, so -2 is crossed always or never',
    ]);
  });

  it('takes 0 and above, and a negative z-score for cost_anomaly', () => {
    expect(
      issuesOf([
        { name: 'A', kind: 'latency_quantile', threshold: 0 },
        { name: 'B', kind: 'spend_mtd', threshold: 100 },
        { name: 'C', kind: 'cost_anomaly', op: '<', threshold: -3.5 },
        { name: 'D', kind: 'ttft_quantile', threshold: '500ms' },
      ]),
    ).toEqual([]);
  });
});
