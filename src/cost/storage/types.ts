// Where spend lives: per-minute and daily aggregates by user, team, feature, key, model and provider, plus the
// reconciliation reports and imported cost line items. One interface (SpendStore) with its backends beside it:
// memory.ts, sqlite.ts, postgres.ts; and how a call's figures become the deltas they add (deltasOf).
import type { LlmCall } from '../../calls/index.js';
import { MINUTE_MS as MINUTE } from '../../time.js';

/** `all` has one value (''); `provider_model` is `provider\tmodel`, what reconciliation compares with a bill. */
export const SPEND_DIMENSIONS = [
  'all',
  'user',
  'team',
  'feature',
  'key',
  'model',
  'provider',
  'provider_model',
] as const;
export type SpendDimension = (typeof SPEND_DIMENSIONS)[number];
/** The dimensions users group by (`all` and `provider_model` are internal). */
export const GROUP_DIMENSIONS = ['user', 'team', 'feature', 'key', 'model', 'provider'] as const;
export type GroupDimension = (typeof GROUP_DIMENSIONS)[number];

export interface SpendFigures {
  costUsd: number;
  requests: number;
  /** Calls whose model had no price (their cost is unknown, not 0). */
  unpriced: number;
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
  /** Request + response bytes through the gateway (egress). */
  bytes: number;
  /** Prompt tokens written to the provider's prompt cache (the calls' `cache_write_input_tokens`). */
  cacheWriteInputTokens: number;
  /** The reasoning part of `outputTokens` (the calls' `reasoning_tokens`). */
  reasoningTokens: number;
  /**
   * The part of `costUsd` charged for built-in tool uses (web search, file search: the calls' priced `price.tools`,
   * decision 163); 0 for spend summed before the figure was kept (cost.spend version 3). NaN where unknown.
   */
  toolCostUsd: number;
}

export interface SpendRow extends SpendFigures {
  /** Minute start (epoch ms) for minute rows; day start (epoch ms, UTC) for daily rows. */
  t: number;
  /** `YYYY-MM-DD` (UTC) of the row. */
  day: string;
  dimension: SpendDimension;
  value: string;
}

/** A batch's worth of additions, already summed per (minute, dimension, value). */
export interface SpendDelta extends SpendFigures {
  minute: number;
  dimension: SpendDimension;
  value: string;
}

export interface SpendQuery {
  /** Epoch ms, inclusive. */
  from: number;
  /** Epoch ms, exclusive. */
  to: number;
  dimension: SpendDimension;
  /** Only this value. */
  value?: string;
}

export interface ReconciliationRecord {
  id: string;
  createdAt: number;
  /** Bill format (openai, anthropic, generic, ...) and file name. */
  source: string;
  fromDay: string;
  toDay: string;
  billedUsd: number;
  trackedUsd: number;
  gapUsd: number;
  /** Gap as a share of the bill (0..1; negative when tracked exceeds the bill). */
  gapRatio: number;
  /** The full report (JSON-serialisable). */
  report: unknown;
}

export interface CostItem {
  day: string;
  category: string;
  name: string;
  provider: string | null;
  amountUsd: number;
  /** Where it came from (file name, `api`). */
  source: string;
}

export interface SpendStore {
  readonly kind: 'memory' | 'sqlite' | 'postgres';
  /** Adds deltas to the minute and daily aggregates in one transaction. */
  apply(deltas: readonly SpendDelta[]): Promise<void>;
  /** Daily rows whose day overlaps [from, to). */
  daily(q: SpendQuery): Promise<SpendRow[]>;
  /** Minute rows in [from, to). */
  minutes(q: SpendQuery): Promise<SpendRow[]>;
  /** Drops minute rows older than `before`. */
  pruneMinutes(before: number): Promise<number>;
  /** Drops daily rows of the days before the (UTC) day of `before` (`storage.retention.hour`, as the hour rollups). */
  pruneDays(before: number): Promise<number>;
  /** Deletes the per-user rows (minute and daily) of this user (their data erased); returns rows deleted. */
  eraseUser(user: string): Promise<number>;
  saveReconciliation(r: ReconciliationRecord): Promise<void>;
  listReconciliations(limit: number): Promise<ReconciliationRecord[]>;
  getReconciliation(id: string): Promise<ReconciliationRecord | null>;
  /** Adds items; an item with the same day, category, name, provider and source replaces the earlier one. */
  addCostItems(items: readonly CostItem[]): Promise<number>;
  costItems(fromDay: string, toDay: string): Promise<CostItem[]>;
  close?(): Promise<void>;
}

export function emptyFigures(): SpendFigures {
  return {
    costUsd: 0,
    requests: 0,
    unpriced: 0,
    inputTokens: 0,
    outputTokens: 0,
    cachedInputTokens: 0,
    bytes: 0,
    cacheWriteInputTokens: 0,
    reasoningTokens: 0,
    toolCostUsd: 0,
  };
}

