// A simulated NVIDIA dcgm-exporter: `GET /metrics` answers the Prometheus text a real dcgm-exporter serves (port 9400)
// for a host of H100s running a self-hosted model, so llmscope's DCGM collector (src/gpu/dcgm.ts) and the GPU page
// have GPUs to show without hardware. Utilization follows a load callback (the demo passes the self-hosted model's
// share of its expected request rate); memory stays near what vLLM preallocates; temperature and power follow the
// utilization, with a little seeded noise per GPU.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hash32, mulberry32 } from './text.js';

export interface DcgmExporterOptions {
  /** Port to listen on; 0 (default) picks a free one. */
  port?: number;
  host?: string;
  /** The `Hostname` label (default `gpu-node-1`). */
  hostname?: string;
  /** GPUs on the host (default 4). */
  gpus?: number;
  /** `modelName` label (default `NVIDIA H100 80GB HBM3`). */
  modelName?: string;
  /** Framebuffer size per GPU in MiB (default 81559, an H100 80GB). */
  memoryMiB?: number;
  /** Load of the served model at this moment: 0 idle, 1 the expected load, above 1 busier. Default: 1. */
  load?: () => number;
  seed?: number;
}

export interface DcgmExporter {
  /** The scrape URL, e.g. `http://127.0.0.1:9400/metrics`. */
  url: string;
  port: number;
  /** The page as a scrape now would get it. */
  page(): string;
  close(): Promise<void>;
}

interface GpuState {
  index: number;
  uuid: string;
  busId: string;
  /** This GPU's share of the load relative to the others (tensor-parallel shards are close, not equal). */
  weight: number;
  energyMj: number;
  lastAt: number;
}

const FIELDS: readonly [string, 'gauge' | 'counter', string][] = [
  ['DCGM_FI_DEV_SM_CLOCK', 'gauge', 'SM clock frequency (in MHz).'],
  ['DCGM_FI_DEV_MEM_CLOCK', 'gauge', 'Memory clock frequency (in MHz).'],
  ['DCGM_FI_DEV_MEMORY_TEMP', 'gauge', 'Memory temperature (in C).'],
  ['DCGM_FI_DEV_GPU_TEMP', 'gauge', 'GPU temperature (in C).'],
  ['DCGM_FI_DEV_POWER_USAGE', 'gauge', 'Power draw (in W).'],
  ['DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION', 'counter', 'Total energy consumption since boot (in mJ).'],
  ['DCGM_FI_DEV_PCIE_REPLAY_COUNTER', 'counter', 'Total number of PCIe retries.'],
  ['DCGM_FI_DEV_GPU_UTIL', 'gauge', 'GPU utilization (in %).'],
  ['DCGM_FI_DEV_MEM_COPY_UTIL', 'gauge', 'Memory utilization (in %).'],
  ['DCGM_FI_DEV_FB_FREE', 'gauge', 'Framebuffer memory free (in MiB).'],
  ['DCGM_FI_DEV_FB_USED', 'gauge', 'Framebuffer memory used (in MiB).'],
  ['DCGM_FI_DEV_FB_RESERVED', 'gauge', 'Framebuffer memory reserved (in MiB).'],
  ['DCGM_FI_PROF_GR_ENGINE_ACTIVE', 'gauge', 'Ratio of time the graphics engine is active.'],
];

/**
 * Utilization (0..1) of a GPU serving an LLM at `load` (1 = expected): a continuously batching server keeps its GPUs
 * busy, so utilization climbs fast with load and saturates (0.93 at the expected load, 0 when idle).
 */
export function utilizationAt(load: number): number {
  if (!(load > 0)) return 0;
  return Math.min(0.99, 1 - Math.exp(-2.7 * load));
}

