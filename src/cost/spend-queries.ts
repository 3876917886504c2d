// Reading spend back: totals grouped by a dimension or by day, time series with $/request and $/1K tokens,
// month-to-date with a month-end forecast, and total cost (API + non-API) by day. Minute aggregates serve recent
// ranges exactly; older ranges are read from the daily aggregates in whole UTC days.

import { type StoreBackend, sumCallsByMetadata } from '../store/index.js';
import { DAY_MS, HOUR_MS, MINUTE_MS } from '../time.js';
import type { CostsConfig, PriceOverride } from './config.js';
import { accrueNonApi, type NonApiLine } from './non-api.js';
import { dayOf, dayStart } from './pricing.js';
import type { TrackedCell } from './reconcile.js';
import { r9 } from './round.js';
import {
  addFigures,
  emptyFigures,
  type GroupDimension,
  type SpendDimension,
  type SpendFigures,
  type SpendRow,
  type SpendStore,
} from './storage/index.js';

export interface FiguresWire {
  cost_usd: number;
  requests: number;
  unpriced_requests: number;
  input_tokens: number;
  output_tokens: number;
  cached_input_tokens: number;
  /** Prompt tokens written to the provider's prompt cache; null where the figures read do not keep it. */
  cache_write_input_tokens: number | null;
  /** The reasoning part of `output_tokens`; null where the figures read do not keep it. */
  reasoning_tokens: number | null;
  /**
   * The part of `cost_usd` charged for built-in tool uses (web search, file search; decision 163), 0 for spend summed
   * before llmscope kept it apart; null where the figures read do not keep it (raw-call and team-scoped sums).
   */
  tool_cost_usd: number | null;
  /** `cost_usd` less `tool_cost_usd`: what the calls' tokens (and per-unit usage) cost; null with it. */
  token_cost_usd: number | null;
  cost_per_request: number | null;
  cost_per_1k_tokens: number | null;
}

export function figuresWire(f: SpendFigures): FiguresWire {
  const priced = f.requests - f.unpriced;
  const tokens = f.inputTokens + f.outputTokens;
  return {
    cost_usd: r9(f.costUsd),
    requests: f.requests,
    unpriced_requests: f.unpriced,
    input_tokens: f.inputTokens,
    output_tokens: f.outputTokens,
    cached_input_tokens: f.cachedInputTokens,
    cache_write_input_tokens: Number.isFinite(f.cacheWriteInputTokens) ? f.cacheWriteInputTokens : null,
    reasoning_tokens: Number.isFinite(f.reasoningTokens) ? f.reasoningTokens : null,
    tool_cost_usd: Number.isFinite(f.toolCostUsd) ? r9(f.toolCostUsd) : null,
    token_cost_usd: Number.isFinite(f.toolCostUsd) ? r9(f.costUsd - f.toolCostUsd) : null,
    cost_per_request: priced > 0 ? r9(f.costUsd / priced) : null,
    // Calls none of which is priced have no cost to divide (their cost_usd sums to 0): null, as $/request is.
    cost_per_1k_tokens: tokens > 0 && priced > 0 ? r9((f.costUsd / tokens) * 1000) : null,
  };
}

export interface SummaryQuery {
  from: number;
  to: number;
  groupBy?: GroupDimension | 'day';
  limit?: number;
}

export interface Summary {
  from: string;
  to: string;
  /** `call`: summed from raw calls (group_by=meta.<key>), so only as far back as raw calls are kept. */
  resolution: 'minute' | 'day' | 'call';
  /**
   * The span the figures were read over: the whole minutes or UTC days the asked range falls in (spend is kept per
   * minute for `costs.minuteRetention`, per day after that), or the asked range itself (`call`).
   */
  read_from: string;
  read_to: string;
  group_by: string | null;
  total: FiguresWire;
  groups: (FiguresWire & { key: string | null; share: number | null })[];
  /** Groups beyond `limit`, summed. */
  rest: FiguresWire | null;
}

/**
 * The span a summary's rows cover: minute rows are those starting in [from, to) (each a whole minute), day rows the
 * UTC days from `from`'s through `to`'s last instant; raw calls the range itself.
 */
