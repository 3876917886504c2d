import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../config/index.js';
import { Router, sendError } from '../http/index.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { registerAlertRoutes } from './api.js';
import { alertsConfigOf } from './config.js';
import type { Notification, Notifier } from './notifiers/notifier.js';
import { AlertsService } from './service.js';
import { SqliteAlertStateStore } from './state/sqlite.js';
import { callAt, ManualClock } from './testing.js';

// biome-ignore lint/suspicious/noExplicitAny: response bodies are read field by field in the assertions
type Json = Record<string, any>;

const T0 = Date.UTC(2025, 0, 6, 12, 0, 0);
const MIN = 60_000;

describe('/api/alerts', () => {
  let server: Server;
  let base: string;
  let store: SqliteStore;
  const clock = new ManualClock(T0);
  const sent: Notification[] = [];
  let service: AlertsService;

  beforeAll(async () => {
    store = new SqliteStore(':memory:');
    await store.migrate();
    const rec: Notifier = {
      kind: 'rec',
      send: async (n) => {
        sent.push(n);
        return { ok: true };
      },
    };
    service = new AlertsService({
      config: alertsConfigOf({
        slos: [],
        route: { groupWait: '0s', groupInterval: '1m' },
        overrides: { HighLatency: { for: '2m' }, HighErrorRate: { minSamples: 5 } },
      }),
      store,
      state: new SqliteAlertStateStore(store.db),
      clock,
      notifiers: new Map([
        ['log', rec],
        ['page', rec],
        ['notify', rec],
      ]),
    });
    await service.init();
    const router = new Router();
    registerAlertRoutes(router, service, 1 << 20);
    server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const m = router.match(req.method ?? 'GET', url.pathname);
      if (!m || m === 'method') return sendError(res, new Error('no route'));
      Promise.resolve(m.handler({ req, res, url, params: m.params })).catch((e) => sendError(res, e));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // 8 minutes of slow calls, then 15 quiet minutes
    for (let m = 0; m < 24; m++) {
      if (m < 8)
        await store.insertCalls(
          Array.from({ length: 20 }, (_, i) => callAt(T0 + m * MIN + i * 100, { latencyMs: 3000 })),
        );
      clock.t = T0 + m * MIN + 59_000;
      await service.evaluate();
    }
    // and one pending alert now
    await store.insertCalls(
      Array.from({ length: 20 }, (_, i) => callAt(clock.t + i, { latencyMs: 3000, model: 'other' })),
    );
    clock.t += 1000;
    await service.evaluate();
  });
  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    await service.stop();
    await store.close();
  });

  const get = async (path: string) => {
    const r = await fetch(base + path);
    return { status: r.status, body: (await r.json()) as Json };
  };
  const send = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(base + path, {
      method,
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: r.status, body: (await r.json()) as Json };
  };

  it('lists firing and pending alerts, history and rules', async () => {
    const { status, body } = await get('/api/alerts');
    expect(status).toBe(200);
    expect(body.firing).toEqual([]);
    expect(
      body.pending.map((a: { alertname: string; labels: { model: string } }) => [a.alertname, a.labels.model]),
    ).toEqual([['HighLatency', 'other']]);
    expect(body.history).toHaveLength(1);
    expect(body.history[0]).toMatchObject({ alertname: 'HighLatency', labels: { model: 'gpt-4o-mini' } });
    expect(body.history[0].duration_s).toBeGreaterThan(0);
    const rule = body.rules.find((r: { id: string }) => r.id === 'HighLatency');
    expect(rule).toMatchObject({
      severity: 'warning',
      kinds: ['latency_quantile'],
      for_s: 120,
      health: 'ok',
      exported_to_prometheus: true,
    });
    expect(body.rules.find((r: { id: string }) => r.id === 'SingleCallCostHigh').exported_to_prometheus).toBe(false);
  });

  it('creates, lists and expires silences, and rejects bad ones with a reason', async () => {
    const created = await send('POST', '/api/alerts/silences', {
      matchers: { model: 'other' },
      duration: '2h',
      comment: 'deploy',
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ matchers: ['model="other"'], status: 'active', comment: 'deploy' });
    const list = await get('/api/alerts/silences');
    expect(list.body.silences.map((s: { id: string }) => s.id)).toContain(created.body.id);
    const del = await send('DELETE', `/api/alerts/silences/${created.body.id}`);
    expect(del.body.status).toBe('expired');
    expect((await send('DELETE', '/api/alerts/silences/nope')).status).toBe(404);
    const bad = await send('POST', '/api/alerts/silences', { matchers: ['model="x'], duration: '1h' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/a matcher like severity="critical"/);
    const noEnd = await send('POST', '/api/alerts/silences', { matchers: ['model="x"'] });
    expect(noEnd.body.error.message).toMatch(/ends_at or duration/);
  });

  it('names the time field at fault in a silence, not matchers', async () => {
    // {"duration": "0s"}, or an ends_at before starts_at or in the past, answered 400 with param "matchers"
    const cases: [Json, string][] = [
      [{ matchers: ['model="x"'], duration: '0s' }, 'duration'],
      [{ matchers: ['model="x"'], starts_at: T0 + 60 * MIN, ends_at: T0 + 30 * MIN }, 'ends_at'],
      [{ matchers: ['model="x"'], starts_at: T0 - 60 * MIN, duration: '30m' }, 'duration'],
      [{ matchers: ['model="x"'], ends_at: T0 - MIN }, 'ends_at'],
    ];
    for (const [body, param] of cases) {
      const r = await send('POST', '/api/alerts/silences', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error.param, JSON.stringify(r.body)).toBe(param);
    }
    const all = await send('POST', '/api/alerts/silences', { matchers: ['model=~".*"'], duration: '1h' });
    expect(all.body.error.param).toBe('matchers');
  });

  it('refuses a silence whose matchers all hold for an alert without the label, as Alertmanager does', async () => {
    // {"matchers": ["model!=\"x\""]} was made (201) and muted every alert of every other model and every alert
    // without a model (ErrorBudgetBurn, DailySpendHigh) for its duration
    for (const matchers of [['model!="x"'], ['model!~"x|y"'], ['model!="x"', 'team=~".*"']]) {
      const r = await send('POST', '/api/alerts/silences', { matchers, duration: '1h' });
      expect(r.status, JSON.stringify(matchers)).toBe(400);
      expect(r.body.error.message).toMatch(/must not match every alert/);
    }
    for (const matchers of [['model!="x"', 'alertname="HighLatency"'], ['model!~""'], ['model=~"gpt-.*"']]) {
      const r = await send('POST', '/api/alerts/silences', { matchers, duration: '1h' });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      await send('DELETE', `/api/alerts/silences/${r.body.id}`);
    }
    const cfg = validateConfig({ alerts: { silences: [{ matchers: ['model!=lab-llama'], always: true }] } });
    expect(cfg.ok).toBe(false);
  });

  it('refuses a history_limit out of range as /api/requests refuses its limit, instead of clamping it', async () => {
    // ?history_limit=abc answered the default 100 and ?history_limit=-5 one entry, both with 200
    for (const v of ['abc', '0', '-5', '501', '1.5']) {
      const r = await get(`/api/alerts?history_limit=${v}`);
      expect(r.status, v).toBe(400);
      expect(r.body.error).toMatchObject({ code: 'invalid_query', param: 'history_limit' });
    }
    const one = await get('/api/alerts?history_limit=1');
    expect(one.status).toBe(200);
    expect(one.body.history).toHaveLength(1);
  });

  it('takes unquoted matchers as amtool does (model=gpt-4o), in a silence and in the config', async () => {
    // docs/alerts.md and matchers.ts take them, but the body's shape required quotes: 400 'a matcher like ...'
    const r = await send('POST', '/api/alerts/silences', {
      matchers: ['model=unquoted-4o', 'alertname!=HighTTFT'],
      duration: '1h',
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body.matchers).toEqual(['model="unquoted-4o"', 'alertname!="HighTTFT"']);
    await send('DELETE', `/api/alerts/silences/${r.body.id}`);
    const bad = await send('POST', '/api/alerts/silences', { matchers: ['model=gpt 4o'], duration: '1h' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.param).toBe('matchers.0');
    const cfg = alertsConfigOf({
      route: { routes: [{ matchers: ['severity=critical'], receiver: 'page' }] },
      silences: [{ matchers: ['model=lab-llama'], always: true }],
    });
    expect(cfg.route.routes[0]?.matchers).toEqual(['severity=critical']);
  });

  it('refuses a silence ending past what a date can hold, and keeps listing the others', async () => {
    // {"duration": "99999999d"} was stored, answered 400 "Invalid time value" (param matchers), and from then on
    // every GET /api/alerts/silences answered 500 (RangeError in silenceJson).
    for (const body of [
      { matchers: ['model="far"'], duration: '99999999d' },
      { matchers: ['model="far"'], ends_at: 9_000_000_000_000_000 },
    ]) {
      const r = await send('POST', '/api/alerts/silences', body);
      expect(r.status).toBe(400);
      expect(r.body.error).toMatchObject({ code: 'invalid_body', param: Object.keys(body)[1] });
    }
    const list = await get('/api/alerts/silences');
    expect(list.status).toBe(200);
    expect(list.body.silences.some((s: { matchers: string[] }) => s.matchers.includes('model="far"'))).toBe(false);
  });

  it('reports noise: notifications per rule per day and time to resolve', async () => {
    const { body } = await get(`/api/alerts/noise?from=${T0 - MIN}&to=${clock.t + 1}`);
    expect(body.notifications).toBe(2); // firing, then resolved
    const r = body.rules.find((x: { alertname: string }) => x.alertname === 'HighLatency');
    expect(r.notifications_per_day).toEqual({ '2025-01-06': 2 });
    expect(r.firings).toBe(1);
    expect(r.flapping).toBe(false);
    expect(r.time_to_resolve_s.median).toBeGreaterThan(60);
    expect((await get('/api/alerts/noise?from=abc')).status).toBe(400);
  });
});
