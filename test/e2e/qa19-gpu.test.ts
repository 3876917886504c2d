// QA19: GPUs as a platform team runs them, through `llmscope serve` (bin/llmscope.js, i.e. dist/) with a fake
// `nvidia-smi` on PATH printing recorded output, as on a GPU host.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { fakeNvidiaSmi, fixture } from '../../src/gpu/testing.js';
import { getJson, killServe, type ServeRun, startServeWithConfig, until } from './helpers.js';

let runs: ServeRun[] = [];
let servers: Server[] = [];
afterEach(async () => {
  for (const r of runs) killServe(r.proc);
  runs = [];
  for (const s of servers) s.close();
  servers = [];
});

/** A dcgm-exporter answering a recorded page at /metrics (after `delayMs`). */
async function exporter(page: string, delayMs = 0): Promise<string> {
  const server = createServer((_req, res) => {
    res.setHeader('content-type', 'text/plain; version=0.0.4');
    setTimeout(() => res.end(page), delayMs);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
}

interface GpuAnswer {
  available: boolean;
  collectors: Array<{ kind: string; status: string; reason: string | null }>;
  gpus: Array<{ host: string; gpu: string; utilization: number | null }>;
}

describe('serve with a GPU fallen off the bus', () => {
  it('keeps reading the other seven GPUs and names the lost one (nvidia-smi exit 15)', async () => {
    // nvidia-smi prints "Unable to determine the device handle for GPU 0000:3B:00.0: GPU is lost ..." in place of
    // GPU 2's line, the seven other GPUs' readings around it, and exits 15.
    const smi = fakeNvidiaSmi({ fixture: 'nvidia-smi-8gpu-lost.txt', exitCode: 15 });
    const run = await startServeWithConfig({
      prefix: 'llmscope-qa19-lost-',
      config: {
        server: { host: '127.0.0.1' },
        storage: { url: 'sqlite::memory:' },
        gpu: { collector: 'nvidia-smi', interval: '200ms', hostname: 'dgx-1' },
      },
      env: { PATH: `${smi}:${process.env.PATH}` },
    });
    runs.push(run);
    const body = await until(async () => {
      const b = await getJson<GpuAnswer>(`${run.base}/api/gpu`);
      return b.collectors[0]?.status !== 'pending' ? b : undefined;
    });
    expect(body.collectors).toEqual([
      expect.objectContaining({
        kind: 'nvidia-smi',
        status: 'ok',
        reason: 'nvidia-smi could not read GPU 0000:3B:00.0: GPU is lost. Reboot the system to recover this GPU',
      }),
    ]);
    expect(body.available).toBe(true);
    expect(body.gpus.map((g) => g.gpu)).toEqual(['0', '1', '3', '4', '5', '6', '7']);
    const metrics = await (await fetch(`${run.base}/metrics`)).text();
    expect(metrics.split('\n').filter((l) => l.startsWith('gpu_utilization_ratio{'))).toHaveLength(7);
    expect(metrics).toContain('gpu_utilization_ratio{gpu="3",host="dgx-1"} 0.98');
    expect(metrics).toContain('llmscope_gpu_collector_errors_total{collector="nvidia-smi"} 0');
    // the lost GPU counted, for an alert (GpuUnreadable in `llmscope export prometheus`)
    expect(metrics).toContain('llmscope_gpu_unreadable_gpus{collector="nvidia-smi",host="dgx-1"} 1');
    // Said once in the log, not on every poll.
    await new Promise((r) => setTimeout(r, 600));
    const lines = run.stdout
      .join('')
      .split('\n')
      .filter((l) => l.includes('"event":"gpu_unreadable"'));
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] as string)).toMatchObject({ level: 'warn', gpus: 7 });
  });
});

