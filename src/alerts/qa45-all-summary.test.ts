// An `all` rule without annotations said `QaDegraded: all is 1.61` in its notifications: the kind `all`, and its value
// (the first condition's: a p95 latency in seconds) as a bare number. It now names the first condition's kind with
// that kind's format, and the conditions that also hold.
import { describe, expect, it } from 'vitest';
import { alertsConfigOf } from './config.js';
import { compileRules } from './rules.js';
import { renderAnnotations } from './template.js';

describe("an 'all' rule's default summary", () => {
  it("names the first condition's kind and unit, and the other conditions", () => {
    const cfg = alertsConfigOf({
      defaultRules: false,
      slos: [],
      rules: [
        {
          name: 'QaDegraded',
          kind: 'all',
          conditions: [
            { kind: 'latency_quantile', window: '1m', threshold: '1s', minSamples: 3 },
            { kind: 'error_rate', window: '1m', threshold: 0.3, minSamples: 4 },
          ],
        },
      ],
    });
    const { rules, issues } = compileRules(cfg);
    expect(issues).toEqual([]);
    const rule = rules[0];
    if (!rule) throw new Error('no rule');
    expect(renderAnnotations(rule.annotations, { model: 'm' }, 1.6119).summary).toBe(
      'QaDegraded: latency_quantile is 1.612s, and error_rate > 0.3',
    );
  });
});
