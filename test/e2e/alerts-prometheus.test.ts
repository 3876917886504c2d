// Live: a real Prometheus scrapes llmscope while the simulator injects latency and errors; llmscope's exported rules
// fire in Prometheus, and a real Alertmanager with llmscope's exported config delivers ONE grouped ServiceDegraded
// notification to a webhook receiver here, the component alerts (HighLatency, HighErrorRate) inhibited.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertmanagerConfig, TEMPLATES } from '../../src/alerts/export/alertmanager.js';
import { writeFiles } from '../../src/alerts/export/files.js';
import { prometheusFiles, toYaml } from '../../src/alerts/export/prometheus.js';
import { alertsConfigOf, createAlertsModule } from '../../src/alerts/index.js';
import {
  commandOf,
  type Daemon,
  degradedTraffic,
  FAST_ALERTS,
  freePort,
  type HttpSink,
  httpSink,
  startDaemon,
  waitUntil,
} from '../../src/alerts/testing.js';
import { type ConfigInput, validateConfig } from '../../src/config/index.js';
import { type App, createApp } from '../../src/server.js';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';

const PROMETHEUS = commandOf('prometheus');
const ALERTMANAGER = commandOf('alertmanager', 'prometheus-alertmanager');

interface PromAlert {
  labels: Record<string, string>;
  state: string;
}

