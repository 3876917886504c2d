// Writing calls to SQLite: one transaction per batch, each call's row inserted (a duplicate request id is ignored)
// and only the calls actually inserted folded into the minute and hour rollups, one upsert per rollup key. The same
// code runs on the store's own connection (an in-memory database, or when the writer thread is off) and on the
// writer thread's connection (writer-thread.ts), so both write exactly the same rows.
import type { Database, Statement } from 'better-sqlite3';
import type { LlmCall } from '../../calls/index.js';
import { CALL_COLUMN_LIST, CALL_COLUMNS, type CallValue, callRowValues, SQLITE_ROW } from '../call-row.js';
import { Dense } from '../dense-histogram.js';
import { bucketOf, encodeHistogram, mergeEncoded } from '../histogram.js';
import { emptyStatuses, HOUR_MS, MINUTE_MS, type RollupInput, type RollupRow, type RollupSums } from '../rollup.js';

export interface StoredRollupRow {
  t: number;
  provider: string;
  model: string;
  endpoint: string;
  feature: string;
  team: string;
  requests: number;
  ok: number;
  client_error: number;
  upstream_error: number;
  rate_limited: number;
  timeout: number;
  cancelled: number;
  input_tokens: number;
  output_tokens: number;
  cached_input_tokens: number;
  cost_usd: number;
  refusals: number;
  latency: Buffer;
  ttft: Buffer;
  tpot: Buffer;
}

export const ROLLUP_SUMS = [
  'requests',
  'ok',
  'client_error',
  'upstream_error',
  'rate_limited',
  'timeout',
  'cancelled',
  'input_tokens',
  'output_tokens',
  'cached_input_tokens',
  'cost_usd',
  'refusals',
] as const;
export const ROLLUP_HISTOGRAMS = ['latency', 'ttft', 'tpot'] as const;
export const ROLLUP_KEY = ['t', 'provider', 'model', 'endpoint', 'feature', 'team'] as const;
export const ROLLUP_TABLES = { minute: 'calls_rollup_minute', hour: 'calls_rollup_hour' } as const;

/** A rollup row as stored, its histograms encoded by `encode` (RollupBatch's counts objects, RollupFold's dense arrays). */
function storedRow<H>(r: RollupSums<H>, encode: (h: H) => Buffer): StoredRollupRow {
  return {
    t: r.t,
    provider: r.provider,
    model: r.model,
    endpoint: r.endpoint,
    feature: r.feature,
    team: r.team,
    requests: r.requests,
    ok: r.statuses.ok,
    client_error: r.statuses.client_error,
    upstream_error: r.statuses.upstream_error,
    rate_limited: r.statuses.rate_limited,
    timeout: r.statuses.timeout,
    cancelled: r.statuses.cancelled,
    input_tokens: r.inputTokens,
    output_tokens: r.outputTokens,
    cached_input_tokens: r.cachedInputTokens,
    cost_usd: r.costUsd,
    refusals: r.refusals,
    latency: encode(r.latency),
    ttft: encode(r.ttft),
    tpot: encode(r.tpot),
  };
}

export function storedRollupOf(r: RollupRow): StoredRollupRow {
  return storedRow(r, encodeHistogram);
}

/** The calls' `calls` rows, as SQLite stores them. */
export function rowsOf(calls: readonly LlmCall[]): CallValue[][] {
  return calls.map((c) => callRowValues(c, SQLITE_ROW));
}

const col = (name: string): number => {
  const i = CALL_COLUMNS.findIndex(([c]) => c === name);
  if (i < 0) throw new Error(`no column ${name} in calls`);
  return i;
};
const C = {
  requestId: col('request_id'),
  startedAt: col('started_at'),
  provider: col('provider'),
  model: col('model'),
  endpoint: col('endpoint'),
  feature: col('feature'),
  team: col('team'),
  status: col('status'),
  inputTokens: col('input_tokens'),
  outputTokens: col('output_tokens'),
  cachedInputTokens: col('cached_input_tokens'),
  costUsd: col('cost_usd'),
  refusal: col('refusal'),
  latencyMs: col('latency_ms'),
  ttftMs: col('ttft_ms'),
  tpotMs: col('tpot_ms'),
};

