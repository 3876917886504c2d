import { afterAll, describe, expect, it } from 'vitest';
import { parseDcgm } from '../gpu/index.js';
import { type DcgmExporter, startDcgmExporter, utilizationAt } from './dcgm-exporter.js';

describe('simulated DCGM exporter', () => {
  let load = 1;
  let exporter: DcgmExporter | undefined;
  afterAll(() => exporter?.close());

  it('serves a dcgm-exporter page the DCGM collector reads, with utilization following the load', async () => {
    exporter = await startDcgmExporter({ hostname: 'gpu-node-9', gpus: 4, load: () => load });
    expect(exporter.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const scrape = async () => {
      const res = await fetch(exporter!.url);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      return parseDcgm(await res.text(), { fallbackHost: 'x', at: Date.now() });
    };
    const busy = await scrape();
    expect(busy).toHaveLength(4);
    for (const g of busy) {
      expect(g.host).toBe('gpu-node-9');
      expect(g.name).toBe('NVIDIA H100 80GB HBM3');
      expect(g.uuid).toMatch(/^GPU-[0-9a-f]{8}-/);
      expect(g.utilization).toBeGreaterThan(utilizationAt(1) - 0.1);
      expect(g.utilization).toBeLessThanOrEqual(1);
      expect(g.memoryTotalBytes).toBe(81559 * 2 ** 20);
      expect(g.memoryUsedBytes! / g.memoryTotalBytes!).toBeGreaterThan(0.85); // vLLM preallocates
      expect(g.temperatureC).toBeGreaterThan(50);
      expect(g.powerW).toBeGreaterThan(450);
    }
    expect(new Set(busy.map((g) => g.uuid)).size).toBe(4);

    load = 0.2;
    const light = await scrape();
    const avg = (s: typeof busy) => s.reduce((a, g) => a + g.utilization!, 0) / s.length;
    expect(avg(light)).toBeLessThan(avg(busy) - 0.3);
    load = 0;
    expect(avg(await scrape())).toBe(0);

    expect((await fetch(exporter.url.replace('/metrics', '/nope'))).status).toBe(404);
  });

  it('maps load to utilization as a batching server does: saturating, 93% at the expected load', () => {
    expect(utilizationAt(0)).toBe(0);
    expect(utilizationAt(1)).toBeCloseTo(0.93, 2);
    expect(utilizationAt(0.5)).toBeGreaterThan(0.6);
    expect(utilizationAt(5)).toBeLessThan(1);
  });
});
