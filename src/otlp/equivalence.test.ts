// The receiver's decode-and-map path against references: protobuf decoding against protobufjs's reflective decoder
// (testing.ts, the receiver's first decoder), JSON against protobuf, and the calls, trace spans and counts an export
// gives against a snapshot taken from the path before it was made faster (all four conventions, both encodings).

import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { decodeJson, decodeProtobuf, type OtlpSpan } from './index.js';
import { encodeExportRequest, recordingReceiver, referenceDecodeProtobuf } from './testing.js';

type Value = Record<string, unknown>;
const s = (key: string, v: string) => ({ key, value: { stringValue: v } });
const i = (key: string, v: number | string) => ({ key, value: { intValue: v } });
const d = (key: string, v: number) => ({ key, value: { doubleValue: v } });
const b = (key: string, v: boolean) => ({ key, value: { boolValue: v } });
const arr = (key: string, values: Value[]) => ({ key, value: { arrayValue: { values } } });

const id = (n: number, bytes: number) => {
  const buf = Buffer.alloc(bytes);
  if (n === 0) return buf;
  buf.writeUInt32BE(n, bytes - 4);
  buf[0] = 0xab;
  return buf;
};
const T0 = 1_764_800_000_000_000_000n;
const ns = (ms: number) => (T0 + BigInt(Math.round(ms * 1e6))).toString();

interface SpanSpec {
  trace: number;
  span: number;
  parent?: number;
  name: string;
  kind?: number;
  start: number;
  end: number;
  attrs: Value[];
  events?: { name: string; at: number; attrs?: Value[] }[];
  status?: { code?: number; message?: string };
}

function span(p: SpanSpec): Value {
  return {
    traceId: id(p.trace, 16),
    spanId: id(p.span, 8),
    ...(p.parent !== undefined ? { parentSpanId: id(p.parent, 8) } : {}),
    name: p.name,
    kind: p.kind ?? 3,
    startTimeUnixNano: ns(p.start),
    endTimeUnixNano: ns(p.end),
    attributes: p.attrs,
    events: (p.events ?? []).map((e) => ({ name: e.name, timeUnixNano: ns(e.at), attributes: e.attrs ?? [] })),
    ...(p.status ? { status: p.status } : {}),
  };
}

const messages = JSON.stringify([
  { role: 'system', content: 'be brief' },
  { role: 'user', content: [{ type: 'text', text: 'what is 2+2?' }] },
]);

