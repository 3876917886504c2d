// The gpu capability: builds the collectors from config, polls them, exports gauges, keeps samples with rollups,
// serves GET /api/gpu, and feeds the GPU alert signals. Plugs in through `createGpuModule: ModuleFactory`.
//
// Samples are kept in the app's database (storage/: SQLite, or PostgreSQL shared by the replicas). On PostgreSQL
// every replica polls its collectors (its own gauges, and the live readings its GET /api/gpu shows) but only one,
// elected with `backend.leader({ name: 'gpu' })`, writes samples and runs their retention: replicas polling the same
// DCGM exporters would otherwise store each GPU-second once per replica, and the GPU cost figures would grow with
// the replica count. So on PostgreSQL the GPUs whose history is kept are those the elected replica can read: list
// the DCGM exporters (gpu.dcgmUrls) on every replica rather than rely on nvidia-smi on each replica's own host.
import { hostname as osHostname } from 'node:os';
import type { AppContext, Module, ModuleFactory } from '../app-context.js';
import type { LeaderElector } from '../store/index.js';
import { durationMs, HOUR_MS } from '../time.js';
import { registerGpuRoutes } from './api.js';
import { type GpuConfig, gpuConfigSchema } from './config.js';
import { DcgmCollector } from './dcgm.js';
import { GpuMetrics } from './metrics.js';
import { NvidiaSmiCollector } from './nvidia-smi.js';
import { Poller, type PollOutcome } from './poller.js';
import { gpuSignalSource } from './signals.js';
import { GpuState } from './state.js';
import { type GpuStore, gpuStoreFor, MemoryGpuStore } from './storage/index.js';
import type { GpuCollector, GpuSample } from './types.js';

export interface GpuModule extends Module {
  readonly state: GpuState;
  readonly gpuStore: GpuStore;
  readonly metrics: GpuMetrics;
  readonly collectors: readonly GpuCollector[];
  /** Polls every collector once now (a poll already running is not doubled); resolves when they have settled. */
  pollAll(): Promise<void>;
  /** On PostgreSQL (with collectors): the election of the one replica that writes samples. */
  readonly leadership?: LeaderElector;
}

export interface GpuModuleOptions {
  /** Collectors to use instead of the ones `gpu` config describes. */
  collectors?: GpuCollector[];
  /** Sample storage to use instead of the app store's database (or memory). */
  gpuStore?: GpuStore;
}

/** The collectors `gpu` config asks for, and why there are none when there are none. */
export function collectorsFromConfig(
  gpu: GpuConfig,
  opts: { host: string; now: () => number },
): { collectors: GpuCollector[]; disabledReason?: string } {
  if (gpu.collector === 'none')
    return { collectors: [], disabledReason: 'GPU collection is off (gpu.collector: none)' };
  const timeoutMs = durationMs(gpu.timeout);
  const collectors: GpuCollector[] = [];
  if (gpu.collector === 'auto' || gpu.collector === 'nvidia-smi')
    collectors.push(new NvidiaSmiCollector({ path: gpu.nvidiaSmiPath, host: opts.host, now: opts.now }));
  if (gpu.collector === 'auto' || gpu.collector === 'dcgm')
    for (const t of gpu.dcgmUrls) {
      const target = typeof t === 'string' ? { url: t } : t;
      collectors.push(new DcgmCollector({ url: target.url, host: target.host, timeoutMs, now: opts.now }));
    }
  if (collectors.length === 0) return { collectors, disabledReason: 'gpu.collector is dcgm but gpu.dcgmUrls is empty' };
  return { collectors };
}

async function storeFor(ctx: AppContext): Promise<GpuStore> {
  try {
    return await gpuStoreFor(ctx.store.backend);
  } catch (err) {
    ctx.logger.warn(
      { event: 'gpu_store_fallback', err: (err as Error).message },
      'cannot keep GPU samples in the database; keeping them in memory',
    );
    return new MemoryGpuStore();
  }
}

