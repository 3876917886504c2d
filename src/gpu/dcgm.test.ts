import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DcgmCollector, parseDcgm } from './dcgm.js';
import { parsePromLine, parsePromText } from './prom-text.js';
import { fixture } from './testing.js';
import { GpuUnavailableError, MIB } from './types.js';

const AT = Date.parse('2026-11-28T12:00:00Z');

describe('parsePromText', () => {
  it('reads names, labels (with escapes), values and skips comments', () => {
    const { samples, skipped } = parsePromText(
      [
        '# HELP x_total A counter.',
        '# TYPE x_total counter',
        'x_total{a="1",b="say \\"hi\\"\\n",c="back\\\\slash"} 3 1700000000000',
        'up 1',
        'weird{a="1"} NaN',
        'broken{a="1" 2',
        '',
      ].join('\n'),
    );
    expect(skipped).toBe(1);
    expect(samples[0]).toEqual({ name: 'x_total', labels: { a: '1', b: 'say "hi"\n', c: 'back\\slash' }, value: 3 });
    expect(samples[1]).toEqual({ name: 'up', labels: {}, value: 1 });
    expect(Number.isNaN(samples[2]?.value)).toBe(true);
    expect(parsePromLine('m{a="x",} +Inf').value).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('parseDcgm', () => {
  it('reads a recorded dcgm-exporter page', () => {
    const samples = parseDcgm(fixture('dcgm-exporter.txt'), { fallbackHost: '10.0.0.7', at: AT });
    expect(samples).toHaveLength(2);
    expect(samples[0]).toEqual({
      host: 'gpu-node-1',
      gpu: '0',
      uuid: 'GPU-9f2b7c41-03de-6a58-b1e4-7c52d09a8f13',
      name: 'NVIDIA H100 80GB HBM3',
      utilization: 0.97,
      memoryUsedBytes: 74125 * MIB,
      // used + free + reserved, which is what nvidia-smi calls memory.total
      memoryTotalBytes: 81559 * MIB,
      temperatureC: 63,
      powerW: 598.124,
      at: AT,
    });
    expect(samples[1]).toMatchObject({ gpu: '1', utilization: 0, memoryUsedBytes: 0, memoryTotalBytes: 81559 * MIB });
  });

  it('reports MIG instances separately, with the engine-active ratio as utilization', () => {
    const samples = parseDcgm(fixture('dcgm-exporter-mig.txt'), { fallbackHost: 'x', at: AT });
    expect(samples.map((s) => s.gpu)).toEqual(['0', '0:1', '0:2']);
    expect(samples[0]).toMatchObject({ host: 'gpu-node-2', temperatureC: 44, powerW: 187.312, utilization: null });
    expect(samples[1]).toMatchObject({
      utilization: 0.873412,
      memoryUsedBytes: 14800 * MIB,
      memoryTotalBytes: 20048 * MIB,
    });
    expect(samples[2]).toMatchObject({ utilization: 0.102536, memoryUsedBytes: 2048 * MIB });
  });

  it('lets config name the host, and falls back to the URL host without a Hostname label', () => {
    const page = 'DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-a"} 12\n';
    expect(parseDcgm(page, { fallbackHost: '10.0.0.7', at: AT })[0]?.host).toBe('10.0.0.7');
    expect(parseDcgm(fixture('dcgm-exporter.txt'), { host: 'node-a', fallbackHost: 'x', at: AT })[0]?.host).toBe(
      'node-a',
    );
  });

  it('tells a page that is not a DCGM exporter from an exporter without GPUs', () => {
    expect(() => parseDcgm('up 1\n', { fallbackHost: 'x', at: AT })).toThrow(/no DCGM_FI_/);
    expect(() => parseDcgm('DCGM_FI_DEV_COUNT 0\n', { fallbackHost: 'x', at: AT })).toThrow(GpuUnavailableError);
  });
});

describe('DcgmCollector', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/metrics') {
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
        res.end(fixture('dcgm-exporter.txt'));
      } else if (req.url === '/hang') {
        /* never answers */
      } else {
        res.writeHead(500);
        res.end('boom');
      }
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((ok) => server.close(ok));
  });

  it('scrapes an exporter over HTTP', async () => {
    const c = new DcgmCollector({ url: `${base}/metrics`, timeoutMs: 2000, now: () => AT });
    const samples = await c.collect(AbortSignal.timeout(5000));
    expect(samples.map((s) => [s.host, s.gpu, s.utilization])).toEqual([
      ['gpu-node-1', '0', 0.97],
      ['gpu-node-1', '1', 0],
    ]);
  });

  it('fails on an HTTP error status', async () => {
    const c = new DcgmCollector({ url: `${base}/nope`, timeoutMs: 2000 });
    await expect(c.collect(AbortSignal.timeout(5000))).rejects.toThrow(/HTTP 500/);
  });

  it('gives up on an exporter that never answers when the signal aborts', async () => {
    const c = new DcgmCollector({ url: `${base}/hang`, timeoutMs: 60_000 });
    const t0 = Date.now();
    await expect(c.collect(AbortSignal.timeout(200))).rejects.toBeTruthy();
    expect(Date.now() - t0).toBeLessThan(2000);
  });
});
