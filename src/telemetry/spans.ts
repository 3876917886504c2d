// Builds each call's spans from the gateway's timing marks, named and attributed per the OpenTelemetry GenAI
// semantic conventions: `{operation} {model}` for the call, children for routing, the upstream wait and the
// stream, and a `gen_ai.first_token` event. Runs as an enricher, after tokens are known.
//
// Child span ids are derived from the minted ones (so the spans of a call are the same however often they are
// built) by flipping bits of the last byte: never equal to the id they come from. (They used to replace the last
// byte, which gave the child its parent's id whenever that byte already was 01 or 02: 1 call in 128.)
import { type Enricher, type LlmCall, type Sink, type SpanRecord, sinkWithWrite } from '../calls/index.js';
import { operationName, upstreamMethod } from '../providers/openai-compatible/index.js';

type Attrs = Record<string, string | number | boolean>;

/** Two hex digits per byte value. */
const HEX2 = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

/** A span id derived from `id`: its last byte XOR `n` (1..255), so it always differs from `id`. */
export function derivedSpanId(id: string, n: number): string {
  const last = Number.parseInt(id.slice(-2), 16) ^ n;
  const head = id.slice(0, -2);
  const out = `${head}${HEX2[last] ?? last.toString(16).padStart(2, '0')}`;
  // all zeros is not a valid span id (only when id was 00…0n): flip another bit instead
  return last === 0 && /^0*$/.test(head) ? derivedSpanId(id, n | 0x80) : out;
}

function genAiAttributes(call: LlmCall): Attrs {
  const i = call.internal;
  const a: Attrs = {
    'gen_ai.operation.name': operationName(call.endpoint),
    'gen_ai.provider.name': call.provider,
    'gen_ai.request.model': call.model,
    'gen_ai.request.stream': call.stream,
    'llmscope.request_id': call.requestId,
    'llmscope.status': call.status,
    'http.response.status_code': call.httpStatus,
  };
  if (i) {
    for (const [k, v] of Object.entries(i.params)) a[`gen_ai.request.${k}`] = v;
    if (i.responseModel) a['gen_ai.response.model'] = i.responseModel;
    if (i.responseId) a['gen_ai.response.id'] = i.responseId;
    if (i.serverAddress) a['server.address'] = i.serverAddress;
    if (i.serverPort) a['server.port'] = i.serverPort;
  }
  if (call.finishReason) a['gen_ai.response.finish_reasons'] = call.finishReason;
  if (call.inputTokens !== null) a['gen_ai.usage.input_tokens'] = call.inputTokens;
  if (call.outputTokens !== null) a['gen_ai.usage.output_tokens'] = call.outputTokens;
  if (call.cachedInputTokens) a['gen_ai.usage.cache_read.input_tokens'] = call.cachedInputTokens;
  if (call.cacheWriteInputTokens) a['gen_ai.usage.cache_creation.input_tokens'] = call.cacheWriteInputTokens;
  if (call.reasoningTokens) a['gen_ai.usage.reasoning.output_tokens'] = call.reasoningTokens;
  if (call.errorType) a['error.type'] = call.errorType;
  if (call.ttftMs !== null) a['llmscope.ttft_ms'] = call.ttftMs;
  if (call.tpotMs !== null) a['llmscope.tpot_ms'] = call.tpotMs;
  if (call.user) a['llmscope.user'] = call.user;
  if (call.team) a['llmscope.team'] = call.team;
  if (call.feature) a['llmscope.feature'] = call.feature;
  return a;
}