export function readSpan(
  resolution: Summary['resolution'],
  from: number,
  to: number,
): { read_from: string; read_to: string } {
  const iso = (t: number) => new Date(t).toISOString();
  if (resolution === 'call' || !(to > from)) return { read_from: iso(from), read_to: iso(to) };
  if (resolution === 'minute')
    return {
      read_from: iso(Math.ceil(from / MINUTE_MS) * MINUTE_MS),
      read_to: iso(Math.ceil(to / MINUTE_MS) * MINUTE_MS),
    };
  return { read_from: iso(dayStart(dayOf(from))), read_to: iso(dayStart(dayOf(to - 1)) + DAY_MS) };
}

/** How long spending must have gone on before its rate is extrapolated to the month's end. */
export const FORECAST_MIN_HISTORY_MS = DAY_MS;

/**
 * The forecast's rate window: the last 7 days (from that day's midnight), across a month boundary, so a month's start
 * is forecast from its last week, not from the new month's minutes.
 */
export const FORECAST_RATE_WINDOW_MS = 7 * DAY_MS;

/** A span in words for a forecast's note: whole minutes under 90, else hours. */
function spanWords(ms: number): string {
  const minutes = ms / MINUTE_MS;
  return minutes < 90 ? `${Math.max(1, Math.round(minutes))} min` : `${Math.round(minutes / 60)} h`;
}

export interface Forecast {
  month: string;
  as_of: string;
  api_usd_mtd: number;
  non_api_usd_mtd: number;
  total_usd_mtd: number;
  /**
   * Month to date plus the rate over the rest of the month; null while spending is younger than
   * FORECAST_MIN_HISTORY_MS (`forecast_basis` too_little_history): minutes of calls do not make a month.
   */
  forecast_api_usd: number | null;
  forecast_non_api_usd: number;
  /** `forecast_api_usd` plus `forecast_non_api_usd`; null with `forecast_api_usd`. */
  forecast_total_usd: number | null;
  /**
   * `rate`: the forecast extrapolates the rate below. `too_little_history`: the first call with spend was less than a
   * day ago, too little to extrapolate over a month, so the forecasts are null and `forecast_note` says why.
   */
  forecast_basis: 'rate' | 'too_little_history';
  /** In words, why there is no forecast ("too little spend history to forecast: 2 min …"); null with a forecast. */
  forecast_note: string | null;
  /** Days since the first call with spend (up to 400 days back, to the minute within the last two); null if none. */
  spend_history_days: number | null;
  /**
   * How the API forecast was made: the spend rate of the last `rate_window_days` days (7, across a month boundary:
   * the previous month's last days count in the rate, not in the month to date), over the rest of the month.
   */
  rate_window_days: number;
  /**
   * The days the rate was measured over: from the window's first midnight, or from the first minute with spend when
   * spending began inside the window (a fresh store's minutes), to now. Shorter means a less settled forecast.
   */
  rate_span_days: number;
}

export interface DailyCost {
  day: string;
  api_usd: number;
  /**
   * The part of `api_usd` charged for built-in tool uses (decision 163); 0 for days summed before it was kept, null
   * where the figures read do not keep it (team-scoped).
   */
  api_tool_usd: number | null;
  non_api_usd: number;
  total_usd: number;
  non_api: { category: string; name: string; amount_usd: number }[];
}

/**
 * The spend summary grouped by one metadata key (`group_by=meta.<key>`): the raw calls of the range summed per value
 * of the key (spend aggregates are kept per fixed dimension; metadata keys are the caller's). Calls without the key
 * are the group with key null. A scope narrows it to its teams and features.
 */
export async function metadataSummary(
  backend: StoreBackend,
  q: { from: number; to: number; key: string; limit?: number; teams?: readonly string[]; features?: readonly string[] },
): Promise<Summary> {
  const rows = await sumCallsByMetadata(backend, q);
  const total = emptyFigures();
  const figures = rows.map((r): [string | null, SpendFigures] => {
    // raw calls do not keep the tool part of their cost apart: unknown (null)
    const f: SpendFigures = { ...emptyFigures(), ...r, toolCostUsd: Number.NaN };
    addFigures(total, f);
    return [r.value, f];
  });
  const limit = q.limit ?? 100;
  const hidden = figures.slice(limit);
  const rest = hidden.length > 0 ? hidden.reduce((acc, [, f]) => addFigures(acc, f), emptyFigures()) : null;
  return {
    from: new Date(q.from).toISOString(),
    to: new Date(q.to).toISOString(),
    resolution: 'call',
    ...readSpan('call', q.from, q.to),
    group_by: `meta.${q.key}`,
    total: figuresWire(total),
    groups: figures.slice(0, limit).map(([key, f]) => ({
      key,
      ...figuresWire(f),
      share: total.costUsd > 0 ? r9(f.costUsd / total.costUsd) : null,
    })),
    rest: rest ? figuresWire(rest) : null,
  };
}

