import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SignalRegistry } from '../signals/index.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import type { AlertsConfigInput, RuleInput } from './config.js';
import { alertsConfigOf } from './config.js';
import { Engine } from './engine.js';
import { noiseReport } from './noise.js';
import type { Notification, Notifier } from './notifiers/notifier.js';
import { compileRules } from './rules.js';
import { AlertsService } from './service.js';
import { MemoryAlertStateStore, SqliteAlertStateStore } from './state/index.js';
import { callAt, ManualClock } from './testing.js';

const T0 = Date.UTC(2025, 0, 6, 12, 0, 0);
const MIN = 60_000;

class Recorder implements Notifier {
  readonly kind = 'test';
  sent: Notification[] = [];
  async send(n: Notification) {
    this.sent.push(n);
    return { ok: true };
  }
}

function cfg(rules: RuleInput[], extra: Partial<AlertsConfigInput> = {}) {
  return alertsConfigOf({
    defaultRules: false,
    slos: [],
    evaluationInterval: '1m',
    route: { groupWait: '30s', groupInterval: '5m', repeatInterval: '4h' },
    ...extra,
    rules,
  });
}

const slow: RuleInput = {
  name: 'HighLatency',
  kind: 'latency_quantile',
  threshold: 2,
  window: '5m',
  for: '10m',
  minSamples: 10,
  severity: 'warning',
};

