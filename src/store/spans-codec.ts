// How a call's spans are kept in the `calls.spans` column. A gateway call's spans all share its trace id, and as
// objects they repeat the trace id and ten property names per span, about a third of the row: a streamed call's
// row then no longer fits two to a 4 KiB page, so every call cost a page of WAL. The compact form keeps the trace
// id once and each span as a tuple; rows written before it (an array of span objects) read as before.
//
// The gateway form goes further for the spans the gateway builds (src/telemetry/spans.ts): their attributes repeat
// the row's own columns (model, provider, status, tokens, request id, finish reason, ...), so it keeps only what the
// row lacks (span ids, the timing marks, request parameters, the response's model and id, the upstream's address)
// and rebuilds the spans from the row when read. It is used only when that rebuild gives back exactly the spans
// given (checked at every write), so every answer reads the same spans as before; anything else (OTLP calls' spans,
// spans an enricher changed, calls whose columns differ from their attributes) keeps the compact form. A gateway
// call whose spans were left to be built where read (telemetry/spans.ts spansFor) is written in this form straight
// from its marks (gatewayTupleOfCall), without building or checking spans, when its values are of the kinds the
// check is known to pass; else its spans are built and checked as above. The rebuild
// below is this form's definition: rows written with it must read the same forever, so a change to what the gateway
// builds is a new form (a new marker), never an edit of this one.
import type { LlmCall, SpanRecord } from '../calls/index.js';
import { operationName, upstreamMethod } from '../providers/openai-compatible/index.js';
import { spansFor } from '../telemetry/spans.js';

/** Marks the compact form: its first element is this number (the object form's are spans). */
const COMPACT = 0;

type Attrs = SpanRecord['attributes'];
type EventTuple = [name: string, time: number] | [name: string, time: number, attributes: Attrs];
type SpanTuple = [
  spanId: string,
  parentSpanId: string | null,
  name: string,
  kind: SpanRecord['kind'],
  startTime: number,
  endTime: number,
  status: SpanRecord['status'],
  /** Pairs (attrPairs); rows written before them hold the object. */
  attributes: Attrs | (string | number | boolean)[],
  events: EventTuple[],
];

/**
 * The column text for `spans`: the gateway form when `row` rebuilds them, compact when they share one trace id, else
 * the plain JSON array. `call`: the call itself, whose gateway spans, when left to be built where read
 * (`internal.spansDeferred`), are written in the gateway form straight from its marks, without being built.
 */
export function encodeSpans(spans: readonly SpanRecord[] | undefined, row?: SpanRow, call?: LlmCall): string {
  if (row && call && spans?.length === 0 && call.internal?.spansDeferred === true) {
    const g = gatewayTupleOfCall(call, row);
    if (g !== null) return JSON.stringify(g);
    // not a call the direct form is known to give back exactly: build its spans, and go the checked way
    spans = spansFor(call);
  }
  if (!spans || spans.length === 0) return '[]';
  if (row) {
    const g = gatewayTupleOf(spans, row);
    if (g !== null && sameSpans(gatewaySpans(row, g), spans)) return JSON.stringify(g);
  }
  const traceId = spans[0]?.traceId;
  const out: unknown[] = [COMPACT, traceId];
  for (const s of spans) {
    if (s.traceId !== traceId) return JSON.stringify(spans);
    const events: EventTuple[] = [];
    for (const e of s.events)
      events.push(e.attributes === undefined ? [e.name, e.time] : [e.name, e.time, e.attributes]);
    out.push([
      s.spanId,
      s.parentSpanId,
      s.name,
      s.kind,
      s.startTime,
      s.endTime,
      s.status,
      attrPairs(s.attributes),
      events,
    ]);
  }
  return JSON.stringify(out);
}

/**
 * Attribute names written as their index in this list in the compact form's attribute pairs: the names an OTLP call's
 * span and the gateway's spans carry most, about half of a span's bytes as text. Append only: a stored index must
 * name the same attribute forever.
 */