/** Spans of every convention the receiver reads, and the ones it keeps, drops or rejects. */
function appSpans(): Value[] {
  return [
    // OpenTelemetry GenAI, current names, streamed, with content and metadata
    span({
      trace: 1,
      span: 11,
      parent: 10,
      name: 'chat gpt-4o-mini',
      start: 0,
      end: 840.25,
      attrs: [
        s('gen_ai.operation.name', 'chat'),
        s('gen_ai.provider.name', 'openai'),
        s('gen_ai.request.model', 'gpt-4o-mini'),
        s('gen_ai.response.model', 'gpt-4o-mini-2024-07-18'),
        s('gen_ai.response.id', 'chatcmpl-1'),
        i('gen_ai.usage.input_tokens', 120),
        i('gen_ai.usage.output_tokens', 31),
        i('gen_ai.usage.cache_read.input_tokens', 64),
        i('gen_ai.usage.reasoning.output_tokens', 8),
        arr('gen_ai.response.finish_reasons', [{ stringValue: 'stop' }]),
        s('gen_ai.conversation.id', 'conv-9'),
        b('gen_ai.request.stream', true),
        d('gen_ai.server.time_to_first_token', 0.21),
        s('user.id', 'alice'),
        s('server.address', 'api.openai.com'),
        i('server.port', 443),
        s('gen_ai.input.messages', messages),
        s('gen_ai.system_instructions', 'you are a calculator'),
        s('gen_ai.output.messages', JSON.stringify([{ role: 'assistant', parts: [{ type: 'text', text: '4' }] }])),
        s('llmscope.meta.tenant', 'acme'),
        i('llmscope.meta.shard', 7),
        s('x.long', 'y'.repeat(1500)),
      ],
      events: [{ name: 'gen_ai.first_token', at: 200, attrs: [s('note', 'first')] }],
      status: { code: 1 },
    }),
    // its agent root and a tool step (kept with the trace)
    span({
      trace: 1,
      span: 10,
      name: 'invoke_agent support',
      kind: 1,
      start: -5,
      end: 2000,
      attrs: [s('gen_ai.operation.name', 'invoke_agent'), s('gen_ai.agent.name', 'support')],
    }),
    span({
      trace: 1,
      span: 12,
      parent: 10,
      name: 'execute_tool lookup',
      kind: 1,
      start: 900,
      end: 950,
      attrs: [
        s('gen_ai.operation.name', 'execute_tool'),
        s('gen_ai.tool.name', 'lookup'),
        s('gen_ai.tool.call.arguments', '{"q":"secret"}'),
      ],
    }),
    // a plain HTTP span of the same trace (kept: the trace has a call)
    span({
      trace: 1,
      span: 13,
      parent: 12,
      name: 'GET /kb',
      start: 901,
      end: 949,
      attrs: [s('http.request.method', 'GET'), i('http.response.status_code', 200)],
    }),
    // the same call span again in the same export (a duplicate)
    span({
      trace: 1,
      span: 11,
      parent: 10,
      name: 'chat gpt-4o-mini',
      start: 0,
      end: 840.25,
      attrs: [s('gen_ai.operation.name', 'chat'), s('gen_ai.provider.name', 'openai'), s('gen_ai.request.model', 'x')],
    }),
    // older GenAI names and OpenLLMetry: indexed prompt/completion, llm.usage.*, a rate-limited error
    span({
      trace: 2,
      span: 21,
      name: 'openai.chat',
      start: 10,
      end: 310,
      attrs: [
        s('gen_ai.system', 'OpenAI'),
        s('llm.request.type', 'chat'),
        s('gen_ai.request.model', 'gpt-4o'),
        i('gen_ai.usage.prompt_tokens', '250'),
        i('gen_ai.usage.completion_tokens', 12),
        i('llm.usage.cache_read_input_tokens', 5),
        s('gen_ai.prompt.0.role', 'user'),
        s('gen_ai.prompt.0.content', 'hello there'),
        s('gen_ai.prompt.1.role', 'assistant'),
        s('gen_ai.prompt.1.content', 'hi'),
        s('gen_ai.completion.0.content', 'general kenobi'),
        s('gen_ai.completion.0.finish_reason', 'length'),
        s('error.type', 'RateLimitError'),
        i('http.response.status_code', 429),
        s('enduser.id', 'bob'),
      ],
      events: [
        {
          name: 'exception',
          at: 300,
          attrs: [s('exception.type', 'RateLimitError'), s('exception.message', 'slow down')],
        },
      ],
      status: { code: 2, message: '' },
    }),
    // OpenInference LLM: indexed messages, invocation parameters, a first-token event, Anthropic with cache write
    span({
      trace: 3,
      span: 31,
      name: 'ChatAnthropic',
      kind: 1,
      start: 0,
      end: 1500,
      attrs: [
        s('openinference.span.kind', 'LLM'),
        s('llm.model_name', 'claude-sonnet-4-5'),
        s('llm.provider', 'anthropic'),
        i('llm.token_count.prompt', 900),
        i('llm.token_count.completion', 100),
        i('llm.token_count.prompt_details.cache_read', 300),
        i('llm.token_count.prompt_details.cache_write', 200),
        s('llm.invocation_parameters', '{"stream":true,"max_tokens":100}'),
        s('llm.input_messages.0.message.role', 'user'),
        s('llm.input_messages.0.message.contents.0.message_content.text', 'part one'),
        s('llm.input_messages.0.message.contents.1.message_content.text', 'part two'),
        s('llm.output_messages.0.message.role', 'assistant'),
        s('llm.output_messages.0.message.content', 'an answer'),
        s('input.value', 'part one part two'),
        s('session.id', 'sess-3'),
        s('llmscope.user', 'carol'),
      ],
      events: [{ name: 'First Token Stream Event', at: 350 }],
      status: { code: 0 },
    }),
    // OpenInference EMBEDDING, and a CHAIN (not a call)
    span({
      trace: 3,
      span: 32,
      name: 'embed',
      start: 1600,
      end: 1650,
      attrs: [
        s('openinference.span.kind', 'EMBEDDING'),
        s('embedding.model_name', 'text-embedding-3-small'),
        s('llm.model_name', 'text-embedding-3-small'),
        s('llm.provider', 'openai'),
        i('llm.token_count.prompt', 42),
        s('embedding.embeddings.0.embedding.text', 'a document'),
      ],
    }),
    span({
      trace: 3,
      span: 33,
      name: 'RunnableSequence',
      kind: 1,
      start: -10,
      end: 1700,
      attrs: [s('openinference.span.kind', 'CHAIN'), s('input.value', 'question'), s('output.value', 'answer')],
    }),
    // the Vercel AI SDK: doStream is the call, streamText the outer span
    span({
      trace: 4,
      span: 41,
      parent: 40,
      name: 'ai.streamText.doStream',
      start: 5,
      end: 905,
      attrs: [
        s('ai.operationId', 'ai.streamText.doStream'),
        s('ai.model.id', 'gpt-4.1'),
        s('ai.model.provider', 'openai.responses'),
        i('ai.usage.inputTokens', 77),
        i('ai.usage.outputTokens', 55),
        i('ai.usage.cachedInputTokens', 11),
        d('ai.response.msToFirstChunk', 120.5),
        s('ai.response.finishReason', 'stop'),
        s('ai.response.text', 'streamed text'),
        s('ai.prompt.messages', JSON.stringify([{ role: 'user', content: [{ type: 'text', text: 'tell me' }] }])),
        s('ai.telemetry.metadata.userId', 'dave'),
        s('ai.telemetry.metadata.llmscope.feature', 'search'),
        s('ai.telemetry.metadata.llmscope.meta.plan', 'pro'),
        s('gen_ai.system', 'openai.responses'),
      ],
      events: [{ name: 'ai.stream.firstChunk', at: 125, attrs: [d('ai.response.msToFirstChunk', 120.5)] }],
    }),
    span({
      trace: 4,
      span: 40,
      name: 'ai.streamText',
      kind: 1,
      start: 0,
      end: 910,
      attrs: [s('ai.operationId', 'ai.streamText'), s('ai.model.id', 'gpt-4.1'), i('ai.usage.inputTokens', 77)],
    }),
    // Gemini refusal, completions, a cancelled call, no usage (estimated from the messages)
    span({
      trace: 5,
      span: 51,
      name: 'generate_content gemini-2.5-flash',
      start: 0,
      end: 400,
      attrs: [
        s('gen_ai.operation.name', 'generate_content'),
        s('gen_ai.provider.name', 'gcp.gemini'),
        s('gen_ai.request.model', 'gemini-2.5-flash'),
        i('gen_ai.usage.input_tokens', 10),
        i('gen_ai.usage.output_tokens', 0),
        arr('gen_ai.response.finish_reasons', [{ stringValue: '' }, { stringValue: 'SAFETY' }]),
      ],
    }),
    span({
      trace: 5,
      span: 52,
      name: 'text_completion',
      start: 0,
      end: 100,
      attrs: [
        s('gen_ai.operation.name', 'text_completion'),
        s('gen_ai.provider.name', 'openai'),
        s('gen_ai.request.model', 'gpt-3.5-turbo-instruct'),
        s('error.type', 'AbortError'),
      ],
      status: { code: 2, message: 'aborted by client' },
    }),
    span({
      trace: 6,
      span: 61,
      name: 'chat',
      start: 0,
      end: 250,
      attrs: [
        s('gen_ai.operation.name', 'chat'),
        s('gen_ai.provider.name', 'openai'),
        s('gen_ai.request.model', 'gpt-4o-mini'),
        s('gen_ai.input.messages', messages),
        s('gen_ai.output.messages', JSON.stringify([{ role: 'assistant', content: 'four' }])),
        s('llmscope.tpot_ms', '3.5'),
      ],
    }),
    // llmscope's own gateway span sent back: not a call
    span({
      trace: 7,
      span: 71,
      name: 'chat gpt-4o-mini',
      start: 0,
      end: 10,
      attrs: [
        s('llmscope.request_id', 'req-1'),
        s('gen_ai.operation.name', 'chat'),
        s('gen_ai.provider.name', 'openai'),
        s('gen_ai.request.model', 'gpt-4o-mini'),
      ],
    }),
    // a trace with no call: an AI span (waits, without a store unrecognised) and a plain one
    span({
      trace: 8,
      span: 81,
      name: 'retrieve',
      kind: 1,
      start: 0,
      end: 5,
      attrs: [s('openinference.span.kind', 'RETRIEVER'), s('retrieval.documents.0.document.id', 'd1')],
    }),
    span({ trace: 8, span: 82, name: 'SELECT', start: 0, end: 1, attrs: [s('db.system', 'postgresql')] }),
    // every value type, on a call
    span({
      trace: 9,
      span: 91,
      name: 'values',
      start: 0,
      end: 1,
      attrs: [
        s('gen_ai.operation.name', 'embeddings'),
        s('gen_ai.system', 'cohere'),
        s('gen_ai.request.model', 'embed-v4'),
        { key: 'x.kv', value: { kvlistValue: { values: [s('a', 'b'), i('n', -3), { key: 'deep', value: {} }] } } },
        arr('x.arr', [{ intValue: 1 }, { doubleValue: 2.5 }, { boolValue: false }, { arrayValue: { values: [] } }]),
        { key: 'x.bytes', value: { bytesValue: Buffer.from([1, 2, 3, 250]) } },
        d('x.double', -0.125),
        i('x.bigint', '-9007199254740991'),
        { key: 'x.empty', value: {} },
        s('', 'no key'),
      ],
    }),
    // rejected: bad ids, times, token counts, metadata
    span({ trace: 0, span: 1, name: 'zero trace', start: 0, end: 1, attrs: [] }),
    span({ trace: 10, span: 101, name: 'backwards', start: 10, end: 5, attrs: [] }),
    span({
      trace: 10,
      span: 102,
      name: 'huge tokens',
      start: 0,
      end: 1,
      attrs: [
        s('gen_ai.operation.name', 'chat'),
        s('gen_ai.provider.name', 'openai'),
        s('gen_ai.request.model', 'gpt-4o'),
        i('gen_ai.usage.input_tokens', '9007199254740993'),
      ],
    }),
    span({
      trace: 10,
      span: 103,
      name: 'bad metadata',
      start: 0,
      end: 1,
      attrs: [
        s('gen_ai.operation.name', 'chat'),
        s('gen_ai.provider.name', 'openai'),
        s('gen_ai.request.model', 'gpt-4o'),
        s('llmscope.meta.note', 'z'.repeat(300)),
      ],
    }),
  ];
}