/**
 * One stored rollup row being folded: its sums, and its histograms as dense counts (pooled, see RollupFold); a minute
 * row also points at its hour row. A class, so that every row has one shape and the fold's reads and writes of its
 * fields stay monomorphic (rows spread from a literal each had a shape of their own).
 */
class FoldRow implements RollupSums<Dense> {
  requests = 0;
  statuses = emptyStatuses();
  inputTokens = 0;
  outputTokens = 0;
  cachedInputTokens = 0;
  costUsd = 0;
  refusals = 0;
  hour: FoldRow | null = null;
  constructor(
    readonly t: number,
    readonly provider: string,
    readonly model: string,
    readonly endpoint: LlmCall['endpoint'],
    readonly feature: string,
    readonly team: string,
    readonly latency: Dense,
    readonly ttft: Dense,
    readonly tpot: Dense,
  ) {}
}

/**
 * A fold step's rows by key: bucket start, then each key dimension in turn (provider, model, endpoint, feature, team),
 * so finding a call's row hashes its short values as they are instead of a joined key text (which V8 had to build,
 * flatten and hash for every call: most of the fold's time).
 */
type KeyTree = Map<number, Map<string, Map<string, Map<string, Map<string, Map<string, FoldRow>>>>>>;

/** The map under `key` in `m`, made when first met. */
function child<K, V>(m: Map<K, Map<string, V>>, key: K): Map<string, V> {
  let v = m.get(key);
  if (v === undefined) {
    v = new Map();
    m.set(key, v);
  }
  return v;
}

/** The rows by team under the other key values in `tree`, its maps made when first met. */
const byTeamOf = (tree: KeyTree, t: number, provider: string, model: string, endpoint: string, feature: string) =>
  child(child(child(child(child(tree, t), provider), model), endpoint), feature);

const encodeDense = (d: Dense): Buffer => d.encode();
const finite = (v: number | null | undefined): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
/** A histogram's bucket for a figure, or -1 when it has none (null or not finite). */
const bucketOrNone = (ms: number | null): number => (ms !== null && Number.isFinite(ms) ? bucketOf(ms) : -1);

/**
 * A batch's minute and hour rollup rows, folded as RollupBatch folds them (rollup.ts: the same keys, sums and
 * histograms; storedRollupOf of its rows, byte for byte) at less cost for the writer: a call's row is found by its
 * key values one map level each (no key text), its histogram buckets are worked out once for both steps, and the
 * histograms are dense arrays (reused batch after batch) packed in one pass, not objects sorted to be packed.
 */
export class RollupFold {
  private readonly minute: KeyTree = new Map();
  private readonly hour: KeyTree = new Map();
  /** Each step's rows in the order their keys were first met (the order `take` gives them in). */
  private readonly minuteRows: FoldRow[] = [];
  private readonly hourRows: FoldRow[] = [];
  private readonly pool: Dense[] = [];
  /** A histogram for a new row: one given back by an earlier batch, else a new one. */
  private readonly dense = (): Dense => this.pool.pop() ?? new Dense();

  add(c: RollupInput): void {
    this.fold(
      c.startedAt,
      c.provider,
      c.model,
      c.endpoint,
      c.feature,
      c.team,
      c.status,
      c.inputTokens,
      c.outputTokens,
      c.cachedInputTokens,
      c.costUsd,
      c.refusal,
      c.latencyMs,
      c.ttftMs,
      c.tpotMs,
    );
  }

  /** As `add` of the call whose `calls` row this is (rollupInputOf's figures, read in place). */
  addRow(row: readonly CallValue[]): void {
    this.fold(
      row[C.startedAt] as number,
      row[C.provider] as string,
      row[C.model] as string,
      row[C.endpoint] as LlmCall['endpoint'],
      row[C.feature] as string | null,
      row[C.team] as string | null,
      row[C.status] as LlmCall['status'],
      row[C.inputTokens] as number | null,
      row[C.outputTokens] as number | null,
      row[C.cachedInputTokens] as number | null,
      row[C.costUsd] as number | null,
      row[C.refusal] as number,
      row[C.latencyMs] as number,
      row[C.ttftMs] as number | null,
      row[C.tpotMs] as number | null,
    );
  }