const KEYS: readonly string[] = [
  'gen_ai.operation.name',
  'gen_ai.provider.name',
  'gen_ai.system',
  'gen_ai.request.model',
  'gen_ai.request.stream',
  'gen_ai.request.max_tokens',
  'gen_ai.request.temperature',
  'gen_ai.request.top_p',
  'gen_ai.request.seed',
  'gen_ai.request.frequency_penalty',
  'gen_ai.request.presence_penalty',
  'gen_ai.response.model',
  'gen_ai.response.id',
  'gen_ai.response.finish_reasons',
  'gen_ai.usage.input_tokens',
  'gen_ai.usage.output_tokens',
  'gen_ai.usage.prompt_tokens',
  'gen_ai.usage.completion_tokens',
  'gen_ai.usage.total_tokens',
  'gen_ai.usage.cache_read.input_tokens',
  'gen_ai.usage.cache_creation.input_tokens',
  'gen_ai.usage.reasoning.output_tokens',
  'gen_ai.conversation.id',
  'llmscope.request_id',
  'llmscope.status',
  'llmscope.ttft_ms',
  'llmscope.tpot_ms',
  'llmscope.user',
  'llmscope.team',
  'llmscope.feature',
  'llmscope.session',
  'http.request.method',
  'http.response.status_code',
  'server.address',
  'server.port',
  'error.type',
  'user.id',
  'enduser.id',
  'session.id',
  'service.name',
  'otel.scope.name',
  'otel.scope.version',
  'openinference.span.kind',
  'llm.model_name',
  'llm.provider',
  'llm.system',
  'llm.invocation_parameters',
  'llm.token_count.prompt',
  'llm.token_count.completion',
  'llm.token_count.total',
  'llm.request.type',
  'llm.is_streaming',
  'llm.usage.prompt_tokens',
  'llm.usage.completion_tokens',
  'llm.usage.total_tokens',
  'input.mime_type',
  'output.mime_type',
  'ai.operationId',
  'ai.model.id',
  'ai.model.provider',
  'ai.usage.inputTokens',
  'ai.usage.outputTokens',
  'ai.usage.promptTokens',
  'ai.usage.completionTokens',
  'ai.usage.totalTokens',
  'ai.response.finishReason',
  'ai.response.model',
  'ai.response.id',
  'ai.response.msToFirstChunk',
  'ai.telemetry.functionId',
  'operation.name',
  'resource.name',
];
const KEY_INDEX = new Map(KEYS.map((k, i) => [k, i]));

/**
 * A span's attributes as the compact form writes them: [name or KEYS index, value, ...] in their order (an array,
 * where rows written before this kept the object: an object is read as it is). An attribute named `__proto__` would
 * not come back as an own property by assignment, so such attributes stay an object.
 */
function attrPairs(a: Attrs): Attrs | (string | number | boolean)[] {
  const out: (string | number | boolean)[] = [];
  for (const k in a) {
    if (!Object.hasOwn(a, k) || k === '__proto__') return a;
    const v = a[k] as string | number | boolean;
    // undefined (left out by JSON) and non-finite numbers (null in JSON) stay as JSON writes them
    if (v === undefined) continue;
    out.push(KEY_INDEX.get(k) ?? k, typeof v === 'number' && !Number.isFinite(v) ? (null as unknown as number) : v);
  }
  return out;
}

/** The attributes from either the pairs or the object form. */
function attrsOf(x: Attrs | (string | number | boolean)[]): Attrs {
  if (!Array.isArray(x)) return x;
  const a: Attrs = {};
  for (let i = 0; i < x.length; i += 2) {
    const k = x[i] as string | number;
    a[typeof k === 'number' ? (KEYS[k] as string) : k] = x[i + 1] as string | number | boolean;
  }
  return a;
}

/** The spans from the column text, in any form (`row`: the call's other columns, which the gateway form needs). */
export function decodeSpans(text: string, row?: SpanRow): SpanRecord[] {
  const v = JSON.parse(text) as unknown[];
  if (v[0] === GATEWAY) {
    if (!row) throw new Error('the gateway spans form needs the call’s row to be read');
    return gatewaySpans(row, v as GatewayTuple);
  }
  if (v.length === 0 || v[0] !== COMPACT) return v as SpanRecord[];
  const traceId = v[1] as string;
  const spans: SpanRecord[] = [];
  for (let i = 2; i < v.length; i++) {
    const [spanId, parentSpanId, name, kind, startTime, endTime, status, attributes, events] = v[i] as SpanTuple;
    spans.push({
      traceId,
      spanId,
      parentSpanId,
      name,
      kind,
      startTime,
      endTime,
      status,
      attributes: attrsOf(attributes),
      events: events.map((e) =>
        e.length === 3 ? { name: e[0], time: e[1], attributes: e[2] } : { name: e[0], time: e[1] },
      ),
    });
  }
  return spans;
}

