import { describe, expect, it } from 'vitest';
import { validateConfig } from '../config/index.js';

describe('alerts config: a malformed duration in a rule or SLO', () => {
  it('is reported at its path, not thrown as a bare "not a duration"', () => {
    // `for: -5m` made check-config and serve stop with "llmscope: not a duration: -5m" (no path): the rules were
    // compiled over the values the schema had already refused.
    const cases: [unknown, string][] = [
      [{ rules: [{ name: 'X', kind: 'error_rate', threshold: 0.1, for: '-5m' }] }, 'alerts.rules[0].for'],
      [{ rules: [{ name: 'X', kind: 'error_rate', threshold: 0.1, window: '5 min' }] }, 'alerts.rules[0].window'],
      [{ rules: [{ name: 'X', kind: 'latency_quantile', threshold: '5sec' }] }, 'alerts.rules[0].threshold'],
      [{ overrides: { HighLatency: { for: '-1m' } } }, 'alerts.overrides.HighLatency.for'],
      [{ slos: [{ name: 'lat', kind: 'latency', objective: 0.99, threshold: '-10s' }] }, 'alerts.slos[0].threshold'],
    ];
    for (const [alerts, path] of cases) {
      let r: ReturnType<typeof validateConfig> | undefined;
      expect(() => {
        r = validateConfig({ alerts });
      }, JSON.stringify(alerts)).not.toThrow();
      expect(r?.ok).toBe(false);
      if (!r || r.ok) continue;
      expect(
        r.issues.map((i) => i.path),
        JSON.stringify(r.issues),
      ).toContain(path);
    }
  });
});

describe('alerts config: an annotation template', () => {
  it('with an unclosed {{ action is refused at its path (the exported rule failed promtool check rules)', () => {
    const r = validateConfig({
      alerts: {
        rules: [
          { name: 'X', kind: 'error_rate', threshold: 0.1, annotations: { summary: 'p95 of {{ $labels.model ' } },
        ],
      },
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues.map((i) => i.path)).toContain('alerts.rules[0].annotations.summary');
    const ok = validateConfig({
      alerts: {
        rules: [
          {
            name: 'X',
            kind: 'error_rate',
            threshold: 0.1,
            annotations: { summary: '{{ $labels.model }} at {{ $value | humanizePercentage }} }} {', runbook_url: 'x' },
          },
        ],
      },
    });
    expect(ok.ok).toBe(true);
  });
});

describe('alerts config: a zero or sub-minute window, a zero notification interval', () => {
  it('is refused at its path (the built-in rule read no data; Prometheus and amtool refuse the export)', () => {
    // window: 0s passed check-config, never fired, and exported rate(...[0d]) ("duration must be greater than 0");
    // groupInterval/repeatInterval 0s passed and exported what amtool refuses ("group_interval cannot be zero")
    const cases: [unknown, string][] = [
      [{ rules: [{ name: 'X', kind: 'error_rate', threshold: 0.1, window: '0s' }] }, 'alerts.rules[0].window'],
      [{ overrides: { HighLatency: { window: 0 } } }, 'alerts.overrides.HighLatency.window'],
      // under a minute on per-minute rollups: the current minute's bucket only (none on the minute) built in,
      // those seconds in Prometheus, and a promtool test that failed
      [{ rules: [{ name: 'X', kind: 'error_rate', threshold: 0.1, window: '30s' }] }, 'alerts.rules[0].window'],
      [{ overrides: { HighTTFT: { window: '59s' } } }, 'alerts.overrides.HighTTFT.window'],
      [{ route: { groupInterval: '0s' } }, 'alerts.route.groupInterval'],
      [{ route: { repeatInterval: 0 } }, 'alerts.route.repeatInterval'],
      [
        { route: { routes: [{ matchers: ['severity="info"'], receiver: 'log', repeatInterval: '0m' }] } },
        'alerts.route.routes[0].repeatInterval',
      ],
    ];
    for (const [alerts, path] of cases) {
      const r = validateConfig({ alerts });
      expect(r.ok, JSON.stringify(alerts)).toBe(false);
      if (r.ok) continue;
      expect(
        r.issues.map((i) => i.path),
        JSON.stringify(r.issues),
      ).toContain(path);
    }
    expect(
      validateConfig({
        alerts: {
          route: { groupWait: '0s' },
          rules: [
            { name: 'X', kind: 'error_rate', threshold: 0.1, window: '1m' },
            { name: 'G', kind: 'gpu_utilization', threshold: 0.5, window: '30s' },
          ],
        },
      }).ok,
    ).toBe(true);
  });
});
