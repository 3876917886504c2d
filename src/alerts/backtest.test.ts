import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import type { RollupPoint, RollupQuery } from '../store/store.js';
import { backtest, RollupWindows } from './backtest.js';
import { alertsConfigOf } from './config.js';
import { callAt } from './testing.js';

const T0 = Date.UTC(2025, 0, 6, 0, 0, 0);
const MIN = 60_000;

describe('alerts backtest', () => {
  let store: SqliteStore;
  beforeEach(async () => {
    store = new SqliteStore(':memory:');
    await store.migrate();
  });
  afterEach(() => store.close());

  it('counts the notifications the rules would have sent over stored history', async () => {
    const calls = [];
    for (let m = 0; m < 6 * 60; m++) {
      // a 30-minute incident (slow and failing) at 02:00 on an otherwise healthy model
      const incident = m >= 120 && m < 150;
      for (let i = 0; i < 30; i++)
        calls.push(
          callAt(T0 + m * MIN + i * 1000, {
            latencyMs: incident ? 4000 : 400,
            status: incident && i % 5 === 0 ? 'upstream_error' : 'ok',
          }),
        );
    }
    await store.insertCalls(calls);
    const config = alertsConfigOf({ slos: [] });
    const r = await backtest({ config, store, from: T0, to: T0 + 6 * 3600_000 });
    expect(r.evaluations).toBe(361);
    // ServiceDegraded pages once (fires, then resolves); its components are inhibited
    expect(r.byRule.ServiceDegraded).toEqual({ notifications: 2, firings: 1 });
    expect(r.byRule.HighLatency?.notifications ?? 0).toBe(0);
    expect(r.byRule.HighErrorRate?.notifications ?? 0).toBe(0);
    expect(r.byReceiver.page).toBe(2);
    // and when: ServiceDegraded fired during the incident (02:00-02:30, for 10m) and resolved after it
    const sd = r.firings.filter((f) => f.alertname === 'ServiceDegraded');
    expect(sd).toHaveLength(1);
    expect(sd[0]?.labels).toMatchObject({ model: 'gpt-4o-mini', severity: 'critical' });
    expect(sd[0]?.firedAt).toBeGreaterThanOrEqual(T0 + 130 * MIN);
    expect(sd[0]?.firedAt).toBeLessThan(T0 + 150 * MIN);
    expect(sd[0]?.resolvedAt).toBeGreaterThanOrEqual(T0 + 150 * MIN);
    expect(sd[0]?.resolvedAt).toBeLessThan(T0 + 160 * MIN);
    // rules on signals no source publishes here are left out (named), not reported as rules without data
    expect(r.notReplayed).toEqual(
      expect.arrayContaining([
        { rule: 'BudgetExceeded', signals: ['budget_ratio'] },
        { rule: 'GpuUnderutilized', signals: ['gpu_utilization'] },
        { rule: 'HallucinationRateHigh', signals: ['hallucination_rate'] },
      ]),
    );
    expect(r.withoutData).not.toContain('HallucinationRateHigh');
    // single_call_cost is replayed from the stored calls (it had data: calls with a cost)
    expect(r.withoutData).not.toContain('SingleCallCostHigh');
  });

  it('replays SingleCallCostHigh from the stored calls: an expensive call fires it as it did live', async () => {
    const calls = [];
    for (let m = 0; m < 60; m++)
      for (let i = 0; i < 10; i++) calls.push(callAt(T0 + m * MIN + i * 6000, { costUsd: 0.002, model: 'gpt-4o' }));
    // one $1.40 o1-pro call ending at 00:30:02, and one a minute before the period (its window reaches into it)
    calls.push(callAt(T0 + 30 * MIN, { costUsd: 1.4, model: 'o1-pro', latencyMs: 2000 }));
    calls.push(callAt(T0 - 2 * MIN, { costUsd: 2, model: 'o3-pro', latencyMs: 1000 }));
    await store.insertCalls(calls);
    const config = alertsConfigOf({ slos: [] });
    const r = await backtest({ config, store, from: T0, to: T0 + 3600_000 });
    expect(r.withoutData).not.toContain('SingleCallCostHigh');
    expect(r.byRule.SingleCallCostHigh?.firings).toBe(2);
    const fired = r.sent.filter((n) => n.alertnames.includes('SingleCallCostHigh'));
    expect(fired.length).toBeGreaterThan(0);
    // an hour of cheap calls only: it had data, and stays quiet
    const quiet = await backtest({ config, store, from: T0 + 40 * MIN, to: T0 + 3600_000 });
    expect(quiet.withoutData).not.toContain('SingleCallCostHigh');
    expect(quiet.byRule.SingleCallCostHigh?.firings ?? 0).toBe(0);
  });

  it('a tighter threshold shows its cost before it pages anyone', async () => {
    const calls = [];
    // latency wanders around 1.5 s; an hour above 1.5 s now and then
    for (let m = 0; m < 4 * 60; m++)
      for (let i = 0; i < 20; i++)
        calls.push(callAt(T0 + m * MIN + i * 2000, { latencyMs: Math.floor(m / 30) % 2 ? 1800 : 1200 }));
    await store.insertCalls(calls);
    const base = { slos: [], defaultRules: true } as const;
    const loose = await backtest({ config: alertsConfigOf(base), store, from: T0, to: T0 + 4 * 3600_000 });
    const tight = await backtest({
      config: alertsConfigOf({ ...base, overrides: { HighLatency: { threshold: 1.5 } } }),
      store,
      from: T0,
      to: T0 + 4 * 3600_000,
    });
    expect(loose.notifications).toBe(0);
    expect(tight.byRule.HighLatency?.firings).toBe(4);
    expect(tight.notifications).toBeGreaterThanOrEqual(4);
  });
});