/** Marks the gateway form (GatewayTuple). */
const GATEWAY = 1;

/** The row's columns a gateway call's spans repeat, as read back from the row. */
export type SpanRow = Pick<
  LlmCall,
  | 'traceId'
  | 'endpoint'
  | 'startedAt'
  | 'endedAt'
  | 'provider'
  | 'model'
  | 'stream'
  | 'requestId'
  | 'status'
  | 'httpStatus'
  | 'finishReason'
  | 'inputTokens'
  | 'outputTokens'
  | 'cachedInputTokens'
  | 'cacheWriteInputTokens'
  | 'reasoningTokens'
  | 'errorType'
  | 'ttftMs'
  | 'tpotMs'
  | 'user'
  | 'team'
  | 'feature'
>;

/** Times are kept as ms after the row's started_at: exact (t − s is exact for s ≤ t ≤ 2s, so s + (t − s) is t). */
type GatewayTuple = [
  form: typeof GATEWAY,
  operation: string,
  spanId: string,
  parentSpanId: string | null,
  arrival: number,
  /** The route span's end; null: no route span. */
  routed: number | null,
  /** The upstream wait span's id; null: no upstream spans. */
  upstreamSpanId: string | null,
  upstreamStart: number | null,
  /** The response (or stream) span's start; null: none (the wait span then ends at upstreamEnd). */
  upstreamHeaders: number | null,
  upstreamEnd: number | null,
  firstContent: number | null,
  /** Request parameters (`gen_ai.request.<name>`), in order; 0 when none. */
  params: Record<string, number> | 0,
  responseModel: string | null,
  responseId: string | null,
  serverAddress: string | null,
  serverPort: number | null,
];

const HEX2 = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

/** A child span id: the last byte of `id` XOR `n` (as the gateway derives its route and response spans' ids). */
function derivedSpanId(id: string, n: number): string {
  const last = Number.parseInt(id.slice(-2), 16) ^ n;
  const head = id.slice(0, -2);
  const out = `${head}${HEX2[last] ?? last.toString(16).padStart(2, '0')}`;
  return last === 0 && /^0*$/.test(head) ? derivedSpanId(id, n | 0x80) : out;
}

type Attrs2 = Record<string, string | number | boolean>;