describe('engine', () => {
  let store: SqliteStore;
  beforeEach(async () => {
    store = new SqliteStore(':memory:');
    await store.migrate();
  });
  afterEach(() => store.close());

  const minuteOf = async (m: number, n: number, o: Parameters<typeof callAt>[1]) =>
    store.insertCalls(Array.from({ length: n }, (_, i) => callAt(T0 + m * MIN + i * 100, o)));

  it('moves inactive → pending → firing → resolved with Prometheus semantics', async () => {
    const engine = new Engine({ rules: compileRules(cfg([slow])).rules, store, state: new MemoryAlertStateStore() });
    const states: string[] = [];
    for (let m = 0; m < 30; m++) {
      if (m < 20) await minuteOf(m, 20, { latencyMs: 3000 });
      const r = await engine.evaluate(T0 + m * MIN + 59_000);
      for (const e of r.events) states.push(`${m}:${e.kind}`);
    }
    // pending at the first evaluation, firing once the condition held for 10 minutes, resolved when the 5-minute
    // window no longer holds slow calls
    expect(states).toEqual(['0:pending', '10:firing', '24:resolved']);
  });

  it('fires at once with for 0, and keep_firing_for holds it after the condition clears', async () => {
    const rules = compileRules(cfg([{ ...slow, for: '0s', keepFiringFor: '3m', window: '1m' }])).rules;
    const engine = new Engine({ rules, store, state: new MemoryAlertStateStore() });
    await minuteOf(0, 20, { latencyMs: 3000 });
    const first = await engine.evaluate(T0 + 59_000);
    expect(first.events.map((e) => e.kind)).toEqual(['pending', 'firing']);
    const kinds: string[] = [];
    for (let m = 1; m <= 6; m++)
      for (const e of (await engine.evaluate(T0 + m * MIN + 59_000)).events) kinds.push(`${m}:${e.kind}`);
    expect(kinds).toEqual(['4:resolved']);
  });

  it('needs the minimum sample count: 3 errors in 4 calls do not fire, 30 in 100 do', async () => {
    const rules = compileRules(
      cfg([{ name: 'HighErrorRate', kind: 'error_rate', threshold: 0.01, minSamples: 20 }]),
    ).rules;
    const engine = new Engine({ rules, store, state: new MemoryAlertStateStore() });
    await store.insertCalls([
      callAt(T0, { status: 'upstream_error' }),
      callAt(T0 + 1, { status: 'timeout' }),
      callAt(T0 + 2, { status: 'rate_limited' }),
      callAt(T0 + 3),
    ]);
    expect((await engine.evaluate(T0 + 30_000)).events).toEqual([]);
    await store.insertCalls(
      Array.from({ length: 96 }, (_, i) => callAt(T0 + 10 + i, { status: i < 27 ? 'upstream_error' : 'ok' })),
    );
    const r = await engine.evaluate(T0 + 40_000);
    expect(r.events.map((e) => e.kind)).toEqual(['pending', 'firing']);
    expect(r.alerts[0]?.value).toBeCloseTo(0.3, 5);
    expect(r.alerts[0]?.labels).toEqual({ model: 'gpt-4o-mini', alertname: 'HighErrorRate', severity: 'warning' });
    expect(r.alerts[0]?.annotations.runbook_url).toContain('#higherrorrate');
  });

  it('client errors and cancelled calls are not service errors', async () => {
    const rules = compileRules(
      cfg([{ name: 'HighErrorRate', kind: 'error_rate', threshold: 0.01, minSamples: 1 }]),
    ).rules;
    const engine = new Engine({ rules, store, state: new MemoryAlertStateStore() });
    await store.insertCalls([
      ...Array.from({ length: 10 }, (_, i) => callAt(T0 + i, { status: 'client_error' })),
      ...Array.from({ length: 10 }, (_, i) => callAt(T0 + 20 + i, { status: 'cancelled' })),
      callAt(T0 + 50),
    ]);
    expect((await engine.evaluate(T0 + 30_000)).events).toEqual([]);
  });

  it('splits alerts by model and computes p95 from the rollup histograms', async () => {
    const engine = new Engine({
      rules: compileRules(cfg([{ ...slow, for: '0s' }])).rules,
      store,
      state: new MemoryAlertStateStore(),
    });
    await store.insertCalls([
      ...Array.from({ length: 100 }, (_, i) => callAt(T0 + i, { model: 'slow-model', latencyMs: 1000 + i * 40 })),
      ...Array.from({ length: 100 }, (_, i) => callAt(T0 + i, { model: 'fast-model', latencyMs: 100 })),
    ]);
    const r = await engine.evaluate(T0 + 30_000);
    expect(r.alerts.map((a) => a.labels.model)).toEqual(['slow-model']);
    // p95 (rank floor(0.95·99) = 94) of 1000..4960 step 40 is 4760 ms; histograms are within 1%
    expect(r.alerts[0]?.value).toBeGreaterThan(4.76 * 0.99);
    expect(r.alerts[0]?.value).toBeLessThan(4.76 * 1.01);
    expect(r.alerts[0]?.annotations.summary).toMatch(/^HighLatency: latency_quantile is 4\.7\d*s$/);
  });

  it('keeps alerts as they were when a query fails, and reports the rule unhealthy', async () => {
    const rules = compileRules(cfg([{ ...slow, for: '0s', window: '1m' }])).rules;
    const engine = new Engine({ rules, store, state: new MemoryAlertStateStore() });
    await minuteOf(0, 20, { latencyMs: 3000 });
    await engine.evaluate(T0 + 59_000);
    const original = store.queryRollups.bind(store);
    store.queryRollups = async () => {
      throw new Error('database is locked');
    };
    const r = await engine.evaluate(T0 + 5 * MIN);
    expect(r.events).toEqual([]);
    expect(engine.activeAlerts().map((a) => a.state)).toEqual(['firing']);
    expect(engine.ruleHealth()[0]).toMatchObject({ health: 'err', lastError: 'database is locked' });
    store.queryRollups = original;
  });

  it('reads kinds outside the store through a registered SignalSource', async () => {
    const signals = new SignalRegistry();
    const rules = compileRules(
      cfg([{ name: 'GpuIdle', kind: 'gpu_utilization', threshold: 0.8, op: '<', severity: 'info' }]),
    ).rules;
    const engine = new Engine({ rules, store, state: new MemoryAlertStateStore(), signals });
    expect((await engine.evaluate(T0)).alerts).toEqual([]);
    expect(engine.ruleHealth()[0]?.health).toBe('nodata');
    const off = signals.register({
      name: 'test-gpu',
      signals: ['gpu_utilization'],
      query: (q) =>
        [
          { labels: { gpu: '0', host: 'h1' }, value: 0.3, samples: null },
          { labels: { gpu: '1', host: 'h1' }, value: 0.95, samples: null },
        ].filter(() => q.groupBy.join() === 'gpu,host'),
    });
    const r = await engine.evaluate(T0 + MIN);
    expect(r.alerts.map((a) => a.labels)).toEqual([{ gpu: '0', host: 'h1', alertname: 'GpuIdle', severity: 'info' }]);
    off();
    expect(signals.has('gpu_utilization')).toBe(false);
  });

  it('budget_ratio and reconciliation_gap fire from the signals cost publishes, per budget and per provider', async () => {
    const signals = new SignalRegistry();
    const rules = compileRules(
      cfg([
        { name: 'BudgetNearlySpent', kind: 'budget_ratio', threshold: 0.9, severity: 'warning' },
        { name: 'BillGap', kind: 'reconciliation_gap', threshold: 0.1, severity: 'warning' },
      ]),
    ).rules;
    const engine = new Engine({ rules, store, state: new MemoryAlertStateStore(), signals });
    const ratios: Record<string, number> = { 'team-a': 0.5, 'team-b': 0.95 };
    const gaps: Record<string, number> = { openai: 0.04, anthropic: 0.3 };
    signals.register({
      name: 'test-cost',
      signals: ['budget_ratio', 'reconciliation_gap'],
      query: (q) =>
        q.signal === 'budget_ratio'
          ? Object.entries(ratios).map(([budget, value]) => ({ labels: { budget }, value, samples: null }))
          : Object.entries(gaps).map(([provider, value]) => ({ labels: { provider }, value, samples: null })),
    });
    const r = await engine.evaluate(T0);
    const firing = r.alerts.map((a) => [a.labels.alertname, a.labels.budget ?? a.labels.provider, a.value]).sort();
    expect(firing).toEqual([
      ['BillGap', 'anthropic', 0.3],
      ['BudgetNearlySpent', 'team-b', 0.95],
    ]);
    // Back under the thresholds: both resolve at the next evaluation.
    ratios['team-b'] = 0.2;
    gaps.anthropic = 0.05;
    const next = await engine.evaluate(T0 + MIN);
    expect(
      next.alerts
        .filter((a) => a.status === 'resolved')
        .map((a) => a.labels.alertname)
        .sort(),
    ).toEqual(['BillGap', 'BudgetNearlySpent']);
    expect(engine.activeAlerts()).toEqual([]);
  });

  it('a pending alert restored after a downtime longer than alerts.forOutageTolerance restarts its `for`', async () => {
    const rules = compileRules(cfg([slow], { forOutageTolerance: '1h' })).rules;
    const state = new MemoryAlertStateStore();
    const engine = new Engine({ rules, store, state, forOutageToleranceMs: 3_600_000 });
    for (let m = 0; m < 5; m++) {
      await minuteOf(m, 20, { latencyMs: 3000 });
      await engine.evaluate(T0 + m * MIN + 59_000);
    }
    expect(engine.activeAlerts()).toMatchObject([{ state: 'pending', activeAt: T0 + 59_000 }]);
    // Short outage (10 minutes): the clock resumes, and the alert fires 10 minutes after it first held.
    const back = T0 + 15 * MIN;
    const resumed = new Engine({ rules, store, state, forOutageToleranceMs: 3_600_000 });
    await resumed.restore(back);
    expect(resumed.activeAlerts()).toMatchObject([{ state: 'pending', activeAt: T0 + 59_000 }]);
    // Long outage (3 hours): nobody knows whether it held meanwhile; `for` starts again at the first evaluation.
    const later = T0 + 4 * 60 * MIN;
    const restarted = new Engine({ rules, store, state, forOutageToleranceMs: 3_600_000 });
    await restarted.restore(later);
    expect(restarted.activeAlerts()).toMatchObject([{ state: 'pending', activeAt: later }]);
    const kinds: string[] = [];
    for (let m = 0; m <= 10; m++) {
      await minuteOf(240 + m, 20, { latencyMs: 3000 });
      for (const e of (await restarted.evaluate(later + m * MIN + 59_000)).events) kinds.push(`${m}:${e.kind}`);
    }
    // Not firing at once (it would have with the old activeAt): only when the condition held for 10 more minutes.
    expect(kinds).toEqual(['10:firing']);
  });

  it('keeps listing the alerts it had while a restore reads the shared state (a follower restores each evaluation)', async () => {
    const rules = compileRules(cfg([{ ...slow, for: '0s' }])).rules;
    const state = new MemoryAlertStateStore();
    const leader = new Engine({ rules, store, state });
    await minuteOf(0, 20, { latencyMs: 3000 });
    await leader.evaluate(T0 + 59_000);
    expect(leader.activeAlerts()).toMatchObject([{ state: 'firing' }]);
    // the follower's store answers when told to, as PostgreSQL answers over the network
    const held: (() => void)[] = [];
    const slowState = Object.assign(Object.create(state) as MemoryAlertStateStore, {
      loadActive: async () => {
        const rows = await state.loadActive();
        await new Promise<void>((r) => held.push(r));
        return rows;
      },
    });
    const answerWhenAsked = async () => {
      while (held.length === 0) await new Promise((r) => setTimeout(r, 1));
      held.shift()?.();
    };
    const follower = new Engine({ rules, store, state: slowState });
    await Promise.all([follower.restore(), answerWhenAsked()]);
    expect(follower.activeAlerts()).toMatchObject([{ state: 'firing' }]);
    const again = follower.restore();
    while (held.length === 0) await new Promise((r) => setTimeout(r, 1));
    // asked while the read is out: still the firing alert, not nothing
    expect(follower.activeAlerts()).toMatchObject([{ state: 'firing' }]);
    await answerWhenAsked();
    await again;
    expect(follower.activeAlerts()).toMatchObject([{ state: 'firing' }]);
  });

  it('single_call_cost reads the calls the recorder saw', async () => {
    const rules = compileRules(cfg([{ name: 'PriceyCall', kind: 'single_call_cost', threshold: 1 }])).rules;
    const engine = new Engine({ rules, store, state: new MemoryAlertStateStore() });
    engine.callCosts.observe(callAt(T0, { costUsd: 0.2 }));
    expect((await engine.evaluate(T0 + 1000)).alerts).toEqual([]);
    engine.callCosts.observe(callAt(T0 + 2000, { costUsd: 1.75, model: 'o1' }));
    const r = await engine.evaluate(T0 + 3000);
    expect(r.alerts.map((a) => [a.labels.model, a.value])).toEqual([['o1', 1.75]]);
    expect(r.alerts[0]?.annotations.summary).toBe('PriceyCall: single_call_cost is $1.75');
  });
});

