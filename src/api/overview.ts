// GET /api/overview: the dashboard's first view in one call — request rate, tokens/s, error and refusal rates,
// spend, and latency/TTFT/TPOT percentiles over time, plus the same figures for the whole window.
//
// Why not /api/stats/*: the store's rollups have one row per (minute, provider, model, endpoint, feature, team),
// so 24 hours of a busy service are ~150k rows whose histograms SQL merges one JS call at a time (seconds).
// Here (on SQLite) buckets that can no longer change are compacted once into one row per minute and per hour,
// across all dimensions ("overview_minute", "overview_hour", in this file's own migration namespace), and the
// rest is read from the store's rollup tables with histograms merged into dense arrays. A 24-hour view then
// reads ~1,440 compacted rows plus the last few minutes' raw rollups.
//
// A bucket is sealed SEAL_LAG_MS after it ends. Calls recorded later than that (a call lasting longer, or a
// backlog in the recorder) would be missed, so the recent sealed past is re-checked against the store's request
// counts at most once a minute and recompacted where they differ. Filtered views (model=..., team=...) are not
// compacted: they read the store's rollups directly, which is fast enough when a filter narrows the rows.
//
// Truthful numbers at any age: the body says when the window's data begins (`data_from`, the first call's start),
// which points are still filling (`partial`: calls land in the bucket of their start, so the last bucket lacks the
// calls still in flight and the time not yet passed), and the `current` rate over the last few complete minutes.
// `step=fit` picks a bucket size that fits the span holding data (1 minute up to 6 hours, coarser beyond), so
// young data in a 24-hour view is drawn in minutes, not squeezed into a few coarse buckets.
import type { Database } from 'better-sqlite3';
import { z } from 'zod';
import { LlmscopeError } from '../errors.js';
import { parseQuery, type Router, sendJson } from '../http/index.js';
import {
  bucketValue,
  encodeHistogram,
  type HistogramCounts,
  HOUR_MS,
  MAX_BUCKET,
  MINUTE_MS,
  type RollupDimension,
  type RollupPoint,
  type RollupStep,
  type SqliteBackend,
  type Store,
  scopedStore,
} from '../store/index.js';

const DIMENSIONS = ['provider', 'model', 'endpoint', 'feature', 'team'] as const;
/** A bucket is compacted once it ended this long ago. */
export const SEAL_LAG_MS = 10 * MINUTE_MS;
/** How far back from the sealed edge counts are re-checked for late calls. */
const RECHECK_MS = { minute: 3 * HOUR_MS, hour: 6 * HOUR_MS } as const;
/** Compaction works in chunks of this span, yielding to the event loop between them. */
const CHUNK_MS = { minute: HOUR_MS, hour: 24 * HOUR_MS } as const;
const MAX_POINTS = 20_000;
/** A bucket is complete once it ended this long ago: calls land in the bucket of their start, when they end. */
export const SETTLE_MS = 30_000;
/** The `current` rate spans the last this-many complete minutes. */
export const CURRENT_MS = 5 * MINUTE_MS;
/** The current rate needs at least this much complete data; else it is read from the still-filling minutes. */
const CURRENT_MIN_MS = 20_000;

const time = z.union([
  z.coerce.number().int().nonnegative(),
  z.iso.datetime({ offset: true }).transform((s) => Date.parse(s)),
]);
const querySchema = z.object({
  from: time.optional(),
  to: time.optional(),
  step: z.enum(['minute', 'hour', 'auto', 'fit']).default('auto'),
  step_ms: z.coerce.number().int().positive().optional(),
  provider: z.string().max(256).optional(),
  model: z.string().max(256).optional(),
  endpoint: z.string().max(256).optional(),
  feature: z.string().max(256).optional(),
  team: z.string().max(256).optional(),
});

export interface OverviewQuery {
  from: number;
  to: number;
  /** The rollups read (their bucket size is the base of `stepMs`). */
  step: RollupStep;
  /** The points' bucket size: the rollups' size or a multiple of it. */
  stepMs: number;
  /** `step=fit`: step and stepMs are chosen once the data's start is known (fitStep). */
  fit: boolean;
  filter: Partial<Record<RollupDimension, string>>;
}

const baseMs = (step: RollupStep): number => (step === 'minute' ? MINUTE_MS : HOUR_MS);

/**
 * The bucket size that fits a span: 1 minute up to 6 hours, 5 minutes up to a day, 10 minutes up to two days,
 * 1 hour up to a week, 3 hours beyond (a few hundred points at most, each wide enough to see).
 */