/** The gateway form's spans of a call: its server span, then the route, upstream wait and response spans it had. */
function gatewaySpans(row: SpanRow, g: GatewayTuple): SpanRecord[] {
  const [, op, spanId, parentSpanId, arrival, routed, upSpanId, upStart, upHeaders, upEnd, first, params] = g;
  const [responseModel, responseId, serverAddress, serverPort] = [g[12], g[13], g[14], g[15]];
  const t0 = row.startedAt;
  const traceId = row.traceId as string;
  const failed = row.status !== 'ok' && row.status !== 'cancelled';
  const a: Attrs2 = {
    'gen_ai.operation.name': op,
    'gen_ai.provider.name': row.provider,
    'gen_ai.request.model': row.model,
    'gen_ai.request.stream': row.stream,
    'llmscope.request_id': row.requestId,
    'llmscope.status': row.status,
    'http.response.status_code': row.httpStatus,
  };
  if (params !== 0) for (const k in params) a[`gen_ai.request.${k}`] = params[k] as number;
  if (responseModel) a['gen_ai.response.model'] = responseModel;
  if (responseId) a['gen_ai.response.id'] = responseId;
  if (serverAddress) a['server.address'] = serverAddress;
  if (serverPort) a['server.port'] = serverPort;
  if (row.finishReason) a['gen_ai.response.finish_reasons'] = row.finishReason;
  if (row.inputTokens !== null) a['gen_ai.usage.input_tokens'] = row.inputTokens;
  if (row.outputTokens !== null) a['gen_ai.usage.output_tokens'] = row.outputTokens;
  if (row.cachedInputTokens) a['gen_ai.usage.cache_read.input_tokens'] = row.cachedInputTokens;
  if (row.cacheWriteInputTokens) a['gen_ai.usage.cache_creation.input_tokens'] = row.cacheWriteInputTokens;
  if (row.reasoningTokens) a['gen_ai.usage.reasoning.output_tokens'] = row.reasoningTokens;
  if (row.errorType) a['error.type'] = row.errorType;
  if (row.ttftMs !== null) a['llmscope.ttft_ms'] = row.ttftMs;
  if (row.tpotMs !== null) a['llmscope.tpot_ms'] = row.tpotMs;
  if (row.user) a['llmscope.user'] = row.user;
  if (row.team) a['llmscope.team'] = row.team;
  if (row.feature) a['llmscope.feature'] = row.feature;
  const arrivalAt = t0 + arrival;
  const root: SpanRecord = {
    traceId,
    spanId,
    parentSpanId,
    name: `${op} ${row.model}`,
    kind: 'server',
    startTime: arrivalAt,
    endTime: row.endedAt,
    status: failed ? 'error' : 'ok',
    attributes: a,
    events: [],
  };
  if (first !== null)
    root.events.push({
      name: 'gen_ai.first_token',
      time: t0 + first,
      attributes: { 'llmscope.ttft_ms': row.ttftMs ?? 0 },
    });
  if (row.status === 'cancelled') root.events.push({ name: 'llmscope.client_cancelled', time: row.endedAt });
  const spans = [root];
  if (routed !== null)
    spans.push({
      traceId,
      spanId: derivedSpanId(spanId, 1),
      parentSpanId: spanId,
      name: 'llmscope.route',
      kind: 'internal',
      startTime: arrivalAt,
      endTime: t0 + routed,
      status: 'unset',
      attributes: { 'gen_ai.provider.name': row.provider },
      events: [],
    });
  if (upSpanId !== null && upStart !== null) {
    const headersAt = upHeaders === null ? null : t0 + upHeaders;
    const endAt = upEnd === null ? row.endedAt : t0 + upEnd;
    const upstream: SpanRecord = {
      traceId,
      spanId: upSpanId,
      parentSpanId: spanId,
      name: 'llmscope.upstream.wait',
      kind: 'client',
      startTime: t0 + upStart,
      endTime: headersAt ?? endAt,
      status: headersAt === null ? 'error' : 'unset',
      attributes: { 'http.request.method': upstreamMethod(row.endpoint), 'http.response.status_code': row.httpStatus },
      events: [],
    };
    if (serverAddress) upstream.attributes['server.address'] = serverAddress;
    if (serverPort) upstream.attributes['server.port'] = serverPort;
    spans.push(upstream);
    if (headersAt !== null)
      spans.push({
        traceId,
        spanId: derivedSpanId(upSpanId, 2),
        parentSpanId: spanId,
        name: row.stream ? 'llmscope.stream' : 'llmscope.response',
        kind: 'internal',
        startTime: headersAt,
        endTime: endAt,
        status: failed ? 'error' : 'unset',
        attributes: { 'gen_ai.usage.output_tokens': row.outputTokens ?? 0 },
        events: [],
      });
  }
  return spans;
}

const LONE_SURROGATE = /\p{Cs}/u;

/** ms after `t0`, or NaN (never equal on rebuild, so the form is not used) when `t` is not a number. */
const after = (t: unknown, t0: number): number => (typeof t === 'number' ? t - t0 : Number.NaN);

/**
 * The gateway form's values read off spans shaped as the gateway builds them, or null when they are not; whether the
 * form rebuilds them exactly is checked by the caller (sameSpans).
 */
