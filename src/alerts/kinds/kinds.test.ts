import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SignalRegistry } from '../../signals/index.js';
import { histogramOf } from '../../store/histogram.js';
import { SqliteStore } from '../../store/sqlite/sqlite-store.js';
import { CallCostTracker } from '../call-cost-tracker.js';
import { alertsConfigOf, type RuleInput } from '../config.js';
import type { Condition } from '../model.js';
import { compileRules } from '../rules.js';
import { callAt } from '../testing.js';
import { median, robustScore } from './cost-anomaly.js';
import { type EvalEnv, evaluateConditions, KINDS, shareAbove } from './index.js';

const T0 = Date.UTC(2025, 0, 20, 12, 0, 0);
const MIN = 60_000;
const DAY_MS = 86_400_000;

describe('robust statistics', () => {
  it('median and robust z-score ignore one odd day', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    const history = [0.001, 0.0011, 0.0009, 0.001, 0.05, 0.001, 0.00105];
    // one day at 50x does not drag the baseline: today at the usual price is not an anomaly
    expect(Math.abs(robustScore(0.001, history, 3) as number)).toBeLessThan(1);
    expect(robustScore(0.01, history, 3) as number).toBeGreaterThan(50);
    expect(robustScore(0.01, [0.001, 0.001], 3)).toBeNull();
  });

  it('shareAbove finds the share of a histogram over a limit from quantiles alone', () => {
    const h = histogramOf(Array.from({ length: 1000 }, (_, i) => i + 1)); // 1..1000 ms
    expect(shareAbove(h, 900)).toBeCloseTo(0.1, 1);
    expect(shareAbove(h, 5000)).toBe(0);
    expect(shareAbove(h, 0.001)).toBe(1);
  });
});