  private fold(
    startedAt: number,
    provider: string,
    model: string,
    endpoint: LlmCall['endpoint'],
    featureOrNull: string | null,
    teamOrNull: string | null,
    status: LlmCall['status'],
    inputTokensOrNull: number | null,
    outputTokensOrNull: number | null,
    cachedInputTokensOrNull: number | null,
    costUsdOrNull: number | null,
    refusal: number | boolean,
    latencyMs: number,
    ttftMs: number | null,
    tpotMs: number | null,
  ): void {
    const feature = featureOrNull ?? '';
    const team = teamOrNull ?? '';
    const t = Math.floor(startedAt / MINUTE_MS) * MINUTE_MS;
    const byTeam = byTeamOf(this.minute, t, provider, model, endpoint, feature);
    let m = byTeam.get(team);
    if (m === undefined) {
      m = this.newRow(this.minuteRows, t, provider, model, endpoint, feature, team);
      byTeam.set(team, m);
    }
    // a minute row's hour row is the same every time (same key, the hour holding that minute): looked up once
    if (m.hour === null) {
      const th = Math.floor(startedAt / HOUR_MS) * HOUR_MS;
      const hours = byTeamOf(this.hour, th, provider, model, endpoint, feature);
      let h = hours.get(team);
      if (h === undefined) {
        h = this.newRow(this.hourRows, th, provider, model, endpoint, feature, team);
        hours.set(team, h);
      }
      m.hour = h;
    }
    const h = m.hour;
    const latency = bucketOrNone(latencyMs);
    const ttft = bucketOrNone(ttftMs);
    const tpot = bucketOrNone(tpotMs);
    const inputTokens = finite(inputTokensOrNull);
    const outputTokens = finite(outputTokensOrNull);
    const cachedInputTokens = finite(cachedInputTokensOrNull);
    const costUsd = finite(costUsdOrNull);
    for (let step = 0; step < 2; step++, m = h) {
      m.requests++;
      // a status outside the six counts in requests only (as `status in statuses` had it in RollupBatch)
      const s = m.statuses;
      switch (status) {
        case 'ok':
          s.ok++;
          break;
        case 'client_error':
          s.client_error++;
          break;
        case 'upstream_error':
          s.upstream_error++;
          break;
        case 'rate_limited':
          s.rate_limited++;
          break;
        case 'timeout':
          s.timeout++;
          break;
        case 'cancelled':
          s.cancelled++;
          break;
      }
      m.inputTokens += inputTokens;
      m.outputTokens += outputTokens;
      m.cachedInputTokens += cachedInputTokens;
      m.costUsd += costUsd;
      if (refusal) m.refusals++;
      if (latency >= 0) m.latency.addIndex(latency);
      if (ttft >= 0) m.ttft.addIndex(ttft);
      if (tpot >= 0) m.tpot.addIndex(tpot);
    }
  }

  private newRow(
    rows: FoldRow[],
    t: number,
    provider: string,
    model: string,
    endpoint: LlmCall['endpoint'],
    feature: string,
    team: string,
  ): FoldRow {
    const r = new FoldRow(t, provider, model, endpoint, feature, team, this.dense(), this.dense(), this.dense());
    rows.push(r);
    return r;
  }

  /** The stored rows of one step, in the order their keys were first met; the fold is empty after both are taken. */
  take(step: 'minute' | 'hour'): StoredRollupRow[] {
    const rows = step === 'minute' ? this.minuteRows : this.hourRows;
    const out: StoredRollupRow[] = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i] as FoldRow;
      out[i] = storedRow(r, encodeDense);
      for (const d of [r.latency, r.ttft, r.tpot]) {
        d.reset();
        this.pool.push(d);
      }
    }
    rows.length = 0;
    (step === 'minute' ? this.minute : this.hour).clear();
    return out;
  }
}