function gatewayTupleOf(spans: readonly SpanRecord[], row: SpanRow): GatewayTuple | null {
  const root = spans[0] as SpanRecord;
  if (root.kind !== 'server' || row.traceId === null || root.traceId !== row.traceId) return null;
  // a lone surrogate in a text column reads back as U+FFFD (SQLite keeps UTF-8), where the spans' JSON kept it
  if (rowHasLoneSurrogate(row)) return null;
  const a = root.attributes;
  const op = a['gen_ai.operation.name'];
  if (typeof op !== 'string') return null;
  const t0 = row.startedAt;
  let route: SpanRecord | null = null;
  let wait: SpanRecord | null = null;
  let response: SpanRecord | null = null;
  for (let i = 1; i < spans.length; i++) {
    const s = spans[i] as SpanRecord;
    if (s.name === 'llmscope.route' && route === null && wait === null) route = s;
    else if (s.name === 'llmscope.upstream.wait' && wait === null) wait = s;
    else if (wait !== null && response === null) response = s;
    else return null;
  }
  let params: Record<string, number> | 0 = 0;
  for (const k in a)
    if (k.startsWith('gen_ai.request.') && k !== 'gen_ai.request.model' && k !== 'gen_ai.request.stream') {
      const v = a[k];
      if (typeof v !== 'number') return null;
      params ||= {};
      params[k.slice(15)] = v;
    }
  const firstToken = root.events[0]?.name === 'gen_ai.first_token' ? root.events[0] : null;
  const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
  return [
    GATEWAY,
    op,
    root.spanId,
    root.parentSpanId,
    after(root.startTime, t0),
    route === null ? null : after(route.endTime, t0),
    wait === null ? null : wait.spanId,
    wait === null ? null : after(wait.startTime, t0),
    response === null ? null : after(response.startTime, t0),
    wait === null ? null : after((response ?? wait).endTime, t0),
    firstToken === null ? null : after(firstToken.time, t0),
    params,
    str(a['gen_ai.response.model']),
    str(a['gen_ai.response.id']),
    str(a['server.address']),
    typeof a['server.port'] === 'number' ? a['server.port'] : null,
  ];
}

/** Whether a text the gateway spans form takes from the row holds a lone surrogate (read back as U+FFFD). */
function rowHasLoneSurrogate(row: SpanRow): boolean {
  for (const t of [row.provider, row.model, row.requestId, row.status, row.finishReason, row.errorType])
    if (t !== null && LONE_SURROGATE.test(t)) return true;
  for (const t of [row.user, row.team, row.feature]) if (t && LONE_SURROGATE.test(t)) return true;
  return false;
}

/**
 * The gateway form of the spans spansOf (telemetry/spans.ts) would build for `c`, read off its marks and fields
 * without building them: the tuple gatewayTupleOf reads off those spans. Null unless that tuple is known to rebuild
 * them exactly (what encodeSpans otherwise checks on the built spans): the row reads back every field the spans
 * carry as the call has it, no text of the row holds a lone surrogate, every mark is null or a number that the form's
 * ms-after-start gives back exactly, parameters are finite numbers, and the ids and response facts are of the types
 * the spans keep. Anything else goes the checked way (spans-direct.test.ts compares the two over varied calls).
 */
