// The gpu module on a hand-built AppContext (registry, router, logger, stub store), served by a bare HTTP server.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import type { AppContext } from '../app-context.js';
import { memoryAudit } from '../audit/testing.js';
import { Recorder } from '../calls/index.js';
import { validateConfig } from '../config/index.js';
import { Router, sendError } from '../http/index.js';
import { SignalRegistry } from '../signals/index.js';
import { Metrics } from '../telemetry/metrics.js';
import { buildGpuModule, type GpuModule } from './module.js';
import { MemoryGpuStore, SqliteGpuStore } from './storage/index.js';
import { fakeNvidiaSmi, rollupStore } from './testing.js';
import { MIB } from './types.js';

interface Harness {
  ctx: AppContext;
  gpu: GpuModule;
  base: string;
  logs: Array<Record<string, unknown>>;
  server: Server;
}

const open: Harness[] = [];

async function harness(
  gpuConfig: Record<string, unknown>,
  tokens: Parameters<typeof rollupStore>[0] = [],
): Promise<Harness> {
  const r = validateConfig({ gpu: gpuConfig });
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  const logs: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n')) if (line) logs.push(JSON.parse(line));
      done();
    },
  });
  const registry = new Registry();
  const ctx: AppContext = {
    config: r.config,
    store: rollupStore(tokens),
    recorder: new Recorder(),
    registry,
    metrics: new Metrics(registry),
    logger: pino({ level: 'debug' }, sink),
    api: new Router(),
    clock: { now: () => Date.now() },
    gateway: { addHook() {} },
    signals: new SignalRegistry(),
    detailExtras: [],
    audit: memoryAudit(),
    erasers: [],
    perCall: { add() {} },
  };
  const gpu = await buildGpuModule(ctx, { gpuStore: new MemoryGpuStore() });
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/metrics') {
      void registry.metrics().then((text) => res.end(text));
      return;
    }
    const m = ctx.api.match(req.method ?? 'GET', url.pathname);
    if (!m || m === 'method') {
      res.writeHead(404).end();
      return;
    }
    Promise.resolve(m.handler({ req, res, url, params: m.params })).catch((err) => sendError(res, err));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const h = { ctx, gpu, logs, server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
  open.push(h);
  return h;
}

afterEach(async () => {
  for (const h of open.splice(0)) {
    await h.gpu.stop?.();
    h.server.closeAllConnections();
    await new Promise((ok) => h.server.close(ok));
  }
});

const text = async (url: string): Promise<string> => (await fetch(url)).text();

