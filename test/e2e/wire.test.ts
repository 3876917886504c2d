// The /api answers the dashboard reads, checked against their declared shapes (src/wire/): the assembled app with
// every capability (cost, quality, gpu, alerts), real traffic through the gateway, ingested calls of an agent
// session, feedback, a review label, a silence, GPU samples from a simulated DCGM exporter and a firing alert; each
// route's real answer is parsed with its strict schema, so a field added, dropped, renamed or retyped on either side
// fails here, naming the path.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import type { NoiseReport } from '../../src/alerts/noise.js';
import type { OverviewBody } from '../../src/api/overview/index.js';
import type { LlmCallWire } from '../../src/calls/call.js';
import { builtinModules } from '../../src/cli/modules.js';
import { type ConfigInput, validateConfig } from '../../src/config/index.js';
import type { Summary } from '../../src/cost/spend-queries.js';
import type { GpuApiBody } from '../../src/gpu/api.js';
import type { evaluationToWire, feedbackToWire, reviewToWire } from '../../src/quality/service.js';
import type { QualityStats } from '../../src/quality/summary.js';
import { type App, createApp } from '../../src/server.js';
import { type DcgmExporter, type Simulator, startDcgmExporter, startSimulator } from '../../src/simulator/index.js';
import * as wire from '../../src/wire/index.js';

let sim: Simulator;
let dcgm: DcgmExporter;
let app: App;
let base: string;
const T = Date.now();

