// Live, built-in engine: llmscope in front of the simulator injecting latency and errors, alerts evaluated by
// llmscope itself. One page through the webhook notifier (ServiceDegraded), one email through SMTP to a local SMTP
// server (HighTTFT), nothing for the inhibited HighLatency/HighErrorRate, and no re-page after a restart.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAlertsModule } from '../../src/alerts/index.js';
import {
  degradedTraffic,
  FAST_ALERTS,
  type HttpSink,
  httpSink,
  type SmtpSink,
  smtpSink,
  waitUntil,
} from '../../src/alerts/testing.js';
import { type Config, type ConfigInput, validateConfig } from '../../src/config/index.js';
import { type App, createApp } from '../../src/server.js';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';

interface WebhookBody {
  status: string;
  groupLabels: Record<string, string>;
  alerts: { status: string; labels: Record<string, string> }[];
}

interface AlertsJson {
  firing: { alertname: string; fired_at: string; labels: Record<string, string>; inhibited_by: string | null }[];
}

describe('built-in alert engine, live', () => {
  let dir: string;
  let sim: Simulator;
  let hook: HttpSink;
  let smtp: SmtpSink;
  let config: Config;
  let app: App | undefined;
  let stopTraffic: (() => Promise<void>) | undefined;

  const start = async (): Promise<{ app: App; base: string }> => {
    const store = new SqliteStore(join(dir, 'llmscope.db'));
    const a = await createApp(config, { modules: [createAlertsModule], store });
    app = a;
    return { app: a, base: await a.listen() };
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'llmscope-e2e-alerts-'));
    hook = await httpSink();
    smtp = await smtpSink();
    sim = await startSimulator({ port: 0, ttftMs: 5, tpotMs: 1, outputTokens: 4 });
    const r = validateConfig({
      server: { host: '127.0.0.1', port: 0, shutdownGrace: '2s' },
      providers: [{ name: 'simulator', baseUrl: sim.url }],
      telemetry: { logLevel: 'silent' },
      alerts: {
        ...FAST_ALERTS,
        // group_wait covers the seconds between a component firing and ServiceDegraded firing
        route: { groupWait: '5s', groupInterval: '5s', repeatInterval: '1h' },
        receivers: [
          { name: 'page', webhook: { url: `${hook.url}/page` } },
          {
            name: 'notify',
            email: {
              to: 'team@example.com',
              from: 'llmscope@example.com',
              smtp: { host: smtp.host, port: smtp.port },
            },
          },
        ],
      },
    } as ConfigInput);
    if (!r.ok) throw new Error(JSON.stringify(r.issues));
    config = r.config;
  });

  afterAll(async () => {
    await stopTraffic?.();
    await app?.close();
    await sim?.close();
    await hook?.close();
    await smtp?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('pages once, emails once, stays quiet about inhibited alerts, and does not re-page after a restart', async () => {
    let { app: first, base } = await start();
    const traffic = degradedTraffic(base);
    stopTraffic = traffic.stop;

    const pages = () => hook.received.filter((x) => x.path === '/page').map((x) => x.body as WebhookBody);
    await waitUntil(() => pages().length >= 1 && smtp.messages.length >= 1, 45_000);
    // a group_interval and more: nothing else may go out
    await new Promise((r) => setTimeout(r, 7_000));
    await traffic.stop();

    expect(pages()).toHaveLength(1);
    expect(pages()[0]).toMatchObject({
      status: 'firing',
      groupLabels: { alertname: 'ServiceDegraded', model: 'gpt-4o-mini' },
    });
    expect(pages()[0]?.alerts.map((a) => a.labels.alertname)).toEqual(['ServiceDegraded']);
    expect(smtp.messages).toHaveLength(1);
    expect(smtp.messages[0]?.subject).toBe('[FIRING:1] HighTTFT model=gpt-4o-mini (warning)');
    expect(smtp.messages[0]?.to).toEqual(['team@example.com']);
    for (const m of smtp.messages) expect(m.subject).not.toMatch(/HighLatency|HighErrorRate/);

    const alerts = (await (await fetch(`${base}/api/alerts`)).json()) as AlertsJson;
    const byName = Object.fromEntries(alerts.firing.map((a) => [a.alertname, a]));
    expect(Object.keys(byName)).toEqual(
      expect.arrayContaining(['ServiceDegraded', 'HighLatency', 'HighErrorRate', 'HighTTFT']),
    );
    expect(byName.HighLatency?.inhibited_by).toBeTruthy();
    expect(byName.HighErrorRate?.inhibited_by).toBeTruthy();
    const firedAt = byName.ServiceDegraded?.fired_at;
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain('llmscope_alert_notifications_total{receiver="page",result="success"} 1');
    expect(metrics).toContain('llmscope_alert_notifications_total{receiver="notify",result="success"} 1');

    // restart on the same database: the alerts are still firing (the 5-minute windows still hold), and known
    await first.close();
    app = undefined;
    ({ app: first, base } = await start());
    await new Promise((r) => setTimeout(r, 8_000));
    const after = (await (await fetch(`${base}/api/alerts`)).json()) as AlertsJson;
    expect(after.firing.find((a) => a.alertname === 'ServiceDegraded')?.fired_at).toBe(firedAt);
    expect(pages()).toHaveLength(1);
    expect(smtp.messages).toHaveLength(1);
  }, 120_000);
});
