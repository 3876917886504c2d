// The Store interface: the ledger of calls, their rollups and retention. SQLite implements it now,
// PostgreSQL later; one contract suite (store.contract.ts) runs against every implementation.
import type { CallStatus, Endpoint, LlmCall } from '../calls/index.js';
import type { StoreBackend } from './backend.js';

export interface CallQuery {
  /** Epoch ms, inclusive. */
  from?: number;
  /** Epoch ms, exclusive. */
  to?: number;
  model?: string;
  provider?: string;
  status?: CallStatus;
  user?: string;
  team?: string;
  feature?: string;
  /** The virtual key's id (`key_…`): the calls it made. */
  apiKeyId?: string;
  /** The provider's own id for the call (`req_…`). */
  upstreamRequestId?: string;
  endpoint?: Endpoint;
  /** Calls that took at least this long (latency_ms >=), the slow ones an on-call engineer looks for. */
  minLatencyMs?: number;
  /** Prefix match on request_id / trace_id / session / upstream_request_id. */
  text?: string;
  /** Calls whose metadata has every one of these key → value pairs (exact match). */
  metadata?: Readonly<Record<string, string>>;
  /** Page size (default 50, max 500). */
  limit?: number;
  /** Opaque cursor from a previous page's `nextCursor`. */
  cursor?: string;
}

export interface CallPage {
  items: LlmCall[];
  nextCursor: string | null;
}

export type RollupStep = 'minute' | 'hour';
export type RollupDimension = 'provider' | 'model' | 'endpoint' | 'feature' | 'team';

export interface RollupQuery {
  from: number;
  to: number;
  step: RollupStep;
  /** Dimensions to keep as series; the rest are merged. Empty = one series. */
  groupBy?: RollupDimension[];
  filter?: Partial<Record<RollupDimension, string>>;
}

/** A serialized mergeable histogram: fixed log-scale bucket index → count (see store/histogram.ts). */
export type HistogramCounts = Record<number, number>;

export interface RollupPoint {
  /** Bucket start, epoch ms. */
  t: number;
  /** Values of the groupBy dimensions. */
  group: Partial<Record<RollupDimension, string>>;
  requests: number;
  /** Calls by status. */
  statuses: Partial<Record<CallStatus, number>>;
  errors: number;
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
  costUsd: number;
  refusals: number;
  latency: HistogramCounts;
  ttft: HistogramCounts;
  tpot: HistogramCounts;
}

export interface RetentionResult {
  deletedCalls: number;
  deletedRollups: number;
}

/**
 * One row of a call's kept log lines (the JSON lines that carried its request_id, as written to stdout), or, with
 * `line` null, how many more of its lines were past the per-call cap and not kept (`dropped`).
 */
export interface CallLogRow {
  requestId: string;
  /** Epoch ms when the line was written; with `seq` (a counter of the writing process) it orders a call's lines. */
  at: number;
  seq: number;
  line: string | null;
  dropped: number;
}

/** A call's kept log lines, in time order, and how many of its lines were not kept (past the cap). */
export interface CallLogLines {
  lines: string[];
  dropped: number;
}

export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  /** The database underneath, for capabilities that keep their own tables there (src/store/backend.ts). */
  readonly backend: StoreBackend;
  /** Creates or upgrades the schema; safe to call on every start. */
  migrate(): Promise<void>;
  /** Inserts calls and updates their rollups in one transaction. Duplicate request ids are ignored. */
  insertCalls(calls: readonly LlmCall[]): Promise<void>;
  getCall(requestId: string): Promise<LlmCall | null>;
  /** Adds log lines of calls (a batch, one transaction); the call itself may be written before or after them. */
  insertCallLogs(rows: readonly CallLogRow[]): Promise<void>;
  /** The kept log lines of one call, oldest first, at most `limit` (the rest count in `dropped`). */
  callLogs(requestId: string, limit: number): Promise<CallLogLines>;
  /** Which of these request ids the store already holds (ingestion skips them, so a retried batch counts once). */
  knownIds(requestIds: readonly string[]): Promise<Set<string>>;
  listCalls(query: CallQuery): Promise<CallPage>;
  queryRollups(query: RollupQuery): Promise<RollupPoint[]>;
  /** Request ids of every call attributed to `user` (what an erase also removes from other tables). */
  userCallIds(user: string): Promise<string[]>;
  /** Deletes these calls, their content, spans and log lines with them (rollups keep their user-less aggregates); returns how many. */
  deleteCalls(requestIds: readonly string[]): Promise<number>;
  /** Deletes raw calls (and log lines) older than `rawBefore` and minute rollups older than `minuteBefore` (hour rollups by `hourBefore`). */
  applyRetention(opts: { rawBefore: number; minuteBefore: number; hourBefore: number }): Promise<RetentionResult>;
  /** True when the store can be read and written. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}