export class SpendQueries {
  constructor(
    readonly store: SpendStore,
    private readonly costs: CostsConfig,
    private readonly gpuPriced: readonly PriceOverride[],
    private readonly now: () => number,
    private readonly minuteRetentionMs: number,
  ) {}

  /** Minute rows when the whole range is within minute retention, else whole-day rows. */
  private async rows(dimension: SpendDimension, from: number, to: number, value?: string, preferDaily = false) {
    const minuteOk = !preferDaily && from >= this.now() - this.minuteRetentionMs + MINUTE_MS;
    if (minuteOk)
      return { resolution: 'minute' as const, rows: await this.store.minutes({ dimension, from, to, value }) };
    return { resolution: 'day' as const, rows: await this.store.daily({ dimension, from, to, value }) };
  }

  async summary(q: SummaryQuery): Promise<Summary> {
    const dim: SpendDimension = q.groupBy === undefined || q.groupBy === 'day' ? 'all' : q.groupBy;
    const { resolution, rows } = await this.rows(dim, q.from, q.to);
    const total = emptyFigures();
    const groups = new Map<string, SpendFigures>();
    for (const r of rows) {
      addFigures(total, r);
      const k = q.groupBy === 'day' ? r.day : r.value;
      addFigures(groups.get(k) ?? groups.set(k, emptyFigures()).get(k)!, r);
    }
    const sorted = [...groups].sort((a, b) =>
      q.groupBy === 'day' ? (a[0] < b[0] ? -1 : 1) : b[1].costUsd - a[1].costUsd || b[1].requests - a[1].requests,
    );
    const limit = q.limit ?? 100;
    const shown = q.groupBy === undefined ? [] : sorted.slice(0, limit);
    const hidden = q.groupBy === undefined ? [] : sorted.slice(limit);
    const rest = hidden.length > 0 ? hidden.reduce((acc, [, f]) => addFigures(acc, f), emptyFigures()) : null;
    return {
      from: new Date(q.from).toISOString(),
      to: new Date(q.to).toISOString(),
      resolution,
      ...readSpan(resolution, q.from, q.to),
      group_by: q.groupBy ?? null,
      total: figuresWire(total),
      groups: shown.map(([key, f]) => ({
        key: q.groupBy === 'day' ? key : key === '' ? null : key,
        ...figuresWire(f),
        share: total.costUsd > 0 ? r9(f.costUsd / total.costUsd) : null,
      })),
      rest: rest ? figuresWire(rest) : null,
    };
  }

  /** Spend over time in steps of a minute, an hour or a day, for one dimension value (or everything). */
  async timeseries(q: {
    from: number;
    to: number;
    step: 'minute' | 'hour' | 'day';
    dimension?: GroupDimension;
    value?: string;
  }): Promise<(FiguresWire & { t: string })[]> {
    const dim: SpendDimension = q.dimension ?? 'all';
    const value = q.dimension ? (q.value ?? '') : '';
    const { rows } = await this.rows(dim, q.from, q.to, value, q.step === 'day');
    const size = q.step === 'minute' ? MINUTE_MS : q.step === 'hour' ? HOUR_MS : DAY_MS;
    const buckets = new Map<number, SpendFigures>();
    const start = Math.floor(q.from / size) * size;
    for (let t = start; t < q.to && buckets.size < 10_000; t += size) buckets.set(t, emptyFigures());
    for (const r of rows) {
      const t = Math.floor(r.t / size) * size;
      const b = buckets.get(t);
      if (b) addFigures(b, r);
    }
    return [...buckets].map(([t, f]) => ({ t: new Date(t).toISOString(), ...figuresWire(f) }));
  }

  /** Non-API cost lines for a range of days, accrued up to now. */
  async nonApi(fromDay: string, toDay: string, accrueUntil = this.now()): Promise<NonApiLine[]> {
    const from = dayStart(fromDay);
    const to = dayStart(toDay) + DAY_MS;
    const bytesByDay = new Map<string, number>();
    if (this.costs.egress)
      for (const r of await this.store.daily({ dimension: 'all', from, to })) bytesByDay.set(r.day, r.bytes);
    const items = await this.store.costItems(fromDay, toDay);
    return accrueNonApi(fromDay, toDay, {
      costs: this.costs,
      gpuPriced: this.gpuPriced,
      bytesByDay,
      items,
      now: accrueUntil,
    });
  }