describe('llmscope alerts backtest', () => {
  it('prints the notifications per receiver and alert for a stored period', async () => {
    const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { Command } = await import('commander');
    const { registerAlertsCommand } = await import('./cli.js');
    const dir = mkdtempSync(join(tmpdir(), 'llmscope-backtest-'));
    const db = join(dir, 'db.sqlite');
    const s = new SqliteStore(db);
    await s.migrate();
    const calls = [];
    for (let m = 0; m < 60; m++)
      for (let i = 0; i < 30; i++)
        calls.push(
          callAt(T0 + m * MIN + i * 1000, {
            latencyMs: m >= 10 && m < 40 ? 4000 : 300,
            status: m >= 10 && m < 40 && i % 5 === 0 ? 'timeout' : 'ok',
          }),
        );
    await s.insertCalls(calls);
    await s.close();
    writeFileSync(join(dir, 'llmscope.yaml'), `storage: { url: 'sqlite:${db}' }\nalerts: { slos: [] }\n`);
    let out = '';
    const write = process.stdout.write;
    process.stdout.write = ((chunk: string) => {
      out += chunk;
      return true;
    }) as typeof process.stdout.write;
    try {
      const program = new Command().exitOverride();
      registerAlertsCommand(program);
      await program.parseAsync([
        'node',
        'llmscope',
        'alerts',
        'backtest',
        '--from',
        new Date(T0).toISOString(),
        '--to',
        new Date(T0 + 3600_000).toISOString(),
        '--config',
        join(dir, 'llmscope.yaml'),
      ]);
    } finally {
      process.stdout.write = write;
      rmSync(dir, { recursive: true, force: true });
    }
    expect(out).toContain('notifications: 2');
    expect(out).toContain('to page: 2');
    expect(out).toMatch(/ServiceDegraded\s+2 \/ 1/);
    // when it would have fired and resolved
    expect(out).toMatch(/firing \(when\):\n/);
    expect(out).toMatch(
      / {2}2025-01-06T00:\d\d:\d\d\.000Z to 2025-01-06T00:\d\d:\d\d\.000Z {2}ServiceDegraded model=gpt-4o-mini/,
    );
  });
});

