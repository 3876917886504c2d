// The embedded Store on SQLite (better-sqlite3): WAL, one transaction per batch, rollups folded in memory and
// upserted once per key. The interface is async so PostgreSQL can implement it too; this implementation is
// synchronous underneath, and every failure (closed handle, read-only database, full disk) is a rejection.
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import BetterSqlite3, { type Database, type Statement } from 'better-sqlite3';
import type { LlmCall } from '../../calls/index.js';
import { LlmscopeError } from '../../errors.js';
import { HOUR_MS, MINUTE_MS } from '../../time.js';
import type { SqliteBackend } from '../backend.js';
import { linesOf } from '../call-logs.js';
import { type CallRow, callOfRow } from '../call-row.js';
import { decodeCursor, encodeCursor, pageSize, prefixEnd } from '../cursor.js';
import { decodeHistogram } from '../histogram.js';
import { metadataFilter, metadataPath } from '../metadata-query.js';
import { legacyOtlpId, otlpIdTime } from '../otlp-ids.js';
import { emptyStatuses, pointsOf, type RollupRow } from '../rollup.js';
import type {
  CallLogLines,
  CallLogRow,
  CallPage,
  CallQuery,
  RetentionResult,
  RollupDimension,
  RollupPoint,
  RollupQuery,
  Store,
} from '../store.js';
import {
  CallWriter,
  ROLLUP_HISTOGRAMS,
  ROLLUP_KEY,
  ROLLUP_SUMS,
  ROLLUP_TABLES,
  registerHistogramFunctions,
  type StoredRollupRow,
} from './call-writer.js';
import {
  BACKSTOP_AUTOCHECKPOINT,
  type Checkpointer,
  DEFAULT_AUTOCHECKPOINT,
  DEFAULT_CHECKPOINT_INTERVAL_MS,
  startCheckpointer,
} from './checkpointer.js';
import { applyMigrations, type SqliteMigration, validateMigrations } from './migrations.js';
import { CORE_MIGRATIONS } from './schema.js';
import { guardWrites, localModule, startWriterThread, type WriterThread, writeGate } from './writer.js';
import type { WriteJobModule } from './writer-thread.js';

export const CORE_NAMESPACE = 'core';
const CALL_LOGS_JOB = new URL('./call-logs-job.js', import.meta.url);
/** Rows deleted per statement by retention; each chunk is its own short write transaction. */
export const RETENTION_CHUNK = 1000;

export interface SqliteStoreOptions {
  /** Extra migrations by namespace, applied by `migrate()` after the core schema. */
  migrations?: Record<string, readonly SqliteMigration[]>;
  /** How long a writer waits for another connection's lock (default 5000 ms). */
  busyTimeoutMs?: number;
  /**
   * How often a worker thread checkpoints the WAL of a file database, in ms (default 500; 0: SQLite's automatic
   * checkpoints, inside commits on the event loop). See checkpointer.ts.
   */
  checkpointIntervalMs?: number;
  /**
   * Write calls, and run write jobs (`backend.write`), on a worker thread with its own connection (writer.ts), so the
   * transactions run beside the event loop instead of on it (default true, `storage.writerThread`; a file database
   * only — an in-memory one has no second connection).
   */
  writerThread?: boolean;
}

function rollupOf(r: StoredRollupRow): RollupRow {
  const statuses = emptyStatuses();
  statuses.ok = r.ok;
  statuses.client_error = r.client_error;
  statuses.upstream_error = r.upstream_error;
  statuses.rate_limited = r.rate_limited;
  statuses.timeout = r.timeout;
  statuses.cancelled = r.cancelled;
  return {
    t: r.t,
    provider: r.provider,
    model: r.model,
    endpoint: r.endpoint,
    feature: r.feature,
    team: r.team,
    requests: r.requests,
    statuses,
    inputTokens: r.input_tokens,
    outputTokens: r.output_tokens,
    cachedInputTokens: r.cached_input_tokens,
    costUsd: r.cost_usd,
    refusals: r.refusals,
    latency: decodeHistogram(r.latency),
    ttft: decodeHistogram(r.ttft),
    tpot: decodeHistogram(r.tpot),
  };
}

/**
 * The SQL of a rollup query: rows of the step's table with bucket start in [from, to), summed in SQL per
 * (t, groupBy dimensions) — histograms with the `llmscope_hist_sum` aggregate — so only one row per point
 * comes back to JavaScript. Dimensions not grouped by come back as ''.
 */