export function fitStep(spanMs: number): { step: RollupStep; stepMs: number } {
  if (spanMs <= 6 * HOUR_MS) return { step: 'minute', stepMs: MINUTE_MS };
  if (spanMs <= 24 * HOUR_MS) return { step: 'minute', stepMs: 5 * MINUTE_MS };
  if (spanMs <= 48 * HOUR_MS) return { step: 'minute', stepMs: 10 * MINUTE_MS };
  if (spanMs <= 7 * 24 * HOUR_MS) return { step: 'hour', stepMs: HOUR_MS };
  return { step: 'hour', stepMs: 3 * HOUR_MS };
}

/** The query with its step fitted to the span that holds data (`dataFrom` to `to`). */
function fitted(q: OverviewQuery, dataFrom: number | null): OverviewQuery {
  if (!q.fit) return q;
  return { ...q, ...fitStep(q.to - Math.max(q.from, dataFrom ?? q.from)) };
}

export function parseOverviewQuery(url: URL, now: number): OverviewQuery {
  const q = parseQuery(querySchema, url, 'times are epoch milliseconds or ISO 8601');
  const to = q.to ?? now;
  const from = q.from ?? to - 24 * HOUR_MS;
  if (from >= to)
    throw new LlmscopeError('LLMSCOPE_ERR_INVALID_QUERY', '"from" must be before "to"', { param: 'from' });
  const fit = q.step === 'fit';
  let step: RollupStep;
  if (q.step === 'fit') step = fitStep(to - from).step;
  else if (q.step === 'auto') step = to - from <= 2 * 24 * HOUR_MS ? 'minute' : 'hour';
  else step = q.step;
  const stepMs = fit ? fitStep(to - from).stepMs : (q.step_ms ?? baseMs(step));
  if (stepMs % baseMs(step) !== 0)
    throw new LlmscopeError(
      'LLMSCOPE_ERR_INVALID_QUERY',
      `step_ms must be a multiple of the ${step} (${baseMs(step)} ms)`,
      { param: 'step_ms' },
    );
  if ((to - from) / stepMs > MAX_POINTS)
    throw new LlmscopeError(
      'LLMSCOPE_ERR_INVALID_QUERY',
      `more than ${MAX_POINTS} points; use step=hour, a larger step_ms or a shorter range`,
      {
        param: 'step',
      },
    );
  const filter: Partial<Record<RollupDimension, string>> = {};
  for (const d of DIMENSIONS) if (q[d]) filter[d] = q[d];
  return { from, to, step, stepMs, fit, filter };
}

// ---- dense histograms ---------------------------------------------------------------------------------------

const SIZE = MAX_BUCKET + 1;
const VALUES = Float64Array.from({ length: SIZE }, (_, i) => bucketValue(i));

/**
 * A histogram as a dense array over the bucket indexes, remembering the range of indexes it touched, so resetting,
 * merging and reading quantiles cost the span of the data (a few hundred buckets), not all ~1,040.
 */
export class Dense {
  readonly a = new Float64Array(SIZE);
  n = 0;
  lo = SIZE;
  hi = -1;

  reset(): void {
    if (this.hi >= this.lo) this.a.fill(0, this.lo, this.hi + 1);
    this.n = 0;
    this.lo = SIZE;
    this.hi = -1;
  }

  /**
   * Adds a histogram in the store's packed form (histogram.ts: format byte 1, then LEB128 varint pairs of index
   * delta and count) without allocating.
   */
  addPacked(buf: Uint8Array | null): void {
    if (!buf || buf.length < 2) return;
    if (buf[0] !== 1) throw new Error(`unknown histogram format ${buf[0]}`);
    const a = this.a;
    let pos = 1;
    let index = -1;
    const len = buf.length;
    while (pos < len) {
      let delta = 0;
      let mul = 1;
      let b: number;
      do {
        b = buf[pos++] as number;
        delta += (b & 0x7f) * mul;
        mul *= 128;
      } while (b >= 0x80 && pos < len);
      if (b >= 0x80 || pos >= len) break;
      let count = 0;
      mul = 1;
      do {
        b = buf[pos++] as number;
        count += (b & 0x7f) * mul;
        mul *= 128;
      } while (b >= 0x80 && pos < len);
      if (b >= 0x80) break;
      index = index < 0 ? delta : index + delta;
      if (index >= SIZE || count <= 0) continue;
      a[index] = (a[index] as number) + count;
      this.n += count;
      if (index < this.lo) this.lo = index;
      if (index > this.hi) this.hi = index;
    }
  }

  /** Adds a histogram in its object form (what `Store.queryRollups` returns). */
  addCounts(h: HistogramCounts): void {
    const a = this.a;
    for (const k in h) {
      const index = Number(k);
      const count = Math.round(h[index] ?? 0);
      if (!(index >= 0 && index < SIZE) || !(count > 0)) continue;
      a[index] = (a[index] as number) + count;
      this.n += count;
      if (index < this.lo) this.lo = index;
      if (index > this.hi) this.hi = index;
    }
  }