describe('serve pricing a MIG-partitioned GPU', () => {
  it('counts one GPU-hour per physical GPU-hour, not one per MIG instance (DCGM exporter)', async () => {
    // One A100 in MIG mode, two 3g.20gb instances: the exporter reports the GPU (temperature, power) and each
    // instance (memory, engine activity). interval 1h: the one poll at start stands for one hour of the GPU.
    const url = await exporter(fixture('dcgm-exporter-mig.txt'));
    const run = await startServeWithConfig({
      prefix: 'llmscope-qa19-mig-',
      config: {
        server: { host: '127.0.0.1' },
        storage: { url: 'sqlite::memory:', flushInterval: '0ms' },
        gpu: {
          collector: 'dcgm',
          interval: '1h',
          dcgmUrls: [url],
          hosts: [{ host: 'gpu-node-2', models: ['qwen2.5-32b-instruct'], gpuHourPrice: 2 }],
        },
      },
    });
    runs.push(run);
    const ingest = await fetch(`${run.base}/api/ingest`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([
        {
          started_at: Date.now() - 1000,
          latency_ms: 800,
          provider: 'vllm',
          model: 'qwen2.5-32b-instruct',
          output_tokens: 10_000,
        },
      ]),
    });
    expect(ingest.status, await ingest.text()).toBeLessThan(300);
    interface Eff {
      model: string;
      gpu_hours: number;
      gpu_cost_usd: number;
      output_tokens: number;
      cost_per_1k_output_tokens: number;
    }
    const body = await until(async () => {
      const b = await getJson<GpuAnswer & { efficiency: Eff[] }>(`${run.base}/api/gpu`);
      const row = b.efficiency.find((e) => e.model === 'qwen2.5-32b-instruct');
      return b.gpus.length > 0 && row?.output_tokens === 10_000 ? b : undefined;
    });
    expect(body.gpus.map((g) => g.gpu)).toEqual(['0', '0:1', '0:2']);
    // Before: 3 GPU-hours ($6, $0.6 per 1K tokens) for the one GPU's hour.
    expect(body.efficiency.find((e) => e.model === 'qwen2.5-32b-instruct')).toMatchObject({
      gpu_hours: 1,
      gpu_cost_usd: 2,
      cost_per_1k_output_tokens: 0.2,
    });
  });
});

describe('serve with a self-hosted model priced by GPU-hours (pricing.models gpuHours)', () => {
  it('lists it on the GPU cost table as self-hosted at its GPUs’ cost, not as an API model at $0', async () => {
    const run = await startServeWithConfig({
      prefix: 'llmscope-qa19-gpuhours-',
      config: {
        server: { host: '127.0.0.1' },
        storage: { url: 'sqlite::memory:', flushInterval: '0ms' },
        pricing: {
          models: [
            { model: 'qwen-local', provider: 'vllm', gpuHours: { gpus: 2, pricePerGpuHour: 2 } },
            { model: 'mistral-idle', gpuHours: { gpus: 1, pricePerGpuHour: 3 } },
          ],
        },
        gpu: { collector: 'none' },
      },
    });
    runs.push(run);
    const now = Date.now();
    const ingest = await fetch(`${run.base}/api/ingest`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([
        { started_at: now - 60_000, latency_ms: 800, provider: 'vllm', model: 'qwen-local', output_tokens: 10_000 },
        { started_at: now - 60_000, latency_ms: 800, provider: 'openai', model: 'gpt-4o', output_tokens: 1000 },
      ]),
    });
    expect(ingest.status, await ingest.text()).toBeLessThan(300);
    interface Eff {
      kind: string;
      model: string;
      gpu_hours: number | null;
      gpu_cost_usd: number | null;
      output_tokens: number;
      cost_per_1k_output_tokens: number | null;
    }
    // Two hours: qwen-local's 2 GPUs cost 4 GPU-hours × $2 = $8 for its 10K output tokens, $0.8 per 1K; the idle
    // mistral-idle's GPU 2 GPU-hours × $3 = $6 for no token.
    const q = `from=${now - 2 * 3_600_000}&to=${now}`;
    const rows = await until(async () => {
      const b = await getJson<{ efficiency: Eff[] }>(`${run.base}/api/gpu?${q}`);
      return b.efficiency.find((e) => e.model === 'qwen-local')?.output_tokens === 10_000 ? b.efficiency : undefined;
    });
    expect(rows.find((e) => e.model === 'qwen-local')).toMatchObject({
      kind: 'self_hosted',
      gpu_hours: 4,
      gpu_cost_usd: 8,
      cost_per_1k_output_tokens: 0.8,
    });
    expect(rows.find((e) => e.model === 'mistral-idle')).toMatchObject({
      kind: 'self_hosted',
      gpu_hours: 2,
      gpu_cost_usd: 6,
      output_tokens: 0,
      cost_per_1k_output_tokens: null,
    });
    expect(rows.find((e) => e.model === 'gpt-4o')).toMatchObject({ kind: 'api', gpu_hours: null });
  });
});