function exportRequest(): Value {
  const [first, ...rest] = appSpans();
  return {
    resourceSpans: [
      {
        resource: {
          attributes: [s('service.name', 'support-bot'), s('llmscope.team', 'growth'), s('llmscope.meta.region', 'eu')],
        },
        scopeSpans: [
          { scope: { name: '@opentelemetry/instrumentation-openai', version: '0.5.0' }, spans: [first] },
          { scope: { name: 'openinference' }, spans: rest.slice(0, 12) },
        ],
      },
      {
        resource: { attributes: [s('service.name', 'unknown_service:node')] },
        scopeSpans: [{ spans: rest.slice(12) }],
      },
      { scopeSpans: [] },
    ],
  };
}

/** The OTLP/JSON form of an export in protobufjs object form: ids in hex, bytes in base64. */
function toJson(v: unknown, key = ''): unknown {
  if (Buffer.isBuffer(v)) return key === 'bytesValue' ? v.toString('base64') : v.toString('hex');
  if (Array.isArray(v)) return v.map((x) => toJson(x));
  if (typeof v === 'object' && v !== null)
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toJson(x, k)]));
  return v;
}

/** Many generated spans with attributes of every convention shuffled together (a fixed seed). */
function generated(n: number): Value {
  let seed = 7;
  const rnd = (k: number) => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    return seed % k;
  };
  const pool: Value[] = [
    s('gen_ai.operation.name', 'chat'),
    s('gen_ai.operation.name', 'embeddings'),
    s('gen_ai.operation.name', 'execute_tool'),
    s('gen_ai.provider.name', 'openai'),
    s('gen_ai.system', 'anthropic'),
    s('gen_ai.request.model', 'gpt-4o-mini'),
    s('gen_ai.response.model', 'claude-haiku-4-5'),
    s('llm.model_name', 'gemini-2.5-pro'),
    s('llm.provider', 'google'),
    s('openinference.span.kind', 'LLM'),
    s('openinference.span.kind', 'TOOL'),
    s('ai.operationId', 'ai.generateText.doGenerate'),
    s('ai.model.provider', 'anthropic.messages'),
    s('ai.model.id', 'claude-sonnet-4-5'),
    s('llm.request.type', 'completion'),
    i('gen_ai.usage.input_tokens', 13),
    i('gen_ai.usage.output_tokens', 2),
    s('gen_ai.usage.output_tokens', '17'),
    d('llm.token_count.prompt', 4.6),
    i('ai.usage.promptTokens', -4),
    i('llm.usage.completion_tokens', 9),
    s('gen_ai.prompt.0.content', 'p0'),
    s('gen_ai.prompt.0.role', 'user'),
    s('gen_ai.completion.0.content', 'c0'),
    s('llm.input_messages.0.message.content', 'im'),
    s('output.value', '{"text":"ov"}'),
    s('user.id', 'u1'),
    i('userId', 99),
    s('session.id', ''),
    s('llmscope.meta.k', 'v'),
    b('llmscope.meta.flag', true),
    s('error.type', '503'),
    i('http.status_code', 404),
    s('ai.response.msToFirstChunk', '12'),
    d('ai.stream.msToFirstChunk', 1e9),
    arr('gen_ai.response.finish_reasons', [{ intValue: 3 }]),
    s('llmscope.ttft_ms', 'x'),
    b('llm.is_streaming', true),
  ];
  const spans: Value[] = [];
  for (let k = 0; k < n; k++) {
    const attrs: Value[] = [];
    for (let a = rnd(9); a > 0; a--) attrs.push(pool[rnd(pool.length)] as Value);
    spans.push(
      span({
        trace: 100 + rnd(40),
        span: 1000 + k,
        ...(rnd(3) ? { parent: 1000 + rnd(n) } : {}),
        name: `span ${k}`,
        kind: rnd(6),
        start: rnd(1000),
        end: 1000 + rnd(1000),
        attrs,
        events: rnd(4) === 0 ? [{ name: rnd(2) ? 'exception' : 'first_token', at: 1000 + rnd(50) }] : [],
        status: { code: rnd(3), message: rnd(2) ? 'm' : '' },
      }),
    );
  }
  return { resourceSpans: [{ resource: { attributes: [s('service.name', 'gen')] }, scopeSpans: [{ spans }] }] };
}

