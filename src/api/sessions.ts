// GET /api/sessions/:id and GET /api/traces/:id: every call of one session (the `session` attribution) or of one
// trace, oldest first, each with its spans (for the agent waterfall) and whatever the detail extras attach
// (evaluations, feedback), plus the totals of the whole session. Read through the Store interface: the ledger's
// id-prefix search (indexed on both backends) narrows the scan, an exact match on the field keeps the session's
// calls. Bounded: at most MAX_SESSION_PAGE calls per answer (a cursor continues), and at most MAX_SCAN stored
// calls looked at per answer (`truncated` says when a session is larger, and totals cover what was scanned).
import { z } from 'zod';
import { callToWire, type LlmCall } from '../calls/index.js';
import { unpricedCall } from '../calls/units.js';
import { LlmscopeError } from '../errors.js';
import { parseQuery, type Router, sendJson } from '../http/index.js';
import { type Store, scopedStore } from '../store/index.js';
import { type DetailExtra, spanToWire } from './requests.js';
import { narrowTraceSpans } from './trace-scope.js';

export const MAX_SESSION_PAGE = 500;
export const DEFAULT_SESSION_PAGE = 200;
/** Calls read from the store per answer at most (the id-prefix search may also return other ids' calls). */
export const MAX_SCAN = 20_000;
const SCAN_PAGE = 500;

export type SessionKind = 'session' | 'trace';

export interface SessionRoutesOptions {
  /** The same extras as `/api/requests/:id` (evaluations, feedback); read on every request. */
  detailExtras?: DetailExtra[];
  onExtraError?: (err: unknown) => void;
}

const pageQuery = z.object({
  limit: z
    .string()
    .regex(/^\d+$/, { message: `expected an integer from 1 to ${MAX_SESSION_PAGE}` })
    .transform(Number)
    .refine((n) => n >= 1 && n <= MAX_SESSION_PAGE, { message: `expected an integer from 1 to ${MAX_SESSION_PAGE}` })
    .optional(),
  cursor: z.string().max(1024, { message: 'expected at most 1024 characters' }).optional(),
});

type Position = [startedAt: number, requestId: string];

export function encodeSessionCursor(p: Position): string {
  return Buffer.from(JSON.stringify(p)).toString('base64url');
}

function decodeSessionCursor(s: string): Position {
  try {
    const v = JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'number' && typeof v[1] === 'string') return [v[0], v[1]];
  } catch {
    // fall through
  }
  throw new LlmscopeError(
    'LLMSCOPE_ERR_INVALID_QUERY',
    'invalid query parameters: "cursor" is not a cursor this route gave; pass next_cursor from the previous answer as it is',
    { param: 'cursor' },
  );
}

/** True when call `c` comes after position `p` in time order (ties broken by request id). */
const after = (c: LlmCall, p: Position): boolean => c.startedAt > p[0] || (c.startedAt === p[0] && c.requestId > p[1]);

export interface SessionTotals {
  calls: number;
  errors: number;
  input_tokens: number;
  output_tokens: number;
  cached_input_tokens: number;
  cost_usd: number;
  /**
   * Calls with usage whose model has no price (src/calls/units.ts unpricedCall): their cost is not in cost_usd. A
   * failed call without usage (cost null, its model priced) is not one, as on the Cost page.
   */
  unpriced_calls: number;
  /** Sum of the calls' latencies. */
  latency_ms: number;
  started_at: string | null;
  ended_at: string | null;
  /** From the first call's start to the last call's end. */
  wall_ms: number | null;
  models: Record<string, number>;
  /** Distinct trace ids (sessions) or sessions (traces), at most 50. */
  traces: string[];
  sessions: string[];
  users: string[];
}

export class SessionTotalsAcc {
  calls = 0;
  errors = 0;
  input = 0;
  output = 0;
  cached = 0;
  cost = 0;
  unpriced = 0;
  latency = 0;
  first = Number.POSITIVE_INFINITY;
  last = Number.NEGATIVE_INFINITY;
  models = new Map<string, number>();
  traces = new Set<string>();
  sessions = new Set<string>();
  users = new Set<string>();

  add(c: LlmCall): void {
    this.calls++;
    if (c.status !== 'ok') this.errors++;
    this.input += c.inputTokens ?? 0;
    this.output += c.outputTokens ?? 0;
    this.cached += c.cachedInputTokens ?? 0;
    if (unpricedCall(c)) this.unpriced++;
    this.cost += c.costUsd ?? 0;
    this.latency += c.latencyMs;
    this.first = Math.min(this.first, c.startedAt);
    this.last = Math.max(this.last, c.endedAt);
    this.models.set(c.model, (this.models.get(c.model) ?? 0) + 1);
    if (c.traceId && this.traces.size < 50) this.traces.add(c.traceId);
    if (c.session && this.sessions.size < 50) this.sessions.add(c.session);
    if (c.user && this.users.size < 50) this.users.add(c.user);
  }

  wire(): SessionTotals {
    const any = this.calls > 0;
    return {
      calls: this.calls,
      errors: this.errors,
      input_tokens: this.input,
      output_tokens: this.output,
      cached_input_tokens: this.cached,
      cost_usd: Math.round(this.cost * 1e9) / 1e9,
      unpriced_calls: this.unpriced,
      latency_ms: Math.round(this.latency * 1000) / 1000,
      started_at: any ? new Date(this.first).toISOString() : null,
      ended_at: any ? new Date(this.last).toISOString() : null,
      wall_ms: any ? Math.round((this.last - this.first) * 1000) / 1000 : null,
      models: Object.fromEntries([...this.models].sort((a, b) => b[1] - a[1])),
      traces: [...this.traces],
      sessions: [...this.sessions],
      users: [...this.users],
    };
  }
}

