// Settings a rule's kind never reads passed check-config and changed nothing (QA45's leftover): a `quantile` on an
// error rate, a cost anomaly's `baselineDays` on a spend rule, settings beside an `all` rule's conditions, and an
// override that changes a default rule's kind (which kept the default's quantile and threshold). Each is refused at
// its path, with what would read it.
import { describe, expect, it } from 'vitest';
import { alertsConfigIssues } from './testing.js';

describe('settings a rule would ignore', () => {
  it('refuses a setting its kind does not read, at its path', () => {
    expect(
      alertsConfigIssues({
        rules: [
          { name: 'Errors', kind: 'error_rate', quantile: 0.99, threshold: 0.05 },
          { name: 'Spend', kind: 'spend_day', threshold: 50, baselineDays: 14 },
          { name: 'Slow', kind: 'latency_quantile', threshold: 2, burn: 'slow' },
          {
            name: 'Both',
            kind: 'all',
            conditions: [
              { kind: 'error_rate', threshold: 0.1, minHistory: 4 },
              { kind: 'ttft_quantile', quantile: 0.9, threshold: 1 },
            ],
          },
        ],
      }),
    ).toEqual([
      'alerts.rules[0].quantile: error_rate does not read quantile (only latency_quantile, ttft_quantile, tpot_quantile do), so it would change nothing',
      'alerts.rules[1].baselineDays: spend_day does not read baselineDays (only cost_anomaly does), so it would change nothing',
      'alerts.rules[2].burn: latency_quantile does not read burn (only slo_burn does), so it would change nothing',
      'alerts.rules[3].conditions[0].minHistory: error_rate does not read minHistory (only cost_anomaly does), so it would change nothing',
    ]);
  });

  it("refuses an all rule's condition settings beside its conditions", () => {
    expect(
      alertsConfigIssues({
        rules: [
          {
            name: 'Both',
            kind: 'all',
            window: '10m',
            threshold: 0.2,
            conditions: [
              { kind: 'error_rate', threshold: 0.1 },
              { kind: 'refusal_rate', threshold: 0.3 },
            ],
          },
        ],
      }),
    ).toEqual([
      'alerts.rules[0].window: a rule of kind all reads window from each of its conditions: set it there, not beside them',
      'alerts.rules[0].threshold: a rule of kind all reads threshold from each of its conditions: set it there, not beside them',
    ]);
  });

  it("refuses an override that changes a default rule's kind, and one giving it a setting it ignores", () => {
    expect(
      alertsConfigIssues({
        overrides: {
          HighLatency: { kind: 'error_rate', threshold: 0.05 },
          HighErrorRate: { quantile: 0.99 },
        },
      }),
    ).toEqual([
      'alerts.overrides.HighLatency.kind: HighLatency measures latency_quantile; an override tunes it but cannot change its kind: to alert on error_rate, set enabled: false here and add a rule of your own under alerts.rules',
      'alerts.overrides.HighErrorRate.quantile: error_rate does not read quantile (only latency_quantile, ttft_quantile, tpot_quantile do), so it would change nothing',
    ]);
  });

  it('takes each setting where its kind reads it, and an override that keeps the kind', () => {
    expect(
      alertsConfigIssues({
        slos: [{ name: 'avail', kind: 'availability', objective: 0.99 }],
        rules: [
          { name: 'P99', kind: 'tpot_quantile', quantile: 0.99, threshold: 0.1 },
          { name: 'Odd', kind: 'cost_anomaly', baselineDays: 14, minHistory: 5, threshold: 4 },
          { name: 'Burn', kind: 'slo_burn', slo: 'avail', burn: 'slow' },
          {
            name: 'Both',
            kind: 'all',
            groupBy: ['model'],
            conditions: [
              { kind: 'latency_quantile', quantile: 0.9, window: '10m', threshold: 2 },
              { kind: 'error_rate', threshold: 0.1 },
            ],
          },
        ],
        overrides: { HighLatency: { kind: 'latency_quantile', quantile: 0.99, threshold: 3 } },
      }),
    ).toEqual([]);
  });
});