/** Wire forms an encoder would not write but a decoder meets: fields out of order, repeated, unknown, deep. */
function handMade(): Uint8Array[] {
  const ld = (field: number, ...parts: Uint8Array[]) => {
    const body = Buffer.concat(parts);
    return protobuf.Writer.create()
      .uint32((field << 3) | 2)
      .bytes(body)
      .finish();
  };
  const str = (field: number, v: string) =>
    protobuf.Writer.create()
      .uint32((field << 3) | 2)
      .string(v)
      .finish();
  const varint = (field: number, v: number) =>
    protobuf.Writer.create()
      .uint32(field << 3)
      .int64(v)
      .finish();
  const fixed = (field: number, v: string) =>
    protobuf.Writer.create()
      .uint32((field << 3) | 1)
      .fixed64(v)
      .finish();
  const kv = (key: string, value: Uint8Array) => ld(9, str(1, key), ld(2, value));
  const nested = (depth: number): Uint8Array => (depth === 0 ? str(1, 'leaf') : ld(5, ld(1, nested(depth - 1))));
  const spanBody = (...extra: Uint8Array[]) =>
    Buffer.concat([
      ld(1, id(5, 16)),
      ld(2, id(6, 8)),
      str(5, 'hand'),
      fixed(7, ns(0)),
      fixed(8, ns(5)),
      kv('gen_ai.request.model', Buffer.concat([str(1, 'a'), varint(3, 5), str(1, 'b')])),
      kv('x.bool-then-double', Buffer.concat([varint(2, 1), ld(7, Buffer.from([9])), varint(2, 0)])),
      kv('x.deep', nested(12)),
      ...extra,
    ]);
  const resource = ld(1, ld(1, str(1, 'service.name'), ld(2, str(1, 'svc'))), varint(2, 3));
  const scope = ld(1, str(1, 'sc'), str(2, '1'), ld(3, str(1, 'k'), ld(2, str(1, 'v'))), varint(4, 1));
  return [
    // scope spans before the resource, the resource twice, unknown fields (links, a field 40) and a status twice
    ld(
      1,
      ld(
        2,
        ld(2, spanBody(ld(13, str(1, 'link')), ld(15, varint(3, 2)), ld(15, str(2, 'later')), varint(40, 1))),
        scope,
      ),
      resource,
      ld(1, ld(1, str(1, 'service.name'), ld(2, str(1, 'svc2')))),
      str(3, 'schema'),
    ),
    // nesting past protobufjs's recursion limit
    ld(1, ld(2, ld(2, spanBody(kv('x.too-deep', nested(60)))))),
    // a known field of the wrong wire type
    ld(1, ld(2, ld(2, Buffer.concat([spanBody(), varint(5, 3)])))),
  ];
}