  /** Either form: the packed bytes (SQLite) or the object (other stores). */
  add(h: Uint8Array | HistogramCounts | null): void {
    if (h instanceof Uint8Array || h === null) this.addPacked(h);
    else this.addCounts(h);
  }

  merge(d: Dense): void {
    for (let i = d.lo; i <= d.hi; i++) this.a[i] = (this.a[i] as number) + (d.a[i] as number);
    this.n += d.n;
    if (d.lo < this.lo) this.lo = d.lo;
    if (d.hi > this.hi) this.hi = d.hi;
  }

  /** p50, p95, p99 with histogram.ts's definition (lower rank quantile, the bucket's representative value). */
  pcts(): [number | null, number | null, number | null] {
    const n = this.n;
    if (n <= 0) return [null, null, null];
    const ranks = [Math.floor(0.5 * (n - 1)), Math.floor(0.95 * (n - 1)), Math.floor(0.99 * (n - 1))];
    const out: [number | null, number | null, number | null] = [null, null, null];
    let cum = 0;
    let k = 0;
    for (let i = this.lo; i <= this.hi && k < 3; i++) {
      cum += this.a[i] as number;
      while (k < 3 && cum > (ranks[k] as number)) out[k++] = Math.round((VALUES[i] as number) * 100) / 100;
    }
    return out;
  }

  sparse(): HistogramCounts {
    const h: HistogramCounts = {};
    for (let i = this.lo; i <= this.hi; i++) if (this.a[i]) h[i] = this.a[i] as number;
    return h;
  }
}

// ---- buckets ------------------------------------------------------------------------------------------------

/** Rates and per-second figures keep 4 significant digits: enough for any chart, and half the JSON. */
const sig = (x: number): number => (x === 0 || !Number.isFinite(x) ? x : Number(x.toPrecision(4)));

/** One bucket's sums and histograms, accumulated from any number of rollup rows. */
class Bucket {
  requests = 0;
  errors = 0;
  inputTokens = 0;
  outputTokens = 0;
  cachedInputTokens = 0;
  costUsd = 0;
  refusals = 0;
  readonly latency = new Dense();
  readonly ttft = new Dense();
  readonly tpot = new Dense();

  reset(): this {
    this.requests = this.errors = this.inputTokens = this.outputTokens = this.cachedInputTokens = 0;
    this.costUsd = this.refusals = 0;
    this.latency.reset();
    this.ttft.reset();
    this.tpot.reset();
    return this;
  }

  add(r: RawRow): void {
    this.requests += r[1];
    this.errors += r[2];
    this.inputTokens += r[3];
    this.outputTokens += r[4];
    this.cachedInputTokens += r[5];
    this.costUsd += r[6];
    this.refusals += r[7];
    this.latency.add(r[8]);
    this.ttft.add(r[9]);
    this.tpot.add(r[10]);
  }

  /** Adds another bucket (for the window's totals). */
  merge(b: Bucket): void {
    this.requests += b.requests;
    this.errors += b.errors;
    this.inputTokens += b.inputTokens;
    this.outputTokens += b.outputTokens;
    this.cachedInputTokens += b.cachedInputTokens;
    this.costUsd += b.costUsd;
    this.refusals += b.refusals;
    this.latency.merge(b.latency);
    this.ttft.merge(b.ttft);
    this.tpot.merge(b.tpot);
  }

  figures(seconds: number): OverviewFigures {
    const [l50, l95, l99] = this.latency.pcts();
    const [f50, f95, f99] = this.ttft.pcts();
    const [t50, t95, t99] = this.tpot.pcts();
    const r = this.requests;
    return {
      requests: r,
      errors: this.errors,
      error_rate: r ? sig(this.errors / r) : null,
      refusals: this.refusals,
      refusal_rate: r ? sig(this.refusals / r) : null,
      rps: sig(r / seconds),
      input_tokens: this.inputTokens,
      output_tokens: this.outputTokens,
      cached_input_tokens: this.cachedInputTokens,
      tokens_per_s: sig((this.inputTokens + this.outputTokens) / seconds),
      output_tokens_per_s: sig(this.outputTokens / seconds),
      cost_usd: Math.round(this.costUsd * 1e6) / 1e6,
      latency_p50: l50,
      latency_p95: l95,
      latency_p99: l99,
      ttft_p50: f50,
      ttft_p95: f95,
      ttft_p99: f99,
      tpot_p50: t50,
      tpot_p95: t95,
      tpot_p99: t99,
    };
  }
}