export function rollupSql(query: RollupQuery): { sql: string; params: (string | number)[] } {
  const dims = ROLLUP_KEY.slice(1) as readonly string[];
  const where = ['t >= ?', 't < ?'];
  const params: (string | number)[] = [query.from, query.to];
  const refuse = (what: string, name: string, param: string) =>
    new LlmscopeError(
      'LLMSCOPE_ERR_INVALID_QUERY',
      `cannot ${what} rollups by "${name}"; use one of ${dims.join(', ')}`,
      { param },
    );
  for (const [dim, v] of Object.entries(query.filter ?? {})) {
    if (v === undefined) continue;
    if (!dims.includes(dim)) throw refuse('filter', dim, dim);
    where.push(`${dim} = ?`);
    params.push(v);
  }
  const groupBy = [...new Set(query.groupBy ?? [])];
  for (const d of groupBy) if (!dims.includes(d)) throw refuse('group', d, 'groupBy');
  const select = [
    't',
    ...dims.map((d) => (groupBy.includes(d as RollupDimension) ? d : `'' AS ${d}`)),
    ...ROLLUP_SUMS.map((c) => `SUM(${c}) AS ${c}`),
    ...ROLLUP_HISTOGRAMS.map((c) => `llmscope_hist_sum(${c}) AS ${c}`),
  ];
  const sql = `SELECT ${select.join(', ')} FROM ${ROLLUP_TABLES[query.step]} WHERE ${where.join(' AND ')}
    GROUP BY ${['t', ...groupBy].join(', ')}`;
  return { sql, params };
}

const yieldToEventLoop = () => new Promise<void>((r) => setImmediate(r));

/** Buckets of a rollup query's first read (queryRollups); later reads follow how long one took. */
export const ROLLUP_SLICE_BUCKETS = 2;
/** About how long one read of a rollup query holds the event loop, in ms. */
const ROLLUP_SLICE_MS = 4;

/** The id columns `q` searches by prefix; each has an index (request_id its primary key). */
const ID_COLUMNS = ['request_id', 'trace_id', 'session', 'upstream_request_id'] as const;
/** Past this many calls whose ids start with `q`, a page is read in time order and filtered instead. */
export const PREFIX_CANDIDATES = 2000;

/**
 * The SQL of one `listCalls` page (exported for the query-plan test). Newest first by (started_at, request_id); the
 * cursor is a row-value bound, so SQLite seeks the index straight to it instead of scanning earlier pages.
 *
 * The text search `q` is a prefix of a request id, trace id, session id or the provider's request id (case-sensitive,
 * as ids are), served by those columns' indexes. With `plan: 'candidates'` the page is drawn from the calls whose ids
 * start with the text (the primary key driven by the four index ranges, then sorted) — fast when they are few; with `'scan'` the
 * time index is walked and the prefixes tested — fast when they are many, since the page then fills quickly.
 * `listCalls` counts the candidates first (index ranges, capped) to choose.
 */
export function listCallsSql(
  query: CallQuery,
  rows: number,
  plan: 'candidates' | 'scan' = 'candidates',
): { sql: string; params: (string | number)[] } {
  const where: string[] = [];
  const params: (string | number)[] = [];
  let from = 'calls';
  const eq = (col: string, v: string | undefined) => {
    if (v === undefined) return;
    where.push(`${col} = ?`);
    params.push(v);
  };
  if (query.text) {
    const [lo, hi] = [query.text, prefixEnd(query.text)];
    if (plan === 'candidates') {
      from = 'calls INDEXED BY sqlite_autoindex_calls_1';
      where.push(
        `request_id IN (${ID_COLUMNS.map((c) => `SELECT request_id FROM calls WHERE ${c} >= ? AND ${c} < ?`).join(' UNION ')})`,
      );
    } else where.push(`(${ID_COLUMNS.map((c) => `(${c} >= ? AND ${c} < ?)`).join(' OR ')})`);
    for (const _ of ID_COLUMNS) params.push(lo, hi);
  }
  if (query.from !== undefined) {
    where.push('started_at >= ?');
    params.push(query.from);
  }
  if (query.to !== undefined) {
    where.push('started_at < ?');
    params.push(query.to);
  }
  eq('model', query.model);
  eq('provider', query.provider);
  eq('status', query.status);
  // calls_status is partial (WHERE status <> 'ok', schema.ts v6): this implied term lets the planner use it
  if (query.status !== undefined && query.status !== 'ok') where.push("status <> 'ok'");
  eq('"user"', query.user);
  eq('team', query.team);
  eq('feature', query.feature);
  eq('api_key_id', query.apiKeyId);
  eq('upstream_request_id', query.upstreamRequestId);
  eq('endpoint', query.endpoint);
  if (query.minLatencyMs !== undefined) {
    where.push('latency_ms >= ?');
    params.push(query.minLatencyMs);
  }
  for (const [k, v] of metadataFilter(query.metadata)) {
    where.push('json_extract(metadata, ?) = ?');
    params.push(metadataPath(k), v);
  }
  if (query.cursor) {
    const c = decodeCursor(query.cursor);
    where.push('(started_at, request_id) < (?, ?)');
    params.push(c.startedAt, c.requestId);
  }
  params.push(rows);
  const sql = `SELECT * FROM ${from}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY started_at DESC, request_id DESC LIMIT ?`;
  return { sql, params };
}

