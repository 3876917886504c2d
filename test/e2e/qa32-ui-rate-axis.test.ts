// The dashboard's rate charts on a newcomer's first calls, in real Chromium on the built app (QA32; needs
// `npm run build`): a few ordinary calls (no refusal, no hallucination flagged, no feedback yet) make the Quality
// page's "Rates over time" all zeros, and its y axis read 0%, 5000%, 10000% (uPlot's range for data that is all 0
// is 0..100, and the ticks are formatted as percentages of 1). The axis's labels are drawn on a canvas, so the test
// records what each chart's canvas writes. Likewise the GPU charts (Overview's and the GPU page's utilization) of an
// idle GPU: utilization 0 on every reading.
import { chmodSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigInput } from '../../src/config/index.js';
import type * as ServerTs from '../../src/server.js';
import type * as SimulatorTs from '../../src/simulator/index.js';
import { dashboardBuilt, loadBuilt, startBuiltApp } from './built-app.js';
import { until } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';

describe.skipIf(!existsSync(CHROMIUM) || !dashboardBuilt)('rate charts on all-zero rates, in Chromium', () => {
  let app: ServerTs.App;
  let base: string;
  let sim: Awaited<ReturnType<typeof SimulatorTs.startSimulator>>;
  let browser: Browser;

  beforeAll(async () => {
    // nvidia-smi on a host whose one GPU is idle: utilization 0.
    const smi = mkdtempSync(join(tmpdir(), 'qa32-smi-'));
    writeFileSync(
      join(smi, 'nvidia-smi'),
      '#!/bin/sh\necho "0, GPU-4c1f6b62-9a3e-8d5f-27b1-0e9c83a4d215, NVIDIA H100 80GB HBM3, 0, 1024, 81559, 31, 70.5"\n',
    );
    chmodSync(join(smi, 'nvidia-smi'), 0o755);
    const { startSimulator } = await loadBuilt<typeof SimulatorTs>('simulator/index.js');
    sim = await startSimulator({ port: 0, ttftMs: 2, tpotMs: 1, outputTokens: 5 });
    ({ app, base } = await startBuiltApp({
      server: { host: '127.0.0.1', port: 0, shutdownGrace: '1s' },
      storage: { url: 'sqlite::memory:', flushInterval: '0ms' },
      telemetry: { logLevel: 'silent' },
      providers: [{ name: 'openai', baseUrl: sim.url }],
      gpu: {
        collector: 'nvidia-smi',
        interval: '1h',
        timeout: '2s',
        hostname: 'lab-1',
        nvidiaSmiPath: join(smi, 'nvidia-smi'),
      },
    } as ConfigInput));
    for (let i = 0; i < 3; i++) {
      const r = await fetch(`${base}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer sk-demo' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hello' }] }),
      });
      expect(r.status).toBe(200);
      await r.arrayBuffer();
    }
    // The quality series has this minute's point: refusal rate 0, the others 0 or none (no feedback, nothing flagged).
    await until(async () => {
      const s = (await (await fetch(`${base}/api/quality/series?step=minute`)).json()) as {
        data?: { refusal_rate: number | null; hallucination_rate: number | null }[];
      };
      return (s.data ?? []).some((p) => p.refusal_rate === 0 && !p.hallucination_rate);
    });
    await until(async () => {
      const g = (await (await fetch(`${base}/api/gpu`)).json()) as { series?: { points: unknown[] }[] };
      return (g.series ?? []).some((x) => x.points.length > 0);
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await sim?.close();
  });

  /** The texts each chart's canvas draws on a page, by chart id: the y axis's tick labels among them. */
  async function axisPercents(path: string, chartId: string): Promise<{ percents: number[]; labels: string[] }> {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.addInitScript(() => {
      const drawn: [string, string][] = [];
      (window as unknown as { __drawn: [string, string][] }).__drawn = drawn;
      const fillText = CanvasRenderingContext2D.prototype.fillText;
      CanvasRenderingContext2D.prototype.fillText = function (text: string, x: number, y: number, w?: number) {
        drawn.push([this.canvas.closest('[id]')?.id ?? '', String(text)]);
        return w === undefined ? fillText.call(this, text, x, y) : fillText.call(this, text, x, y, w);
      };
    });
    await page.goto(`${base}/${path}`);
    await page.waitForSelector('#view[data-ready]', { timeout: 20_000 });
    await page.waitForFunction(
      (id) => (window as unknown as { __drawn: [string, string][] }).__drawn.some(([c]) => c === id),
      chartId,
    );
    const drawn = await page.evaluate(() => (window as unknown as { __drawn: [string, string][] }).__drawn);
    expect(pageErrors).toEqual([]);
    await page.close();
    const labels = [...new Set(drawn.filter(([id]) => id === chartId).map(([, t]) => t))];
    return { labels, percents: labels.filter((t) => /^\d+(\.\d+)?%$/.test(t)).map((t) => Number.parseFloat(t)) };
  }

  it.each([
    { name: 'the Quality page', path: '#/quality?range=1h', chartId: 'chart-quality' },
    { name: 'the GPU page', path: '#/gpus?range=1h', chartId: 'chart-gpu-util' },
    { name: 'the Overview', path: '#/overview?range=1h', chartId: 'chart-gpu' },
  ])('$name draws shares of 0 on an axis up to 100 percent, not 10000', async ({ path, chartId }) => {
    const { labels, percents } = await axisPercents(path, chartId);
    expect(percents.length, labels.join(' | ')).toBeGreaterThan(1);
    // Before: 0%, 5000%, 10000%.
    expect(Math.max(...percents), labels.join(' | ')).toBeLessThanOrEqual(100);
    expect(percents).toContain(0);
  });
});
