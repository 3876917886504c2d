// The gpu module's alert signals, from the per-minute GPU rollups over the rule's window: `gpu_utilization` (average
// utilization 0–1) and `gpu_memory` (average memory used / total), per gpu and host as the exported PromQL computes
// them (the mean of each GPU's average over the window; memory as the sum of averages used over the sum of totals).
import type { SignalSample as Sample, SignalQuery, SignalSource } from '../signals/index.js';
import { MINUTE_MS } from '../time.js';
import type { GpuHostConfig } from './config.js';
import { matchesPattern } from './efficiency.js';
import type { GpuStore, GpuUsage } from './storage/index.js';

/** The signals this source answers. */
export const GPU_SIGNALS = ['gpu_utilization', 'gpu_memory'] as const;

/** Labels a GPU sample carries. */
const GPU_LABELS = ['gpu', 'host', 'name'] as const;

/**
 * A SignalSource over the GPU rollups. A rule filtered by `model` or `provider` reads the hosts `gpu.hosts` says
 * serve them; a filter on another call dimension (feature, team, endpoint) fails with a message (rule health `err`).
 */
export function gpuSignalSource(store: GpuStore, hosts: readonly GpuHostConfig[] = []): SignalSource {
  return {
    name: 'gpu',
    signals: GPU_SIGNALS,
    query: (q) => querySignal(store, hosts, q),
  };
}

async function querySignal(store: GpuStore, hosts: readonly GpuHostConfig[], q: SignalQuery): Promise<Sample[]> {
  if (q.signal !== 'gpu_utilization' && q.signal !== 'gpu_memory')
    throw new Error(`the gpu module has no signal ${q.signal}`);
  const unsupported = Object.entries(q.filter)
    .filter(([k, v]) => v !== undefined && k !== 'model' && k !== 'provider')
    .map(([k]) => k);
  if (unsupported.length > 0)
    throw new Error(`${q.signal} cannot be filtered by ${unsupported.join(', ')}: GPUs are known by host and gpu only`);
  const served = servingHosts(hosts, q.filter.provider, q.filter.model);
  // Whole minutes, as the rollup kinds read them; `to` includes a bucket starting exactly now.
  const from = Math.round((q.now - q.windowMs) / MINUTE_MS) * MINUTE_MS;
  const usage = (await store.usage({ from, to: q.now + 1 })).filter((u) => !served || served.has(u.host));
  const dims = GPU_LABELS.filter((l) => q.groupBy.includes(l));
  const groups = new Map<string, { labels: Record<string, string>; gpus: GpuUsage[] }>();
  for (const u of usage) {
    const labels: Record<string, string> = {};
    for (const d of dims) labels[d] = u[d] ?? '';
    const key = dims.map((d) => labels[d]).join('\u0000');
    const g = groups.get(key);
    if (g) g.gpus.push(u);
    else groups.set(key, { labels, gpus: [u] });
  }
  const out: Sample[] = [];
  for (const g of groups.values()) {
    const value = q.signal === 'gpu_utilization' ? utilizationOf(g.gpus) : memoryOf(g.gpus);
    if (value === null) continue;
    out.push({ labels: g.labels, value, samples: g.gpus.reduce((n, u) => n + u.samples, 0) });
  }
  return out;
}

/**
 * Mean of the GPUs' average utilization; those that report none are left out (the parent of a MIG-partitioned GPU:
 * its instances report it).
 */
function utilizationOf(gpus: readonly GpuUsage[]): number | null {
  const vs = gpus.map((u) => u.utilizationAvg).filter((v): v is number => v !== null);
  return vs.length ? vs.reduce((a, b) => a + b, 0) / vs.length : null;
}

/** Average memory used over total memory, across the GPUs that report both. */
function memoryOf(gpus: readonly GpuUsage[]): number | null {
  let used = 0;
  let total = 0;
  for (const u of gpus) {
    if (u.memoryUsedAvg === null || !u.memoryTotal) continue;
    used += u.memoryUsedAvg;
    total += u.memoryTotal;
  }
  return total > 0 ? used / total : null;
}

/** Hosts configured to serve the filter's provider/model; null when the filter names neither (every host). */
function servingHosts(
  hosts: readonly GpuHostConfig[],
  provider: string | undefined,
  model: string | undefined,
): Set<string> | null {
  if (provider === undefined && model === undefined) return null;
  const out = new Set<string>();
  for (const h of hosts) {
    if (h.providers.length === 0 && h.models.length === 0) continue;
    if (provider !== undefined && h.providers.length > 0 && !h.providers.includes(provider)) continue;
    if (model !== undefined && h.models.length > 0 && !h.models.some((p) => matchesPattern(p, model))) continue;
    out.add(h.host);
  }
  return out;
}