describe('serve reading the same GPUs through nvidia-smi and the host’s own DCGM exporter', () => {
  it('counts each GPU once in /api/gpu and in GPU-hours', async () => {
    // gpu-node-1 runs llmscope (nvidia-smi: 8 GPUs) and dcgm-exporter (listed in dcgmUrls, as on every other GPU
    // host; its page shows GPUs 0 and 1, Hostname="gpu-node-1"), collector auto: both read GPUs 0 and 1. The
    // exporter answers after nvidia-smi, as a network scrape does. interval 1h: the poll at start stands for an hour.
    const smi = fakeNvidiaSmi({ fixture: 'nvidia-smi-8gpu.txt' });
    const url = await exporter(fixture('dcgm-exporter.txt'), 1500);
    const run = await startServeWithConfig({
      prefix: 'llmscope-qa19-twice-',
      config: {
        server: { host: '127.0.0.1' },
        storage: { url: 'sqlite::memory:', flushInterval: '0ms' },
        gpu: {
          interval: '1h',
          hostname: 'gpu-node-1',
          dcgmUrls: [url],
          hosts: [{ host: 'gpu-node-1', models: ['llama-3.1-70b'], gpuHourPrice: 2 }],
        },
      },
      env: { PATH: `${smi}:${process.env.PATH}` },
    });
    runs.push(run);
    interface Eff {
      model: string;
      gpu_hours: number;
      gpu_cost_usd: number;
    }
    const body = await until(async () => {
      const b = await getJson<GpuAnswer & { efficiency: Eff[]; series: { gpu: string }[] }>(`${run.base}/api/gpu`);
      return b.collectors.every((c) => c.status === 'ok') && b.series.length > 0 ? b : undefined;
    });
    await new Promise((r) => setTimeout(r, 300)); // the exporter's samples, had they been stored
    const again = await getJson<GpuAnswer & { efficiency: Eff[]; series: { gpu: string }[] }>(`${run.base}/api/gpu`);
    expect(body.gpus.map((g) => g.gpu)).toEqual(['0', '1', '2', '3', '4', '5', '6', '7']);
    expect(again.gpus).toHaveLength(8);
    expect(again.series.map((s) => s.gpu)).toEqual(['0', '1', '2', '3', '4', '5', '6', '7']);
    // Before: GPUs 0 and 1 were listed twice and stored from both collectors, 10 GPU-hours ($20) for 8 GPUs' hour.
    expect(again.efficiency.find((e) => e.model === 'llama-3.1-70b')).toMatchObject({
      gpu_hours: 8,
      gpu_cost_usd: 16,
    });
    const lines = run.stdout
      .join('')
      .split('\n')
      .filter((l) => l.includes('"event":"gpu_read_twice"'));
    expect(lines).toHaveLength(1);
  });
});

