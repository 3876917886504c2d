// GPU samples on PostgreSQL, end to end: two replicas (two assembled apps on one database) poll the same GPUs, as
// they would the same DCGM exporters; a third on a host without GPUs takes no part in the election. Only the elected replica stores samples, so the shared history counts each
// poll once (not once per replica), and either replica's GET /api/gpu shows it; when the writer stops, the other
// takes over and the history goes on.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type ConfigInput, validateConfig } from '../../src/config/index.js';
import {
  buildGpuModule,
  type GpuCollector,
  type GpuModule,
  type GpuSample,
  GpuUnavailableError,
} from '../../src/gpu/index.js';
import { type App, createApp } from '../../src/server.js';
import { startPostgres, type TestPostgres } from '../pg.js';

let pg: TestPostgres;
let apps: App[] = [];

beforeAll(async () => {
  pg = await startPostgres();
});
afterAll(async () => {
  await pg?.stop();
});
afterEach(async () => {
  for (const a of apps) await a.close().catch(() => {});
  apps = [];
});

/** A collector reading two GPUs of one host, counting its reads. */
function collector(gpus: string[]): GpuCollector & { reads: number } {
  const c = {
    kind: 'dcgm' as const,
    source: 'http://dcgm.test:9400/metrics',
    reads: 0,
    async collect(): Promise<GpuSample[]> {
      c.reads++;
      if (gpus.length === 0) throw new GpuUnavailableError('no GPU on this host');
      return gpus.map((gpu) => ({
        host: 'gpu-node-1',
        gpu,
        uuid: `GPU-${gpu}`,
        name: 'NVIDIA H100 80GB HBM3',
        utilization: 0.5,
        memoryUsedBytes: 1e9,
        memoryTotalBytes: 8e10,
        temperatureC: 50,
        powerW: 300,
        at: Date.now(),
      }));
    },
  };
  return c;
}

async function replica(url: string, gpus = ['0', '1']) {
  const r = validateConfig({
    server: { host: '127.0.0.1', port: 0, shutdownGrace: '2s' },
    storage: { url },
    // polls only when asked (the first at start): the counts below are exact
    gpu: { interval: '1h' },
  } as ConfigInput);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  const c = collector(gpus);
  let gpu: GpuModule | undefined;
  const app = await createApp(r.config, {
    modules: [
      async (ctx) => {
        gpu = await buildGpuModule(ctx, { collectors: [c] });
        return gpu;
      },
    ],
    logDestination: { write() {} },
  });
  apps.push(app);
  const base = await app.listen();
  return { app, base, collector: c, gpu: gpu as GpuModule };
}

async function until(what: string, fn: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const storedSamples = async (url: string): Promise<number> => {
  const schema = new URL(url).searchParams.get('options')?.match(/search_path=([\w]+)/)?.[1];
  const r = await pg.query<{ n: string }>(`SELECT count(*) AS n FROM ${schema ?? 'public'}.gpu_samples`);
  return Number(r.rows[0]?.n);
};

describe('GPU samples shared by replicas on PostgreSQL', () => {
  it('one elected replica stores them; both serve the shared history; the other takes over when it stops', async () => {
    const url = await pg.freshSchemaUrl();
    const a = await replica(url);
    const b = await replica(url);
    // each replica enters the election with its first poll that read GPUs (at start)
    const leaders = () => [a, b].filter((x) => x.gpu.leadership?.isLeader());
    await until('one replica elected', () => leaders().length === 1);
    await new Promise((r) => setTimeout(r, 200));
    expect(leaders()).toHaveLength(1);
    const [leader, follower] = leaders()[0] === a ? [a, b] : [b, a];

    for (let i = 0; i < 3; i++) await Promise.all([a.gpu.pollAll(), b.gpu.pollAll()]);
    // both read their collectors (their gauges and live readings), only the leader's reads were stored
    expect(follower.collector.reads).toBeGreaterThanOrEqual(4);
    await until('the leader samples stored', async () => (await storedSamples(url)) === leader.collector.reads * 2);

    for (const x of [leader, follower]) {
      const body = (await (await fetch(`${x.base}/api/gpu?step=minute`)).json()) as {
        gpus: unknown[];
        series: { gpu: string; points: { samples: number }[] }[];
      };
      expect(body.gpus).toHaveLength(2);
      expect(body.series.map((s) => [s.gpu, s.points.reduce((n, p) => n + p.samples, 0)])).toEqual([
        ['0', leader.collector.reads],
        ['1', leader.collector.reads],
      ]);
    }

    // a replica whose collectors read no GPU holds no election connection
    const bare = await replica(url, []);
    await bare.gpu.pollAll();
    expect(bare.gpu.leadership?.backendPid ?? null).toBeNull();

    const before = await storedSamples(url);
    await leader.app.close();
    await until('the follower elected', () => follower.gpu.leadership?.isLeader() === true);
    await follower.gpu.pollAll();
    await until('the new leader storing', async () => (await storedSamples(url)) === before + 2);
  }, 30_000);
});