export interface OverviewFigures {
  requests: number;
  errors: number;
  error_rate: number | null;
  refusals: number;
  refusal_rate: number | null;
  rps: number;
  input_tokens: number;
  output_tokens: number;
  cached_input_tokens: number;
  tokens_per_s: number;
  output_tokens_per_s: number;
  cost_usd: number;
  latency_p50: number | null;
  latency_p95: number | null;
  latency_p99: number | null;
  ttft_p50: number | null;
  ttft_p95: number | null;
  ttft_p99: number | null;
  tpot_p50: number | null;
  tpot_p95: number | null;
  tpot_p99: number | null;
}

export interface OverviewBody {
  from: number;
  to: number;
  step: RollupStep;
  step_ms: number;
  filter: Partial<Record<RollupDimension, string>>;
  /** How the points were read: `compacted` (sealed buckets) + `rollups` (recent or filtered), for diagnosis. */
  source: { compacted_buckets: number; rollup_rows: number };
  summary: OverviewFigures;
  /**
   * When the window's data begins: the first call's start when the data begins inside the window, `from` when
   * calls came before it too, null when the window holds no calls.
   */
  data_from: number | null;
  /** Buckets ending after this are still filling (`partial`): now − SETTLE_MS, or `to` for a window in the past. */
  complete_to: number;
  /** The rate now: the last few complete minutes (or, for data younger than that, the minutes so far). */
  current: CurrentRate | null;
  /**
   * Every bucket of the window. Rates (rps, tokens/s) are per second of the bucket that held data: a first bucket
   * whose data began partway through, or a last one still filling, is not diluted by the time without data.
   */
  points: ({ t: number; partial: boolean } & OverviewFigures)[];
}

export interface CurrentRate {
  /** The span measured (epoch ms): from max(data_from, to − 5 min) to the end of the last complete minute. */
  from: number;
  to: number;
  seconds: number;
  /** True when no complete minute had enough data and the still-filling minutes were used. */
  partial: boolean;
  requests: number;
  errors: number;
  error_rate: number | null;
  rps: number;
  tokens_per_s: number;
  output_tokens_per_s: number;
}

/**
 * t, requests, errors, input, output, cached input, cost, refusals, latency, ttft, tpot. Histograms are packed
 * (SQLite's tables) or objects (`queryRollups` on other stores: no round trip through the packed form).
 */
type Hist = Buffer | HistogramCounts;
type RawRow = [number, number, number, number, number, number, number, number, Hist, Hist, Hist];

// ---- reading ------------------------------------------------------------------------------------------------

const ROLLUP_TABLE = { minute: 'calls_rollup_minute', hour: 'calls_rollup_hour' } as const;
const OWN_TABLE = { minute: 'overview_minute', hour: 'overview_hour' } as const;
const ERRORS_SQL = 'client_error + upstream_error + rate_limited + timeout';
const ROLLUP_COLUMNS = `t, requests, ${ERRORS_SQL}, input_tokens, output_tokens, cached_input_tokens, cost_usd, refusals, latency, ttft, tpot`;
const OWN_COLUMNS =
  't, requests, errors, input_tokens, output_tokens, cached_input_tokens, cost_usd, refusals, latency, ttft, tpot';

const OVERVIEW_MIGRATIONS = [
  {
    version: 1,
    name: 'compacted all-dimension rollups for the overview',
    up: ['overview_minute', 'overview_hour']
      .map(
        (t) => `CREATE TABLE ${t} (
  t INTEGER PRIMARY KEY,
  requests INTEGER NOT NULL, errors INTEGER NOT NULL,
  input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL, cached_input_tokens INTEGER NOT NULL,
  cost_usd REAL NOT NULL, refusals INTEGER NOT NULL,
  latency BLOB NOT NULL, ttft BLOB NOT NULL, tpot BLOB NOT NULL);`,
      )
      .concat([
        // The compacted interval per step: every bucket in [lo, hi) is in the table (absent = no calls).
        'CREATE TABLE overview_coverage (step TEXT PRIMARY KEY, lo INTEGER NOT NULL, hi INTEGER NOT NULL);',
      ])
      .join('\n'),
  },
];

const yieldToEventLoop = () => new Promise<void>((r) => setImmediate(r));

/** Compacted overview series over a SQLite store (see the header comment). */
export class OverviewSeries {
  private readonly db: Database;
  private busy: Promise<void> = Promise.resolve();
  /** When each step was last re-checked, and from where (a wider view re-checks its older part at once). */
  private lastCheck = { minute: { at: 0, from: Infinity }, hour: { at: 0, from: Infinity } };
  private readonly scratch = new Bucket();

  constructor(
    store: { readonly backend: SqliteBackend },
    private readonly now: () => number,
  ) {
    this.db = store.backend.db;
    store.backend.migrations.register('overview', OVERVIEW_MIGRATIONS);
  }