export function spansOf(call: LlmCall): SpanRecord[] {
  const i = call.internal;
  if (!i || !call.traceId) return [];
  const traceId = call.traceId;
  const failed = call.status !== 'ok' && call.status !== 'cancelled';
  const root: SpanRecord = {
    traceId,
    spanId: i.spanId,
    parentSpanId: i.parentSpanId,
    name: `${operationName(call.endpoint)} ${call.model}`,
    kind: 'server',
    startTime: i.arrivalAt,
    endTime: call.endedAt,
    status: failed ? 'error' : 'ok',
    attributes: genAiAttributes(call),
    events: [],
  };
  if (i.firstContentAt !== null)
    root.events.push({
      name: 'gen_ai.first_token',
      time: i.firstContentAt,
      attributes: { 'llmscope.ttft_ms': call.ttftMs ?? 0 },
    });
  if (call.status === 'cancelled') root.events.push({ name: 'llmscope.client_cancelled', time: call.endedAt });
  const spans = [root];
  if (i.routedAt !== null)
    spans.push({
      traceId,
      spanId: derivedSpanId(i.spanId, 1),
      parentSpanId: i.spanId,
      name: 'llmscope.route',
      kind: 'internal',
      startTime: i.arrivalAt,
      endTime: i.routedAt,
      status: 'unset',
      attributes: { 'gen_ai.provider.name': call.provider },
      events: [],
    });
  if (i.upstreamStartAt !== null) {
    const headersAt = i.upstreamHeadersAt ?? i.upstreamEndAt ?? call.endedAt;
    const upstream: SpanRecord = {
      traceId,
      spanId: i.upstreamSpanId,
      parentSpanId: i.spanId,
      name: 'llmscope.upstream.wait',
      kind: 'client',
      startTime: i.upstreamStartAt,
      endTime: headersAt,
      status: i.upstreamHeadersAt === null ? 'error' : 'unset',
      attributes: {
        'http.request.method': upstreamMethod(call.endpoint),
        'http.response.status_code': call.httpStatus,
      },
      events: [],
    };
    if (i.serverAddress) upstream.attributes['server.address'] = i.serverAddress;
    if (i.serverPort) upstream.attributes['server.port'] = i.serverPort;
    spans.push(upstream);
    if (i.upstreamHeadersAt !== null)
      spans.push({
        traceId,
        spanId: derivedSpanId(i.upstreamSpanId, 2),
        parentSpanId: i.spanId,
        name: call.stream ? 'llmscope.stream' : 'llmscope.response',
        kind: 'internal',
        startTime: i.upstreamHeadersAt,
        endTime: i.upstreamEndAt ?? call.endedAt,
        status: failed ? 'error' : 'unset',
        attributes: { 'gen_ai.usage.output_tokens': call.outputTokens ?? 0 },
        // the first token is one event, on the call's span (with its TTFT), not repeated here
        events: [],
      });
  }
  return spans;
}

/**
 * The call's spans: those it carries, or the gateway's, built now from its marks when the spans enricher left them to
 * be built where they are read (`internal.spansDeferred`). Not kept on the call: the SQLite store writes a gateway
 * call's spans straight from its marks (store/spans-codec.ts), so span objects are made only for the readers that
 * need them (the OTLP exporter, PostgreSQL's row, sinks given to createApp) and are never held while sinks batch.
 */
export function spansFor(call: LlmCall): SpanRecord[] {
  if (call.spans.length > 0 || call.internal?.spansDeferred !== true) return call.spans;
  try {
    return spansOf(call);
  } catch {
    // as when the enricher built them and failed: the call has no spans (never a failed batch in a sink)
    return [];
  }
}

/** A sink that reads `call.spans`: it gets the calls whose spans were left to be built with them built (copies). */
export function withSpans(s: Sink): Sink {
  return sinkWithWrite(s, (calls) => {
    let out: LlmCall[] | null = null;
    for (let i = 0; i < calls.length; i++) {
      const c = calls[i] as LlmCall;
      if (c.spans.length > 0 || c.internal?.spansDeferred !== true) continue;
      out ??= calls.slice();
      out[i] = { ...c, spans: spansFor(c) };
    }
    return s.write(out ?? calls);
  });
}

/**
 * Marks a gateway call's spans to be built where they are read (spansFor) rather than here: building them for every
 * call, to hold them while the sinks batch, cost more CPU than anything that read them (issue 13). They are built
 * from the call's final fields, after every enricher (the enricher's old place: last but content, which changes none
 * of them).
 */
export const spanEnricher: Enricher = {
  name: 'spans',
  enrich(call) {
    if (call.spans.length === 0 && call.internal && call.traceId) call.internal.spansDeferred = true;
  },
};
