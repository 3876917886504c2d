import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { type GpuStore, HOUR_MS, MemoryGpuStore, MINUTE_MS } from './gpu-store.js';
import { SqliteGpuStore } from './sqlite-store.js';
import type { GpuSample } from './types.js';

const T0 = Date.parse('2026-11-28T10:00:00Z');

const s = (gpu: string, at: number, utilization: number | null, used: number | null = 10): GpuSample => ({
  host: 'box',
  gpu,
  uuid: `GPU-${gpu}`,
  name: 'NVIDIA H100 80GB HBM3',
  utilization,
  memoryUsedBytes: used,
  memoryTotalBytes: 100,
  temperatureC: 50,
  powerW: 300,
  at,
});

describe.each([
  ['memory', () => new MemoryGpuStore()],
  ['sqlite', () => new SqliteGpuStore(new Database(':memory:'))],
] as Array<[string, () => GpuStore]>)('GpuStore (%s)', (_name, make) => {
  it('rolls samples up per minute: avg/max utilization, avg memory, count', async () => {
    const store = make();
    await store.insertSamples([s('0', T0, 0.2, 10), s('1', T0, 1, 90)], 15_000);
    await store.insertSamples([s('0', T0 + 15_000, 0.6, 30)], 15_000);
    await store.insertSamples([s('0', T0 + 30_000, null, null)], 15_000);
    await store.insertSamples([s('0', T0 + MINUTE_MS, 0.9, 50)], 15_000);
    const series = await store.querySeries({ from: T0, to: T0 + HOUR_MS, step: 'minute' });
    expect(series.map((x) => [x.host, x.gpu])).toEqual([
      ['box', '0'],
      ['box', '1'],
    ]);
    const [p0, p1] = series[0]?.points ?? [];
    expect(p0?.t).toBe(T0);
    expect(p0?.samples).toBe(3);
    expect(p0?.utilizationAvg).toBeCloseTo(0.4);
    expect(p0?.utilizationMax).toBe(0.6);
    expect(p0?.memoryUsedAvg).toBe(20);
    expect(p0?.memoryTotal).toBe(100);
    expect(p1).toMatchObject({ t: T0 + MINUTE_MS, utilizationAvg: 0.9, samples: 1 });
  });

  it('merges minutes into hours', async () => {
    const store = make();
    for (let m = 0; m < 90; m++) await store.insertSamples([s('0', T0 + m * MINUTE_MS, m < 60 ? 0.5 : 1)], 60_000);
    const [series] = await store.querySeries({ from: T0, to: T0 + 2 * HOUR_MS, step: 'hour' });
    expect(series?.points).toHaveLength(2);
    expect(series?.points[0]).toMatchObject({ t: T0, samples: 60, utilizationAvg: 0.5 });
    expect(series?.points[1]).toMatchObject({ t: T0 + HOUR_MS, samples: 30, utilizationAvg: 1 });
  });

  it('counts GPU time from the poll interval, within the window only', async () => {
    const store = make();
    // 2 GPUs, 240 polls 15 s apart = 1 hour each.
    for (let i = 0; i < 240; i++)
      await store.insertSamples([s('0', T0 + i * 15_000, 0.25), s('1', T0 + i * 15_000, 0.75)], 15_000);
    const usage = await store.usage({ from: T0, to: T0 + HOUR_MS });
    expect(usage.map((u) => [u.gpu, u.gpuSeconds, u.samples])).toEqual([
      ['0', 3600, 240],
      ['1', 3600, 240],
    ]);
    expect(usage[0]?.utilizationAvg).toBeCloseTo(0.25);
    expect(usage[1]?.utilizationAvg).toBeCloseTo(0.75);
    const half = await store.usage({ from: T0, to: T0 + HOUR_MS / 2 });
    expect(half[0]?.gpuSeconds).toBe(1800);
  });

  it('applies retention to raw samples and minute rollups separately', async () => {
    const store = make();
    await store.insertSamples([s('0', T0, 0.5)], 15_000);
    await store.insertSamples([s('0', T0 + 10 * MINUTE_MS, 0.5)], 15_000);
    const r = await store.applyRetention({ rawBefore: T0 + MINUTE_MS, minuteBefore: T0 + MINUTE_MS });
    expect(r).toEqual({ deletedSamples: 1, deletedMinutes: 1 });
    const [series] = await store.querySeries({ from: 0, to: T0 + HOUR_MS, step: 'minute' });
    expect(series?.points.map((p) => p.t)).toEqual([T0 + 10 * MINUTE_MS]);
  });
});

describe('SqliteGpuStore', () => {
  it('creates its tables idempotently beside other tables', () => {
    const db = new Database(':memory:');
    db.exec('CREATE TABLE calls (id TEXT)');
    new SqliteGpuStore(db);
    new SqliteGpuStore(db);
    const tables = (
      db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]
    ).map((t) => t.name);
    expect(tables).toEqual(['calls', 'gpu_samples', 'gpu_samples_minute']);
  });
});

describe('MemoryGpuStore', () => {
  it('stays bounded, dropping the oldest minutes first', async () => {
    const store = new MemoryGpuStore(10, 5);
    for (let m = 0; m < 8; m++) await store.insertSamples([s('0', T0 + m * MINUTE_MS, 0.5)], 60_000);
    expect(store.rawCount()).toBe(8);
    const [series] = await store.querySeries({ from: 0, to: T0 + HOUR_MS, step: 'minute' });
    expect(series?.points.map((p) => (p.t - T0) / MINUTE_MS)).toEqual([3, 4, 5, 6, 7]);
  });
});