/** A stored rollup row's values in the upsert's column order (key, sums, histograms): bound by position. */
function rollupValues(r: StoredRollupRow): (string | number | Buffer)[] {
  return [
    r.t,
    r.provider,
    r.model,
    r.endpoint,
    r.feature,
    r.team,
    r.requests,
    r.ok,
    r.client_error,
    r.upstream_error,
    r.rate_limited,
    r.timeout,
    r.cancelled,
    r.input_tokens,
    r.output_tokens,
    r.cached_input_tokens,
    r.cost_usd,
    r.refusals,
    r.latency,
    r.ttft,
    r.tpot,
  ];
}

/** Registers the histogram merge function and aggregate the rollup upserts and queries use, on one connection. */
export function registerHistogramFunctions(db: Database): void {
  // Merges two stored histograms inside the rollup upsert, so a batch costs one statement per rollup key.
  db.function('llmscope_hist_merge', { deterministic: true }, (a: unknown, b: unknown) =>
    mergeEncoded(a as Buffer | null, b as Buffer | null),
  );
  db.aggregate('llmscope_hist_sum', {
    start: () => null,
    step: (acc: unknown, h: unknown) => mergeEncoded(acc as Buffer | null, h as Buffer | null),
  });
}

/**
 * Inserts batches of calls on one connection (whose functions `registerHistogramFunctions` registered). Statements
 * are prepared on first use, so a writer can be built before the schema exists; `insert` throws what SQLite throws
 * and leaves nothing of a failed batch behind.
 */
/**
 * Calls per INSERT statement, largest first: a batch goes in chunks of the first size, what is left in chunks of the
 * next, the last few one by one. SQLite does the same row and index work either way, but the driver's run (the call,
 * step and reset) once per chunk: 4.6 -> 4.0 µs a row on a table without indexes from 1 to 8 rows a statement, and
 * 8 -> 32 took another 0.4-0.8 µs a call off the writer (bench/ingest-writer.js's rows, one connection). Which rows a
 * chunk inserted (INSERT OR IGNORE skips a known request id) is told by its change count, and only when that falls
 * short, by the rows it added (rowids past the table's last before it: SQLite gives a new row the largest rowid + 1).
 */
export const CALLS_CHUNKS = [32, 8] as const;

export class CallWriter {
  private stmts: {
    insertCall: Statement<CallValue[]>;
    /** One statement per size of CALLS_CHUNKS, in its order. */
    insertChunks: Statement<CallValue[]>[];
    lastRowid: Statement<[]>;
    idsAfter: Statement<[number | bigint]>;
    minute: Statement<(string | number | Buffer)[]>;
    hour: Statement<(string | number | Buffer)[]>;
  } | null = null;
  /** Each chunk size's values, reused: that many rows of CALL_COLUMNS. */
  private readonly chunkValues: CallValue[][] = CALLS_CHUNKS.map((n) => new Array(n * CALL_COLUMNS.length));
  private readonly tx: (rows: readonly CallValue[][], calls: readonly LlmCall[] | null) => void;
  private readonly fold = new RollupFold();

  constructor(private readonly db: Database) {
    const run = db.transaction((rows: readonly CallValue[][], calls: readonly LlmCall[] | null) =>
      this.insertBatch(rows, calls),
    );
    this.tx = (rows, calls) => run.immediate(rows, calls);
  }

  insert(calls: readonly LlmCall[]): void {
    if (calls.length > 0) this.tx(rowsOf(calls), calls);
  }

  /** Calls as rowsOf() gave them (the writer thread's form: flat values, cheap to copy between threads). */
  insertRows(rows: readonly CallValue[][]): void {
    if (rows.length > 0) this.tx(rows, null);
  }

  /**
   * As insertRows, inside the transaction the caller has open (the writer thread's group): no transaction or
   * savepoint of its own, so a failure leaves the caller to roll the whole transaction back. The batch's rollups are
   * upserted as insertRows upserts them (folding several batches' would add the same figures in another order, and
   * so round the sums differently from the batches written one by one).
   */
  writeRows(rows: readonly CallValue[][]): void {
    if (!this.db.inTransaction) throw new Error('CallWriter.writeRows runs inside a transaction');
    if (rows.length > 0) this.insertBatch(rows, null);
  }