async function json(path: string, init?: { method?: string; body?: unknown }): Promise<unknown> {
  const r = await fetch(`${base}${path}`, {
    method: init?.method ?? 'GET',
    headers: init?.body === undefined ? {} : { 'content-type': 'application/json' },
    body: init?.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const body = await r.json();
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status} ${JSON.stringify(body)}`);
  return body;
}

async function until(what: string, fn: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** An agent session: 3 calls of one user across 2 traces, ingested. */
const session = Array.from({ length: 3 }, (_, i) => ({
  request_id: `wire-agent-${i}`,
  trace_id: (i < 2 ? 'a' : 'b').repeat(32),
  started_at: T - 60_000 + i * 3000,
  ended_at: T - 59_000 + i * 3000,
  provider: 'simulator',
  model: 'gpt-4o-mini',
  http_status: i === 1 ? 500 : 200,
  input_tokens: 300,
  output_tokens: 60,
  latency_ms: 1000,
  user: 'wire-user',
  team: 'search',
  session: 'wire-session',
  feature: 'planner',
}));

beforeAll(async () => {
  sim = await startSimulator({ port: 0, ttftMs: 5, tpotMs: 1, seed: 9 });
  dcgm = await startDcgmExporter({ hostname: 'gpu-node-1', gpus: 2, seed: 4 });
  const r = validateConfig({
    server: { host: '127.0.0.1', port: 0, shutdownGrace: '2s' },
    providers: [{ name: 'simulator', baseUrl: sim.url }],
    storage: { url: 'sqlite::memory:' },
    telemetry: { logLevel: 'silent', captureContent: true },
    quality: { reviewRate: 1 },
    gpu: { collector: 'dcgm', interval: '1s', dcgmUrls: [dcgm.url] },
    budgets: [
      { name: 'search-daily', scope: 'team', match: 'search', period: 'day', limit: 100 },
      { name: 'all-monthly', scope: 'global', period: 'month', limit: 1000, action: 'alert' },
    ],
    alerts: {
      evaluationInterval: '1s',
      defaultRules: false,
      rules: [
        {
          name: 'SlowAnswers',
          kind: 'latency_quantile',
          quantile: 0.95,
          op: '>',
          threshold: 0.001,
          window: '5m',
          for: '0s',
          severity: 'warning',
          groupBy: [],
          minSamples: 1,
          annotations: { summary: 'p95 latency above 1 ms' },
        },
      ],
    },
  } as ConfigInput);
  if (!r.ok) throw new Error(`bad config: ${JSON.stringify(r.issues)}`);
  app = await createApp(r.config, { modules: builtinModules() });
  base = await app.listen();

  for (let i = 0; i < 4; i++)
    await json('/v1/chat/completions', {
      method: 'POST',
      body: { model: 'gpt-4o', messages: [{ role: 'user', content: `hello ${i}` }], stream: i % 2 === 0 },
    }).catch(() => undefined);
  await json('/api/ingest', { method: 'POST', body: { calls: session } });
  await until(
    'calls stored',
    async () => ((await json('/api/requests?limit=50')) as { data: unknown[] }).data.length >= 7,
  );
  await json('/api/feedback', {
    method: 'POST',
    body: { request_id: 'wire-agent-0', rating: 'down', comment: 'wrong', labels: ['hallucination'] },
  });
  await json('/api/alerts/silences', {
    method: 'POST',
    body: { matchers: ['alertname="Nothing"'], duration: '1h', comment: 'wire test', created_by: 'ann' },
  });
  await until('GPU history', async () => ((await json('/api/gpu')) as { series: unknown[] }).series.length > 0);
  await until('a firing alert', async () => ((await json('/api/alerts')) as { firing: unknown[] }).firing.length > 0);
}, 60_000);

afterAll(async () => {
  await app?.close();
  await sim?.close();
  await dcgm?.close();
});

/** A route's answer parsed with its schema: the issues (path and what differs), none when it fits. */
function misfits(name: string, schema: z.ZodType, body: unknown): string[] {
  const r = schema.safeParse(body);
  return r.success ? [] : r.error.issues.map((i) => `${name}: ${i.path.join('.') || '(root)'}: ${i.message}`);
}

describe('the /api answers the dashboard reads fit their declared shapes (src/wire/)', () => {
  it('every route, with data in every part', async () => {
    const w = `from=${T - 3_600_000}&to=${Date.now() + 1000}`;
    const list = (await json('/api/requests?limit=50')) as wire.CallList;
    const gatewayCall = list.data.find((c) => c.source === 'gateway' && c.stream)?.request_id;
    expect(gatewayCall).toBeDefined();
    const label = await json('/api/quality/review', {
      method: 'POST',
      body: { request_id: 'wire-agent-0', hallucination: true, notes: 'made up', reviewer: 'ann' },
    });
    const routes: [string, z.ZodType][] = [
      [`/api/overview?${w}&step=fit`, wire.overviewSchema],
      ['/api/ui/config', wire.uiConfigSchema],
      [`/api/cost/summary?${w}`, wire.costSummarySchema],
      [`/api/cost/summary?${w}&group_by=team&limit=1`, wire.costSummarySchema],
      [`/api/cost/timeseries?${w}&step=minute`, wire.costTimeseriesSchema],
      [`/api/cost/daily?${w}`, wire.costDailySchema],
      ['/api/cost/budgets', wire.budgetsSchema],
      ['/api/cost/reconciliations?limit=20', wire.reconciliationsSchema],
      [`/api/quality/summary?${w}`, wire.qualitySummarySchema],
      [`/api/quality/summary?${w}&group_by=model`, wire.qualitySummarySchema],
      [`/api/quality/series?${w}&step=minute`, wire.qualitySeriesSchema],
      [`/api/quality/series?${w}&step=minute&group_by=feature`, wire.qualitySeriesSchema],
      ['/api/quality/review?status=all&limit=100', wire.reviewListSchema],
      [`/api/gpu?${w}`, wire.gpuBodySchema],
      ['/api/alerts', wire.alertsSchema],
      ['/api/alerts/silences', wire.silencesSchema],
      [`/api/alerts/noise?${w}`, wire.noiseSchema],
      ['/api/requests?limit=50', wire.callListSchema],
      ['/api/requests/wire-agent-0', wire.callDetailSchema],
      [`/api/requests/${gatewayCall}`, wire.callDetailSchema],
      ['/api/sessions/wire-session?limit=50', wire.sessionSchema],
      [`/api/traces/${'a'.repeat(32)}?limit=50`, wire.sessionSchema],
      ['/api/users/wire-user', wire.userSchema],
    ];
    const found = misfits('POST /api/quality/review', wire.reviewItemSchema, label);
    const bodies = new Map<string, unknown>();
    for (const [path, schema] of routes) {
      const body = await json(path);
      bodies.set(path, body);
      found.push(...misfits(path, schema, body));
    }
    expect(found).toEqual([]);

    // every part had data to check: a shape declared for an empty list was never tried
    const gpu = wire.gpuBodySchema.parse(bodies.get(`/api/gpu?${w}`));
    expect([gpu.gpus.length, gpu.series.length, gpu.efficiency.length]).not.toContain(0);
    const detail = wire.callDetailSchema.parse(bodies.get(`/api/requests/${gatewayCall}`));
    // (a call's own events list stays empty on gateway and ingested calls: its shape is checked as declared)
    expect([
      detail.spans.length,
      detail.spans.flatMap((s) => s.events).length,
      detail.evaluations.length,
    ]).not.toContain(0);
    expect(detail.content).toBeDefined();
    const session = wire.sessionSchema.parse(bodies.get('/api/sessions/wire-session?limit=50'));
    expect(session.calls.some((c) => c.feedback.length > 0)).toBe(true);
    const alerts = wire.alertsSchema.parse(bodies.get('/api/alerts'));
    expect([alerts.firing.length, alerts.rules.length, alerts.groups.length]).not.toContain(0);
    const user = wire.userSchema.parse(bodies.get('/api/users/wire-user'));
    expect([user.budgets.length, user.spend.by_model.length, user.recent.length]).not.toContain(0);
    expect(wire.budgetsSchema.parse(bodies.get('/api/cost/budgets')).budgets[0]?.buckets.length).toBeGreaterThan(0);
  }, 60_000);

  it('a field added, dropped or retyped anywhere in an answer is a misfit, named by its path', () => {
    const body = {
      trace_url_template: null,
    };
    expect(misfits('x', wire.uiConfigSchema, body)).toEqual([]);
    expect(misfits('x', wire.uiConfigSchema, { ...body, extra: 1 })).toEqual(['x: (root): Unrecognized key: "extra"']);
    const point = { t: 1, utilization_avg: 0.5, utilization_max: 1, memory_used_avg: 1, memory_total: 2, samples: 1 };
    const series = (p: object) => ({ host: 'h', gpu: '0', name: null, points: [p] });
    const gpu = (p: object) => ({
      available: true,
      collector: 'dcgm',
      collectors: [],
      from: '2026-01-01T00:00:00.000Z',
      to: '2026-01-01T01:00:00.000Z',
      step: 'minute',
      gpus: [],
      series: [series(p)],
      efficiency: [],
      signals: [],
      unseen_hosts: [],
    });
    expect(misfits('gpu', wire.gpuBodySchema, gpu(point))).toEqual([]);
    const { samples: _, ...dropped } = point;
    expect(misfits('gpu', wire.gpuBodySchema, gpu(dropped))).toEqual([
      'gpu: series.0.points.0.samples: Invalid input: expected number, received undefined',
    ]);
    expect(misfits('gpu', wire.gpuBodySchema, gpu({ ...point, samples: '1' }))).toEqual([
      'gpu: series.0.points.0.samples: Invalid input: expected number, received string',
    ]);
    expect(misfits('gpu', wire.gpuBodySchema, gpu({ ...point, utilization_p99: 1 }))).toHaveLength(1);
  });
});

// The handlers that build their answers from typed functions: those types fit the declared shapes (checked by tsc,
// `npm run typecheck`), so a change on either side shows before any test runs.
const typed: [
  (x: LlmCallWire) => wire.CallRecord,
  (x: OverviewBody) => wire.Overview,
  (x: GpuApiBody) => wire.GpuBody,
  (x: NoiseReport) => wire.Noise,
  (x: QualityStats) => wire.QualityStats,
  (x: ReturnType<typeof evaluationToWire>) => wire.Evaluation,
  (x: ReturnType<typeof feedbackToWire>) => wire.Feedback,
  (x: ReturnType<typeof reviewToWire>) => wire.ReviewItem,
  (x: Summary) => Omit<wire.CostSummary, 'month_to_date_usd' | 'forecast_month_end_usd'>,
] = [(x) => x, (x) => x, (x) => x, (x) => x, (x) => x, (x) => x, (x) => x, (x) => x, (x) => x];

it('the server types behind some answers are assignable to their declared shapes (typecheck)', () => {
  expect(typed).toHaveLength(9);
});