/** How many calls have an id starting with `prefix`, counting each index range up to `cap` (so at most 4×cap). */
export function prefixCandidatesSql(cap: number): string {
  return `SELECT ${ID_COLUMNS.map((c) => `(SELECT count(*) FROM (SELECT 1 FROM calls WHERE ${c} >= ? AND ${c} < ? LIMIT ${cap}))`).join(' + ')} AS n`;
}

interface Statements {
  getCall: Statement<[string]>;
  ping: Statement<[]>;
}

/**
 * Store on an embedded SQLite file. `path` is a file path (its directory is created) or `:memory:`.
 *
 * Other capabilities add tables to the same database through the migration mechanism: pass
 * `{ migrations: { gpu: [...] } }` to the constructor, or call `registerMigrations('gpu', [...])` — before
 * `migrate()` they run with it, after it they run at once. Each namespace is versioned on its own in
 * `schema_migrations`. `db` is the better-sqlite3 handle, for those modules' own statements.
 */
export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  readonly db: Database;
  readonly backend: SqliteBackend;
  readonly path: string;
  private readonly extraMigrations = new Map<string, readonly SqliteMigration[]>();
  private migrated = false;
  private stmts: Statements | null = null;
  /** Prepared statements for the dynamic queries, by SQL text (the set of filter combinations is small and fixed). */
  private readonly dynamic = new Map<string, Statement>();
  /** Writes calls on this connection: an in-memory database, before migrate(), or without the writer thread. */
  private readonly callWriter: CallWriter;
  /** The writer thread, once started (on the first write after migrate()); null when off or failed. */
  private writer: Promise<WriterThread | null> | null = null;
  private readonly writerThreadOn: boolean;
  /** `PRAGMA query_only`, prepared once: `db.pragma()` prepares a statement on every call (3-7 µs, once per write). */
  private queryOnlyStatement: BetterSqlite3.Statement<[], number> | null = null;
  private readonly gate = writeGate();
  private readonly busyTimeoutMs: number;
  private readonly checkpointer: Checkpointer | null = null;
  /** Time-led OTLP ids up to this span start (ms) may be stored under their old form (schema.ts, migration 8). */
  private legacyOtlpIdsUntil = Number.NEGATIVE_INFINITY;

  constructor(path: string, opts: SqliteStoreOptions = {}) {
    const memory = path === ':memory:' || path === '';
    this.path = memory ? ':memory:' : resolve(path);
    try {
      if (!memory) mkdirSync(dirname(this.path), { recursive: true });
      this.db = new BetterSqlite3(this.path);
      this.busyTimeoutMs = Math.max(0, Math.floor(opts.busyTimeoutMs ?? 5000));
      this.db.pragma(`busy_timeout = ${this.busyTimeoutMs}`);
      if (!memory) this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      this.db.pragma('temp_store = MEMORY');
      this.db.pragma('cache_size = -16000');
    } catch (err) {
      throw new LlmscopeError(
        'LLMSCOPE_ERR_CONFIG_INVALID',
        `cannot open the SQLite database at ${this.path} (${(err as Error).message}); check storage.url (sqlite:PATH) and that its directory is writable`,
      );
    }
    registerHistogramFunctions(this.db);
    this.backend = {
      kind: 'sqlite',
      db: this.db,
      migrations: { register: (namespace, migrations) => this.registerMigrations(namespace, migrations) },
      write: (job, payload) => this.runJob(job, payload),
    };
    this.callWriter = new CallWriter(this.db);
    this.writerThreadOn = !memory && opts.writerThread !== false;
    // This connection's writes (the store's and the capabilities' own tables) let the writer thread pause for them.
    if (this.writerThreadOn) guardWrites(this.db, this.gate);
    for (const [ns, list] of Object.entries(opts.migrations ?? {})) this.registerMigrations(ns, list);
    const interval = opts.checkpointIntervalMs ?? DEFAULT_CHECKPOINT_INTERVAL_MS;
    if (!memory && interval > 0) {
      this.db.pragma(`wal_autocheckpoint = ${BACKSTOP_AUTOCHECKPOINT}`);
      this.checkpointer = startCheckpointer(this.path, interval, () => {
        // Without the worker, SQLite checkpoints inside commits again, as by default.
        if (this.db.open) this.db.pragma(`wal_autocheckpoint = ${DEFAULT_AUTOCHECKPOINT}`);
      });
    }
  }

  /**
   * Adds a capability's migrations under its own namespace (not `core`). Applied by `migrate()`, or right away
   * (synchronously, throwing on failure) when the store has already been migrated.
   */
  registerMigrations(namespace: string, migrations: readonly SqliteMigration[]): void {
    if (namespace === CORE_NAMESPACE)
      throw new LlmscopeError('LLMSCOPE_ERR_INTERNAL', 'the "core" migration namespace belongs to the store itself');
    const all = [...(this.extraMigrations.get(namespace) ?? []), ...migrations];
    validateMigrations(namespace, all);
    this.extraMigrations.set(namespace, all);
    if (this.migrated) applyMigrations(this.db, namespace, all);
  }

  async migrate(): Promise<void> {
    applyMigrations(this.db, CORE_NAMESPACE, CORE_MIGRATIONS);
    const legacy = this.db.prepare('SELECT max(until) AS until FROM legacy_otlp_ids').get() as { until: number | null };
    this.legacyOtlpIdsUntil = legacy.until ?? Number.NEGATIVE_INFINITY;
    for (const [ns, list] of this.extraMigrations) applyMigrations(this.db, ns, list);
    this.migrated = true;
    // Started now rather than by the first write: its start (a thread loading SQLite and opening the file, seconds on
    // a loaded host) would otherwise hold the first calls in memory, unwritten, that long after they were answered.
    if (this.db.open && !this.queryOnly()) void this.writerThread();
  }

  private statements(): Statements {
    if (this.stmts) return this.stmts;
    this.stmts = {
      getCall: this.db.prepare<[string]>('SELECT * FROM calls WHERE request_id = ?'),
      ping: this.db.prepare<[]>('SELECT 1'),
    };
    return this.stmts;
  }

  private prepared(sql: string): Statement {
    let st = this.dynamic.get(sql);
    if (!st) {
      st = this.db.prepare(sql);
      if (this.dynamic.size < 512) this.dynamic.set(sql, st);
    }
    return st;
  }

  /** The writer thread, started once, after migrate() (its statements need the schema); null if off or failed. */
  private writerThread(): Promise<WriterThread | null> | null {
    if (!this.writerThreadOn || !this.migrated) return null;
    this.writer ??= startWriterThread({
      path: this.path,
      busyTimeoutMs: this.busyTimeoutMs,
      autocheckpoint: this.checkpointer ? BACKSTOP_AUTOCHECKPOINT : DEFAULT_AUTOCHECKPOINT,
      gate: this.gate,
      // From then on, calls are written on this connection, as without the thread.
      onFailure: () => (this.writer = Promise.resolve(null)),
    }).catch(() => null);
    return this.writer;
  }

  /** The thread writing calls (started by migrate()); null while calls are written here. */
  async callWriterThread(): Promise<WriterThread | null> {
    return (await this.writer) ?? null;
  }

  /**
   * The writer thread for a write now, or null to write on this connection: always so for a closed or read-only
   * (query_only) store, which then refuses here, as SQLite does, whatever thread would have written.
   */
  private async threadForWrite(): Promise<WriterThread | null> {
    return this.db.open && !this.queryOnly() ? this.writerThread() : null;
  }

  /** Whether this connection is read-only now (`PRAGMA query_only`; set by whoever holds it, so read each time). */
  private queryOnly(): boolean {
    this.queryOnlyStatement ??= this.db.prepare<[], number>('PRAGMA query_only').pluck();
    return this.queryOnlyStatement.get() === 1;
  }

  private async runJob<T>(job: URL, payload: unknown): Promise<T> {
    const thread = await this.threadForWrite();
    if (thread) return thread.job<T>(job, payload);
    // Here, as on the thread: the payload is a copy, so a job cannot keep or change the caller's objects.
    const mod = (await import(localModule(job).href)) as WriteJobModule;
    return mod.run(this.db, structuredClone(payload)) as T;
  }

  async insertCalls(calls: readonly LlmCall[]): Promise<void> {
    if (calls.length === 0) return;
    const thread = await this.threadForWrite();
    if (thread) return thread.write(calls);
    this.callWriter.insert(calls);
  }

  async insertCallLogs(rows: readonly CallLogRow[]): Promise<void> {
    if (rows.length === 0) return;
    await this.runJob(CALL_LOGS_JOB, rows);
  }

  async callLogs(requestId: string, limit: number): Promise<CallLogLines> {
    const rows = this.prepared('SELECT line, dropped FROM call_logs WHERE request_id = ? ORDER BY at, seq, rowid').all(
      requestId,
    ) as { line: string | null; dropped: number }[];
    return linesOf(rows, limit);
  }

  async getCall(requestId: string): Promise<LlmCall | null> {
    const row = this.statements().getCall.get(requestId) as CallRow | undefined;
    return row ? callOfRow(row) : null;
  }

  async knownIds(requestIds: readonly string[]): Promise<Set<string>> {
    // A time-led OTLP id made before the upgrade's margin ran out may be stored under its old form (otlp-ids.ts).
    let legacy: Map<string, string> | null = null;
    if (this.legacyOtlpIdsUntil !== Number.NEGATIVE_INFINITY)
      for (const id of requestIds) {
        const t = otlpIdTime(id);
        if (t === null || t > this.legacyOtlpIdsUntil) continue;
        legacy ??= new Map();
        legacy.set(legacyOtlpId(id) as string, id);
      }
    // One statement for any number of ids (no limit on bound parameters): the list as one JSON parameter.
    const rows = this.prepared('SELECT request_id FROM calls WHERE request_id IN (SELECT value FROM json_each(?))').all(
      JSON.stringify(legacy ? [...requestIds, ...legacy.keys()] : requestIds),
    ) as { request_id: string }[];
    return new Set(rows.map((r) => legacy?.get(r.request_id) ?? r.request_id));
  }

  /**
   * How `listCalls` finds calls whose ids start with `text`: from the matching ids when there are at most
   * PREFIX_CANDIDATES of them (a capped index-range count per id column), else by walking the time index.
   */
  prefixPlan(text: string): 'candidates' | 'scan' {
    const bounds = ID_COLUMNS.flatMap(() => [text, prefixEnd(text)]);
    const { n } = this.prepared(prefixCandidatesSql(PREFIX_CANDIDATES + 1)).get(...bounds) as { n: number };
    return n > PREFIX_CANDIDATES ? 'scan' : 'candidates';
  }

  async listCalls(query: CallQuery): Promise<CallPage> {
    const limit = pageSize(query.limit);
    const plan = query.text ? this.prefixPlan(query.text) : 'candidates';
    const { sql, params } = listCallsSql(query, limit + 1, plan);
    const rows = this.prepared(sql).all(...params) as CallRow[];
    const more = rows.length > limit;
    const items = (more ? rows.slice(0, limit) : rows).map(callOfRow);
    const last = items[items.length - 1];
    return {
      items,
      nextCursor: more && last ? encodeCursor({ startedAt: last.startedAt, requestId: last.requestId }) : null,
    };
  }

  /**
   * Read a slice of buckets at a time, the event loop turning between slices: a statement runs on the event loop
   * and sums every row's histograms in JavaScript (llmscope_hist_sum), so a long window read in one went on holding
   * the loop as the history grew (an alert evaluation's SLO windows, up to 6 hours of minute rows, held it for up to
   * 180 ms at once after an hour of the soak's traffic: bench/RESULTS.md, "Soak: the event loop's stalls"). A slice starts at ROLLUP_SLICE_BUCKETS
   * buckets and is doubled or halved to keep each read near ROLLUP_SLICE_MS (one bucket's rows are the floor). Points
   * are per bucket, so the slices' points, in order, are the whole window's.
   */
  async queryRollups(query: RollupQuery): Promise<RollupPoint[]> {
    rollupSql(query); // refuses an unknown dimension, whatever the window holds
    const size = query.step === 'hour' ? HOUR_MS : MINUTE_MS;
    const out: RollupPoint[] = [];
    // Slices start where the window's rows do (its key index leads with t), so a slice grown over empty buckets
    // does not then take hours of rows at once.
    const span = this.prepared(
      `SELECT min(t) AS lo, max(t) AS hi FROM ${ROLLUP_TABLES[query.step]} WHERE t >= ? AND t < ?`,
    ).get(query.from, query.to) as { lo: number | null; hi: number | null };
    if (span.lo === null || span.hi === null) return out;
    const end = Math.min(query.to, span.hi + 1);
    let buckets = ROLLUP_SLICE_BUCKETS;
    for (let from = span.lo; ; ) {
      const next = from + buckets * size;
      // The last slice; the only one for a window that slices cannot step through (not finite).
      const last = !(next > from && next < end);
      const to = last ? end : next;
      const started = performance.now();
      const { sql, params } = rollupSql({ ...query, from, to });
      const rows = (this.prepared(sql).all(...params) as StoredRollupRow[]).map(rollupOf);
      for (const p of pointsOf(rows, query.groupBy ?? [])) out.push(p);
      if (last) return out;
      const took = performance.now() - started;
      if (took < ROLLUP_SLICE_MS / 2) buckets *= 2;
      else if (took > ROLLUP_SLICE_MS * 2 && buckets > 1) buckets = Math.max(1, Math.floor(buckets / 2));
      from = to;
      await yieldToEventLoop();
    }
  }

  /** Deletes rows of `table` where `col < before`, a chunk per statement, yielding between chunks. */
  private async deleteBefore(table: string, col: string, before: number): Promise<number> {
    const st = this.prepared(
      `DELETE FROM ${table} WHERE rowid IN (SELECT rowid FROM ${table} WHERE ${col} < ? LIMIT ${RETENTION_CHUNK})`,
    );
    let total = 0;
    for (;;) {
      const { changes } = st.run(before);
      total += changes;
      if (changes < RETENTION_CHUNK) return total;
      await yieldToEventLoop();
    }
  }

  async applyRetention(opts: {
    rawBefore: number;
    minuteBefore: number;
    hourBefore: number;
  }): Promise<RetentionResult> {
    const deletedCalls = await this.deleteBefore('calls', 'started_at', opts.rawBefore);
    await this.deleteBefore('call_logs', 'at', opts.rawBefore);
    const minute = await this.deleteBefore(ROLLUP_TABLES.minute, 't', opts.minuteBefore);
    const hour = await this.deleteBefore(ROLLUP_TABLES.hour, 't', opts.hourBefore);
    return { deletedCalls, deletedRollups: minute + hour };
  }

  async userCallIds(user: string): Promise<string[]> {
    const rows = this.prepared('SELECT request_id FROM calls WHERE "user" = ?').all(user) as { request_id: string }[];
    return rows.map((r) => r.request_id);
  }

  async deleteCalls(requestIds: readonly string[]): Promise<number> {
    if (requestIds.length === 0) return 0;
    const ids = JSON.stringify(requestIds);
    return this.db.transaction(() => {
      this.prepared('DELETE FROM call_logs WHERE request_id IN (SELECT value FROM json_each(?))').run(ids);
      return this.prepared('DELETE FROM calls WHERE request_id IN (SELECT value FROM json_each(?))').run(ids).changes;
    })();
  }

  async ping(): Promise<boolean> {
    try {
      if (!this.db.open) return false;
      this.statements().ping.get();
      return !this.queryOnly();
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    if (!this.db.open) return;
    // The workers' connections go first (the writer's after its last batch), so closing this last one checkpoints
    // and removes the WAL.
    const writer = await this.writer;
    await writer?.stop();
    await this.checkpointer?.stop();
    try {
      this.db.pragma('optimize');
    } catch {
      // best effort: a read-only or busy database closes all the same
    }
    this.db.close();
  }
}
