// The spend_forecast alert kind gives the figure the Cost page shows (/api/cost/forecast's forecast_api_usd): month to
// date plus the last 7 days' rate (across the month boundary) over the rest of the month, nothing under a day of
// spend history. Before, it projected month to date linearly and fired on another number than the one a user read.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LlmCall } from '../../calls/index.js';
import { costConfigOf } from '../../cost/config.js';
import { SpendQueries } from '../../cost/spend-queries.js';
import { SqliteSpendStore } from '../../cost/storage/sqlite.js';
import { deltasOf } from '../../cost/storage/types.js';
import { SignalRegistry } from '../../signals/index.js';
import { SqliteStore } from '../../store/sqlite/sqlite-store.js';
import { CallCostTracker } from '../call-cost-tracker.js';
import { alertsConfigOf, type RuleInput } from '../config.js';
import type { Condition } from '../model.js';
import { compileRules } from '../rules.js';
import { callAt } from '../testing.js';
import { evaluateConditions, KINDS } from './index.js';

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

/** Calls of `usd` each, one an hour from `from` (inclusive) to `to` (exclusive), at 30 minutes past. */
function hourly(from: string, to: string, usd: number, o: Parameters<typeof callAt>[1] = {}): LlmCall[] {
  const out: LlmCall[] = [];
  for (let t = Date.parse(from) + 30 * MIN; t < Date.parse(to); t += HOUR) out.push(callAt(t, { ...o, costUsd: usd }));
  return out;
}