describe('serve with a model not in the price catalog (Ollama on a laptop)', () => {
  it('shows its cost on the GPU cost table as unknown (null), not as an API model at $0', async () => {
    const run = await startServeWithConfig({
      prefix: 'llmscope-qa19-unpriced-',
      config: {
        server: { host: '127.0.0.1' },
        storage: { url: 'sqlite::memory:', flushInterval: '0ms' },
        gpu: { collector: 'none' },
      },
    });
    runs.push(run);
    const now = Date.now();
    const ingest = await fetch(`${run.base}/api/ingest`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([
        {
          started_at: now - 60_000,
          latency_ms: 800,
          provider: 'ollama',
          model: 'llama3.2:3b',
          input_tokens: 100,
          output_tokens: 2000,
        },
        {
          started_at: now - 60_000,
          latency_ms: 800,
          provider: 'openai',
          model: 'gpt-4o',
          input_tokens: 100,
          output_tokens: 1000,
        },
      ]),
    });
    expect(ingest.status, await ingest.text()).toBeLessThan(300);
    // /api/cost/unpriced says it is unpriced; the GPU page's table must not call it free.
    await until(async () => {
      const u = await getJson<{ models: { model: string }[] }>(`${run.base}/api/cost/unpriced?days=1`);
      return u.models.some((m) => m.model === 'llama3.2:3b');
    });
    interface Eff {
      kind: string;
      model: string;
      output_tokens: number;
      cost_usd: number | null;
      cost_per_1k_output_tokens: number | null;
    }
    // The spend aggregates the cost capability reads are written a batch after the call.
    const rows = await until(async () => {
      const b = await getJson<{ efficiency: Eff[] }>(`${run.base}/api/gpu`);
      return b.efficiency.find((e) => e.model === 'llama3.2:3b')?.cost_usd === null ? b.efficiency : undefined;
    }, 10_000).catch(async () => (await getJson<{ efficiency: Eff[] }>(`${run.base}/api/gpu`)).efficiency);
    // Before: cost_usd 0 and 0 per 1K, the cheapest model on the table.
    expect(rows.find((e) => e.model === 'llama3.2:3b')).toMatchObject({
      kind: 'api',
      output_tokens: 2000,
      cost_usd: null,
      cost_per_1k_output_tokens: null,
    });
    const gpt = rows.find((e) => e.model === 'gpt-4o') as Eff;
    expect(gpt.cost_usd).toBeGreaterThan(0);
    expect(gpt.cost_per_1k_output_tokens).toBeGreaterThan(0);
  });
});

describe('serve with a gpu.hosts entry no collector reports', () => {
  it('names it in /api/gpu unseen_hosts, and counts 0 unreadable GPUs while every GPU is read', async () => {
    // A container's host name is its id: a hosts entry written for the machine's name matches nothing it reports.
    const smi = fakeNvidiaSmi({ fixture: 'nvidia-smi-8gpu.txt' });
    const run = await startServeWithConfig({
      prefix: 'llmscope-qa19-unseen-',
      config: {
        server: { host: '127.0.0.1' },
        storage: { url: 'sqlite::memory:' },
        gpu: {
          collector: 'nvidia-smi',
          interval: '200ms',
          hostname: '3f2a9c1d7e0b',
          pricePerGpuHour: 2,
          hosts: [
            { host: 'dgx-1', models: ['llama-3.1-70b'] },
            { host: '3f2a9c1d7e0b', models: ['qwen2.5-7b'] },
          ],
        },
      },
      env: { PATH: `${smi}:${process.env.PATH}` },
    });
    runs.push(run);
    const body = await until(async () => {
      const b = await getJson<GpuAnswer & { unseen_hosts: string[] }>(`${run.base}/api/gpu`);
      return b.collectors[0]?.status === 'ok' ? b : undefined;
    });
    expect(body.unseen_hosts).toEqual(['dgx-1']);
    const metrics = await (await fetch(`${run.base}/metrics`)).text();
    expect(metrics).toContain('llmscope_gpu_unreadable_gpus{collector="nvidia-smi",host="3f2a9c1d7e0b"} 0');
  });

  it('says nothing while no collector reads a GPU', async () => {
    const run = await startServeWithConfig({
      prefix: 'llmscope-qa19-unseen-none-',
      config: {
        server: { host: '127.0.0.1' },
        storage: { url: 'sqlite::memory:' },
        gpu: { collector: 'none', hosts: [{ host: 'dgx-1', models: ['llama-3.1-70b'] }] },
      },
    });
    runs.push(run);
    const body = await getJson<{ unseen_hosts: string[] }>(`${run.base}/api/gpu`);
    expect(body.unseen_hosts).toEqual([]);
    expect(await (await fetch(`${run.base}/metrics`)).text()).not.toContain('llmscope_gpu_unreadable_gpus{');
  });
});
