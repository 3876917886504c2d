// The default rules' annotations describe the rule in force: an override (docs/alerts.md's own example,
// `HighLatency: { threshold: 3, for: 5m }`) is described with its threshold, window, quantile and `for`, in the
// built-in engine's rules and in the exported Prometheus alerts alike. Before, the default's text was kept: the
// notification said "above 2s for 10 minutes" of a rule that fires above 3s after 5 minutes.
import { describe, expect, it } from 'vitest';
import { alertsConfigOf } from './config.js';
import { DEFAULT_PACK } from './default-pack.js';
import { exportedRules } from './export/prometheus.js';
import { compileRules } from './rules.js';

const described = (overrides: Record<string, unknown>) => {
  const { rules, issues } = compileRules(alertsConfigOf({ overrides }));
  expect(issues).toEqual([]);
  return new Map(rules.map((r) => [r.id, r.annotations]));
};

describe('default rule annotations', () => {
  it('the defaults read as before', () => {
    const a = new Map(DEFAULT_PACK.map((r) => [r.name, r.annotations]));
    expect(a.get('HighLatency')?.description).toBe(
      '95% of {{ $labels.model }} requests took up to {{ $value | humanizeDuration }} over 5 minutes, above 2s for 10 minutes.',
    );
    expect(a.get('HighTTFT')?.description).toContain('(p95) to show their first token, above 500ms for 10 minutes.');
    expect(a.get('GpuUnderutilized')?.description).toContain('utilization, under 80% for 30 minutes: capacity');
    expect(a.get('ServiceDegraded')?.description).toContain('(over 2s) and an error rate over 1%, for 10 minutes.');
    expect(a.get('HallucinationRateHigh')?.description).toContain('failed over the last hour, above 5%.');
    expect(a.get('CostPerRequestAnomaly')?.description).toContain('over the last hour is');
  });

  it("an override is described with its own figures, in the engine's rules and the exported alerts", () => {
    const overrides = {
      HighLatency: { threshold: 3, for: '5m' },
      HighTTFT: { threshold: '1.5s', quantile: 0.99, window: '10m' },
      HighErrorRate: { threshold: 0.05 },
      GpuUnderutilized: { threshold: 0.5, op: '<=' },
      ServiceDegraded: { for: '0s' },
      HallucinationRateHigh: { window: '2h' },
      DailySpendHigh: { threshold: 250 },
    };
    const a = described(overrides);
    expect(a.get('HighLatency')?.description).toContain('over 5 minutes, above 3s for 5 minutes.');
    expect(a.get('HighTTFT')?.summary).toMatch(/^p99 time to first token/);
    expect(a.get('HighTTFT')?.description).toContain('(p99) to show their first token, above 1.5s for 10 minutes.');
    expect(a.get('HighErrorRate')?.description).toContain('over 5 minutes, above 5% for 10 minutes.');
    expect(a.get('GpuUnderutilized')?.description).toContain('utilization, at or under 50% for 30 minutes');
    expect(a.get('ServiceDegraded')?.description).toContain('(over 2s) and an error rate over 1%. This alert');
    expect(a.get('HallucinationRateHigh')?.description).toContain('failed over the last 2 hours, above 5%.');
    expect(a.get('DailySpendHigh')?.description).toContain('above $250.');
    const exported = exportedRules(alertsConfigOf({ overrides })).exported.find((e) => e.rule.id === 'HighLatency');
    expect(exported?.rule.annotations.description).toContain('above 3s for 5 minutes.');
  });

  it("an override's own annotations win", () => {
    const a = described({ HighLatency: { threshold: 3, annotations: { summary: 'slow', description: 'mine' } } });
    expect(a.get('HighLatency')?.summary).toBe('slow');
    expect(a.get('HighLatency')?.description).toBe('mine');
  });
});