describe('gpu module', () => {
  it('exports gauges, stores rollups and prices output tokens from a fake nvidia-smi', async () => {
    const dir = fakeNvidiaSmi({ fixture: 'nvidia-smi-8gpu.txt' });
    const h = await harness(
      {
        collector: 'nvidia-smi',
        nvidiaSmiPath: join(dir, 'nvidia-smi'),
        hostname: 'dgx-1',
        interval: '15s',
        hosts: [{ host: 'dgx-1', providers: ['vllm'], models: ['llama-3-70b'], gpuHourPrice: 2 }],
      },
      [
        { provider: 'vllm', model: 'llama-3-70b', outputTokens: 40_000 },
        { provider: 'openai', model: 'gpt-4o', outputTokens: 1000, costUsd: 0.01 },
      ],
    );
    await h.gpu.pollAll();
    const metrics = await text(`${h.base}/metrics`);
    expect(metrics).toContain('gpu_utilization_ratio{gpu="0",host="dgx-1"} 0.97');
    expect(metrics).toContain('gpu_utilization_ratio{gpu="7",host="dgx-1"} 0.43');
    expect(metrics).toContain(`gpu_memory_used_bytes{gpu="0",host="dgx-1"} ${74125 * MIB}`);
    expect(metrics).toContain(`gpu_memory_total_bytes{gpu="4",host="dgx-1"} ${81559 * MIB}`);
    expect(metrics).toContain('llmscope_gpu_collector_errors_total{collector="nvidia-smi"} 0');
    expect(metrics).toContain('llmscope_gpu_collector_up{collector="nvidia-smi",source="local"} 1');

    const body = await (await fetch(`${h.base}/api/gpu`)).json();
    expect(body).toMatchObject({ available: true, collector: 'nvidia-smi' });
    expect(body.gpus).toHaveLength(8);
    expect(body.gpus[0]).toMatchObject({
      host: 'dgx-1',
      gpu: '0',
      name: 'NVIDIA H100 80GB HBM3',
      utilization: 0.97,
      power_w: 598.12,
    });
    expect(body.series).toHaveLength(8);
    expect(body.series[0].points[0]).toMatchObject({ utilization_avg: 0.97, utilization_max: 0.97, samples: 1 });
    // One 15 s poll of 8 GPUs = 2 GPU-minutes at $2/h = $0.0667, over 40 000 output tokens.
    const llama = body.efficiency.find((e: { model: string }) => e.model === 'llama-3-70b');
    expect(llama.kind).toBe('self_hosted');
    expect(llama.gpu_hours).toBeCloseTo(8 * (15 / 3600), 6);
    expect(llama.gpu_cost_usd).toBeCloseTo(2 * 8 * (15 / 3600), 6);
    expect(llama.cost_per_1k_output_tokens).toBeCloseTo((2 * 8 * (15 / 3600)) / 40, 6);
    expect(body.efficiency.find((e: { model: string }) => e.model === 'gpt-4o')).toMatchObject({
      kind: 'api',
      cost_per_1k_output_tokens: 0.01,
    });
    // GPUs 4..7 are under 80% busy; none is over 95% memory (74125 / 81559 = 0.909).
    expect(body.signals.map((s: { kind: string; gpu: string }) => `${s.kind}:${s.gpu}`)).toEqual([
      'low_utilization:4',
      'low_utilization:5',
      'low_utilization:6',
      'low_utilization:7',
    ]);
  });

  it('drops the series of a GPU that disappears', async () => {
    const dir = fakeNvidiaSmi({ fixture: 'nvidia-smi-8gpu.txt' });
    const h = await harness({ collector: 'nvidia-smi', nvidiaSmiPath: join(dir, 'nvidia-smi'), hostname: 'dgx-1' });
    await h.gpu.pollAll();
    expect(await text(`${h.base}/metrics`)).toContain('gpu_utilization_ratio{gpu="7",host="dgx-1"}');
    const one = fakeNvidiaSmi({ fixture: 'nvidia-smi-1gpu.txt' });
    // Same path, new contents: the host now reports one GPU.
    const { copyFileSync } = await import('node:fs');
    copyFileSync(join(one, 'nvidia-smi'), join(dir, 'nvidia-smi'));
    await h.gpu.pollAll();
    const metrics = await text(`${h.base}/metrics`);
    expect(metrics).toContain('gpu_utilization_ratio{gpu="0",host="dgx-1"} 1');
    expect(metrics).not.toContain('gpu="7"');
  });

  it('says once, in the log and in /api/gpu, that a host has no GPU', async () => {
    const dir = fakeNvidiaSmi({ fixture: 'nvidia-smi-no-driver.txt', exitCode: 9 });
    const h = await harness({ nvidiaSmiPath: join(dir, 'nvidia-smi') });
    await h.gpu.pollAll();
    await h.gpu.pollAll();
    await h.gpu.pollAll();
    const said = h.logs.filter((l) => l.event === 'gpu_unavailable');
    expect(said).toHaveLength(1);
    expect(said[0]?.msg).toMatch(/no GPU on this host/);
    const body = await (await fetch(`${h.base}/api/gpu`)).json();
    expect(body).toMatchObject({ available: false, collector: 'auto', gpus: [], series: [], signals: [] });
    expect(body.reason).toMatch(/couldn't communicate with the NVIDIA driver/);
    const metrics = await text(`${h.base}/metrics`);
    expect(metrics).not.toMatch(/^gpu_utilization_ratio\{/m);
    expect(metrics).toContain('llmscope_gpu_collector_errors_total{collector="nvidia-smi"} 0');
    // No GPU is not a failure: the collector answered.
    expect(metrics).toContain('llmscope_gpu_collector_up{collector="nvidia-smi",source="local"} 1');
  });

  it('counts a hung collector as a failure without holding up the server', async () => {
    const dir = fakeNvidiaSmi({ hang: true });
    const h = await harness({
      collector: 'nvidia-smi',
      nvidiaSmiPath: join(dir, 'nvidia-smi'),
      timeout: '1s',
      interval: '2s',
    });
    h.gpu.start?.();
    // The first poll hangs for a second; the API answers meanwhile.
    const t0 = performance.now();
    const res = await fetch(`${h.base}/api/gpu`);
    expect(performance.now() - t0).toBeLessThan(500);
    expect((await res.json()).available).toBe(false);
    const deadline = Date.now() + 5000;
    let metrics = '';
    while (Date.now() < deadline) {
      metrics = await text(`${h.base}/metrics`);
      if (/llmscope_gpu_collector_errors_total\{collector="nvidia-smi"\} 1/.test(metrics)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(metrics).toContain('llmscope_gpu_collector_errors_total{collector="nvidia-smi"} 1');
    expect(metrics).toMatch(/llmscope_gpu_poll_duration_seconds_count\{collector="nvidia-smi"\} 1/);
    // With no gpu_* series left to go quiet, this says the GPUs are unwatched (GpuCollectorDown).
    expect(metrics).toContain('llmscope_gpu_collector_up{collector="nvidia-smi",source="local"} 0');
    expect(h.logs.filter((l) => l.event === 'gpu_collector_failed')).toHaveLength(1);
    expect((await (await fetch(`${h.base}/api/gpu`)).json()).reason).toMatch(/timed out after 1000 ms/);
  });

  it('is off, and says so, with collector: none', async () => {
    const h = await harness({ collector: 'none' });
    expect(h.gpu.collectors).toHaveLength(0);
    const body = await (await fetch(`${h.base}/api/gpu`)).json();
    expect(body).toMatchObject({ available: false, reason: 'GPU collection is off (gpu.collector: none)' });
  });

  it('rejects a bad window', async () => {
    const h = await harness({ collector: 'none' });
    const res = await fetch(`${h.base}/api/gpu?from=10&to=5`);
    expect(res.status).toBe(400);
    expect((await res.json()).error.code).toBe('invalid_query');
  });
});

describe('gpu sample storage', () => {
  it("keeps samples in the app store's SQLite database, under its own migration namespace", async () => {
    const registry = new Registry();
    const db = new Database(':memory:');
    const registered: Array<[string, number[]]> = [];
    const store = Object.assign(rollupStore([]), {
      backend: {
        kind: 'sqlite' as const,
        db,
        migrations: {
          register: (ns: string, m: readonly { version: number }[]) => {
            registered.push([ns, m.map((x) => x.version)]);
          },
        },
      },
    });
    const r = validateConfig({ gpu: { collector: 'none' } });
    if (!r.ok) throw new Error('bad config');
    const gpu = await buildGpuModule({
      config: r.config,
      store,
      recorder: new Recorder(),
      registry,
      metrics: new Metrics(registry),
      logger: pino({ level: 'silent' }),
      api: new Router(),
      clock: { now: () => Date.now() },
      gateway: { addHook() {} },
      signals: new SignalRegistry(),
      detailExtras: [],
      audit: memoryAudit(),
      erasers: [],
      perCall: { add() {} },
    });
    expect(gpu.gpuStore).toBeInstanceOf(SqliteGpuStore);
    expect(registered).toEqual([['gpu', [1]]]);
    await gpu.gpuStore.insertSamples(
      [
        {
          host: 'h',
          gpu: '0',
          uuid: null,
          name: null,
          utilization: 0.5,
          memoryUsedBytes: 1,
          memoryTotalBytes: 2,
          temperatureC: null,
          powerW: null,
          at: Date.now(),
        },
      ],
      15_000,
    );
    expect(db.prepare('SELECT count(*) AS n FROM gpu_samples_minute').get()).toEqual({ n: 1 });
  });
});

describe('gpu config', () => {
  it('has defaults for every key', () => {
    const r = validateConfig({});
    expect(r.ok && r.config.gpu).toMatchObject({
      collector: 'auto',
      interval: '15s',
      nvidiaSmiPath: 'nvidia-smi',
      dcgmUrls: [],
      hosts: [],
      thresholds: { lowUtilization: 0.8, highMemory: 0.95 },
    });
  });

  it('reports problems with their path', () => {
    const r = validateConfig({
      gpu: { collector: 'rocm', dcgmUrls: ['not a url'], hosts: [{ host: 'a' }, { host: 'a', gpuHourPrice: -1 }] },
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const paths = r.issues.map((i) => i.path);
    expect(paths).toContain('gpu.collector');
    expect(paths).toContain('gpu.dcgmUrls[0]');
    expect(paths).toContain('gpu.hosts[1].gpuHourPrice');
  });
});
