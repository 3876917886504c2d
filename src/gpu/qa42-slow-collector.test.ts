// A collector slower than gpu.interval: its poll outlasts one or more ticks, which the poller skips, so it answers
// every other (third, ...) tick. Each sample must then stand for the ticks its poll covered, or the GPU-hours (and
// the GPU cost and $ per 1K tokens built on them) come out at a half (a third, ...) of the wall time.

import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { AppContext } from '../app-context.js';
import { memoryAudit } from '../audit/testing.js';
import { Recorder } from '../calls/index.js';
import { validateConfig } from '../config/index.js';
import { Router } from '../http/index.js';
import { SignalRegistry } from '../signals/index.js';
import { Metrics } from '../telemetry/metrics.js';
import { buildGpuModule } from './module.js';
import { Poller, type PollOutcome } from './poller.js';
import { MemoryGpuStore } from './storage/index.js';
import { rollupStore } from './testing.js';
import type { GpuCollector, GpuSample } from './types.js';

const sample = (gpu: string): GpuSample => ({
  host: 'gpu-node-1',
  gpu,
  uuid: null,
  name: 'NVIDIA H100 80GB HBM3',
  utilization: 0.9,
  memoryUsedBytes: 1,
  memoryTotalBytes: 2,
  temperatureC: null,
  powerW: null,
  at: Date.parse('2026-12-07T09:00:00Z'),
});

/** A collector whose polls answer only when the test says so. */
function gatedCollector(): { collector: GpuCollector; release: () => void } {
  let release: () => void = () => undefined;
  const collector: GpuCollector = {
    kind: 'dcgm',
    source: 'http://gpu-node-1:9400/metrics',
    collect: () =>
      new Promise<GpuSample[]>((ok) => {
        release = () => ok(['0', '1', '2', '3'].map(sample));
      }),
  };
  return { collector, release: () => release() };
}

describe('a GPU collector slower than the poll interval', () => {
  it('the poller says how many intervals a poll covered (1 plus the ticks it outlasted)', async () => {
    const { collector, release } = gatedCollector();
    const outcomes: PollOutcome[] = [];
    const p = new Poller({ collector, intervalMs: 1000, timeoutMs: 60_000, onOutcome: (o) => outcomes.push(o) });
    const first = p.poll();
    expect(await p.poll()).toBe('skipped');
    expect(await p.poll()).toBe('skipped');
    release();
    await first;
    const second = p.poll();
    release();
    await second;
    expect(outcomes.map((o) => (o.kind === 'ok' ? o.intervals : o.kind))).toEqual([3, 1]);
  });

  it('stores GPU time for every tick a slow poll covered: 4 GPUs × 3 ticks of 1 s = 12 GPU-seconds', async () => {
    const r = validateConfig({
      gpu: { collector: 'dcgm', interval: '1s', timeout: '5s', dcgmUrls: ['http://gpu-node-1:9400/metrics'] },
    });
    if (!r.ok) throw new Error(JSON.stringify(r.issues));
    const registry = new Registry();
    const ctx: AppContext = {
      config: r.config,
      store: rollupStore([]),
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
    };
    const { collector, release } = gatedCollector();
    const gpuStore = new MemoryGpuStore();
    const gpu = await buildGpuModule(ctx, { gpuStore, collectors: [collector] });
    // the first tick's poll runs on through the next two ticks (as the poller's timer calls poll())
    const polled = gpu.pollAll();
    await gpu.pollAll();
    await gpu.pollAll();
    release();
    await polled;
    let usage = await gpuStore.usage({ from: 0, to: Date.parse('2027-01-01') });
    for (let i = 0; i < 50 && usage.length === 0; i++) {
      await new Promise((ok) => setTimeout(ok, 10));
      usage = await gpuStore.usage({ from: 0, to: Date.parse('2027-01-01') });
    }
    expect(usage.map((u) => [u.gpu, u.gpuSeconds])).toEqual([
      ['0', 3],
      ['1', 3],
      ['2', 3],
      ['3', 3],
    ]);
    await gpu.stop?.();
  });
});