describe('alerts backtest reads no call made after the evaluation', () => {
  let store: SqliteStore;
  beforeEach(async () => {
    store = new SqliteStore(':memory:');
    await store.migrate();
  });
  afterEach(() => store.close());

  it('fires no earlier than the calls that make it fire, from a --from inside a minute and on hour buckets', async () => {
    // A stored bucket holds its whole minute (hour): evaluated at 01:00:10 (--from 2h lands anywhere in a minute),
    // a 1-minute window read all of 01:00's calls, those at 01:00:30 included, and fired 20 s before the first error;
    // a 1-day spend window read the whole 05:00 hour at 05:01 and fired 49 minutes before the expensive call.
    const calls = [];
    // from 01:00, each minute's calls succeed for 30 s, then fail
    for (let m = 60; m < 70; m++)
      for (let i = 0; i < 6; i++)
        calls.push(callAt(T0 + m * MIN + i * 10_000, { latencyMs: 10, status: i < 3 ? 'ok' : 'upstream_error' }));
    const expensive = T0 + 5 * 3600_000 + 50 * MIN;
    calls.push(callAt(expensive, { latencyMs: 10, costUsd: 50 }));
    await store.insertCalls(calls);
    const config = alertsConfigOf({
      defaultRules: false,
      slos: [],
      route: { groupWait: '0s', routes: [] },
      rules: [
        { name: 'Errors', kind: 'error_rate', window: '1m', threshold: 0.4, minSamples: 1 },
        { name: 'Spend', kind: 'spend_day', threshold: 10 },
      ],
    });
    const r = await backtest({ config, store, from: T0 + 10_000, to: T0 + 7 * 3600_000 });
    const first = (name: string) => r.sent.find((n) => n.alertnames.includes(name))?.time;
    expect(first('Errors')).toBeGreaterThanOrEqual(T0 + 60 * MIN + 30_000);
    expect(first('Spend')).toBeGreaterThanOrEqual(expensive);
    // steps are whole minutes from a whole minute
    expect(r.firings.every((f) => f.firedAt % MIN === 0)).toBe(true);
    await expect(backtest({ config, store, from: T0, to: T0 + 3600_000, stepMs: 5_000 })).rejects.toThrow(
      /--step must be whole minutes/,
    );
  });
});

describe('backtest rollup windows', () => {
  const H = 3600_000;
  let store: SqliteStore;
  beforeEach(async () => {
    store = new SqliteStore(':memory:');
    await store.migrate();
    // two days, two models on two providers, an hour of slow failing calls to one of them on day 2, costs rising
    const calls = [];
    for (let m = 0; m < 2 * 24 * 60; m += 2)
      for (let i = 0; i < 6; i++) {
        const incident = m >= 30 * 60 && m < 31 * 60 && i % 2 === 0;
        calls.push(
          callAt(T0 + m * MIN + i * 7000, {
            model: i % 2 ? 'gpt-4o-mini' : 'claude-sonnet-4',
            provider: i % 2 ? 'openai' : 'anthropic',
            latencyMs: incident ? 9000 : 300 + (m % 50),
            status: incident && i % 4 === 0 ? 'upstream_error' : 'ok',
            costUsd: 0.001 * (1 + m / 1000),
          }),
        );
      }
    await store.insertCalls(calls);
  });
  afterEach(() => store.close());

  it('answers every window exactly as the store does, reading each shape only a few times', async () => {
    const windows = new RollupWindows(store);
    const sorted = (ps: RollupPoint[]) =>
      [...ps].sort((a, b) => a.t - b.t || JSON.stringify(a.group).localeCompare(JSON.stringify(b.group)));
    let asked = 0;
    for (let now = T0 + 20 * H; now <= T0 + 40 * H; now += 13 * MIN) {
      const queries: RollupQuery[] = [
        { from: now - 5 * MIN, to: now, step: 'minute' },
        { from: now - 6 * H, to: now, step: 'minute', groupBy: ['model'] },
        { from: now - H, to: now, step: 'minute', filter: { provider: 'anthropic' } },
        { from: Math.floor((now - 24 * H) / H) * H, to: now, step: 'hour' },
        { from: now - 25 * H, to: now - 24 * H, step: 'hour', groupBy: ['model'] },
      ];
      for (const q of queries) {
        asked++;
        expect(sorted(await windows.query(q))).toEqual(sorted(await store.queryRollups(q)));
      }
      windows.evict();
    }
    expect(windows.reads).toBeLessThan(asked / 20);
  });

  it('gives the same notifications as reading the store directly', async () => {
    const config = alertsConfigOf({});
    const from = T0 + 29 * H;
    const to = T0 + 33 * H;
    const fast = await backtest({ config, store, from, to });
    const direct = await backtest({ config, store, from, to, direct: true });
    expect(fast.notifications).toBeGreaterThan(0);
    expect(fast.sent).toEqual(direct.sent);
    expect(fast.byRule).toEqual(direct.byRule);
  }, 120_000);
});