export function gatewayTupleOfCall(c: LlmCall, row: SpanRow): GatewayTuple | null {
  const i = c.internal;
  if (i === undefined || !c.traceId || row.traceId !== c.traceId) return null;
  if (
    row.endpoint !== c.endpoint ||
    row.startedAt !== c.startedAt ||
    row.endedAt !== c.endedAt ||
    row.provider !== c.provider ||
    row.model !== c.model ||
    row.stream !== c.stream ||
    row.requestId !== c.requestId ||
    row.status !== c.status ||
    row.httpStatus !== c.httpStatus ||
    row.finishReason !== c.finishReason ||
    row.inputTokens !== c.inputTokens ||
    row.outputTokens !== c.outputTokens ||
    row.cachedInputTokens !== c.cachedInputTokens ||
    row.cacheWriteInputTokens !== (c.cacheWriteInputTokens ?? null) ||
    row.reasoningTokens !== c.reasoningTokens ||
    row.errorType !== c.errorType ||
    row.ttftMs !== c.ttftMs ||
    row.tpotMs !== c.tpotMs ||
    row.user !== c.user ||
    row.team !== c.team ||
    row.feature !== c.feature ||
    rowHasLoneSurrogate(row)
  )
    return null;
  const op = operationName(c.endpoint);
  if (typeof op !== 'string' || typeof i.spanId !== 'string') return null;
  if (i.parentSpanId !== null && typeof i.parentSpanId !== 'string') return null;
  const t0 = c.startedAt;
  let exact = true;
  /** ms after t0 when that gives `t` back exactly; null for null; anything else clears `exact`. */
  const rel = (t: number | null): number | null => {
    if (t === null) return null;
    const d = typeof t === 'number' && Number.isFinite(t) ? t - t0 : Number.NaN;
    if (t0 + d !== t) exact = false;
    return d;
  };
  const arrival = rel(i.arrivalAt);
  if (arrival === null) return null;
  const routed = rel(i.routedAt);
  const first = rel(i.firstContentAt);
  const upstream = i.upstreamStartAt !== null;
  if (upstream && typeof i.upstreamSpanId !== 'string') return null;
  const upStart = upstream ? rel(i.upstreamStartAt) : null;
  const upHeaders = upstream ? rel(i.upstreamHeadersAt) : null;
  const upEnd = upstream ? rel(i.upstreamEndAt ?? c.endedAt) : null;
  if (!exact) return null;
  let params: Record<string, number> | 0 = 0;
  const p = i.params;
  if (typeof p !== 'object' || p === null) return null;
  for (const k in p) {
    const v = p[k];
    if (!Object.hasOwn(p, k) || k === 'model' || k === 'stream' || k === '__proto__') return null;
    if (typeof v !== 'number' || !Number.isFinite(v)) return null;
    params = p;
  }
  const text = (v: unknown): string | null | undefined => (!v ? null : typeof v === 'string' ? v : undefined);
  const responseModel = text(i.responseModel);
  const responseId = text(i.responseId);
  const serverAddress = text(i.serverAddress);
  const serverPort = !i.serverPort ? null : typeof i.serverPort === 'number' ? i.serverPort : undefined;
  if (responseModel === undefined || responseId === undefined || serverAddress === undefined) return null;
  if (serverPort === undefined) return null;
  return [
    GATEWAY,
    op,
    i.spanId,
    i.parentSpanId,
    arrival,
    routed,
    upstream ? i.upstreamSpanId : null,
    upStart,
    upHeaders,
    upEnd,
    first,
    params,
    responseModel,
    responseId,
    serverAddress,
    serverPort,
  ];
}

/** The same attributes, values and order (what JSON would write of each), and nothing else. */
function sameAttrs(x: Attrs2 | undefined, y: Attrs2 | undefined): boolean {
  if (x === undefined || y === undefined) return x === y;
  const kx = Object.keys(x);
  const ky = Object.keys(y);
  if (kx.length !== ky.length) return false;
  for (let i = 0; i < kx.length; i++) {
    const k = kx[i] as string;
    if (k !== ky[i] || x[k] !== y[k]) return false;
  }
  return true;
}

/** Whether `built` (the gateway form's rebuild) is exactly `given`, property for property and in the same order. */
function sameSpans(built: readonly SpanRecord[], given: readonly SpanRecord[]): boolean {
  if (built.length !== given.length) return false;
  for (let i = 0; i < built.length; i++) {
    const b = built[i] as SpanRecord;
    const g = given[i] as SpanRecord;
    if (
      Object.keys(g).length !== 10 ||
      b.traceId !== g.traceId ||
      b.spanId !== g.spanId ||
      b.parentSpanId !== g.parentSpanId ||
      b.name !== g.name ||
      b.kind !== g.kind ||
      b.startTime !== g.startTime ||
      b.endTime !== g.endTime ||
      b.status !== g.status ||
      !sameAttrs(b.attributes, g.attributes) ||
      b.events.length !== g.events.length
    )
      return false;
    for (let j = 0; j < b.events.length; j++) {
      const be = b.events[j] as SpanRecord['events'][number];
      const ge = g.events[j] as SpanRecord['events'][number];
      if (
        Object.keys(ge).length !== (be.attributes === undefined ? 2 : 3) ||
        be.name !== ge.name ||
        be.time !== ge.time ||
        !sameAttrs(be.attributes, ge.attributes)
      )
        return false;
    }
  }
  return true;
}