/** Counts of evaluation verdicts and feedback ratings over the extras of some calls. */
export function qualityOf(details: readonly Record<string, unknown>[]) {
  const verdicts: Record<string, number> = {};
  const byEvaluator: Record<string, Record<string, number>> = {};
  let up = 0;
  let down = 0;
  for (const d of details) {
    for (const e of (Array.isArray(d['evaluations']) ? d['evaluations'] : []) as {
      evaluator?: unknown;
      verdict?: unknown;
    }[]) {
      const v = typeof e.verdict === 'string' ? e.verdict : 'unknown';
      const name = typeof e.evaluator === 'string' ? e.evaluator : 'unknown';
      verdicts[v] = (verdicts[v] ?? 0) + 1;
      const m = byEvaluator[name] ?? {};
      m[v] = (m[v] ?? 0) + 1;
      byEvaluator[name] = m;
    }
    for (const f of (Array.isArray(d['feedback']) ? d['feedback'] : []) as { rating?: unknown }[]) {
      if (f.rating === 'up') up++;
      else if (f.rating === 'down') down++;
    }
  }
  return { calls_examined: details.length, verdicts, by_evaluator: byEvaluator, feedback: { up, down } };
}

/** Runs the detail extras on each call and merges their fields into `base` (a failing extra is left out). */
export async function withExtras(
  calls: readonly LlmCall[],
  base: (c: LlmCall) => Record<string, unknown>,
  extras: readonly DetailExtra[],
  onError?: (err: unknown) => void,
): Promise<Record<string, unknown>[]> {
  return Promise.all(
    calls.map(async (c) => {
      const body: Record<string, unknown> = { evaluations: [], feedback: [], ...base(c) };
      const rs = await Promise.allSettled(extras.map((f) => f(c.requestId, c)));
      for (const r of rs) {
        if (r.status === 'fulfilled') Object.assign(body, r.value);
        else onError?.(r.reason);
      }
      return body;
    }),
  );
}

export interface SessionPage {
  calls: LlmCall[];
  totals: SessionTotalsAcc;
  nextCursor: string | null;
  truncated: boolean;
}

/** The calls of one session or trace after `cursor` (oldest first, at most `limit`), and the whole session's totals. */
export async function readSession(
  store: Store,
  kind: SessionKind,
  id: string,
  limit: number,
  cursor: Position | null,
): Promise<SessionPage> {
  const matches = kind === 'session' ? (c: LlmCall) => c.session === id : (c: LlmCall) => c.traceId === id;
  const totals = new SessionTotalsAcc();
  // The store pages newest first: the calls after the cursor come first, and the oldest `limit` of them are kept.
  const keep: LlmCall[] = [];
  let more = false;
  let scanned = 0;
  let storeCursor: string | undefined;
  let truncated = false;
  for (;;) {
    const page = await store.listCalls({ text: id, limit: SCAN_PAGE, cursor: storeCursor });
    for (const c of page.items) {
      if (!matches(c)) continue;
      totals.add(c);
      if (cursor && !after(c, cursor)) continue;
      keep.push(c);
      if (keep.length > limit) {
        keep.shift();
        more = true;
      }
    }
    scanned += page.items.length;
    if (!page.nextCursor) break;
    if (scanned >= MAX_SCAN) {
      truncated = true;
      break;
    }
    storeCursor = page.nextCursor;
  }
  const calls = keep.reverse();
  const last = calls[calls.length - 1];
  return {
    calls,
    totals,
    nextCursor: more && last ? encodeSessionCursor([last.startedAt, last.requestId]) : null,
    truncated,
  };
}

export function registerSessionRoutes(router: Router, store: Store, opts: SessionRoutesOptions = {}): void {
  const handler = (kind: SessionKind) =>
    (async ({ res, url, params, principal }) => {
      const id = params['id'] ?? '';
      const q = parseQuery(pageQuery, url);
      const cursor = q.cursor ? decodeSessionCursor(q.cursor) : null;
      // Only the scope's calls of the session (a session spanning teams shows each principal its own part).
      const page = await readSession(
        scopedStore(store, principal?.scope),
        kind,
        id,
        q.limit ?? DEFAULT_SESSION_PAGE,
        cursor,
      );
      if (page.totals.calls === 0)
        throw new LlmscopeError(
          'LLMSCOPE_ERR_NOT_FOUND',
          kind === 'session'
            ? `no call with session "${id}" in the store; calls carry a session from the x-llmscope-session header (or the ingested "session" field)`
            : `no call with trace_id "${id}" in the store; it may not be recorded yet, or retention or an erasure of its user (DELETE /api/users/{id}/data) removed it`,
        );
      const calls = await withExtras(
        page.calls,
        (c) => ({ ...callToWire(c), spans: c.spans.map(spanToWire) }),
        opts.detailExtras ?? [],
        opts.onExtraError,
      );
      // A trace crossing teams: a scoped principal sees its calls' own spans, not the other team's around them.
      await narrowTraceSpans(store, principal?.scope, page.calls, calls);
      sendJson(res, 200, {
        kind,
        id,
        totals: page.totals.wire(),
        quality: qualityOf(calls),
        calls,
        next_cursor: page.nextCursor,
        truncated: page.truncated,
      });
    }) satisfies Parameters<Router['get']>[1];
  router.get('/api/sessions/:id', handler('session'));
  router.get('/api/traces/:id', handler('trace'));
}