export async function buildGpuModule(ctx: AppContext, opts: GpuModuleOptions = {}): Promise<GpuModule> {
  // The config section is parsed here too, so the module works whether or not the app's schema validated it.
  const gpu = gpuConfigSchema.parse(ctx.config.gpu ?? {});
  const now = () => ctx.clock.now();
  const intervalMs = durationMs(gpu.interval);
  const timeoutMs = durationMs(gpu.timeout);
  const built = opts.collectors
    ? {
        collectors: opts.collectors,
        disabledReason: opts.collectors.length ? undefined : 'no GPU collector configured',
      }
    : collectorsFromConfig(gpu, { host: gpu.hostname ?? osHostname(), now });
  const state = new GpuState({
    logger: ctx.logger,
    staleAfterMs: Math.max(3 * intervalMs, intervalMs + timeoutMs),
    now,
    disabledReason: built.disabledReason,
  });
  const gpuStore = opts.gpuStore ?? (await storeFor(ctx));
  const backend = ctx.store.backend;
  // Shared samples have one writer among the replicas (see the top of this file).
  const elector =
    backend.kind === 'postgres' && gpuStore.kind === 'postgres' && built.collectors.length > 0
      ? backend.leader({
          name: 'gpu',
          intervalMs: Math.max(1000, Math.min(intervalMs, 5000)),
          onChange: (leader) =>
            ctx.logger.info(
              { event: 'gpu_leadership', leader },
              leader ? 'elected to store GPU samples' : 'no longer storing GPU samples',
            ),
          onError: (err) =>
            ctx.logger.warn(
              { event: 'gpu_leader_connection_failed', err: err.message },
              'GPU sample leader election: connection failed',
            ),
        })
      : null;
  // The election starts with the first poll that read GPUs: a replica on a host without any (nvidia-smi finding no
  // driver, no exporter configured) holds no extra connection and takes no lock.
  let electing: Promise<void> | null = null;
  let stopped = false;
  const writer = async (): Promise<boolean> => {
    if (elector === null) return true;
    if (stopped) return false;
    electing ??= elector.start(); // resolves after the first try: the first samples are stored by the leader
    await electing;
    return elector.isLeader();
  };
  const metrics = new GpuMetrics(
    ctx.registry,
    ctx.metrics.guard,
    () => state.latest(),
    () => state.unreadable(),
    () => state.health(),
  );

  if (built.disabledReason && built.collectors.length === 0)
    ctx.logger.info(
      { event: 'gpu_disabled', reason: built.disabledReason },
      `GPU metrics off: ${built.disabledReason}`,
    );

  let lastStoreWarn = 0;
  const duplicateSaid = new Set<string>();
  const onOutcome = (polled: PollOutcome, c: GpuCollector): void => {
    metrics.pollDuration.observe({ collector: c.kind }, polled.durationMs / 1000);
    const o = state.update(c.kind, c.source, polled);
    if (o.kind === 'error') metrics.errors.inc({ collector: c.kind });
    if (o.kind !== 'ok') return;
    // A GPU another collector already reads (same host and index) is stored once, from that collector: stored from
    // both, each GPU-second would count twice in GPU-hours and cost.
    const kept = new Set(state.latest());
    const samples = o.samples.filter((s) => kept.has(s));
    if (samples.length < o.samples.length && !duplicateSaid.has(c.source)) {
      duplicateSaid.add(c.source);
      const d = o.samples.find((s) => !kept.has(s)) as GpuSample;
      ctx.logger.info(
        { event: 'gpu_read_twice', collector: c.kind, source: c.source, host: d.host, gpu: d.gpu },
        `GPU ${d.host}/${d.gpu} (and ${o.samples.length - samples.length - 1} more) read by ${c.kind} ${c.source} is also read by another GPU collector: counted once, from the first in config order`,
      );
    }
    if (samples.length > 0)
      void writer()
        // each sample stands for the ticks its poll covered: one, or more when the poll outlasted the interval
        .then((w) =>
          w
            ? gpuStore.insertSamples(samples, intervalMs * ((polled.kind === 'ok' && polled.intervals) || 1))
            : undefined,
        )
        .catch((err) => {
          const t = Date.now();
          if (t - lastStoreWarn < 600_000) return;
          lastStoreWarn = t;
          ctx.logger.warn({ event: 'gpu_store_failed', err: (err as Error).message }, 'storing GPU samples failed');
        });
  };
  const pollers = built.collectors.map((collector) => {
    state.register(collector.kind, collector.source);
    metrics.errors.inc({ collector: collector.kind }, 0);
    return new Poller({
      collector,
      intervalMs,
      timeoutMs,
      onOutcome,
      onSkip: (c) => metrics.skipped.inc({ collector: c.kind }),
    });
  });

  registerGpuRoutes(ctx.api, {
    config: gpu,
    state,
    gpuStore,
    store: ctx.store,
    now,
    priceRules: ctx.config.pricing?.models ?? [],
    signals: ctx.signals,
    onTokensError: (err) =>
      ctx.logger.debug(
        { event: 'gpu_tokens_unavailable', err: (err as Error)?.message },
        'no token rollups for GPU efficiency',
      ),
  });

  // The gpu_utilization and gpu_memory alert rules read the GPU rollups through this source.
  ctx.signals.register(gpuSignalSource(gpuStore, gpu.hosts));

  let retentionTimer: NodeJS.Timeout | undefined;
  const retain = async (): Promise<void> => {
    // only the replica that stores samples prunes them (one that never read a GPU has nothing to prune)
    if (elector !== null && !elector.isLeader()) return;
    const t = now();
    try {
      await gpuStore.applyRetention({
        rawBefore: t - durationMs(gpu.retention.raw),
        minuteBefore: t - durationMs(gpu.retention.minute),
      });
    } catch (err) {
      ctx.logger.warn({ event: 'gpu_retention_failed', err: (err as Error).message }, 'GPU sample retention failed');
    }
  };

  return {
    name: 'gpu',
    state,
    gpuStore,
    metrics,
    collectors: built.collectors,
    ...(elector ? { leadership: elector } : {}),
    async start() {
      for (const p of pollers) p.start();
      if (pollers.length) {
        retentionTimer = setInterval(() => void retain(), HOUR_MS);
        retentionTimer.unref();
        void retain();
      }
    },
    async stop() {
      clearInterval(retentionTimer);
      await Promise.all(pollers.map((p) => p.stop()));
      // after the last poll: the lock goes with the connection, and another replica takes over
      stopped = true;
      await electing?.catch(() => {});
      if (electing) await elector?.stop();
    },
    async pollAll() {
      await Promise.all(pollers.map((p) => p.poll()));
    },
  };
}

export const createGpuModule: ModuleFactory = (ctx) => buildGpuModule(ctx);
