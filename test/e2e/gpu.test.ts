// GPUs end to end: a fake `nvidia-smi` on PATH printing a recorded 8-GPU output drives /metrics and /api/gpu of the
// assembled app (createApp + createGpuModule, SQLite store), with output tokens ingested through /api/ingest;
// a fake that never answers leaves the server answering promptly and is counted as a failure.
import type { DestinationStream } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type ConfigInput, validateConfig } from '../../src/config/index.js';
import { createGpuModule } from '../../src/gpu/index.js';
import { fakeNvidiaSmi } from '../../src/gpu/testing.js';
import { MIB } from '../../src/gpu/types.js';
import { type App, createApp } from '../../src/server.js';

const originalPath = process.env.PATH;
let apps: App[] = [];

async function start(
  gpu: Record<string, unknown>,
  smiDir: string,
): Promise<{ app: App; base: string; logs: Record<string, unknown>[] }> {
  // The module looks nvidia-smi up on PATH (the default `gpu.nvidiaSmiPath`), as on a real host.
  process.env.PATH = `${smiDir}:${originalPath}`;
  const r = validateConfig({
    server: { host: '127.0.0.1', port: 0, shutdownGrace: '2s' },
    storage: { url: 'sqlite::memory:' },
    gpu,
  } as ConfigInput);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  const logs: Record<string, unknown>[] = [];
  const logDestination: DestinationStream = {
    write(line: string) {
      for (const l of line.split('\n')) if (l) logs.push(JSON.parse(l));
    },
  };
  const app = await createApp(r.config, { modules: [createGpuModule], logDestination });
  apps.push(app);
  return { app, base: await app.listen(), logs };
}

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

afterEach(async () => {
  for (const a of apps) await a.close();
  apps = [];
  process.env.PATH = originalPath;
});