describe('alerts backtest over a range longer than the data', () => {
  let store: SqliteStore;
  beforeEach(async () => {
    store = new SqliteStore(':memory:');
    await store.migrate();
  });
  afterEach(() => store.close());

  const incident = () => {
    const calls = [];
    for (let m = 0; m < 3 * 60; m++)
      for (let i = 0; i < 20; i++)
        calls.push(
          callAt(T0 + m * MIN + i * 3000, {
            latencyMs: m >= 60 && m < 90 ? 4000 : 400,
            status: m >= 60 && m < 90 && i % 4 === 0 ? 'upstream_error' : 'ok',
          }),
        );
    return calls;
  };

  it('starts at the first hour with calls: ten years over three hours of data run 181 steps, with the same result', async () => {
    await store.insertCalls(incident());
    const config = alertsConfigOf({ slos: [] });
    const to = T0 + 3 * 3600_000;
    const exact = await backtest({ config, store, from: T0, to });
    const decade = await backtest({ config, store, from: T0 - 3650 * 86_400_000, to });
    expect(exact.evaluations).toBe(181);
    expect(exact.skippedEvaluations).toBe(0);
    expect(decade.evaluations).toBe(181);
    expect(decade.skippedEvaluations).toBe(3650 * 1440);
    expect(decade.dataFrom).toBe(T0);
    expect(decade.notifications).toBeGreaterThan(0);
    const { evaluations: _e, skippedEvaluations: _s, from: _f, sent: _x, ...rest } = decade;
    const { evaluations: _e2, skippedEvaluations: _s2, from: _f2, sent: _x2, ...restExact } = exact;
    expect(rest).toEqual(restExact);
  });

  it('calls just before the period still count: nothing is skipped when a window reaches back to data', async () => {
    await store.insertCalls(incident());
    const config = alertsConfigOf({ slos: [] });
    // the period starts 10 minutes after the last call: SLO and latency windows still reach the incident hour
    const r = await backtest({ config, store, from: T0 + 190 * MIN, to: T0 + 5 * 3600_000 });
    expect(r.skippedEvaluations).toBe(0);
    expect(r.dataFrom).toBe(T0);
  });

  it('a period without calls runs nothing and says so; more than a year of 1-minute steps with data is refused', async () => {
    const config = alertsConfigOf({ slos: [] });
    const empty = await backtest({ config, store, from: T0, to: T0 + 30 * 86_400_000 });
    expect(empty.evaluations).toBe(0);
    expect(empty.dataFrom).toBeNull();
    expect(empty.withoutData.length).toBeGreaterThan(0);
    await store.insertCalls([callAt(T0, {}), callAt(T0 + 400 * 86_400_000, {})]);
    await expect(backtest({ config, store, from: T0, to: T0 + 400 * 86_400_000 })).rejects.toThrow(
      /more than 527040 .*--step 2m/,
    );
    const coarse = await backtest({ config, store, from: T0, to: T0 + 400 * 86_400_000, stepMs: 60 * MIN });
    expect(coarse.evaluations).toBe(400 * 24 + 1);
  });
});
