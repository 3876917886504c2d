// Writing calls to SQLite: one transaction per batch, each call's row inserted (a duplicate request id is ignored)
// and only the calls actually inserted folded into the minute and hour rollups, one upsert per rollup key. The same
// code runs on the store's own connection (an in-memory database, or when the writer thread is off) and on the
// writer thread's connection (writer-thread.ts), so both write exactly the same rows.
import type { Database, Statement } from 'better-sqlite3';
import type { LlmCall } from '../../calls/index.js';
import { CALL_COLUMN_LIST, CALL_COLUMNS, type CallValue, callRowValues, SQLITE_ROW } from '../call-row.js';
import { encodeHistogram, mergeEncoded } from '../histogram.js';
import { HOUR_MS, MINUTE_MS, RollupBatch, type RollupRow } from '../rollup.js';

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

export function storedRollupOf(r: RollupRow): StoredRollupRow {
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
    latency: encodeHistogram(r.latency),
    ttft: encodeHistogram(r.ttft),
    tpot: encodeHistogram(r.tpot),
  };
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
export class CallWriter {
  private stmts: { insertCall: Statement<[CallValue[]]>; minute: Statement; hour: Statement } | null = null;
  private readonly tx: (calls: readonly LlmCall[]) => void;

  constructor(private readonly db: Database) {
    const run = db.transaction((calls: readonly LlmCall[]) => this.insertBatch(calls));
    this.tx = (calls) => run.immediate(calls);
  }

  insert(calls: readonly LlmCall[]): void {
    if (calls.length > 0) this.tx(calls);
  }

  private statements() {
    if (this.stmts) return this.stmts;
    const upsert = (table: string) => {
      const all = [...ROLLUP_KEY, ...ROLLUP_SUMS, ...ROLLUP_HISTOGRAMS];
      return this.db.prepare<[StoredRollupRow]>(
        `INSERT INTO ${table} (${all.join(', ')}) VALUES (${all.map((c) => `@${c}`).join(', ')})
         ON CONFLICT (${ROLLUP_KEY.join(', ')}) DO UPDATE SET
         ${ROLLUP_SUMS.map((c) => `${c} = ${c} + excluded.${c}`).join(', ')},
         ${ROLLUP_HISTOGRAMS.map((c) => `${c} = llmscope_hist_merge(${c}, excluded.${c})`).join(', ')}`,
      );
    };
    this.stmts = {
      insertCall: this.db.prepare<[CallValue[]]>(
        `INSERT OR IGNORE INTO calls (${CALL_COLUMN_LIST}) VALUES (${CALL_COLUMNS.map(() => '?').join(', ')})`,
      ),
      minute: upsert(ROLLUP_TABLES.minute),
      hour: upsert(ROLLUP_TABLES.hour),
    };
    return this.stmts;
  }

  private insertBatch(calls: readonly LlmCall[]): void {
    const st = this.statements();
    const minute = new RollupBatch(MINUTE_MS);
    const hour = new RollupBatch(HOUR_MS);
    for (const c of calls) {
      // Only calls actually inserted count in the rollups, so a retried batch or a duplicate id adds nothing.
      if (st.insertCall.run(callRowValues(c, SQLITE_ROW)).changes === 0) continue;
      minute.add(c);
      hour.add(c);
    }
    for (const r of minute.values()) st.minute.run(storedRollupOf(r));
    for (const r of hour.values()) st.hour.run(storedRollupOf(r));
  }
}
