// Static silences from the config file (alerts.silences): validated by check-config, applied as API silences are,
// listed with source "config", and refused by DELETE (they are changed in the file).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../config/index.js';
import { Router, sendError } from '../http/index.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { silencesSchema } from '../wire/alerts.js';
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

describe('alerts.silences in the config', () => {
  it('check-config accepts endsAt or always, and reports a silence without an end, with both, or matching everything', () => {
    const ok = validateConfig({
      alerts: {
        silences: [
          { matchers: ['model="a"'], always: true, comment: 'lab model' },
          { matchers: { team: 'x' }, startsAt: '2026-01-10T08:00:00Z', endsAt: '2026-01-10T10:00:00Z' },
        ],
      },
    });
    expect(ok.ok).toBe(true);
    const bad = validateConfig({
      alerts: {
        silences: [
          { matchers: ['model="a"'] },
          { matchers: ['model="a"'], always: true, endsAt: 5 },
          { matchers: ['model=~".*"'], always: true },
          { matchers: ['model="a"'], startsAt: 10, endsAt: 5 },
          { matchers: ['model="a"'], always: true, until: 3 },
        ],
      },
    });
    expect(bad.ok).toBe(false);
    if (bad.ok) return;
    const paths = bad.issues.map((i) => i.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'alerts.silences[0].endsAt',
        'alerts.silences[1].endsAt',
        'alerts.silences[2].matchers',
        'alerts.silences[3].endsAt',
      ]),
    );
    expect(bad.issues.some((i) => i.path.startsWith('alerts.silences[4]'))).toBe(true);
  });

  describe('in the running service', () => {
    let server: Server;
    let base: string;
    let store: SqliteStore;
    const clock = new ManualClock(T0);
    const sent: Notification[] = [];
    let service: AlertsService;
    let state: SqliteAlertStateStore;

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
      state = new SqliteAlertStateStore(store.db);
      service = new AlertsService({
        config: alertsConfigOf({
          slos: [],
          route: { groupWait: '0s', groupInterval: '1m' },
          overrides: { HighLatency: { for: '2m' } },
          silences: [
            { matchers: ['model="quiet"'], always: true, comment: 'lab model, never page' },
            { matchers: ['model="later"'], startsAt: T0 + 60 * MIN, endsAt: T0 + 120 * MIN },
          ],
        }),
        store,
        state,
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
      for (let m = 0; m < 6; m++) {
        for (const model of ['quiet', 'loud', 'later'])
          await store.insertCalls(
            Array.from({ length: 20 }, (_, i) => callAt(T0 + m * MIN + i * 100, { latencyMs: 3000, model })),
          );
        clock.t = T0 + m * MIN + 59_000;
        await service.evaluate();
      }
    });
    afterAll(async () => {
      await new Promise<void>((r) => server.close(() => r()));
      await service.stop();
      await store.close();
    });

    const call = async (method: string, path: string) => {
      const r = await fetch(base + path, { method });
      return { status: r.status, body: (await r.json()) as Json };
    };

    it('mutes what an active config silence matches, and only that', async () => {
      const notified = new Set(sent.flatMap((n) => n.alerts.map((a) => a.labels.model)));
      expect(notified).toEqual(new Set(['loud', 'later'])); // "later" is silenced only from T0+60m
      const { body } = await call('GET', '/api/alerts');
      const firing = Object.fromEntries(
        body.firing.map((a: Json) => [a.labels.model, a.silenced_by as string[]]),
      ) as Record<string, string[]>;
      expect(firing).toEqual({ quiet: ['config-1'], loud: [], later: [] });
    });

    it('lists config silences marked as such, and DELETE refuses them with 403', async () => {
      const list = await call('GET', '/api/alerts/silences');
      expect(list.status).toBe(200);
      expect(silencesSchema.safeParse(list.body).success).toBe(true);
      const byId = Object.fromEntries(list.body.silences.map((s: Json) => [s.id, s]));
      expect(byId['config-1']).toMatchObject({
        source: 'config',
        matchers: ['model="quiet"'],
        starts_at: null,
        ends_at: null,
        status: 'active',
        created_by: 'config',
        comment: 'lab model, never page',
      });
      expect(byId['config-2']).toMatchObject({
        source: 'config',
        status: 'pending',
        starts_at: new Date(T0 + 60 * MIN).toISOString(),
      });
      const del = await call('DELETE', '/api/alerts/silences/config-1');
      expect(del.status).toBe(403);
      expect(del.body.error.message).toMatch(/config file/);
      // still there and still muting after a reload from the state store (as a follower replica does)
      await service.silences.load();
      expect(service.silences.mutedBy({ model: 'quiet', alertname: 'HighLatency' }, clock.t)).toEqual(['config-1']);
      expect(await state.listSilences()).toEqual([]); // never written to the store
    });
  });
});

describe('a stored silence with a time no Date can hold', () => {
  it('is listed with that time null (and a warning), not a 500 for the whole list', async () => {
    const store = new SqliteStore(':memory:');
    await store.migrate();
    const state = new SqliteAlertStateStore(store.db);
    // stored before 27e3cca refused such silences
    await state.putSilence({
      id: 'far',
      matchers: ['model="x"'],
      startsAt: T0,
      endsAt: 9e15,
      createdBy: 'api',
      comment: '',
      createdAt: T0,
      updatedAt: T0,
    });
    const warnings: Json[] = [];
    const logger = { warn: (o: Json) => void warnings.push(o), info() {}, error() {}, debug() {}, child: () => logger };
    const service = new AlertsService({
      config: alertsConfigOf({ slos: [] }),
      store,
      state,
      clock: new ManualClock(T0),
      logger: logger as never,
      notifiers: new Map(),
    });
    await service.init();
    const router = new Router();
    registerAlertRoutes(router, service, 1 << 20);
    const server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const m = router.match(req.method ?? 'GET', url.pathname);
      if (!m || m === 'method') return sendError(res, new Error('no route'));
      Promise.resolve(m.handler({ req, res, url, params: m.params })).catch((e) => sendError(res, e));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const r = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/api/alerts/silences`);
      expect(r.status).toBe(200);
      const body = (await r.json()) as Json;
      expect(body.silences).toEqual([
        expect.objectContaining({ id: 'far', ends_at: null, starts_at: new Date(T0).toISOString(), status: 'active' }),
      ]);
      expect(warnings).toContainEqual(expect.objectContaining({ event: 'silence_date_invalid', fields: ['endsAt'] }));
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
      await service.stop();
      await store.close();
    }
  });
});
