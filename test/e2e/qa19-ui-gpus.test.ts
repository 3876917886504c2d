// The dashboard's GPU page on a fleet (QA19), in Chromium on the built app: GPUs whose histories cover different
// minutes (a host added later, a GPU that fell off the bus) are drawn on one time axis; what the collectors report
// beside their readings (an exporter down, a GPU nvidia-smi could not read) is shown in the strip. Needs
// `npm run build` first.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigInput } from '../../src/config/index.js';
import type * as GpuTs from '../../src/gpu/index.js';
import { fakeNvidiaSmi } from '../../src/gpu/testing.js';
import type * as ServerTs from '../../src/server.js';
import { startBuiltApp } from './built-app.js';
import { until } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const MIN = 60_000;

describe.skipIf(!existsSync(CHROMIUM))('the GPU page on a fleet, in Chromium', () => {
  let app: ServerTs.App;
  let base: string;
  let browser: Browser;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    // This host's nvidia-smi reads 7 GPUs of 8 (GPU 2 fell off the bus, exit 15); a DCGM exporter does not answer.
    const smi = fakeNvidiaSmi({ fixture: 'nvidia-smi-8gpu-lost.txt', exitCode: 15 });
    ({ app, base } = await startBuiltApp({
      server: { host: '127.0.0.1', port: 0, shutdownGrace: '1s' },
      storage: { url: 'sqlite::memory:', flushInterval: '0ms' },
      telemetry: { logLevel: 'silent' },
      gpu: {
        collector: 'auto',
        interval: '1h',
        timeout: '2s',
        hostname: 'dgx-1',
        nvidiaSmiPath: join(smi, 'nvidia-smi'),
        dcgmUrls: ['http://127.0.0.1:9/metrics'],
        // c-node is reported by no collector (a typo, a container's id): the strip says so
        hosts: [
          { host: 'dgx-1', models: ['llama-3.1-70b'] },
          { host: 'c-node', models: ['qwen2.5-7b'] },
        ],
      },
    } as ConfigInput));
    // History: a-node's GPU read for 2 minutes 10 minutes ago, b-node's for the 6 minutes after that.
    const store = (app.modules.find((m) => m.name === 'gpu') as GpuTs.GpuModule).gpuStore;
    const t0 = Math.floor((Date.now() - 10 * MIN) / MIN) * MIN;
    const sample = (host: string, i: number, utilization: number) => ({
      host,
      gpu: '0',
      uuid: null,
      name: 'NVIDIA L40S',
      utilization,
      memoryUsedBytes: 1e9,
      memoryTotalBytes: 4.8e10,
      temperatureC: null,
      powerW: null,
      at: t0 + i * MIN + 1000,
    });
    for (const i of [0, 1]) await store.insertSamples([sample('a-node', i, 0.5)], MIN);
    for (const i of [0, 1, 2, 3, 4, 5]) await store.insertSamples([sample('b-node', i, 0.9)], MIN);
    await until(async () => {
      const g = (await (await fetch(`${base}/api/gpu`)).json()) as { collectors: { status: string }[] };
      return g.collectors.every((c) => c.status !== 'pending');
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('draws every GPU on the union of their minutes, and shows the collectors’ problems', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(`${base}/#/gpus?range=1h`);
    await page.waitForSelector('#view[data-ready]', { timeout: 20_000 });
    const api = (await (await fetch(`${base}/api/gpu`)).json()) as {
      series: { host: string; points: { t: number }[] }[];
    };
    expect(api.series.map((s) => [s.host, s.points.length]).slice(0, 2)).toEqual([
      ['a-node', 2],
      ['b-node', 6],
    ]);
    const minutes = new Set(api.series.flatMap((s) => s.points.map((p) => p.t))).size;
    expect(minutes).toBeGreaterThanOrEqual(6); // b-node's 6 minutes (and dgx-1's current one)
    // Before: the x axis was a-node's 2 minutes, and b-node's 6 values were drawn at them (4 past the axis's end).
    for (const id of ['chart-gpu-util', 'chart-gpu-mem'])
      expect(await page.getAttribute(`#${id}`, 'data-points'), id).toBe(String(minutes));
    const strip = (await page.textContent('#gpu-strip')) as string;
    expect(strip).toContain('nvidia-smi: nvidia-smi could not read GPU 0000:3B:00.0: GPU is lost');
    expect(strip).toMatch(/dcgm http:\/\/127\.0\.0\.1:9\/metrics: failed: /);
    expect(strip).toContain('gpu.hosts names "c-node", on which no collector reported a GPU in this range');
    expect(strip).toContain('hosts reported: a-node, b-node, dgx-1');
    expect(pageErrors).toEqual([]);
    await page.close();
  });
});
