// The overview's compacted series on SQLite: buckets that can no longer change are compacted once into one row per
// minute and per hour across all dimensions, in this file's own migration namespace (see index.ts's header).
import type { Database } from 'better-sqlite3';
import {
  encodeHistogram,
  HOUR_MS,
  MINUTE_MS,
  type RollupDimension,
  type RollupStep,
  type SqliteBackend,
} from '../../store/index.js';
import {
  assemble,
  Bucket,
  currentOf,
  DIMENSIONS,
  fitted,
  type OverviewBody,
  type OverviewQuery,
  pointsStart,
  type RawRow,
  SEAL_LAG_MS,
} from './body.js';

/** How far back from the sealed edge counts are re-checked for late calls. */
const RECHECK_MS = { minute: 3 * HOUR_MS, hour: 6 * HOUR_MS } as const;
/** Compaction works in chunks of this span, yielding to the event loop between them. */
const CHUNK_MS = { minute: HOUR_MS, hour: 24 * HOUR_MS } as const;

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
    const start = pointsStart(q, dataFrom);
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
