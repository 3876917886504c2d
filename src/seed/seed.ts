// Fills a store with seeded history through the Store's own batch insert (so raw calls and both rollups are
// exactly what the gateway would have written), plus the cost module's spend aggregates in the same database (SQLite
// or PostgreSQL) and, on SQLite, the overview's compacted series.
import { OverviewSeries } from '../api/overview/index.js';
import type { LlmCall } from '../calls/index.js';
import { deltasOf, type SpendDelta, type SpendStore, spendStoreFor } from '../cost/storage/index.js';
import type { Store } from '../store/store.js';
import { DAY_MS } from '../time.js';
import { type SeedPlan, seedCalls } from './generate.js';

export interface SeedOptions extends SeedPlan {
  /** Calls per insert transaction. */
  batch?: number;
  /** Days before `end` whose calls get trace spans (default 1; 0 for none; see CallOptions.spansFrom). */
  spanDays?: number;
  /** Per-minute spend is kept this long by the cost module (default 2 days); older spend is written per day. */
  spendMinuteMs?: number;
  /** Retention applied at the end, as a running server would have (default: the config defaults 30d / 7d / 400d). */
  retentionMs?: { raw: number; minute: number; hour: number };
  onProgress?: (done: number, total: number) => void;
}

export interface SeedResult {
  calls: number;
  seconds: number;
  from: number;
  to: number;
}

/** Per-minute spend deltas for recent calls; for older ones, one delta per day (the minute rows are pruned anyway). */
function spendDeltas(calls: readonly LlmCall[], minuteFrom: number): SpendDelta[] {
  const deltas = deltasOf(calls, () => false);
  const out = new Map<string, SpendDelta>();
  for (const d of deltas) {
    if (d.minute >= minuteFrom) {
      out.set(`${d.minute}\u0000${d.dimension}\u0000${d.value}`, d);
      continue;
    }
    const day = Math.floor(d.minute / DAY_MS) * DAY_MS;
    const k = `${day}\u0000${d.dimension}\u0000${d.value}`;
    const e = out.get(k);
    if (!e) out.set(k, { ...d, minute: day });
    else {
      e.costUsd += d.costUsd;
      e.requests += d.requests;
      e.unpriced += d.unpriced;
      e.inputTokens += d.inputTokens;
      e.outputTokens += d.outputTokens;
      e.cachedInputTokens += d.cachedInputTokens;
      e.bytes += d.bytes;
      e.cacheWriteInputTokens += d.cacheWriteInputTokens;
      e.reasoningTokens += d.reasoningTokens;
      e.toolCostUsd += d.toolCostUsd;
    }
  }
  return [...out.values()];
}

/** Seeds `store` (already migrated). On SQLite, durability is relaxed for the run (a crash loses only the seed). */
export async function seedStore(store: Store, opts: SeedOptions): Promise<SeedResult> {
  const t0 = performance.now();
  const batch = opts.batch ?? 5000;
  const spanDays = opts.spanDays ?? 1;
  const sqlite = store.backend.kind === 'sqlite' ? store.backend : null;
  // the cost module's spend store in the same database, as the cost module picks it
  const spend: SpendStore = await spendStoreFor(store.backend);
  const minuteFrom = opts.end - (opts.spendMinuteMs ?? 2 * DAY_MS);
  if (sqlite) {
    sqlite.db.pragma('synchronous = OFF');
    sqlite.db.pragma('cache_size = -262144');
  }
  let done = 0;
  let first = Number.POSITIVE_INFINITY;
  let last = 0;
  try {
    for (const calls of seedCalls(opts, batch, { spansFrom: spanDays > 0 ? opts.end - spanDays * DAY_MS : null })) {
      await store.insertCalls(calls);
      await spend.apply(spendDeltas(calls, minuteFrom));
      done += calls.length;
      first = Math.min(first, (calls[0] as LlmCall).startedAt);
      last = Math.max(last, (calls[calls.length - 1] as LlmCall).startedAt);
      opts.onProgress?.(done, opts.calls);
    }
    await spend.pruneMinutes(minuteFrom);
    const keep = opts.retentionMs ?? { raw: 30 * DAY_MS, minute: 7 * DAY_MS, hour: 400 * DAY_MS };
    await store.applyRetention({
      rawBefore: opts.end - keep.raw,
      minuteBefore: opts.end - keep.minute,
      hourBefore: opts.end - keep.hour,
    });
    if (sqlite) {
      // Compact the overview's series now, as a running server would have done over time (api/overview.ts).
      const overview = new OverviewSeries({ backend: sqlite }, () => opts.end);
      await overview.ensure('minute', opts.end - 2 * DAY_MS, opts.end);
      await overview.ensure('hour', opts.end - opts.days * DAY_MS, opts.end);
    }
  } finally {
    if (sqlite) {
      sqlite.db.pragma('synchronous = NORMAL');
      sqlite.db.pragma('wal_checkpoint(TRUNCATE)');
    }
  }
  return { calls: done, seconds: (performance.now() - t0) / 1000, from: first, to: last };
}