  async daily(fromDay: string, toDay: string): Promise<DailyCost[]> {
    const api = new Map<string, number>();
    const tools = new Map<string, number>();
    for (const r of await this.store.daily({
      dimension: 'all',
      from: dayStart(fromDay),
      to: dayStart(toDay) + DAY_MS,
    })) {
      api.set(r.day, r.costUsd);
      tools.set(r.day, r.toolCostUsd);
    }
    const non = await this.nonApi(fromDay, toDay);
    const out: DailyCost[] = [];
    for (let t = dayStart(fromDay); t <= dayStart(toDay); t += DAY_MS) {
      const day = dayOf(t);
      const lines = non.filter((l) => l.day === day);
      const nonApi = lines.reduce((s, l) => s + l.amountUsd, 0);
      const a = api.get(day) ?? 0;
      out.push({
        day,
        api_usd: r9(a),
        api_tool_usd: Number.isFinite(tools.get(day) ?? 0) ? r9(tools.get(day) ?? 0) : null,
        non_api_usd: r9(nonApi),
        total_usd: r9(a + nonApi),
        non_api: lines.map((l) => ({ category: l.category, name: l.name, amount_usd: r9(l.amountUsd) })),
      });
    }
    return out;
  }

  async forecast(): Promise<Forecast> {
    const now = this.now();
    const d = new Date(now);
    const monthStart = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
    const monthEnd = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
    // Rate: the last 7 days, across the month boundary (decision W15-1 (a)): at a month's start the new month's
    // minutes are no rate (an established $1/h read $15.7 for the month at 00:30 on the 1st, not $744), and through
    // the first week the rate would swing with the new month's hours. Month to date is this month's spend only.
    const windowMs = FORECAST_RATE_WINDOW_MS;
    const windowStartDay = dayOf(now - windowMs);
    const firstDay = dayOf(monthStart);
    const rows = await this.store.daily({
      dimension: 'all',
      from: Math.min(monthStart, dayStart(windowStartDay)),
      to: now + 1,
    });
    const mtd = rows.filter((r) => r.day >= firstDay).reduce((s, r) => s + r.costUsd, 0);
    const recent = rows.filter((r) => r.day >= windowStartDay);
    const recentSpend = recent.reduce((s, r) => s + r.costUsd, 0);
    const { rateFrom, spendSince } = await this.spendStart(windowStartDay, recent);
    const coveredMs = now - rateFrom;
    const rate = coveredMs > 0 ? recentSpend / coveredMs : 0;
    const forecastApi = mtd + rate * (monthEnd - now);
    // Minutes of spend extrapolated over a month read as a figure (a fresh demo's $3 in 1.5 minutes: $69,549): until a
    // day of spend is in, there is no forecast, only why. A deployment with longer history keeps its forecast at a
    // month's start, its rate read over its last 7 days (or since its first call, if that is shorter).
    const historyMs = spendSince === null ? null : Math.max(now - spendSince, 0);
    const thin = historyMs !== null && historyMs < FORECAST_MIN_HISTORY_MS;
    const lastDay = dayOf(monthEnd - 1);
    const nonMtd = (await this.nonApi(firstDay, lastDay, now)).reduce((s, l) => s + l.amountUsd, 0);
    // Configured items accrue to the month's end; egress and imported items only as far as they are known.
    const nonFull = (await this.nonApi(firstDay, lastDay, monthEnd)).reduce((s, l) => s + l.amountUsd, 0);
    return {
      month: firstDay.slice(0, 7),
      as_of: new Date(now).toISOString(),
      api_usd_mtd: r9(mtd),
      non_api_usd_mtd: r9(nonMtd),
      total_usd_mtd: r9(mtd + nonMtd),
      forecast_api_usd: thin ? null : r9(forecastApi),
      forecast_non_api_usd: r9(nonFull),
      forecast_total_usd: thin ? null : r9(forecastApi + nonFull),
      forecast_basis: thin ? 'too_little_history' : 'rate',
      forecast_note: thin
        ? `too little spend history to forecast: ${spanWords(historyMs ?? 0)} since the first call (it takes a day)`
        : null,
      spend_history_days: historyMs === null ? null : r9(historyMs / DAY_MS),
      rate_window_days: r9(windowMs / DAY_MS),
      rate_span_days: r9(Math.max(coveredMs, 0) / DAY_MS),
    };
  }