describe('spend_forecast', () => {
  let store: SqliteStore;
  let spend: SqliteSpendStore;
  beforeEach(async () => {
    store = new SqliteStore(':memory:');
    await store.migrate();
    // the spend aggregates on the same database: the Cost page's forecast() reads them
    spend = new SqliteSpendStore(store.db);
  });
  afterEach(() => store.close());

  async function insert(calls: LlmCall[]) {
    await store.insertCalls(calls);
    await spend.apply(deltasOf(calls, () => false));
  }

  async function evalRule(r: Partial<RuleInput>, now: number) {
    const cfg = alertsConfigOf({
      defaultRules: false,
      slos: [],
      rules: [{ name: 'F', kind: 'spend_forecast', threshold: 1000, ...r } as RuleInput],
    });
    const { rules, issues } = compileRules(cfg);
    expect(issues).toEqual([]);
    const rule = rules.find((x) => x.name === 'F');
    if (!rule) throw new Error('no rule');
    const env = {
      now,
      rollups: (q: Parameters<SqliteStore['queryRollups']>[0]) => store.queryRollups(q),
      signals: new SignalRegistry(),
      callCosts: new CallCostTracker(),
    };
    return evaluateConditions(rule.conditions, rule.groupBy, (c: Condition) =>
      KINDS[c.kind].evaluate(c, rule.groupBy, env),
    );
  }

  const forecastAt = (now: number) =>
    new SpendQueries(spend, costConfigOf({}).costs, [], () => now, 2 * DAY).forecast();

  it('on Dec 3 after a quiet Dec 1–2 and a busy Dec 3 gives the Cost page forecast, not month to date × 31 / 2.5', async () => {
    // $0.10 an hour since Nov 10, then $10 an hour from Dec 3 00:00
    await insert([
      ...hourly('2026-11-10T00:00:00Z', '2026-12-03T00:00:00Z', 0.1),
      ...hourly('2026-12-03T00:00:00Z', '2026-12-03T12:00:00Z', 10),
    ]);
    const now = Date.parse('2026-12-03T12:00:30Z');
    const f = await forecastAt(now);
    // month to date $124.80; the rate $136.80 over Nov 26 00:00 to now (7.5 days) × 28.5 days left: about $644.64
    expect(f.api_usd_mtd).toBeCloseTo(124.8, 9);
    expect(f.forecast_api_usd).toBeCloseTo(
      124.8 + (136.8 / (now - Date.parse('2026-11-26T00:00:00Z'))) * (Date.parse('2027-01-01T00:00:00Z') - now),
      6,
    );
    const r = await evalRule({ threshold: 1000 }, now);
    expect(r).toHaveLength(1);
    // before: 124.8 × 31 / 2.5 ≈ $1,547.5, over the $1,000 a user set from the $645 they saw
    expect(r[0]?.sample.value).toBeCloseTo(f.forecast_api_usd as number, 6);
    expect(r[0]?.holds).toBe(false);
  });

  it('for a steady rate equals forecast() on the same store, at a month start too', async () => {
    // $1 an hour since Nov 10, read at three times (the calls up to each time are in when it is read)
    let upTo = '2026-11-10T00:00:00Z';
    for (const at of ['2026-12-01T00:45:00Z', '2026-12-02T18:10:00Z', '2026-12-07T11:59:00Z']) {
      await insert(hourly(upTo, at, 1));
      upTo = at;
      const now = Date.parse(at);
      const f = await forecastAt(now);
      expect(f.forecast_basis).toBe('rate');
      const r = await evalRule({ threshold: 700 }, now);
      expect(r).toHaveLength(1);
      // before: on Dec 1 00:45 no sample (the month's first day), on Dec 2 18:10 $1 × 43 h × 31 / 1.76 days
      expect(r[0]?.sample.value).toBeCloseTo(f.forecast_api_usd as number, 6);
      expect(r[0]?.sample.value).toBeGreaterThan(735);
      expect(r[0]?.holds).toBe(true);
    }
  });

  it('gives no sample under a day of spend history, as the forecast is null, and a figure from a day on', async () => {
    // spending began Dec 5 18:20, a month's first day long past (before: a linear figure at once)
    await insert(hourly('2026-12-05T17:50:00Z', '2026-12-06T18:00:00Z', 2));
    const early = Date.parse('2026-12-06T18:00:00Z');
    expect((await forecastAt(early)).forecast_api_usd).toBeNull();
    expect(await evalRule({ threshold: 1 }, early)).toEqual([]);
    const later = Date.parse('2026-12-06T18:30:00Z');
    const f = await forecastAt(later);
    expect(f.forecast_basis).toBe('rate');
    const r = await evalRule({ threshold: 1 }, later);
    expect(r).toHaveLength(1);
    expect(r[0]?.sample.value).toBeCloseTo(f.forecast_api_usd as number, 6);
  });

  it('grouped by team, projects each team from its own spend and history', async () => {
    // team a: $1 an hour since Nov 10; team b: $0.10 an hour since Nov 10, then $5 an hour on Dec 3;
    // team c: began 6 hours ago (no sample)
    await insert([
      ...hourly('2026-11-10T00:00:00Z', '2026-12-03T12:00:00Z', 1, { team: 'a' }),
      ...hourly('2026-11-10T00:00:00Z', '2026-12-03T00:00:00Z', 0.1, { team: 'b' }),
      ...hourly('2026-12-03T00:00:00Z', '2026-12-03T12:00:00Z', 5, { team: 'b' }),
      ...hourly('2026-12-03T06:00:00Z', '2026-12-03T12:00:00Z', 3, { team: 'c' }),
      // team d: $2 an hour Nov 10 to 20, then again from Dec 3 06:00: its history is weeks, its rate the window's
      ...hourly('2026-11-10T00:00:00Z', '2026-11-20T00:00:00Z', 2, { team: 'd' }),
      ...hourly('2026-12-03T06:00:00Z', '2026-12-03T12:00:00Z', 2, { team: 'd' }),
    ]);
    const now = Date.parse('2026-12-03T12:00:30Z');
    const left = Date.parse('2027-01-01T00:00:00Z') - now;
    const span = now - Date.parse('2026-11-26T00:00:00Z');
    const r = await evalRule({ threshold: 400, groupBy: ['team'] }, now);
    const by = Object.fromEntries(r.map((x) => [x.sample.labels.team, x]));
    expect(Object.keys(by).sort()).toEqual(['a', 'b', 'd']);
    // a: $60 to date, $180 over 7.5 days
    expect(by.a?.sample.value).toBeCloseTo(60 + (180 / span) * left, 6);
    expect(by.a?.holds).toBe(true);
    // b: $64.80 to date, $76.80 over 7.5 days (before: 64.8 × 31 / 2.5 ≈ $803.5, over the threshold)
    expect(by.b?.sample.value).toBeCloseTo(64.8 + (76.8 / span) * left, 6);
    expect(by.b?.holds).toBe(false);
    // d: $12 to date and in the window, its rate over the window's 7.5 days (not the 6 h since it came back)
    expect(by.d?.sample.value).toBeCloseTo(12 + (12 / span) * left, 6);
    // ungrouped, the whole store's figure is the Cost page's (team c's hours count in it: the store's history is long)
    const all = await evalRule({ threshold: 400 }, now);
    expect(all[0]?.sample.value).toBeCloseTo((await forecastAt(now)).forecast_api_usd as number, 6);
  });
});