describe('alerts service', () => {
  let dir: string;
  let store: SqliteStore;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'llmscope-alerts-'));
    store = new SqliteStore(join(dir, 'db.sqlite'));
    await store.migrate();
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function service(config: ReturnType<typeof cfg>, clock: ManualClock, page: Recorder, notify = new Recorder()) {
    return new AlertsService({
      config,
      store,
      state: new SqliteAlertStateStore(store.db),
      clock,
      notifiers: new Map<string, Notifier>([
        ['page', page],
        ['notify', notify],
        ['log', new Recorder()],
      ]),
    });
  }

  it('flapping input (crossing the threshold every minute) with for: 10m sends nothing', async () => {
    const clock = new ManualClock(T0);
    const page = new Recorder();
    const notify = new Recorder();
    const s = service(cfg([{ ...slow, window: '1m', severity: 'critical' }]), clock, page, notify);
    await s.init();
    let pendings = 0;
    for (let m = 0; m < 60; m++) {
      // slow every other minute: the 1-minute p95 crosses 2 s and back every minute
      await store.insertCalls(
        Array.from({ length: 20 }, (_, i) => callAt(T0 + m * MIN + i * 100, { latencyMs: m % 2 ? 3000 : 300 })),
      );
      for (const at of [30_000, 59_000]) {
        clock.t = T0 + m * MIN + at;
        await s.evaluate();
        pendings += s.engine.activeAlerts().filter((a) => a.state === 'pending').length;
      }
    }
    expect(pendings).toBeGreaterThan(0);
    expect(page.sent).toEqual([]);
    expect(notify.sent).toEqual([]);
    const events = await s.state.listEvents({ from: 0, to: Date.now() * 2 });
    expect(events.filter((e) => e.kind === 'firing')).toEqual([]);
    expect(events.filter((e) => e.kind === 'pending_aborted').length).toBeGreaterThanOrEqual(25);
    // The noise report names it as flapping: it keeps abandoning pending.
    const noise = noiseReport(
      events,
      await s.state.listNotifications({ from: 0, to: Date.now() * 2 }),
      T0,
      T0 + 60 * MIN,
    );
    expect(noise.flapping).toEqual(['HighLatency']);
    expect(noise.rules[0]).toMatchObject({ alertname: 'HighLatency', flapping: true, firings: 0 });
  });

  it('pages once, and a restart neither re-pages nor forgets', async () => {
    const clock = new ManualClock(T0);
    const page = new Recorder();
    const config = cfg([{ ...slow, severity: 'critical', for: '2m' }]);
    let s = service(config, clock, page);
    await s.init();
    for (let m = 0; m < 8; m++) {
      await store.insertCalls(
        Array.from({ length: 20 }, (_, i) => callAt(T0 + m * MIN + i * 100, { latencyMs: 3000 })),
      );
      for (const at of [0, 30_000]) {
        clock.t = T0 + m * MIN + at + 1000;
        await s.evaluate();
      }
    }
    expect(page.sent).toHaveLength(1);
    expect(page.sent[0]?.alerts.map((a) => a.labels.alertname)).toEqual(['HighLatency']);
    const firedAt = s.engine.activeAlerts()[0]?.firedAt;
    await s.stop();

    // restart: a new service on the same database
    const page2 = new Recorder();
    s = service(config, clock, page2);
    await s.init();
    expect(s.engine.activeAlerts()).toMatchObject([{ state: 'firing', firedAt }]);
    for (let m = 8; m < 14; m++) {
      await store.insertCalls(
        Array.from({ length: 20 }, (_, i) => callAt(T0 + m * MIN + i * 100, { latencyMs: 3000 })),
      );
      clock.t = T0 + m * MIN + 1000;
      await s.evaluate();
      await s.tick();
    }
    expect(page2.sent).toEqual([]);
    expect((await s.state.listEvents({ from: 0, to: clock.t + 1 })).filter((e) => e.kind === 'firing')).toHaveLength(1);
    await s.stop();
  });
});