export function addFigures(into: SpendFigures, f: SpendFigures): SpendFigures {
  into.costUsd += f.costUsd;
  into.requests += f.requests;
  into.unpriced += f.unpriced;
  into.inputTokens += f.inputTokens;
  into.outputTokens += f.outputTokens;
  into.cachedInputTokens += f.cachedInputTokens;
  into.bytes += f.bytes;
  into.cacheWriteInputTokens += f.cacheWriteInputTokens;
  into.reasoningTokens += f.reasoningTokens;
  into.toolCostUsd += f.toolCostUsd;
  return into;
}

/** The value of a call in one dimension ('' when the call has none). */
export function dimensionValue(call: LlmCall, d: SpendDimension): string {
  switch (d) {
    case 'all':
      return '';
    case 'user':
      return call.user ?? '';
    case 'team':
      return call.team ?? '';
    case 'feature':
      return call.feature ?? '';
    case 'key':
      return call.apiKeyId ?? '';
    case 'model':
      return call.model;
    case 'provider':
      return call.provider;
    case 'provider_model':
      return `${call.provider}\t${call.model}`;
  }
}

/** Sums a batch of calls into deltas, one per (minute, dimension, value). `unpriced` marks calls with no price. */
export function deltasOf(calls: readonly LlmCall[], unpriced: (c: LlmCall) => boolean): SpendDelta[] {
  // Per minute, one map per dimension (in SPEND_DIMENSIONS order) from value to its delta: no key strings to build.
  // Deltas come out in the order they were first met, and each one's figures are added call by call, in order.
  const out: SpendDelta[] = [];
  const minutes = new Map<number, Map<string, SpendDelta>[]>();
  let lastMinute = Number.NaN;
  let maps: Map<string, SpendDelta>[] = [];
  for (const c of calls) {
    const minute = Math.floor(c.startedAt / MINUTE) * MINUTE;
    if (minute !== lastMinute) {
      let m = minutes.get(minute);
      if (!m) {
        m = SPEND_DIMENSIONS.map(() => new Map<string, SpendDelta>());
        minutes.set(minute, m);
      }
      maps = m;
      lastMinute = minute;
    }
    const costUsd = c.costUsd ?? 0;
    const unpricedN = unpriced(c) ? 1 : 0;
    const inputTokens = c.inputTokens ?? 0;
    const outputTokens = c.outputTokens ?? 0;
    const cachedInputTokens = c.cachedInputTokens ?? 0;
    const bytes = (c.requestBytes ?? 0) + (c.responseBytes ?? 0);
    const cacheWriteInputTokens = c.cacheWriteInputTokens ?? 0;
    const reasoningTokens = c.reasoningTokens ?? 0;
    const toolCostUsd = c.costUsd === null ? 0 : toolCostOf(c);
    for (let i = 0; i < SPEND_DIMENSIONS.length; i++) {
      const dimension = SPEND_DIMENSIONS[i] as SpendDimension;
      const value = dimensionValue(c, dimension);
      const map = maps[i] as Map<string, SpendDelta>;
      const d = map.get(value);
      if (d) {
        d.costUsd += costUsd;
        d.requests += 1;
        d.unpriced += unpricedN;
        d.inputTokens += inputTokens;
        d.outputTokens += outputTokens;
        d.cachedInputTokens += cachedInputTokens;
        d.bytes += bytes;
        d.cacheWriteInputTokens += cacheWriteInputTokens;
        d.reasoningTokens += reasoningTokens;
        d.toolCostUsd += toolCostUsd;
      } else {
        const nd: SpendDelta = {
          minute,
          dimension,
          value,
          costUsd,
          requests: 1,
          unpriced: unpricedN,
          inputTokens,
          outputTokens,
          cachedInputTokens,
          bytes,
          cacheWriteInputTokens,
          reasoningTokens,
          toolCostUsd,
        };
        map.set(value, nd);
        out.push(nd);
      }
    }
  }
  return out;
}

/**
 * The part of a call's cost charged for its built-in tool uses: its priced `price.tools` (units × unit price; an
 * unpriced tool adds nothing, as it adds nothing to `cost_usd`), at most its `cost_usd` (a record sent to /api/ingest
 * with its own cost_usd keeps its price.tools as sent, decision 184 (b): its tokens' part is the rest, never below
 * 0; a call priced here has its tools in its cost). 0 for a call without them.
 */
export function toolCostOf(call: Pick<LlmCall, 'price' | 'costUsd'>): number {
  const tools = call.price?.tools;
  if (tools === undefined) return 0;
  let sum = 0;
  for (const t of tools) if (t.unitPrice !== null) sum += t.units * t.unitPrice;
  const rounded = Math.round(sum * 1e12) / 1e12;
  return call.costUsd !== null && call.costUsd < rounded ? call.costUsd : rounded;
}
