// The DCGM exporter collector: scrapes NVIDIA dcgm-exporter pages (Prometheus text, port 9400) on other hosts.
import { request } from 'undici';
import { parsePromText } from './prom-text.js';
import { type GpuCollector, type GpuSample, GpuUnavailableError, MIB } from './types.js';

/** Largest page read from an exporter (8 GPUs with MIG and every field stay well under 1 MiB). */
const MAX_PAGE = 8 * 1024 * 1024;

interface Acc {
  sample: GpuSample;
  util: number | null;
  engineActive: number | null;
  used: number | null;
  free: number | null;
  reserved: number | null;
  total: number | null;
}

/**
 * GPU samples from a DCGM exporter page: `DCGM_FI_DEV_GPU_UTIL` (%) → utilization (MIG instances, which lack it,
 * fall back to `DCGM_FI_PROF_GR_ENGINE_ACTIVE`, a ratio); `DCGM_FI_DEV_FB_USED`/`_FREE`/`_RESERVED` (MiB) → used and
 * total bytes; `DCGM_FI_DEV_GPU_TEMP` (°C); `DCGM_FI_DEV_POWER_USAGE` (W). A GPU is keyed by `Hostname` + `gpu`
 * (+ `GPU_I_ID` for a MIG instance). `host` overrides the `Hostname` label; `fallbackHost` is used when it is absent.
 */
export function parseDcgm(text: string, opts: { host?: string; fallbackHost: string; at: number }): GpuSample[] {
  const { samples } = parsePromText(text);
  const byGpu = new Map<string, Acc>();
  let sawDcgm = false;
  for (const s of samples) {
    if (!s.name.startsWith('DCGM_FI_')) continue;
    sawDcgm = true;
    const l = s.labels;
    if (l.gpu === undefined) continue;
    const host = opts.host ?? (l.Hostname || opts.fallbackHost);
    const gpu = l.GPU_I_ID ? `${l.gpu}:${l.GPU_I_ID}` : l.gpu;
    const key = `${host}\u0000${gpu}`;
    let a = byGpu.get(key);
    if (!a) {
      a = {
        sample: {
          host,
          gpu,
          uuid: l.UUID || null,
          name: l.modelName || null,
          utilization: null,
          memoryUsedBytes: null,
          memoryTotalBytes: null,
          temperatureC: null,
          powerW: null,
          at: opts.at,
        },
        util: null,
        engineActive: null,
        used: null,
        free: null,
        reserved: null,
        total: null,
      };
      byGpu.set(key, a);
    }
    const v = Number.isFinite(s.value) ? s.value : null;
    switch (s.name) {
      case 'DCGM_FI_DEV_GPU_UTIL':
        a.util ??= v;
        break;
      case 'DCGM_FI_PROF_GR_ENGINE_ACTIVE':
        a.engineActive ??= v;
        break;
      case 'DCGM_FI_DEV_FB_USED':
        a.used ??= v;
        break;
      case 'DCGM_FI_DEV_FB_FREE':
        a.free ??= v;
        break;
      case 'DCGM_FI_DEV_FB_RESERVED':
        a.reserved ??= v;
        break;
      case 'DCGM_FI_DEV_FB_TOTAL':
        a.total ??= v;
        break;
      case 'DCGM_FI_DEV_GPU_TEMP':
        a.sample.temperatureC ??= v;
        break;
      case 'DCGM_FI_DEV_POWER_USAGE':
        a.sample.powerW ??= v;
        break;
    }
  }
  if (!sawDcgm) throw new Error('the page has no DCGM_FI_* metrics; is the URL a dcgm-exporter /metrics endpoint?');
  const out: GpuSample[] = [];
  for (const a of byGpu.values()) {
    const s = a.sample;
    if (a.util !== null) s.utilization = Math.min(1, Math.max(0, a.util / 100));
    else if (a.engineActive !== null) s.utilization = Math.min(1, Math.max(0, a.engineActive));
    if (a.used !== null) s.memoryUsedBytes = a.used * MIB;
    const total = a.total ?? (a.used !== null && a.free !== null ? a.used + a.free + (a.reserved ?? 0) : null);
    if (total !== null) s.memoryTotalBytes = total * MIB;
    out.push(s);
  }
  if (out.length === 0) throw new GpuUnavailableError('the DCGM exporter reports no GPU');
  out.sort((x, y) => x.host.localeCompare(y.host) || x.gpu.localeCompare(y.gpu, 'en', { numeric: true }));
  return out;
}

export interface DcgmOptions {
  url: string;
  /** Host name to report instead of the exporter's `Hostname` label. */
  host?: string;
  /** Per-request timeout in ms (the poller's abort applies too). */
  timeoutMs: number;
  now?: () => number;
}

export class DcgmCollector implements GpuCollector {
  readonly kind = 'dcgm' as const;
  readonly source: string;
  private readonly now: () => number;

  constructor(private readonly opts: DcgmOptions) {
    this.source = opts.url;
    this.now = opts.now ?? Date.now;
  }

  async collect(signal: AbortSignal): Promise<GpuSample[]> {
    const url = new URL(this.opts.url);
    const res = await request(url, {
      method: 'GET',
      signal,
      headers: { accept: 'text/plain;version=0.0.4' },
      headersTimeout: this.opts.timeoutMs,
      bodyTimeout: this.opts.timeoutMs,
    });
    if (res.statusCode !== 200) {
      await res.body.dump().catch(() => undefined);
      throw new Error(`${this.opts.url} answered HTTP ${res.statusCode}`);
    }
    let size = 0;
    const chunks: Buffer[] = [];
    for await (const c of res.body) {
      size += (c as Buffer).length;
      if (size > MAX_PAGE) {
        res.body.destroy();
        throw new Error(`${this.opts.url} sent more than ${MAX_PAGE} bytes`);
      }
      chunks.push(c as Buffer);
    }
    const text = Buffer.concat(chunks).toString('utf8');
    return parseDcgm(text, { host: this.opts.host, fallbackHost: url.hostname, at: this.now() });
  }
}
