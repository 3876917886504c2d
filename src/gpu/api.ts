// GET /api/gpu?from&to[&step]: live GPUs, their per-minute (or per-hour) history, self-hosted cost per 1K output
// tokens beside API spend, and the low-utilization / high-memory signals.
import { z } from 'zod';
import { LlmscopeError } from '../errors.js';
import { parseQuery, type Router, sendJson } from '../http/index.js';
import type { SignalRegistry } from '../signals/index.js';
import type { Store } from '../store/store.js';
import { HOUR_MS, timeParamSchema } from '../time.js';
import type { GpuBody } from '../wire/index.js';
import type { GpuConfig } from './config.js';
import { computeEfficiency, gpuSignals, type ModelTokens, type PriceRule } from './efficiency.js';
import type { GpuState } from './state.js';
import type { GpuStore } from './storage/index.js';

const time = timeParamSchema;

const querySchema = z.object({
  from: time.optional(),
  to: time.optional(),
  step: z.enum(['minute', 'hour', 'auto']).default('auto'),
});

export interface GpuQuery {
  from: number;
  to: number;
  step: 'minute' | 'hour';
}

export function parseGpuQuery(url: URL, now: number): GpuQuery {
  const q = parseQuery(querySchema, url);
  const to = q.to ?? now;
  const from = q.from ?? to - 24 * HOUR_MS;
  if (from >= to)
    throw new LlmscopeError('LLMSCOPE_ERR_INVALID_QUERY', '"from" must be before "to"', { param: 'from' });
  const step = q.step === 'auto' ? (to - from <= 2 * 24 * HOUR_MS ? 'minute' : 'hour') : q.step;
  return { from, to, step };
}

export interface GpuApiDeps {
  config: GpuConfig;
  state: GpuState;
  gpuStore: GpuStore;
  store: Store;
  now: () => number;
  /** Called when the ledger's rollups cannot be read (efficiency is then computed without tokens). */
  onTokensError?: (err: unknown) => void;
  /** `pricing.models` (those priced by GPU-hours are self-hosted models whose GPUs cost their time). */
  priceRules?: readonly PriceRule[];
  /** The app's signals: `unpriced_calls` (when the cost capability is in) marks models whose cost is unknown. */
  signals?: Pick<SignalRegistry, 'has' | 'query'>;
}

/** The answer's shape is declared once, in src/wire/gpu.ts (the dashboard reads the same type). */
export type GpuApiBody = GpuBody;

const r4 = (v: number | null): number | null => (v === null ? null : Math.round(v * 10_000) / 10_000);

/** Output tokens and spend per provider/model over the window, from the ledger's rollups. */
async function modelTokens(store: Store, q: GpuQuery): Promise<ModelTokens[]> {
  const points = await store.queryRollups({ from: q.from, to: q.to, step: q.step, groupBy: ['provider', 'model'] });
  return points.map((p) => ({
    provider: p.group.provider ?? null,
    model: p.group.model ?? null,
    outputTokens: p.outputTokens,
    costUsd: p.costUsd,
  }));
}

/**
 * The provider/model pairs with unpriced calls in the window, from the `unpriced_calls` signal (the cost capability
 * registers it, read from its spend aggregates by day); none without it or when it cannot be read.
 */
async function unpricedModels(deps: GpuApiDeps, q: GpuQuery): Promise<Set<string>> {
  const out = new Set<string>();
  const signals = deps.signals;
  if (!signals?.has('unpriced_calls')) return out;
  try {
    const samples = await signals.query({
      signal: 'unpriced_calls',
      now: q.to,
      windowMs: q.to - q.from,
      filter: {},
      groupBy: ['provider', 'model'],
    });
    for (const s of samples) if (s.value > 0) out.add(`${s.labels.provider ?? ''}\u0000${s.labels.model ?? ''}`);
  } catch (err) {
    deps.onTokensError?.(err);
  }
  return out;
}

export async function gpuReport(deps: GpuApiDeps, q: GpuQuery): Promise<GpuApiBody> {
  const { config, state, gpuStore } = deps;
  const latest = state.latest();
  const [series, usage, tokens, unpriced] = await Promise.all([
    gpuStore.querySeries(q),
    gpuStore.usage(q),
    modelTokens(deps.store, q).catch((err) => {
      deps.onTokensError?.(err);
      return [] as ModelTokens[];
    }),
    unpricedModels(deps, q),
  ]);
  const availability = state.availability();
  return {
    available: availability.available,
    ...(availability.reason ? { reason: availability.reason } : {}),
    collector: config.collector,
    collectors: state.states().map((s) => ({
      kind: s.kind,
      source: s.source,
      status: s.status,
      reason: s.reason,
      last_ok_at: s.lastOkAt === null ? null : new Date(s.lastOkAt).toISOString(),
    })),
    from: new Date(q.from).toISOString(),
    to: new Date(q.to).toISOString(),
    step: q.step,
    gpus: latest.map((s) => ({
      host: s.host,
      gpu: s.gpu,
      uuid: s.uuid,
      name: s.name,
      utilization: s.utilization,
      memory_used_bytes: s.memoryUsedBytes,
      memory_total_bytes: s.memoryTotalBytes,
      temperature_c: s.temperatureC,
      power_w: s.powerW,
      updated_at: new Date(s.at).toISOString(),
    })),
    series: series.map((s) => ({
      host: s.host,
      gpu: s.gpu,
      name: s.name,
      points: s.points.map((p) => ({
        t: p.t,
        utilization_avg: r4(p.utilizationAvg),
        utilization_max: r4(p.utilizationMax),
        memory_used_avg: p.memoryUsedAvg === null ? null : Math.round(p.memoryUsedAvg),
        memory_total: p.memoryTotal,
        samples: p.samples,
      })),
    })),
    efficiency: computeEfficiency({
      usage,
      tokens,
      hosts: config.hosts,
      pricePerGpuHour: config.pricePerGpuHour,
      priceRules: deps.priceRules,
      window: { from: q.from, to: Math.min(q.to, deps.now()) },
      unpriced,
    }),
    signals: gpuSignals({ usage, latest, thresholds: config.thresholds }),
    unseen_hosts: unseenHosts(config.hosts, usage, latest, state.states()),
  };
}

/**
 * The configured hosts (`gpu.hosts[].host`) that no GPU of the window's usage nor of the live readings is on; none
 * while no collector reads (then nothing is seen, and the collectors' own status says why).
 */
function unseenHosts(
  hosts: readonly { host: string }[],
  usage: readonly { host: string }[],
  latest: readonly { host: string }[],
  states: readonly { status: string }[],
): string[] {
  if (hosts.length === 0 || !states.some((s) => s.status === 'ok')) return [];
  const seen = new Set<string>();
  for (const u of usage) seen.add(u.host);
  for (const s of latest) seen.add(s.host);
  return hosts.map((h) => h.host).filter((h) => !seen.has(h));
}

export function registerGpuRoutes(api: Router, deps: GpuApiDeps): void {
  api.get('/api/gpu', async ({ res, url }) => {
    const q = parseGpuQuery(url, deps.now());
    sendJson(res, 200, await gpuReport(deps, q));
  });
}