  /**
   * Where the forecast's rate starts: the window's first day, or the first minute with spend when spending began
   * inside the window (a service started minutes ago has spent for minutes, not since the window's first midnight).
   * And since when there has been spend (`spendSince`, null for none in the last 400 days): to the minute when it began
   * within the last two days, else the day it began.
   */
  private async spendStart(
    windowStartDay: string,
    recent: readonly SpendRow[],
  ): Promise<{ rateFrom: number; spendSince: number | null }> {
    const windowStart = dayStart(windowStartDay);
    const earliest = (rows: readonly SpendRow[]) =>
      rows.filter((r) => r.requests > 0).reduce<string | null>((m, r) => (m === null || r.day < m ? r.day : m), null);
    const before = await this.store.daily({ dimension: 'all', from: windowStart - 400 * DAY_MS, to: windowStart });
    const firstBefore = earliest(before);
    if (firstBefore !== null) {
      const since =
        this.now() - dayStart(firstBefore) < 2 * DAY_MS ? await this.firstMinute(firstBefore, before) : null;
      return { rateFrom: windowStart, spendSince: since ?? dayStart(firstBefore) };
    }
    const firstDay = earliest(recent);
    if (firstDay === null) return { rateFrom: windowStart, spendSince: null };
    const from = Math.min((await this.firstMinute(firstDay, recent)) ?? dayStart(firstDay), this.now() - MINUTE_MS);
    return { rateFrom: from, spendSince: from };
  }

  /**
   * The first minute with calls on a day, from the minute aggregates; null where they are not all kept: pruned after
   * costs.minuteRetention from the middle of a day, its first kept minute is not its first call (a store 2.5 days old
   * read its rate over 47.5 of its 59.5 hours), so a day whose minutes hold fewer calls than its daily row (in `days`)
   * counts from its start, as one whose minutes are all gone does.
   */
  private async firstMinute(day: string, days: readonly SpendRow[]): Promise<number | null> {
    const minutes = await this.store.minutes({ dimension: 'all', from: dayStart(day), to: dayStart(day) + DAY_MS });
    const kept = minutes.filter((r) => r.requests > 0);
    const daily = days.filter((r) => r.day === day).reduce((n, r) => n + r.requests, 0);
    if (kept.reduce((n, r) => n + r.requests, 0) < daily) return null;
    const first = kept.reduce((m, r) => Math.min(m, r.t), Number.POSITIVE_INFINITY);
    return Number.isFinite(first) ? first : null;
  }

  /**
   * Models whose calls had no price over the last `days` days, from the spend aggregates (so every replica and worker
   * answers the same): calls without a price, and the last day one was seen.
   */
  async unpricedModels(days: number): Promise<{ provider: string; model: string; calls: number; last_day: string }[]> {
    const now = this.now();
    const cells = await this.trackedCells(dayOf(now - (days - 1) * DAY_MS), dayOf(now));
    const out = new Map<string, { provider: string; model: string; calls: number; last_day: string }>();
    for (const c of cells) {
      if (c.unpriced <= 0) continue;
      const k = `${c.provider}/${c.model}`;
      const m = out.get(k);
      if (m) {
        m.calls += c.unpriced;
        if (c.day > m.last_day) m.last_day = c.day;
      } else out.set(k, { provider: c.provider, model: c.model, calls: c.unpriced, last_day: c.day });
    }
    return [...out.values()].sort((a, b) => b.calls - a.calls || (a.model < b.model ? -1 : 1));
  }

  /** Tracked spend by (day, provider, model), what reconciliation compares with a bill. */
  async trackedCells(fromDay: string, toDay: string): Promise<TrackedCell[]> {
    const rows: SpendRow[] = await this.store.daily({
      dimension: 'provider_model',
      from: dayStart(fromDay),
      to: dayStart(toDay) + DAY_MS,
    });
    return rows.map((r) => {
      const tab = r.value.indexOf('\t');
      return {
        day: r.day,
        provider: r.value.slice(0, tab),
        model: r.value.slice(tab + 1),
        costUsd: r.costUsd,
        toolCostUsd: r.toolCostUsd,
        requests: r.requests,
        unpriced: r.unpriced,
      };
    });
  }
}