  private coverage(step: RollupStep): { lo: number; hi: number } | null {
    const r = this.db.prepare('SELECT lo, hi FROM overview_coverage WHERE step = ?').get(step) as
      | { lo: number; hi: number }
      | undefined;
    return r ?? null;
  }

  /** The end of the sealed past for a step: buckets before it can no longer change. */
  sealedEnd(step: RollupStep, now = this.now()): number {
    const size = step === 'minute' ? MINUTE_MS : HOUR_MS;
    return Math.floor((now - SEAL_LAG_MS) / size) * size;
  }

  /** Rollup rows of the store with t in [from, to), ordered by t, optionally filtered. */
  rollupRows(
    step: RollupStep,
    from: number,
    to: number,
    filter: Partial<Record<RollupDimension, string>> = {},
  ): RawRow[] {
    const where = ['t >= ?', 't < ?'];
    const params: (string | number)[] = [from, to];
    for (const d of DIMENSIONS) {
      const v = filter[d];
      if (v === undefined) continue;
      where.push(`${d} = ?`);
      params.push(v);
    }
    return this.db
      .prepare(`SELECT ${ROLLUP_COLUMNS} FROM ${ROLLUP_TABLE[step]} WHERE ${where.join(' AND ')} ORDER BY t`)
      .raw()
      .all(...params) as RawRow[];
  }

  private ownRows(step: RollupStep, from: number, to: number): RawRow[] {
    return this.db
      .prepare(`SELECT ${OWN_COLUMNS} FROM ${OWN_TABLE[step]} WHERE t >= ? AND t < ? ORDER BY t`)
      .raw()
      .all(from, to) as RawRow[];
  }