async function accepted(spans: OtlpSpan[]) {
  const { r, recorded } = recordingReceiver();
  const outcome = await r.accept(spans);
  return { outcome, recorded };
}

describe('OTLP decode-and-map equivalence', () => {
  for (const [name, msg] of [
    ['every convention', exportRequest()],
    ['400 generated spans', generated(400)],
  ] as const) {
    it(`${name}: protobuf decodes as the reflective decoder does, and as the same export in JSON`, () => {
      const bytes = encodeExportRequest(msg);
      const spans = decodeProtobuf(bytes);
      expect(spans).toEqual(referenceDecodeProtobuf(bytes));
      expect(decodeJson(toJson(msg))).toEqual(spans);
    });

    it(`${name}: the same calls, trace spans, counts and rejections as before (snapshot), from either encoding`, async () => {
      const fromProto = await accepted(decodeProtobuf(encodeExportRequest(msg)));
      const fromJson = await accepted(decodeJson(toJson(msg)));
      expect(fromJson).toEqual(fromProto);
      expect(fromProto.recorded.length).toBeGreaterThan(5);
      expect(fromProto).toMatchSnapshot();
    });
  }

  it('bytes that are not an export fail (or decode) as with the reflective decoder, cut anywhere or corrupted', () => {
    const bytes = encodeExportRequest(exportRequest());
    const outcome = (f: (b: Uint8Array) => OtlpSpan[], b: Uint8Array) => {
      try {
        return f(b);
      } catch (err) {
        return `throws: ${(err as Error).message}`;
      }
    };
    let threw = 0;
    let n = 0;
    const check = (b: Uint8Array) => {
      const want = outcome(referenceDecodeProtobuf, b);
      if (typeof want === 'string') threw++;
      n++;
      expect(outcome(decodeProtobuf, b)).toEqual(want);
    };
    for (let cut = 0; cut < bytes.length; cut += 7) check(bytes.subarray(0, cut));
    let seed = 11;
    for (let k = 0; k < 300; k++) {
      const b = Uint8Array.from(bytes);
      for (let j = 0; j < 3; j++) {
        seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
        b[seed % b.length] = (seed >> 8) & 0xff;
      }
      check(b);
    }
    check(Buffer.from('not protobuf at all'));
    for (const b of handMade()) check(b);
    check(Uint8Array.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]));
    check(Uint8Array.from([0x0f]));
    expect(threw).toBeGreaterThan(10);
    expect(threw).toBeLessThan(n);
  });
});
