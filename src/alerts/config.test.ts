import { describe, expect, it } from 'vitest';
import { validateConfig } from '../config/index.js';

const issuesOf = (alerts: unknown) => {
  const r = validateConfig({ alerts });
  return r.ok ? [] : r.issues;
};

describe('alerts config', () => {
  it('defaults to the default pack, two SLOs, severity routes and the ServiceDegraded inhibition', () => {
    const r = validateConfig({});
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const a = r.config.alerts;
    expect(a).toMatchObject({ enabled: true, defaultRules: true, evaluationInterval: '30s' });
    expect(a.slos.map((s) => s.name)).toEqual(['availability', 'latency']);
    expect(a.route).toMatchObject({
      receiver: 'log',
      groupBy: ['alertname', 'model'],
      groupWait: '30s',
      groupInterval: '5m',
      repeatInterval: '4h',
    });
    expect(a.inhibitRules[0]?.equal).toEqual(['model']);
  });

  it('reports every problem with its path', () => {
    const issues = issuesOf({
      rules: [
        { name: 'A', kind: 'error_rate', threshold: 0.1 },
        { name: 'A', kind: 'error_rate' },
        { name: 'bad name', kind: 'nope', threshold: 1 },
      ],
      route: { routes: [{ matchers: ['severity="critical"'], receiver: 'pagerduty' }] },
      slos: [{ name: 'lat', kind: 'latency', objective: 0.99, threshold: '3s' }],
      receivers: [{ name: 'x', webhook: {} }],
    });
    const paths = issues.map((i) => i.path);
    expect(paths).toContain('alerts.rules[2].name');
    expect(paths).toContain('alerts.rules[2].kind');
    expect(issues).toHaveLength(2); // object-level checks wait until the fields parse
    const second = issuesOf({
      rules: [
        { name: 'A', kind: 'error_rate', threshold: 0.1 },
        { name: 'A', kind: 'error_rate' },
      ],
      route: { routes: [{ matchers: ['severity="critical"'], receiver: 'pagerduty' }] },
      slos: [{ name: 'lat', kind: 'latency', objective: 0.99, threshold: '3s' }],
      receivers: [{ name: 'x', webhook: {} }],
    });
    expect(second.map((i) => i.path).sort()).toEqual([
      'alerts.receivers[0].webhook',
      'alerts.route.routes[0].receiver',
      'alerts.rules[1].name',
      'alerts.rules[1].threshold',
      'alerts.slos[0].threshold',
    ]);
    expect(second.find((i) => i.path === 'alerts.slos[0].threshold')?.message).toContain('10.24');
  });

  it('finds what only compiling the rules finds', () => {
    const issues = issuesOf({
      overrides: { HighLatncy: { threshold: 3 } },
      rules: [
        { name: 'B', kind: 'error_rate', threshold: '2s' },
        { name: 'C', kind: 'latency_quantile', threshold: 2, groupBy: ['gpu'] },
        { name: 'D', kind: 'slo_burn', slo: 'nope' },
      ],
      inhibitRules: [{ sourceMatchers: ['alertname=~"("'], targetMatchers: { severity: 'warning' } }],
    });
    const by = Object.fromEntries(issues.map((i) => [i.path, i.message]));
    expect(by['alerts.inhibitRules[0].sourceMatchers']).toMatch(/invalid regex/);
    const again = issuesOf({
      overrides: { HighLatncy: { threshold: 3 } },
      rules: [
        { name: 'B', kind: 'error_rate', threshold: '2s' },
        { name: 'C', kind: 'latency_quantile', threshold: 2, groupBy: ['gpu'] },
        { name: 'D', kind: 'slo_burn', slo: 'nope' },
      ],
    });
    const m = Object.fromEntries(again.map((i) => [i.path, i.message]));
    expect(m['alerts.overrides.HighLatncy']).toMatch(/no default rule is named "HighLatncy"/);
    expect(m['alerts.rules[0].threshold']).toBe('error_rate takes a number, not a duration');
    expect(m['alerts.rules[1].groupBy']).toMatch(/cannot group by gpu/);
    expect(m['alerts.rules[2].slo']).toMatch(/unknown SLO "nope"/);
  });
});
