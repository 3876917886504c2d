// spend_forecast looks for a group's spend before its 7-day rate window when the group's first hour with calls is
// after the window's first midnight. A group that spends every day but not in that hour (office hours: no call at
// 00:00 UTC) is established, yet it read its hour rollups of the last 400 days on every evaluation of a month's first
// 8 days: on SQLite with a year of office-hours calls, 1 s an evaluation ungrouped and 5 s grouped by 20 models (every
// 30 s by default; spend_mtd 14 ms). The week before the window is read first; the 400 days only when it holds none.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LlmCall } from '../../calls/index.js';
import { SignalRegistry } from '../../signals/index.js';
import { SqliteStore } from '../../store/sqlite/sqlite-store.js';
import { CallCostTracker } from '../call-cost-tracker.js';
import { alertsConfigOf, type RuleInput } from '../config.js';
import type { Condition } from '../model.js';
import { compileRules } from '../rules.js';
import { callAt } from '../testing.js';
import { evaluateConditions, KINDS } from './index.js';

const HOUR = 3_600_000;
const DAY = 86_400_000;

describe('spend_forecast for an established group with no call in its window’s first hour', () => {
  let store: SqliteStore;
  beforeEach(async () => {
    store = new SqliteStore(':memory:');
    await store.migrate();
  });
  afterEach(() => store.close());

  it('reads the week before the window, not 400 days of hour rollups, and gives the same figure', async () => {
    // $1 an hour, 09:30 to 17:30 UTC, every day from Oct 1 to Dec 7 09:30
    const calls: LlmCall[] = [];
    for (let d = Date.parse('2026-10-01T00:00:00Z'); d <= Date.parse('2026-12-07T00:00:00Z'); d += DAY)
      for (let h = 9; h < 18; h++)
        if (d + h * HOUR + 30 * 60_000 < Date.parse('2026-12-07T10:00:00Z'))
          calls.push(callAt(d + h * HOUR + 30 * 60_000, { costUsd: 1 }));
    await store.insertCalls(calls);
    const now = Date.parse('2026-12-07T12:00:00Z');
    const { rules, issues } = compileRules(
      alertsConfigOf({
        defaultRules: false,
        slos: [],
        rules: [{ name: 'F', kind: 'spend_forecast', threshold: 1000 } as RuleInput],
      }),
    );
    expect(issues).toEqual([]);
    const rule = rules.find((x) => x.name === 'F');
    if (!rule) throw new Error('no rule');
    const asked: number[] = [];
    const env = {
      now,
      rollups: (q: Parameters<SqliteStore['queryRollups']>[0]) => {
        asked.push(q.from);
        return store.queryRollups(q);
      },
      signals: new SignalRegistry(),
      callCosts: new CallCostTracker(),
    };
    const out = await evaluateConditions(rule.conditions, rule.groupBy, (c: Condition) =>
      KINDS[c.kind].evaluate(c, rule.groupBy, env),
    );
    // the window from Nov 30 00:00: $9 a day for 7 days and $1 on Dec 7 (64), over 7.5 days, to the month's end
    const windowStart = Date.parse('2026-11-30T00:00:00Z');
    const mtd = 6 * 9 + 1;
    expect(out[0]?.sample.value).toBeCloseTo(mtd + (64 / (now - windowStart)) * (Date.parse('2027-01-01') - now), 6);
    // before: a query from Nov 30 - 400 days (2025-10-26)
    expect(Math.min(...asked)).toBeGreaterThanOrEqual(windowStart - 7 * DAY);
  });
});
