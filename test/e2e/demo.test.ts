// The demo as a user sees it, through the real /api routes: production-like traffic whose answers mostly pass the
// quality checks, a scripted incident whose alert fires and resolves, GPUs from the simulated DCGM exporter, and a
// review queue whose items carry the captured text. The incident cycle is 90 s (the demo's tempo is configurable):
// the cost spike comes first, its alert fires within seconds and resolves once the minute holding its calls has left
// the 10 s window (the call-cost tracker keeps whole minutes): by about 85 s, before the next cycle's spike could
// keep it firing. Meanwhile the provider slows and fails. Healthy traffic must fire nothing.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Demo, startDemo } from '../../src/cli/demo.js';
import { builtinModules } from '../../src/cli/modules.js';
import { type App, createApp } from '../../src/server.js';

const CYCLE_MS = 90_000;
/** Least time the story runs, so there are enough calls to measure. */
const MIN_RUN_MS = 45_000;
const MAX_RUN_MS = 100_000;
/** Models the scripted incident involves: the failing provider's and the spiking user's. */
const INCIDENT_MODELS = new Set(['claude-sonnet-4', 'o1-pro']);

interface AlertJson {
  alertname: string;
  labels: Record<string, string>;
}

describe('llmscope demo', () => {
  let dir: string;
  let demo: Demo;
  let app: App;
  const get = async (path: string) => {
    const res = await fetch(`${demo.base}${path}`);
    expect(res.status, path).toBe(200);
    return (await res.json()) as Record<string, unknown>;
  };
  const fired = new Map<string, AlertJson>();
  let resolvedNames = new Set<string>();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'llmscope-demo-'));
    const config = join(dir, 'llmscope.yaml');
    writeFileSync(
      config,
      [
        'server: {host: 127.0.0.1, port: 0}',
        `storage: {url: "sqlite:${join(dir, 'llmscope.db')}"}`,
        'telemetry: {logLevel: warn, captureContent: true}',
        '',
      ].join('\n'),
    );
    demo = await startDemo(
      { config },
      { scenario: 'incident', rps: 8, cycleMs: CYCLE_MS, hallucinationRate: 0.05, feedbackShare: 0.1, seed: 3 },
      async (cfg) => {
        app = await createApp(cfg, { modules: builtinModules() });
        await app.listen();
        return app;
      },
    );
    // Watch the alerts while the story plays, as someone looking at the alerts page would, until the cost spike's
    // alert has fired and resolved.
    const t0 = Date.now();
    while (Date.now() - t0 < MAX_RUN_MS) {
      await new Promise((r) => setTimeout(r, 2000));
      const alerts = (await get('/api/alerts')) as { firing: AlertJson[]; history: { alertname: string }[] };
      for (const a of alerts.firing) fired.set(`${a.alertname}/${JSON.stringify(a.labels)}`, a);
      resolvedNames = new Set(alerts.history.map((h) => h.alertname));
      if (resolvedNames.has('SingleCallCostHigh') && Date.now() - t0 >= MIN_RUN_MS) break;
    }
  }, MAX_RUN_MS + 60_000);

  afterAll(async () => {
    await demo?.stop();
    await app?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('sends production-like traffic: few errors, grounded answers, refusals, tool calls, feedback', () => {
    const s = demo.traffic.stats;
    expect(s.sent).toBeGreaterThan(300);
    expect(s.byKind.grounded).toBeGreaterThan(150);
    expect(s.byKind.hallucinated).toBeGreaterThan(3);
    expect(s.byKind.tool_call).toBeGreaterThan(3);
    expect(s.byKind.no_knowledge).toBeGreaterThan(10);
    expect(s.feedback.up + s.feedback.down).toBeGreaterThan(10);
    expect(s.feedback.failed).toBe(0);
    expect(s.errors).toBe(0);
    // Failures come from the incident only: 6% of claude-sonnet-4's calls while it fails.
    expect(s.failed / s.sent).toBeLessThan(0.01);
  });

  it('keeps the hallucination rate between 2% and 15%', async () => {
    const { total: q } = (await get('/api/quality/summary')) as {
      total: { evaluated: number; flagged: number; hallucination_rate: number };
    };
    expect(q.evaluated).toBeGreaterThan(150);
    expect(q.hallucination_rate).toBeGreaterThanOrEqual(0.02);
    expect(q.hallucination_rate).toBeLessThanOrEqual(0.15);
  });

  it('fires an alert during the scripted incident and resolves it; healthy traffic fires none', () => {
    const names = new Set([...fired.values()].map((a) => a.alertname));
    // The spiking user's calls cost over a dollar each.
    expect(names).toContain('SingleCallCostHigh');
    expect(resolvedNames).toContain('SingleCallCostHigh');
    for (const a of fired.values())
      expect(INCIDENT_MODELS, `${a.alertname} ${JSON.stringify(a.labels)}`).toContain(a.labels.model);
  });

  it('shows the simulated GPUs serving the self-hosted model', async () => {
    const gpu = (await get('/api/gpu')) as {
      available: boolean;
      gpus: { host: string; name: string; utilization: number | null; memory_used_bytes: number | null }[];
      series: { points: unknown[] }[];
    };
    expect(gpu.available).toBe(true);
    expect(gpu.gpus).toHaveLength(4);
    for (const g of gpu.gpus) {
      expect(g.host).toBe('gpu-node-1');
      expect(g.name).toContain('H100');
      // Busy serving the demo's Llama traffic (GpuUnderutilized stays quiet above 80%).
      expect(g.utilization).toBeGreaterThan(0.6);
      expect(g.memory_used_bytes).toBeGreaterThan(60 * 2 ** 30);
    }
    expect(gpu.series.some((s) => s.points.length > 0)).toBe(true);
  });

  it('queues review items whose text was captured (redacted)', async () => {
    const review = (await get('/api/quality/review?status=all&limit=100')) as {
      data: { request_id: string; reasons: string[]; content: { input?: string; output?: string } | null }[];
    };
    expect(review.data.length).toBeGreaterThan(0);
    const withText = review.data.filter((i) => i.content?.input && i.content.output);
    expect(withText.length / review.data.length).toBeGreaterThan(0.8);
    // Flagged answers are among them, with the knowledge the prompt carried.
    const flagged = withText.find((i) => i.reasons.some((r) => r.startsWith('flag:')));
    expect(flagged?.content?.input).toContain('Northwind Cloud');
    const call = (await get(`/api/requests/${withText[0]!.request_id}`)) as { content?: { output?: string } };
    expect(call.content?.output).toBeTruthy();
    // Some support questions carry the user's e-mail address: captured content shows it redacted.
    const inputs = (await get('/api/requests?limit=200&feature=support-bot')) as { data?: { request_id: string }[] };
    let redacted = 0;
    for (const r of (inputs.data ?? []).slice(0, 60)) {
      const c = (await get(`/api/requests/${r.request_id}`)) as { content?: { input?: string } };
      expect(c.content?.input ?? '').not.toContain('@example.com');
      if (c.content?.input?.includes('[redacted-email]')) redacted++;
    }
    expect(redacted).toBeGreaterThan(0);
  });
});