describe.runIf(PROMETHEUS && ALERTMANAGER)('alerts with a real Prometheus and Alertmanager', () => {
  let dir: string;
  let sim: Simulator;
  let app: App;
  let base: string;
  let sink: HttpSink;
  let prom: Daemon | undefined;
  let am: Daemon | undefined;
  let promUrl: string;
  let amUrl: string;
  let stopTraffic: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'llmscope-e2e-prom-'));
    sink = await httpSink();
    sim = await startSimulator({ port: 0, ttftMs: 5, tpotMs: 1, outputTokens: 4 });
    const r = validateConfig({
      server: { host: '127.0.0.1', port: 0, shutdownGrace: '2s' },
      providers: [{ name: 'simulator', baseUrl: sim.url }],
      storage: { url: 'sqlite::memory:' },
      telemetry: { logLevel: 'silent' },
      alerts: { ...FAST_ALERTS, enabled: false },
    } as ConfigInput);
    if (!r.ok) throw new Error(JSON.stringify(r.issues));
    const store = new SqliteStore(':memory:');
    app = await createApp(r.config, { modules: [createAlertsModule], store });
    base = await app.listen();

    // llmscope's exported rules and Alertmanager config, with the test's receivers and short timings
    const cfg = alertsConfigOf({
      ...FAST_ALERTS,
      // group_wait covers the seconds between a component firing and ServiceDegraded firing
      route: { groupWait: '8s', groupInterval: '10s', repeatInterval: '1h' },
      receivers: [
        { name: 'page', webhook: { url: `${sink.url}/page` } },
        { name: 'notify', webhook: { url: `${sink.url}/notify` } },
      ],
    });
    writeFiles(join(dir, 'prom'), prometheusFiles(cfg));
    const [promPort, amPort] = [await freePort(), await freePort()];
    promUrl = `http://127.0.0.1:${promPort}`;
    amUrl = `http://127.0.0.1:${amPort}`;
    const amDoc = alertmanagerConfig(cfg).doc;
    mkdirSync(join(dir, 'am', 'templates'), { recursive: true });
    writeFileSync(join(dir, 'am', 'templates', 'llmscope.tmpl'), TEMPLATES);
    amDoc.templates = [join(dir, 'am', 'templates', 'llmscope.tmpl')];
    writeFileSync(join(dir, 'am', 'alertmanager.yml'), toYaml(amDoc));
    writeFileSync(
      join(dir, 'prom', 'test-prometheus.yml'),
      toYaml({
        global: { scrape_interval: '1s', evaluation_interval: '1s' },
        rule_files: [join(dir, 'prom', 'rules', '*.rules.yml')],
        alerting: { alertmanagers: [{ static_configs: [{ targets: [`127.0.0.1:${amPort}`] }] }] },
        scrape_configs: [{ job_name: 'llmscope', static_configs: [{ targets: [base.replace('http://', '')] }] }],
      }),
    );
    am = await startDaemon(
      'alertmanager',
      ALERTMANAGER as string,
      [
        `--config.file=${join(dir, 'am', 'alertmanager.yml')}`,
        `--storage.path=${join(dir, 'am', 'data')}`,
        `--web.listen-address=127.0.0.1:${amPort}`,
        '--cluster.listen-address=',
      ],
      `${amUrl}/-/ready`,
    );
    prom = await startDaemon(
      'prometheus',
      PROMETHEUS as string,
      [
        `--config.file=${join(dir, 'prom', 'test-prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'prom', 'data')}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
      ],
      `${promUrl}/-/ready`,
    );
  }, 60_000);

  afterAll(async () => {
    await stopTraffic?.();
    await prom?.stop();
    await am?.stop();
    await app?.close();
    await sim?.close();
    await sink?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('fires in Prometheus; Alertmanager sends one grouped ServiceDegraded page, the components inhibited', async () => {
    // Prometheus scrapes llmscope
    let up = 0;
    const promAlerts = async (): Promise<PromAlert[]> => {
      const r = await fetch(`${promUrl}/api/v1/alerts`);
      return ((await r.json()) as { data: { alerts: PromAlert[] } }).data.alerts;
    };
    for (let i = 0; i < 100; i++) {
      const r = await fetch(`${promUrl}/api/v1/query?query=up`);
      const j = (await r.json()) as { data: { result: { value: [number, string] }[] } };
      up = Number(j.data.result[0]?.value[1] ?? 0);
      if (up === 1) break;
      await new Promise((res) => setTimeout(res, 200));
    }
    expect(up, `Prometheus cannot scrape llmscope:\n${prom?.output.slice(-10).join('\n')}`).toBe(1);

    const traffic = degradedTraffic(base);
    stopTraffic = traffic.stop;

    let firing: string[] = [];
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      firing = (await promAlerts()).filter((a) => a.state === 'firing').map((a) => a.labels.alertname as string);
      if (firing.includes('ServiceDegraded') && firing.includes('HighLatency') && firing.includes('HighErrorRate'))
        break;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(firing).toEqual(expect.arrayContaining(['ServiceDegraded', 'HighLatency', 'HighErrorRate']));

    // the page (other receivers, e.g. a warning's, may be told first)
    const isPage = (x: { path: string }) => x.path === '/page';
    await waitUntil(() => sink.received.some(isPage), 30_000);
    const pages = sink.received.filter(isPage);
    // one more group_interval: nothing else may arrive for the group
    await new Promise((r) => setTimeout(r, 12_000));
    const pagesNow = sink.received.filter(isPage);
    expect(pagesNow).toHaveLength(1);
    const body = pages[0]?.body as {
      status: string;
      groupLabels: Record<string, string>;
      alerts: { labels: Record<string, string> }[];
    };
    expect(body.status).toBe('firing');
    expect(body.groupLabels).toEqual({ alertname: 'ServiceDegraded', model: 'gpt-4o-mini' });
    expect(body.alerts.map((a) => a.labels.alertname)).toEqual(['ServiceDegraded']);

    const told = sink.received.flatMap((x) =>
      (x.body as { alerts: { labels: { alertname: string } }[] }).alerts.map((a) => a.labels.alertname),
    );
    expect(told).not.toContain('HighLatency');
    expect(told).not.toContain('HighErrorRate');

    // Alertmanager holds the components, inhibited by ServiceDegraded
    const r = await fetch(`${amUrl}/api/v2/alerts`);
    const amAlerts = (await r.json()) as {
      labels: Record<string, string>;
      status: { inhibitedBy: string[]; state: string };
    }[];
    for (const name of ['HighLatency', 'HighErrorRate']) {
      const a = amAlerts.find((x) => x.labels.alertname === name);
      expect(a?.status.state, `${name} in Alertmanager`).toBe('suppressed');
      expect(a?.status.inhibitedBy.length).toBeGreaterThan(0);
    }
  }, 150_000);
});