describe('kinds over rollups', () => {
  let store: SqliteStore;
  beforeEach(async () => {
    store = new SqliteStore(':memory:');
    await store.migrate();
  });
  afterEach(() => store.close());

  const env = (now: number): EvalEnv => ({
    now,
    rollups: (q) => store.queryRollups(q),
    signals: new SignalRegistry(),
    callCosts: new CallCostTracker(),
  });

  async function evalRule(r: RuleInput, now: number, slos?: unknown) {
    const cfg = alertsConfigOf({ defaultRules: false, slos: slos ?? [], rules: r.kind === 'slo_burn' ? [] : [r] });
    const { rules, issues } = compileRules(cfg);
    expect(issues).toEqual([]);
    const rule = r.kind === 'slo_burn' ? rules.find((x) => x.labels.burn === r.burn) : rules[0];
    if (!rule) throw new Error('no rule');
    const e = env(now);
    return evaluateConditions(rule.conditions, rule.groupBy, (c: Condition) =>
      KINDS[c.kind].evaluate(c, rule.groupBy, e),
    );
  }

  it('cost_anomaly compares the last hour with the same hour on previous days', async () => {
    const calls = [];
    for (let d = 1; d <= 7; d++)
      for (let i = 0; i < 60; i++)
        calls.push(callAt(T0 - d * DAY_MS - 30 * MIN + i * 1000, { costUsd: d === 3 ? 0.05 : 0.001 }));
    for (let i = 0; i < 60; i++) calls.push(callAt(T0 - 30 * MIN + i * 1000, { costUsd: 0.004 }));
    await store.insertCalls(calls);
    const r = await evalRule({ name: 'A', kind: 'cost_anomaly', threshold: 3.5, minSamples: 50 }, T0);
    expect(r).toHaveLength(1);
    expect(r[0]?.holds).toBe(true);
    // (0.004 − 0.001) / (5% of 0.001): the odd day (d=3) is ignored by the median and MAD
    expect(r[0]?.sample.value).toBeCloseTo(60, 0);
  });

  it('spend_day sums cost over the trailing day; spend_mtd from the start of the month', async () => {
    await store.insertCalls([
      callAt(T0 - 2 * DAY_MS, { costUsd: 5 }),
      callAt(T0 - 3 * 3600_000, { costUsd: 2.5 }),
      callAt(T0 - MIN, { costUsd: 1 }),
    ]);
    const day = await evalRule({ name: 'D', kind: 'spend_day', threshold: 3 }, T0);
    expect(day[0]?.sample.value).toBeCloseTo(3.5, 6);
    expect(day[0]?.holds).toBe(true);
    const mtd = await evalRule({ name: 'M', kind: 'spend_mtd', threshold: 100 }, T0);
    expect(mtd[0]?.sample.value).toBeCloseTo(8.5, 6);
    const fc = await evalRule({ name: 'F', kind: 'spend_forecast', threshold: 10 }, T0);
    // the Cost page's forecast (spend_forecast.test.ts): 8.5 USD to date, the rate 8.5 USD over the 2 days since the
    // first call (a store younger than the 7-day window), over the 11.5 days left
    expect(fc[0]?.sample.value).toBeCloseTo(8.5 + (8.5 / 2) * 11.5, 3);
  });

  it('refusal_rate and request_rate', async () => {
    await store.insertCalls(Array.from({ length: 40 }, (_, i) => callAt(T0 - 2 * MIN + i * 1000, { refusal: i < 10 })));
    const ref = await evalRule({ name: 'R', kind: 'refusal_rate', threshold: 0.2 }, T0);
    expect(ref[0]).toMatchObject({ holds: true, sample: { value: 0.25, samples: 40 } });
    const rate = await evalRule({ name: 'Q', kind: 'request_rate', op: '<', threshold: 1, groupBy: [] }, T0);
    expect(rate[0]?.sample.value).toBeCloseTo(40 / 300, 6);
    expect(rate[0]?.holds).toBe(true);
  });

  it('slo_burn pages on a fast burn over both windows, not on an old one', async () => {
    const slos = [{ name: 'availability', kind: 'availability', objective: 0.995 }];
    // an hour of 10% errors ending now: 1h and 5m windows both above 14.4 × 0.5%
    await store.insertCalls(
      Array.from({ length: 600 }, (_, i) =>
        callAt(T0 - 60 * MIN + i * 6000, { status: i % 10 === 0 ? 'upstream_error' : 'ok' }),
      ),
    );
    const fast = await evalRule({ name: 'ErrorBudgetBurn', kind: 'slo_burn', burn: 'fast' }, T0, slos);
    expect(fast[0]?.holds).toBe(true);
    expect(fast[0]?.sample.value).toBeCloseTo(0.1, 2);
    // two hours later the short windows are clean: no page, though the long ones still show errors
    const later = await evalRule({ name: 'ErrorBudgetBurn', kind: 'slo_burn', burn: 'fast' }, T0 + 2 * 3600_000, slos);
    expect(later[0]?.holds).toBe(false);
    const slow = await evalRule({ name: 'ErrorBudgetBurn', kind: 'slo_burn', burn: 'slow' }, T0, slos);
    expect(slow[0]?.holds).toBe(true);
  });

  it('a composite holds only where every condition holds on the same model', async () => {
    await store.insertCalls([
      ...Array.from({ length: 30 }, (_, i) =>
        callAt(T0 - MIN + i, { model: 'both', latencyMs: 3000, status: i < 5 ? 'timeout' : 'ok' }),
      ),
      ...Array.from({ length: 30 }, (_, i) => callAt(T0 - MIN + i, { model: 'slow-only', latencyMs: 3000 })),
    ]);
    const r = await evalRule(
      {
        name: 'ServiceDegraded',
        kind: 'all',
        conditions: [
          { kind: 'latency_quantile', threshold: 2, minSamples: 10 },
          { kind: 'error_rate', threshold: 0.01, minSamples: 20 },
        ],
      },
      T0,
    );
    expect(r.filter((x) => x.holds).map((x) => x.sample.labels.model)).toEqual(['both']);
  });
});
