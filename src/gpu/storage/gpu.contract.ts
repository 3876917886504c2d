// The GpuStore contract: what every backend (memory, SQLite, PostgreSQL) must do alike, run by gpu-store.test.ts
// over each. `make` returns a new, empty store, ready to use (migrated).
import { describe, expect, it } from 'vitest';
import { HOUR_MS, MINUTE_MS } from '../../time.js';
import type { GpuSample } from '../types.js';
import type { GpuStore } from './types.js';

export const T0 = Date.parse('2026-11-28T10:00:00Z');

export const s = (gpu: string, at: number, utilization: number | null, used: number | null = 10): GpuSample => ({
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

export function gpuStoreContract(name: string, make: () => Promise<GpuStore>): void {
  describe(`GpuStore contract: ${name}`, () => {
    it('rolls samples up per minute: avg/max utilization, avg memory, count', async () => {
      const store = await make();
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

    it('folds several samples of one GPU and minute in one batch as it folds them one by one', async () => {
      const batched = await make();
      const single = await make();
      const batch = [
        s('0', T0, 0.2),
        s('0', T0 + 15_000, 0.8, 30),
        { ...s('0', T0 + 30_000, null, null), name: null },
        s('1', T0 + 30_000, 0.5),
        s('0', T0 + MINUTE_MS, null),
      ];
      await batched.insertSamples(batch, 15_000);
      for (const x of batch) await single.insertSamples([x], 15_000);
      const q = { from: T0, to: T0 + HOUR_MS, step: 'minute' as const };
      const series = await batched.querySeries(q);
      expect(series).toEqual(await single.querySeries(q));
      expect(series[0]?.name).toBe('NVIDIA H100 80GB HBM3');
      expect(series[0]?.points).toEqual([
        { t: T0, utilizationAvg: 0.5, utilizationMax: 0.8, memoryUsedAvg: 20, memoryTotal: 100, samples: 3 },
        {
          t: T0 + MINUTE_MS,
          utilizationAvg: null,
          utilizationMax: null,
          memoryUsedAvg: 10,
          memoryTotal: 100,
          samples: 1,
        },
      ]);
      const usage = await batched.usage({ from: T0, to: T0 + HOUR_MS });
      expect(usage).toEqual(await single.usage({ from: T0, to: T0 + HOUR_MS }));
      expect(usage.map((u) => [u.gpu, u.gpuSeconds, u.samples])).toEqual([
        ['0', 60, 4],
        ['1', 15, 1],
      ]);
    });

    it('merges minutes into hours', async () => {
      const store = await make();
      for (let m = 0; m < 90; m++) await store.insertSamples([s('0', T0 + m * MINUTE_MS, m < 60 ? 0.5 : 1)], 60_000);
      const [series] = await store.querySeries({ from: T0, to: T0 + 2 * HOUR_MS, step: 'hour' });
      expect(series?.points).toHaveLength(2);
      expect(series?.points[0]).toMatchObject({ t: T0, samples: 60, utilizationAvg: 0.5 });
      expect(series?.points[1]).toMatchObject({ t: T0 + HOUR_MS, samples: 30, utilizationAvg: 1 });
    });

    it('counts GPU time from the poll interval, within the window only', async () => {
      const store = await make();
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
      const store = await make();
      await store.insertSamples([s('0', T0, 0.5)], 15_000);
      await store.insertSamples([s('0', T0 + 10 * MINUTE_MS, 0.5)], 15_000);
      const r = await store.applyRetention({ rawBefore: T0 + MINUTE_MS, minuteBefore: T0 + MINUTE_MS });
      expect(r).toEqual({ deletedSamples: 1, deletedMinutes: 1 });
      const [series] = await store.querySeries({ from: 0, to: T0 + HOUR_MS, step: 'minute' });
      expect(series?.points.map((p) => p.t)).toEqual([T0 + 10 * MINUTE_MS]);
    });
  });
}
