// GET /api/requests (ledger search, newest first, keyset pages) and GET /api/requests/:id (one call with its
// spans, events, and whatever later capabilities attach: evaluations, feedback, ...).
import { z } from 'zod';
import {
  CALL_STATUSES,
  type CallEvent,
  callToWire,
  ENDPOINTS,
  type LlmCall,
  METADATA_MAX_VALUE,
  metadataKeyProblem,
  type SpanRecord,
} from '../calls/index.js';
import { LlmscopeError } from '../errors.js';
import { parseQuery, type Router, sendJson } from '../http/index.js';
import { type CallQuery, MAX_PAGE_SIZE, type Store, scopedStore } from '../store/index.js';
import { timeParamSchema } from '../time.js';
import { narrowTraceSpans } from './trace-scope.js';

/**
 * Adds fields to the detail view of one call (e.g. quality's `{ evaluations, feedback }`); its keys are merged
 * over the record. A failing extra is left out (and reported to `onExtraError`) — the call still shows.
 */
export type DetailExtra = (requestId: string, call: LlmCall) => Promise<Record<string, unknown>>;

export interface RequestRoutesOptions {
  /** Read on every request, so a capability may push its extra after the routes are registered. */
  detailExtras?: DetailExtra[];
  onExtraError?: (err: unknown) => void;
  /** The most log lines the detail shows (telemetry.callLogLines; default 50). */
  logLines?: number;
  /**
   * The call's `request completed` line as stdout got it (telemetry/request-log.ts requestLineOf), or null when the
   * logger writes none: the one line every call has is shown from the record, not stored beside it.
   */
  requestLine?: (c: LlmCall) => string | null;
}

const time = timeParamSchema;

const text = (max: number) => z.string().max(max, { message: `expected at most ${max} characters` });

const listQuery = z.object({
  from: time.optional(),
  to: time.optional(),
  model: text(256).optional(),
  provider: text(256).optional(),
  status: z
    .enum(CALL_STATUSES as [string, ...string[]], { message: `expected one of ${CALL_STATUSES.join(', ')}` })
    .optional(),
  user: text(256).optional(),
  team: text(256).optional(),
  feature: text(256).optional(),
  api_key_id: text(256).optional(),
  upstream_request_id: text(256).optional(),
  endpoint: z
    .enum(ENDPOINTS as [string, ...string[]], { message: `expected one of ${ENDPOINTS.join(', ')}` })
    .optional(),
  q: text(256).optional(),
  // the slow calls: at or over this many milliseconds (a number such as the Overview's latency p95, `1710.5`)
  min_latency_ms: z
    .string()
    .regex(/^\d{1,9}(\.\d+)?$/, { message: 'expected a number of milliseconds, 0 or more (such as 1500)' })
    .transform(Number)
    .optional(),
  limit: z
    .string()
    .regex(/^\d+$/, { message: `expected an integer from 1 to ${MAX_PAGE_SIZE}` })
    .transform(Number)
    .refine((n) => n >= 1 && n <= MAX_PAGE_SIZE, { message: `expected an integer from 1 to ${MAX_PAGE_SIZE}` })
    .optional(),
  cursor: text(1024).optional(),
});

/** Parses the search parameters of GET /api/requests; empty values count as absent; unknown ones are ignored. */
export function parseRequestsQuery(url: URL): CallQuery {
  const q = parseQuery(listQuery, url);
  if (q.from !== undefined && q.to !== undefined && q.from >= q.to)
    throw new LlmscopeError('LLMSCOPE_ERR_INVALID_QUERY', 'invalid query parameters: "from" must be before "to"', {
      param: 'from',
    });
  return {
    from: q.from,
    to: q.to,
    model: q.model,
    provider: q.provider,
    status: q.status as CallQuery['status'],
    user: q.user,
    team: q.team,
    feature: q.feature,
    apiKeyId: q.api_key_id,
    upstreamRequestId: q.upstream_request_id,
    endpoint: q.endpoint as CallQuery['endpoint'],
    minLatencyMs: q.min_latency_ms,
    text: q.q,
    limit: q.limit,
    cursor: q.cursor,
    metadata: metadataQuery(url),
  };
}

/** The `meta.<key>=<value>` filters of a query string (the store refuses more than a call can carry). */
function metadataQuery(url: URL): Record<string, string> | undefined {
  let out: Record<string, string> | undefined;
  for (const [param, v] of url.searchParams) {
    if (!param.startsWith('meta.') || v === '') continue;
    const bad =
      metadataKeyProblem(param.slice(5)) ??
      (v.length > METADATA_MAX_VALUE ? `expected at most ${METADATA_MAX_VALUE} characters` : null);
    if (bad)
      throw new LlmscopeError('LLMSCOPE_ERR_INVALID_QUERY', `invalid query parameter "${param}": ${bad}`, { param });
    out ??= {};
    const key = param.slice(5);
    // A call's key has one value: two values of one key would match nothing, and keeping either answers another query.
    // own keys only: `constructor` (a valid key) is on every object's prototype
    if (Object.hasOwn(out, key) && out[key] !== v)
      throw new LlmscopeError(
        'LLMSCOPE_ERR_INVALID_QUERY',
        `invalid query parameter "${param}": given twice with different values; a call's key has one value, so give it once`,
        { param },
      );
    out[key] = v;
  }
  return out;
}

