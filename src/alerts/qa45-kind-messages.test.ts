// A rule without a kind, or with one that is not a kind, got zod's "Invalid option: expected one of ..." for both
// (QA45's leftover). check-config now says which it is, and the kind meant when the word given starts one.
import { describe, expect, it } from 'vitest';
import { alertsConfigIssues } from './testing.js';

const ALL =
  'latency_quantile, ttft_quantile, tpot_quantile, error_rate, request_rate, spend_day, spend_mtd, spend_forecast, single_call_cost, cost_anomaly, refusal_rate, thumbs_down_rate, hallucination_rate, gpu_utilization, gpu_memory, budget_ratio, reconciliation_gap, slo_burn, all';

describe("a rule's kind", () => {
  it('missing, says it is required', () => {
    expect(alertsConfigIssues({ rules: [{ name: 'A', threshold: 1 }] })).toEqual([
      `alerts.rules[0].kind: required, missing: one of ${ALL} (docs/alerts.md "Rule kinds")`,
    ]);
  });

  it('unknown, names it and the kinds it may have meant, in a rule and in a condition', () => {
    expect(
      alertsConfigIssues({
        rules: [
          { name: 'A', kind: 'latency', threshold: 1 },
          { name: 'B', kind: 'all', conditions: [{ kind: 'spend', threshold: 1 }, { kind: 'error_rate' }] },
          { name: 'C', kind: 'p95', threshold: 1 },
        ],
      }),
    ).toEqual([
      `alerts.rules[0].kind: unknown kind "latency" (did you mean latency_quantile?): one of ${ALL}`,
      `alerts.rules[1].conditions[0].kind: unknown kind "spend" (did you mean spend_day or spend_mtd or spend_forecast?): one of ${ALL}`,
      `alerts.rules[2].kind: unknown kind "p95": one of ${ALL}`,
    ]);
  });
});
