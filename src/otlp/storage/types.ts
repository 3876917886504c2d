// Where the OTLP receiver keeps the spans of a trace that arrive in another export than the trace's calls: before
// them (a retrieval step exported while the model call still ran), pending until a call of the trace arrives and
// takes them; or after them (the agent's root span ends last), kept beside the trace's anchor call (the first call
// recorded for it), whose detail and trace pages show them. Bounded per trace.
import type { SpanRecord } from '../../calls/index.js';

export interface TraceSpanStore {
  /** The anchor call (request id) of each of these traces that has one. */
  anchors(traceIds: readonly string[]): Promise<Map<string, string>>;
  /**
   * Makes each `requestId` the anchor of its `traceId` unless the trace has one. For the traces it anchors, returns
   * (and forgets) the spans that were pending, by trace, which the caller puts on the anchor calls (`pending`); for
   * the others, the anchor they already had (`anchored`), so a caller need not look those traces up first. One write
   * for a batch.
   */
  claim(anchors: readonly { traceId: string; requestId: string }[], now: number): Promise<Claimed>;
  /**
   * Keeps spans of a trace, beside its anchor call (or pending when `anchor` is null), at most `maxPerTrace` per
   * trace in all; a span already kept is not kept twice. Returns how many were kept, and how many were kept already.
   */
  add(
    traceId: string,
    anchor: string | null,
    spans: readonly SpanRecord[],
    maxPerTrace: number,
    now: number,
  ): Promise<{ kept: number; duplicates: number }>;
  /** The spans kept beside this anchor call. */
  spansOf(traceId: string, anchor: string): Promise<SpanRecord[]>;
  /** Forgets the spans kept beside these calls, and the anchors they are (a user's data erased); returns spans removed. */
  eraseCalls(requestIds: readonly string[]): Promise<number>;
  /**
   * Forgets the spans kept (beside any call, or pending) whose attributes name `user` under one of `keys` (a user's
   * data erased: a span that came after the erase, or one kept beside another user's call of the trace); returns
   * spans removed.
   */
  eraseNaming(user: string, keys: readonly string[]): Promise<number>;
  /** Forgets spans and anchors received before `before`, and pending spans received before `pendingBefore`. */
  prune(before: number, pendingBefore: number): Promise<number>;
}

/** What `claim` did: the traces it anchored, with their pending spans; the traces that had an anchor, with it. */
export interface Claimed {
  pending: Map<string, SpanRecord[]>;
  anchored: Map<string, string>;
}

export const TRACE_SPANS_NAMESPACE = 'otlp';