const iso = (ms: number): string => new Date(ms).toISOString();
const round3 = (n: number): number => Math.round(n * 1000) / 1000;

/** A span in snake_case wire form, times as ISO 8601. */
export function spanToWire(s: SpanRecord) {
  return {
    trace_id: s.traceId,
    span_id: s.spanId,
    parent_span_id: s.parentSpanId,
    name: s.name,
    kind: s.kind,
    start_time: iso(s.startTime),
    end_time: iso(s.endTime),
    duration_ms: round3(s.endTime - s.startTime),
    status: s.status,
    attributes: s.attributes,
    events: s.events.map((e) => ({ name: e.name, time: iso(e.time), attributes: e.attributes ?? {} })),
  };
}

export function eventToWire(e: CallEvent) {
  return { time: iso(e.time), name: e.name, attributes: e.attributes ?? {} };
}

/** The detail view of one call: its wire record, spans, events, empty evaluations/feedback, and content if captured. */
export function callDetail(c: LlmCall): Record<string, unknown> {
  return {
    ...callToWire(c),
    spans: c.spans.map(spanToWire),
    events: c.events.map(eventToWire),
    evaluations: [],
    feedback: [],
    ...(c.content ? { content: { input: c.content.input, output: c.content.output } } : {}),
  };
}

/** A log line's time (`time`, or ECS's `@timestamp`) in epoch ms; -Infinity when it has none. */
function timeOf(line: unknown): number {
  const o = line as Record<string, unknown> | null;
  const t = o?.['time'] ?? o?.['@timestamp'];
  const ms = typeof t === 'string' ? Date.parse(t) : typeof t === 'number' ? t : Number.NaN;
  return Number.isFinite(ms) ? ms : Number.NEGATIVE_INFINITY;
}

/** A kept log line as the object stdout's line is (a line that does not parse: its text, marked). */
function logObject(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return { truncated: true, text: line.slice(0, 4096) };
  }
}

export function registerRequestRoutes(router: Router, store: Store, opts: RequestRoutesOptions = {}): void {
  // A team-scoped principal reads through a store narrowed to its teams and features (src/store/scoped.ts).
  router.get('/api/requests', async ({ res, url, principal }) => {
    const page = await scopedStore(store, principal?.scope).listCalls(parseRequestsQuery(url));
    sendJson(res, 200, { data: page.items.map(callToWire), next_cursor: page.nextCursor });
  });

  router.get('/api/requests/:id', async ({ res, params, principal }) => {
    const id = params['id'] ?? '';
    // Out of scope reads as unknown (404), so ids of other teams' calls cannot be probed.
    const call = await scopedStore(store, principal?.scope).getCall(id);
    if (!call)
      throw new LlmscopeError(
        'LLMSCOPE_ERR_NOT_FOUND',
        `no call with request_id "${id}" in the store; it may not be recorded yet, or retention or an erasure of its user (DELETE /api/users/{id}/data) removed it`,
      );
    const body = callDetail(call);
    const [logs, extras] = await Promise.all([
      // The call still shows when its lines cannot be read (with none).
      store.callLogs(id, opts.logLines ?? 50).catch((err: unknown) => {
        opts.onExtraError?.(err);
        return null;
      }),
      Promise.allSettled((opts.detailExtras ?? []).map((f) => f(id, call))),
    ]);
    const lines = logs ? logs.lines.map(logObject) : [];
    const completed = (opts.logLines ?? 50) > 0 ? opts.requestLine?.(call) : null;
    if (completed) {
      // in time order with the kept lines (those logged after the call ended, an evaluator's say, come after it)
      const end = Number.isFinite(call.endedAt) ? call.endedAt : call.startedAt;
      let at = lines.findIndex((l) => timeOf(l) > end);
      if (at === -1) at = lines.length;
      lines.splice(at, 0, JSON.parse(completed));
    }
    body['logs'] = lines;
    body['logs_dropped'] = logs ? logs.dropped : 0;
    for (const r of extras) {
      if (r.status === 'fulfilled') Object.assign(body, r.value);
      else opts.onExtraError?.(r.reason);
    }
    // A trace crossing teams: a scoped principal sees the call's own span, not the other team's around it.
    await narrowTraceSpans(store, principal?.scope, [call], [body]);
    sendJson(res, 200, body);
  });
}
