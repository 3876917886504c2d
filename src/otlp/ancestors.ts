// Walks up an export's spans from its calls, through their parents, bounded: which LLM spans wrap a call at any depth
// (decision 168: the double-count guard), whether a call recorded earlier is above one (so it wraps it), and the user
// and session the nearest ancestor names for a call that names none (decision 166: Mastra and Google ADK name them on
// the agent's span only). Only this export's spans are walked (a map of them, built on the first walk that needs it),
// and the ancestors of recent calls are remembered (the receiver's callParents), so a wrapper in a later export is
// known too.
import type { RecentIds } from '../calls/index.js';
import { type Attributed, ownAttribution } from './map.js';
import type { OtlpSpan } from './model.js';

/**
 * Ancestors a walk from one span goes up at most: agent frameworks nest a few levels (agent, step, model call; an
 * agent as another's tool), so a chain this long is no trace a framework writes, and a cycle of parents (ids an app
 * made up) or a 10,000-span chain ends here rather than holding the event loop.
 */
export const MAX_ANCESTORS = 64;

const keyOf = (traceId: string, spanId: string): string => `${traceId}-${spanId}`;

export class AncestorWalk {
  private bySpan: Map<string, OtlpSpan> | null = null;
  /** Spans (trace and span id) above a walked span: each wraps a call or a span around one. */
  private readonly wrapping = new Set<string>();
  /** Of `wrapping`, those with a call recorded earlier at or above them. */
  private readonly belowCall = new Set<string>();

  /**
   * `callParents`: the ancestors of recent calls (this walk adds those it finds); `callSpans`: recent calls' own
   * spans; `spans`: the export's spans, read once when a walk first needs them.
   */
  constructor(
    private readonly callParents: RecentIds,
    private readonly callSpans: RecentIds,
    private readonly spans: () => Iterable<OtlpSpan>,
  ) {}

  /** How many spans the walks found above a walked one. */
  get size(): number {
    return this.wrapping.size;
  }

  private parentOf(s: OtlpSpan): OtlpSpan | undefined {
    if (s.parentSpanId === null) return undefined;
    if (this.bySpan === null) {
      this.bySpan = new Map();
      for (const x of this.spans()) this.bySpan.set(keyOf(x.traceId, x.spanId), x);
    }
    return this.bySpan.get(keyOf(s.traceId, s.parentSpanId));
  }

  /**
   * Walks up from `from` (a call, or a span around an earlier call), remembering every ancestor as wrapping a call,
   * here and in `callParents`. Stops at a span already walked past (its ancestors are), at a call recorded earlier
   * (above which its own parent was remembered when it was taken), at the first parent not in this export, or after
   * MAX_ANCESTORS: each span is walked past once in an export, however many calls are under it.
   */
  up(from: OtlpSpan): void {
    let s = from;
    const path: string[] = [];
    let below = false;
    for (let depth = 0; depth < MAX_ANCESTORS && s.parentSpanId !== null; depth++) {
      const k = keyOf(s.traceId, s.parentSpanId);
      if (this.wrapping.has(k)) {
        below = this.belowCall.has(k);
        break;
      }
      this.wrapping.add(k);
      path.push(k);
      if (this.callSpans.size > 0 && this.callSpans.has(k)) {
        below = true;
        break;
      }
      this.callParents.add(k);
      const p = this.parentOf(s);
      if (p === undefined) break;
      s = p;
    }
    if (below) for (const k of path) this.belowCall.add(k);
  }

  /** Whether a walked span wraps a call (it is one's ancestor in this export or a walked one's). */
  wraps(key: string): boolean {
    return this.wrapping.has(key);
  }

  /** Whether a call recorded earlier is above the walked span `s` (it was taken; `s` is inside it). */
  underCall(s: OtlpSpan): boolean {
    return s.parentSpanId !== null && this.belowCall.has(keyOf(s.traceId, s.parentSpanId));
  }

  /**
   * The user and session of the nearest ancestors in this export that name them, for a call `s` that names either
   * not itself; null when it names both or no ancestor names what it lacks. Never the call's own: the caller keeps
   * those first.
   */
  inherited(s: OtlpSpan): Attributed | null {
    if (s.parentSpanId === null) return null;
    const own = ownAttribution(s);
    let user = own.user;
    let session = own.session;
    if (user !== null && session !== null) return null;
    let found = false;
    let x: OtlpSpan | undefined = s;
    for (let depth = 0; depth < MAX_ANCESTORS && (user === null || session === null); depth++) {
      x = this.parentOf(x);
      if (x === undefined) break;
      const a = ownAttribution(x);
      if (user === null && a.user !== null) {
        user = a.user;
        found = true;
      }
      if (session === null && a.session !== null) {
        session = a.session;
        found = true;
      }
    }
    return found ? { user: own.user === null ? user : null, session: own.session === null ? session : null } : null;
  }
}