export function renderDcgmPage(
  gpus: readonly GpuState[],
  o: { hostname: string; modelName: string; memoryMiB: number; load: number; noise: () => number; now: number },
): string {
  const rows = new Map<string, string[]>();
  for (const [name] of FIELDS) rows.set(name, []);
  const base = utilizationAt(o.load);
  for (const g of gpus) {
    const util = base === 0 ? 0 : Math.min(1, Math.max(0, base * g.weight + (o.noise() - 0.5) * 0.04));
    const power = 70 + 620 * util;
    const dt = Math.max(0, o.now - g.lastAt);
    g.energyMj += power * dt; // W × ms = mJ
    g.lastAt = o.now;
    const used = Math.round(o.memoryMiB * 0.9 - 40 + o.noise() * 80); // vLLM's gpu_memory_utilization=0.9
    const reserved = 512;
    const labels =
      `gpu="${g.index}",UUID="${g.uuid}",pci_bus_id="${g.busId}",device="nvidia${g.index}",` +
      `modelName="${o.modelName}",Hostname="${o.hostname}",DCGM_FI_DRIVER_VERSION="550.90.07",` +
      `container="vllm",namespace="inference",pod="vllm-llama-3-1-8b-6f7c9d8b4-q2x7m"`;
    const put = (name: string, value: string) => rows.get(name)!.push(`${name}{${labels}} ${value}`);
    put('DCGM_FI_DEV_SM_CLOCK', String(util > 0.05 ? 1980 : 345));
    put('DCGM_FI_DEV_MEM_CLOCK', '2619');
    put('DCGM_FI_DEV_MEMORY_TEMP', String(Math.round(34 + 26 * util)));
    put('DCGM_FI_DEV_GPU_TEMP', String(Math.round(31 + 36 * util + o.noise() * 2)));
    put('DCGM_FI_DEV_POWER_USAGE', power.toFixed(6));
    put('DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION', String(Math.round(g.energyMj)));
    put('DCGM_FI_DEV_PCIE_REPLAY_COUNTER', '0');
    put('DCGM_FI_DEV_GPU_UTIL', String(Math.round(util * 100)));
    put('DCGM_FI_DEV_MEM_COPY_UTIL', String(Math.round(util * 55)));
    put('DCGM_FI_DEV_FB_FREE', String(o.memoryMiB - used - reserved));
    put('DCGM_FI_DEV_FB_USED', String(used));
    put('DCGM_FI_DEV_FB_RESERVED', String(reserved));
    put('DCGM_FI_PROF_GR_ENGINE_ACTIVE', (util * 0.97).toFixed(6));
  }
  let out = '';
  for (const [name, type, help] of FIELDS) {
    out += `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n`;
    for (const line of rows.get(name)!) out += `${line}\n`;
  }
  return out;
}

/** Starts the exporter; rejects when the port is taken. */
export async function startDcgmExporter(opts: DcgmExporterOptions = {}): Promise<DcgmExporter> {
  const count = opts.gpus ?? 4;
  if (!(Number.isInteger(count) && count >= 1 && count <= 64)) {
    throw new RangeError(`gpus must be an integer from 1 to 64, got ${count}`);
  }
  const seed = opts.seed ?? 7;
  const noise = mulberry32(hash32(seed, 'dcgm-noise'));
  const idRng = mulberry32(hash32(seed, 'dcgm-ids'));
  const hex = (n: number) => Array.from({ length: n }, () => Math.floor(idRng() * 16).toString(16)).join('');
  const now = Date.now();
  const gpus: GpuState[] = Array.from({ length: count }, (_, i) => ({
    index: i,
    uuid: `GPU-${hex(8)}-${hex(4)}-${hex(4)}-${hex(4)}-${hex(12)}`,
    busId: `00000000:${(0x18 + i * 0x12).toString(16).toUpperCase().padStart(2, '0')}:00.0`,
    weight: 1.02 - i * 0.01,
    energyMj: 5e9 + i * 1e8,
    lastAt: now,
  }));
  const page = () =>
    renderDcgmPage(gpus, {
      hostname: opts.hostname ?? 'gpu-node-1',
      modelName: opts.modelName ?? 'NVIDIA H100 80GB HBM3',
      memoryMiB: opts.memoryMiB ?? 81559,
      load: Math.max(0, opts.load?.() ?? 1),
      noise,
      now: Date.now(),
    });
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found\n');
      return;
    }
    const text = page();
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(text);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = opts.host ?? '127.0.0.1';
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}/metrics`,
    port,
    page,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
