// Config mistakes that check-config answered in zod's own words (W13, after bb66747's GPU numbers): each now says the
// form its value takes, at the same path. Before: 'Invalid input: expected number, received string' and 'Too small:
// expected number to be >0' (server.bodyLimit), 'Invalid input: expected array, received object' (pricing.models as a
// map), 'Too small: expected array to have >=2 items' (an all rule with one condition) and 'Invalid option: expected
// one of "critical"|"warning"|"info"' (severity: urgent).
import { describe, expect, it } from 'vitest';
import { validateConfig } from './index.js';

const issues = (raw: unknown) => {
  const r = validateConfig(raw);
  expect(r.ok).toBe(false);
  return r.ok ? [] : r.issues;
};

describe('config messages that say the form a value takes', () => {
  it('server.bodyLimit given as 10mb, 0 or 1.5: bytes, a whole number above 0', () => {
    const message = 'bytes, a whole number above 0, e.g. 52428800 for 50 MiB (the default)';
    for (const bodyLimit of ['10mb', 0, 1.5])
      expect(issues({ server: { bodyLimit } }), String(bodyLimit)).toEqual([{ path: 'server.bodyLimit', message }]);
  });

  it('pricing.models given as a map by model name: the list it takes, with an example', () => {
    expect(issues({ pricing: { models: { 'my-model': { input: 1, output: 2 } } } })).toEqual([
      {
        path: 'pricing.models',
        message:
          'a list of model prices, not a map by model name: [{ model: my-model, input: 2.5, output: 10 }] (USD per 1M tokens)',
      },
    ]);
  });

  it('an all rule with one condition: at least two, each a kind and its threshold', () => {
    const rule = { name: 'Both', kind: 'all', conditions: [{ kind: 'error_rate', threshold: 0.1 }] };
    expect(issues({ alerts: { rules: [rule] } })).toContainEqual({
      path: 'alerts.rules[0].conditions',
      message:
        'kind "all" needs at least two conditions, each a kind and its threshold: [{ kind: error_rate, threshold: 0.05 }, { kind: latency_quantile, threshold: 2s }]',
    });
  });

  it('severity: urgent: the three severities', () => {
    const rule = { name: 'Urgent', kind: 'error_rate', threshold: 0.1, severity: 'urgent' };
    expect(issues({ alerts: { rules: [rule] } })).toEqual([
      {
        path: 'alerts.rules[0].severity',
        message: 'unknown severity "urgent": critical, warning or info (the default routes page, notify and log them)',
      },
    ]);
  });

  it('still takes the good values and the defaults', () => {
    const r = validateConfig({
      server: { bodyLimit: 1024 },
      pricing: { models: [{ model: 'my-model', input: 1, output: 2 }] },
      alerts: {
        rules: [
          {
            name: 'Both',
            kind: 'all',
            severity: 'critical',
            conditions: [
              { kind: 'error_rate', threshold: 0.1 },
              { kind: 'latency_quantile', threshold: '2s' },
            ],
          },
        ],
      },
    });
    expect(r.ok, JSON.stringify(r.ok ? null : r.issues)).toBe(true);
    if (r.ok) expect(r.config.server.bodyLimit).toBe(1024);
    const d = validateConfig({});
    if (d.ok) expect(d.config.server.bodyLimit).toBe(50 * 1024 * 1024);
  });
});