describe('GPU metrics end to end', () => {
  let smi: string;
  beforeAll(() => {
    smi = fakeNvidiaSmi({ fixture: 'nvidia-smi-8gpu.txt' });
  });
  afterAll(() => {
    process.env.PATH = originalPath;
  });

  it('a fake nvidia-smi on PATH drives /metrics and /api/gpu, with cost per 1K output tokens', async () => {
    // interval 1h: one poll at start, standing for one hour of each of the 8 GPUs → 8 GPU-hours at $2 = $16.
    const { app, base } = await start(
      {
        hostname: 'dgx-1',
        interval: '1h',
        hosts: [{ host: 'dgx-1', providers: ['vllm'], models: ['llama-3-70b'], gpuHourPrice: 2 }],
      },
      smi,
    );
    const now = Date.now();
    const ingest = await fetch(`${base}/api/ingest`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([
        {
          started_at: now - 2000,
          latency_ms: 900,
          provider: 'vllm',
          model: 'llama-3-70b',
          input_tokens: 5000,
          output_tokens: 30_000,
        },
        {
          started_at: now - 1000,
          latency_ms: 900,
          provider: 'vllm',
          model: 'llama-3-70b',
          input_tokens: 5000,
          output_tokens: 10_000,
        },
        {
          started_at: now - 1000,
          latency_ms: 500,
          provider: 'openai',
          model: 'gpt-4o',
          output_tokens: 1000,
          cost_usd: 0.01,
        },
      ]),
    });
    expect(ingest.status).toBeLessThan(300);

    const body = await until('GPU readings and ingested tokens in /api/gpu', async () => {
      const b = await (await fetch(`${base}/api/gpu`)).json();
      const llama = b.efficiency?.find((e: { model: string }) => e.model === 'llama-3-70b');
      return b.available && llama?.output_tokens === 40_000 ? b : undefined;
    });

    const metrics = await (await fetch(`${base}/metrics`)).text();
    const gpuLines = metrics.split('\n').filter((l) => l.startsWith('gpu_'));
    expect(gpuLines).toHaveLength(24);
    expect(gpuLines).toContain('gpu_utilization_ratio{gpu="0",host="dgx-1"} 0.97');
    expect(gpuLines).toContain('gpu_utilization_ratio{gpu="4",host="dgx-1"} 0');
    expect(gpuLines).toContain('gpu_utilization_ratio{gpu="7",host="dgx-1"} 0.43');
    expect(gpuLines).toContain(`gpu_memory_used_bytes{gpu="6",host="dgx-1"} ${40211 * MIB}`);
    expect(gpuLines).toContain(`gpu_memory_total_bytes{gpu="3",host="dgx-1"} ${81559 * MIB}`);
    expect(metrics).toContain('llmscope_gpu_collector_errors_total{collector="nvidia-smi"} 0');
    // Samples live in the app store's SQLite database, beside the ledger.
    const backend = app.ctx.store.backend;
    if (backend.kind !== 'sqlite') throw new Error('expected the SQLite store');
    expect(backend.db.prepare('SELECT count(*) AS n FROM gpu_samples_minute').get()).toEqual({ n: 8 });

    expect(body).toMatchObject({ available: true, collector: 'auto' });
    expect(body.reason).toBeUndefined();
    expect(body.gpus.map((g: { gpu: string }) => g.gpu)).toEqual(['0', '1', '2', '3', '4', '5', '6', '7']);
    expect(body.gpus[6]).toMatchObject({
      host: 'dgx-1',
      name: 'NVIDIA H100 80GB HBM3',
      uuid: 'GPU-28f4b0e3-9a67-5c1d-f824-6d3e7a90b5c1',
      utilization: 0.42,
      memory_used_bytes: 40211 * MIB,
      memory_total_bytes: 81559 * MIB,
      temperature_c: 48,
      power_w: 288.64,
    });
    expect(Date.parse(body.gpus[0].updated_at)).toBeGreaterThan(now - 60_000);
    expect(body.series).toHaveLength(8);
    expect(body.series[0].points).toEqual([
      expect.objectContaining({
        utilization_avg: 0.97,
        utilization_max: 0.97,
        memory_used_avg: 74125 * MIB,
        samples: 1,
      }),
    ]);
    expect(body.efficiency).toEqual([
      {
        kind: 'self_hosted',
        provider: 'vllm',
        model: 'llama-3-70b',
        hosts: ['dgx-1'],
        gpu_hours: 8,
        gpu_cost_usd: 16,
        output_tokens: 40_000,
        cost_usd: 16,
        cost_per_1k_output_tokens: 0.4,
        utilization_avg: expect.closeTo(4.71 / 8, 3),
      },
      expect.objectContaining({ kind: 'api', provider: 'openai', model: 'gpt-4o', output_tokens: 1000 }),
    ]);
    // GPUs 4..7 average under 80% busy; no GPU is over 95% memory.
    expect(body.signals).toEqual(
      ['4', '5', '6', '7'].map((gpu) =>
        expect.objectContaining({ kind: 'low_utilization', host: 'dgx-1', gpu, threshold: 0.8 }),
      ),
    );
  });

  it('a host without GPUs says so once, and nothing else breaks', async () => {
    const { base, logs } = await start(
      { interval: '200ms' },
      fakeNvidiaSmi({ fixture: 'nvidia-smi-no-driver.txt', exitCode: 9 }),
    );
    const body = await until('the no-GPU state', async () => {
      const b = await (await fetch(`${base}/api/gpu`)).json();
      return b.collectors?.[0]?.status === 'unavailable' ? b : undefined;
    });
    await new Promise((r) => setTimeout(r, 600));
    expect(body).toMatchObject({ available: false, gpus: [], efficiency: [], signals: [] });
    expect(body.reason).toMatch(/NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver/);
    expect(logs.filter((l) => l.event === 'gpu_unavailable')).toHaveLength(1);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).not.toMatch(/^gpu_/m);
    expect(metrics).toContain('llmscope_gpu_collector_errors_total{collector="nvidia-smi"} 0');
  });

  it('a collector that hangs never blocks the server, and its failures are counted', async () => {
    // Each poll hangs until its 1.5 s timeout; the server must answer well inside that.
    const { app, base } = await start({ interval: '2s', timeout: '1500ms' }, fakeNvidiaSmi({ hang: true }));
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      const [health, gpu] = await Promise.all([fetch(`${base}/healthz`), fetch(`${base}/api/gpu`)]);
      expect(performance.now() - t0).toBeLessThan(500);
      expect(health.status).toBe(200);
      expect((await gpu.json()).available).toBe(false);
      await new Promise((r) => setTimeout(r, 100));
    }
    const failures = await until('a counted failure', async () => {
      const m = /llmscope_gpu_collector_errors_total\{collector="nvidia-smi"\} (\d+)/.exec(
        await (await fetch(`${base}/metrics`)).text(),
      );
      return m && Number(m[1]) >= 1 ? Number(m[1]) : undefined;
    });
    expect(failures).toBe(1);
    const body = await (await fetch(`${base}/api/gpu`)).json();
    expect(body.reason).toMatch(/timed out after 1500 ms/);
    const t0 = performance.now();
    await app.close();
    expect(performance.now() - t0).toBeLessThan(3000);
  });
});