  /** Recomputes compacted rows for [from, to) from the store's rollups (one transaction). */
  private compactRange(step: RollupStep, from: number, to: number): void {
    const rows = this.rollupRows(step, from, to);
    const del = this.db.prepare(`DELETE FROM ${OWN_TABLE[step]} WHERE t >= ? AND t < ?`);
    const ins = this.db.prepare(
      `INSERT INTO ${OWN_TABLE[step]} (${OWN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const b = this.scratch;
    const write = (t: number) =>
      ins.run(
        t,
        b.requests,
        b.errors,
        b.inputTokens,
        b.outputTokens,
        b.cachedInputTokens,
        b.costUsd,
        b.refusals,
        encodeHistogram(b.latency.sparse()),
        encodeHistogram(b.ttft.sparse()),
        encodeHistogram(b.tpot.sparse()),
      );
    this.db.transaction(() => {
      del.run(from, to);
      let cur: number | null = null;
      for (const r of rows) {
        if (r[0] !== cur) {
          if (cur !== null) write(cur);
          cur = r[0];
          b.reset();
        }
        b.add(r);
      }
      if (cur !== null) write(cur);
    })();
  }

  private setCoverage(step: RollupStep, lo: number, hi: number): void {
    this.db
      .prepare(
        'INSERT INTO overview_coverage (step, lo, hi) VALUES (?, ?, ?) ON CONFLICT (step) DO UPDATE SET lo = excluded.lo, hi = excluded.hi',
      )
      .run(step, lo, hi);
  }

  /** Compacts [from, to) in chunks, yielding between them. */
  private async compactChunked(step: RollupStep, from: number, to: number): Promise<void> {
    for (let a = from; a < to; a += CHUNK_MS[step]) {
      this.compactRange(step, a, Math.min(to, a + CHUNK_MS[step]));
      if (a + CHUNK_MS[step] < to) await yieldToEventLoop();
    }
  }

  /**
   * Re-checks compacted buckets from `from` (ensure: at least the recent sealed past) against the store's counts, and
   * compacts again those that differ: calls recorded late, ingested with old timestamps, or seeded into a store
   * already compacted. One grouped read of each table; once a minute per step, or when a view reaches further back.
   */
  private recheck(step: RollupStep, cov: { lo: number; hi: number }, from: number): void {
    const theirs = this.db
      .prepare(`SELECT t, SUM(requests) FROM ${ROLLUP_TABLE[step]} WHERE t >= ? AND t < ? GROUP BY t`)
      .raw()
      .all(from, cov.hi) as [number, number][];
    const ours = new Map(
      this.db.prepare(`SELECT t, requests FROM ${OWN_TABLE[step]} WHERE t >= ? AND t < ?`).raw().all(from, cov.hi) as [
        number,
        number,
      ][],
    );
    const size = step === 'minute' ? MINUTE_MS : HOUR_MS;
    for (const [t, n] of theirs) if (ours.get(t) !== n) this.compactRange(step, t, t + size);
  }

  /** Makes sure every sealed bucket in [from, to) is compacted. */
  ensure(step: RollupStep, from: number, to: number): Promise<void> {
    const run = async () => {
      const sealed = this.sealedEnd(step);
      const size = step === 'minute' ? MINUTE_MS : HOUR_MS;
      const a = Math.floor(from / size) * size;
      const b = Math.min(sealed, Math.ceil(to / size) * size);
      let cov = this.coverage(step);
      if (!cov) {
        if (a >= b) return;
        await this.compactChunked(step, a, b);
        this.setCoverage(step, a, b);
        return;
      }
      const last = this.lastCheck[step];
      const checkFrom = Math.max(cov.lo, Math.min(a, cov.hi - RECHECK_MS[step]));
      const stale = this.now() - last.at > 60_000;
      if (stale || checkFrom < last.from) {
        this.recheck(step, cov, checkFrom);
        this.lastCheck[step] = {
          at: stale ? this.now() : last.at,
          from: stale ? checkFrom : Math.min(checkFrom, last.from),
        };
      }
      if (a < cov.lo) {
        await this.compactChunked(step, a, cov.lo);
        cov = { lo: a, hi: cov.hi };
        this.setCoverage(step, cov.lo, cov.hi);
      }
      if (sealed > cov.hi) {
        await this.compactChunked(step, cov.hi, sealed);
        this.setCoverage(step, cov.lo, sealed);
      }
    };
    const p = this.busy.then(run);
    this.busy = p.catch(() => undefined);
    return p;
  }

  /** Filters as SQL conditions on the columns named like the dimensions (the calls table and the rollups). */
  private static where(filter: Partial<Record<RollupDimension, string>>): { sql: string; params: string[] } {
    let sql = '';
    const params: string[] = [];
    for (const d of DIMENSIONS) {
      const v = filter[d];
      if (v === undefined) continue;
      sql += ` AND ${d} = ?`;
      params.push(v);
    }
    return { sql, params };
  }

  /**
   * When the data of [from, to) begins (see OverviewBody.data_from): the first raw call's start where the ledger
   * still holds it, else the first rollup bucket's start (raw calls are kept for a shorter time than rollups).
   */
  dataFrom(from: number, to: number, filter: Partial<Record<RollupDimension, string>> = {}): number | null {
    const w = OverviewSeries.where(filter);
    const one = (sql: string, ...params: (string | number)[]) =>
      (
        this.db
          .prepare(sql)
          .raw()
          .get(...params, ...w.params) as [number | null] | undefined
      )?.[0] ?? null;
    const mStart = Math.floor(from / MINUTE_MS) * MINUTE_MS;
    const hStart = Math.floor(from / HOUR_MS) * HOUR_MS;
    // Every search is bounded (a filter matching nothing must not scan the ledger): the first rollup bucket with
    // calls, then the raw calls of that one bucket.
    const minute = one(`SELECT MIN(t) FROM calls_rollup_minute WHERE t >= ? AND t < ?${w.sql}`, mStart, to);
    const hour =
      minute === null ? one(`SELECT MIN(t) FROM calls_rollup_hour WHERE t >= ? AND t < ?${w.sql}`, hStart, to) : null;
    const bucket = minute ?? hour;
    if (bucket === null) return null;
    const before =
      one(`SELECT 1 FROM calls WHERE started_at >= ? AND started_at < ?${w.sql} LIMIT 1`, mStart, from) !== null ||
      one(`SELECT 1 FROM calls_rollup_minute WHERE t >= ? AND t < ?${w.sql} LIMIT 1`, hStart, mStart) !== null ||
      one(`SELECT 1 FROM calls_rollup_hour WHERE t < ?${w.sql} LIMIT 1`, hStart) !== null;
    if (before) return from;
    const size = minute !== null ? MINUTE_MS : HOUR_MS;
    const raw = one(
      `SELECT MIN(started_at) FROM calls WHERE started_at >= ? AND started_at < ?${w.sql}`,
      Math.max(from, bucket),
      Math.min(to, bucket + size),
    );
    const first = raw ?? bucket;
    return Math.max(from, first);
  }

  /** The overview for a query: compacted buckets where sealed and unfiltered, store rollups elsewhere. */
  async query(query: OverviewQuery): Promise<OverviewBody> {
    const dataFrom = this.dataFrom(query.from, query.to, query.filter);
    const q = fitted(query, dataFrom);
    const filtered = Object.keys(q.filter).length > 0;
    const start = Math.floor(q.from / q.stepMs) * q.stepMs;
    let compacted: RawRow[] = [];
    let liveFrom = start;
    if (!filtered) {
      await this.ensure(q.step, start, q.to);
      const cov = this.coverage(q.step);
      if (cov && cov.lo <= start) {
        liveFrom = Math.max(start, Math.min(cov.hi, q.to));
        compacted = this.ownRows(q.step, start, liveFrom);
      }
    }
    const live = liveFrom < q.to ? this.rollupRows(q.step, liveFrom, q.to, q.filter) : [];
    const now = this.now();
    const current = currentOf(q, now, dataFrom, (a, b) => this.rollupRows('minute', a, b, q.filter));
    return assemble(q, start, compacted.concat(live), compacted.length, live.length, { now, dataFrom, current });
  }
}

/**
 * The rate now: the minute rollups of the last CURRENT_MS ending at the last complete minute, over the seconds that
 * held data; for data younger than CURRENT_MIN_MS of complete minutes, the minutes so far (marked partial).
 */
function currentOf(
  q: OverviewQuery,
  now: number,
  dataFrom: number | null,
  minuteRows: (from: number, to: number) => RawRow[],
): CurrentRate | null {
  if (dataFrom === null) return null;
  const end = Math.min(q.to, now);
  let to = Math.floor(Math.min(q.to, now - SETTLE_MS) / MINUTE_MS) * MINUTE_MS;
  let from = Math.max(to - CURRENT_MS, dataFrom);
  let partial = false;
  if (to - from < CURRENT_MIN_MS) {
    partial = true;
    to = end;
    from = Math.max(dataFrom, end - CURRENT_MS);
    if (to - from <= 0) return null;
  }
  const b = new Bucket();
  for (const r of minuteRows(Math.floor(from / MINUTE_MS) * MINUTE_MS, to)) b.add(r);
  const seconds = (to - from) / 1000;
  return {
    from,
    to,
    seconds,
    partial,
    requests: b.requests,
    errors: b.errors,
    error_rate: b.requests ? sig(b.errors / b.requests) : null,
    rps: sig(b.requests / seconds),
    tokens_per_s: sig((b.inputTokens + b.outputTokens) / seconds),
    output_tokens_per_s: sig(b.outputTokens / seconds),
  };
}

interface Timing {
  now: number;
  dataFrom: number | null;
  current: CurrentRate | null;
}

/** Points for every bucket of the window (empty ones included) and the window's totals. */
function assemble(
  q: OverviewQuery,
  start: number,
  rows: RawRow[],
  compactedRows: number,
  rollupRows: number,
  timing: Timing,
): OverviewBody {
  const size = q.stepMs;
  const bucket = new Bucket();
  const total = new Bucket();
  const points: OverviewBody['points'] = [];
  const completeTo = Math.min(q.to, timing.now - SETTLE_MS);
  // Data that began before the window fills its first bucket from that bucket's start.
  const began = timing.dataFrom !== null && timing.dataFrom > q.from ? timing.dataFrom : null;
  let i = 0;
  for (let t = start; t < q.to; t += size) {
    bucket.reset();
    while (i < rows.length && (rows[i] as RawRow)[0] < t) i++;
    let any = false;
    while (i < rows.length && (rows[i] as RawRow)[0] < t + size) {
      bucket.add(rows[i] as RawRow);
      any = true;
      i++;
    }
    if (any) total.merge(bucket);
    // Rates per second of the bucket that held data (and had passed): not diluted at the data's start or now.
    const held = Math.min(t + size, timing.now) - Math.max(t, began ?? t);
    const seconds = any && held > 0 ? Math.max(1, held / 1000) : size / 1000;
    points.push({ t, partial: t + size > completeTo, ...bucket.figures(seconds) });
  }
  return {
    from: q.from,
    to: q.to,
    step: q.step,
    step_ms: size,
    filter: q.filter,
    source: { compacted_buckets: compactedRows, rollup_rows: rollupRows },
    summary: total.figures((q.to - q.from) / 1000),
    data_from: timing.dataFrom,
    complete_to: completeTo,
    current: timing.current,
    points,
  };
}

const rawRowOf = (p: RollupPoint): RawRow => [
  p.t,
  p.requests,
  p.errors,
  p.inputTokens,
  p.outputTokens,
  p.cachedInputTokens,
  p.costUsd,
  p.refusals,
  p.latency,
  p.ttft,
  p.tpot,
];

/**
 * data_from on other stores: the first hour with calls, its first minute, and the first call there (when the
 * store lists calls and that minute holds at most a page of them; else the minute's start).
 */
async function dataFromStore(store: Store, q: OverviewQuery): Promise<number | null> {
  const f = q.filter;
  const firstT = (ps: RollupPoint[]) =>
    ps.reduce<number | null>((m, p) => (p.requests > 0 && (m === null || p.t < m) ? p.t : m), null);
  const hour = firstT(
    await store.queryRollups({ from: Math.floor(q.from / HOUR_MS) * HOUR_MS, to: q.to, step: 'hour', filter: f }),
  );
  if (hour === null) return null;
  const minute =
    firstT(
      await store.queryRollups({
        from: Math.max(hour, Math.floor(q.from / MINUTE_MS) * MINUTE_MS),
        to: Math.min(q.to, hour + HOUR_MS),
        step: 'minute',
        filter: f,
      }),
    ) ?? hour;
  if (typeof store.listCalls !== 'function') return Math.max(q.from, minute);
  if ((await store.listCalls({ ...f, to: q.from, limit: 1 } as never)).items.length > 0) return q.from;
  const page = await store.listCalls({
    ...f,
    from: Math.max(q.from, minute),
    to: minute + MINUTE_MS,
    limit: 500,
  } as never);
  const exact =
    page.nextCursor === null && page.items.length > 0 ? Math.min(...page.items.map((c) => c.startedAt)) : null;
  return Math.max(q.from, exact ?? minute);
}

/** The current rate from any store's minute rollups (the last few minutes before `now` or the window's end). */
async function currentFromStore(
  store: Store,
  q: OverviewQuery,
  now: number,
  dataFrom: number | null,
): Promise<CurrentRate | null> {
  if (dataFrom === null) return null;
  const from = Math.floor((Math.min(q.to, now) - CURRENT_MS - SETTLE_MS - 2 * MINUTE_MS) / MINUTE_MS) * MINUTE_MS;
  const minutes = (await store.queryRollups({ from, to: q.to, step: 'minute', filter: q.filter })).map(rawRowOf);
  return currentOf(q, now, dataFrom, (a, b) => minutes.filter((r) => r[0] >= a && r[0] < b));
}

/**
 * When the data of [from, to) begins and the rate now, on any store: what /api/stats/summary adds to its figures
 * (the same `data_from` and `current` as /api/overview).
 */
export async function dataAgeOf(
  store: Store,
  from: number,
  to: number,
  filter: Partial<Record<RollupDimension, string>>,
  now: number,
): Promise<{ data_from: number | null; current: CurrentRate | null }> {
  const q: OverviewQuery = { from, to, step: 'minute', stepMs: MINUTE_MS, fit: false, filter };
  const dataFrom = await dataFromStore(store, q);
  return { data_from: dataFrom, current: await currentFromStore(store, q, now, dataFrom) };
}

/** Fallback for stores other than SQLite: the same body from `queryRollups` (slower on large windows). */
async function overviewFromStore(store: Store, query: OverviewQuery, now: number): Promise<OverviewBody> {
  const dataFrom = await dataFromStore(store, query);
  const q = fitted(query, dataFrom);
  const start = Math.floor(q.from / q.stepMs) * q.stepMs;
  const points = await store.queryRollups({ from: start, to: q.to, step: q.step, filter: q.filter });
  const rows = points.map(rawRowOf).sort((a, b) => a[0] - b[0]);
  const current = await currentFromStore(store, q, now, dataFrom);
  return assemble(q, start, rows, 0, rows.length, { now, dataFrom, current });
}

export interface OverviewRoutes {
  series: OverviewSeries | null;
}

/**
 * Registers GET /api/overview and GET /api/ui/config. On SQLite it also compacts the last day (minutes) and the last 30 days (hours)
 * in the background shortly after start, so the first dashboard view does not pay for it.
 */
export function registerOverviewRoutes(
  router: Router,
  store: Store,
  now: () => number = Date.now,
  ui: { traceUrlTemplate?: string | null } = {},
): OverviewRoutes {
  const backend = store.backend;
  const series = backend.kind === 'sqlite' ? new OverviewSeries({ backend }, now) : null;
  // What the dashboard needs from the config (and nothing secret): the link template to the user's tracing UI.
  router.get('/api/ui/config', ({ res }) => sendJson(res, 200, { trace_url_template: ui.traceUrlTemplate ?? null }));
  router.get('/api/overview', async ({ res, url, principal }) => {
    const q = parseOverviewQuery(url, now());
    // The compacted series (SQLite) is kept per deployment, not per team: a scoped principal's overview is built from
    // the rollups, narrowed to its scope.
    if (principal?.scope)
      return sendJson(res, 200, await overviewFromStore(scopedStore(store, principal.scope), q, now()));
    sendJson(res, 200, series ? await series.query(q) : await overviewFromStore(store, q, now()));
  });
  if (series) {
    const warm = setTimeout(() => {
      const t = now();
      series
        .ensure('minute', t - 24 * HOUR_MS, t)
        .then(() => series.ensure('hour', t - 30 * 24 * HOUR_MS, t))
        .catch(() => undefined);
    }, 1000);
    warm.unref();
  }
  return { series };
}