  private statements() {
    if (this.stmts) return this.stmts;
    const upsert = (table: string) => {
      const all = [...ROLLUP_KEY, ...ROLLUP_SUMS, ...ROLLUP_HISTOGRAMS];
      return this.db.prepare<(string | number | Buffer)[]>(
        `INSERT INTO ${table} (${all.join(', ')}) VALUES (${all.map(() => '?').join(', ')})
         ON CONFLICT (${ROLLUP_KEY.join(', ')}) DO UPDATE SET
         ${ROLLUP_SUMS.map((c) => `${c} = ${c} + excluded.${c}`).join(', ')},
         ${ROLLUP_HISTOGRAMS.map((c) => `${c} = llmscope_hist_merge(${c}, excluded.${c})`).join(', ')}`,
      );
    };
    const values = `(${CALL_COLUMNS.map(() => '?').join(', ')})`;
    this.stmts = {
      insertCall: this.db.prepare<CallValue[]>(`INSERT OR IGNORE INTO calls (${CALL_COLUMN_LIST}) VALUES ${values}`),
      insertChunks: CALLS_CHUNKS.map((n) =>
        this.db.prepare<CallValue[]>(
          `INSERT OR IGNORE INTO calls (${CALL_COLUMN_LIST}) VALUES ${Array(n).fill(values).join(', ')}`,
        ),
      ),
      lastRowid: this.db.prepare<[]>('SELECT max(rowid) FROM calls').pluck().safeIntegers(true),
      idsAfter: this.db.prepare<[number | bigint]>('SELECT request_id FROM calls WHERE rowid > ?').pluck(),
      minute: upsert(ROLLUP_TABLES.minute),
      hour: upsert(ROLLUP_TABLES.hour),
    };
    return this.stmts;
  }

  private insertBatch(rows: readonly CallValue[][], calls: readonly LlmCall[] | null): void {
    const st = this.statements();
    const folded = this.fold;
    // Only calls actually inserted count in the rollups, so a retried batch or a duplicate id adds nothing.
    const add = calls
      ? (i: number) => folded.add(calls[i] as LlmCall)
      : (i: number) => folded.addRow(rows[i] as CallValue[]);
    try {
      let i = 0;
      const width = CALL_COLUMNS.length;
      // the table's last rowid, known only when a chunk may have skipped a row (read before that chunk)
      let last: bigint | null = null;
      for (let k = 0; k < CALLS_CHUNKS.length; k++) {
        const size = CALLS_CHUNKS[k] as number;
        const insert = st.insertChunks[k] as Statement<CallValue[]>;
        const values = this.chunkValues[k] as CallValue[];
        for (; i + size <= rows.length; i += size) {
          for (let r = 0; r < size; r++) {
            const row = rows[i + r] as CallValue[];
            for (let c = 0; c < width; c++) values[r * width + c] = row[c] as CallValue;
          }
          last ??= (st.lastRowid.get() as bigint | null) ?? 0n;
          // spread: the driver reads arguments directly, an array's elements one property lookup at a time
          const info = insert.run(...values);
          if (info.changes === size) {
            for (let r = 0; r < size; r++) add(i + r);
            last = BigInt(info.lastInsertRowid);
            continue;
          }
          // Some were skipped: the chunk's rows that are now past `last` are the ones it inserted (of a request id
          // twice in the chunk, the first: INSERT OR IGNORE keeps it and skips the second).
          const added = new Set(st.idsAfter.all(last) as string[]);
          for (let r = 0; r < size; r++) {
            const id = (rows[i + r] as CallValue[])[C.requestId] as string;
            if (added.delete(id)) add(i + r);
          }
          last = null;
        }
      }
      for (; i < rows.length; i++) if (st.insertCall.run(...(rows[i] as CallValue[])).changes > 0) add(i);
    } catch (err) {
      // emptied, so the next batch starts from nothing
      folded.take('minute');
      folded.take('hour');
      throw err;
    }
    for (const r of folded.take('minute')) st.minute.run(...rollupValues(r));
    for (const r of folded.take('hour')) st.hour.run(...rollupValues(r));
  }
}
