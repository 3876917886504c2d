import { context, type Attributes as OtelAttributes, SpanStatusCode, trace } from '@opentelemetry/api';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { type LlmCall, Recorder } from '../calls/index.js';
import {
  decodeJson,
  decodeProtobuf,
  isLlmSpan,
  MAX_TRACE_SPANS,
  OtlpReceiver,
  type OtlpSpan,
  requestIdOf,
  spanToCall,
  textsOfSpan,
  toSpanRecord,
} from './index.js';
import { usageProblem } from './map.js';
import { recordingReceiver } from './testing.js';

/** Finished SDK spans: a parent "agent" span and children with the given attributes. */
function sdkSpans(children: { name: string; attributes: OtelAttributes; error?: string }[]): ReadableSpan[] {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'support-bot', 'llmscope.team': 'growth' }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer('test-scope');
  const root = tracer.startSpan('agent.run');
  const ctx = trace.setSpan(context.active(), root);
  for (const c of children) {
    const s = tracer.startSpan(c.name, { attributes: c.attributes }, ctx);
    if (c.error) {
      s.recordException(new Error(c.error));
      s.setStatus({ code: SpanStatusCode.ERROR, message: c.error });
    }
    s.end();
  }
  root.end();
  return exporter.getFinishedSpans();
}

function viaProtobuf(spans: ReadableSpan[]): OtlpSpan[] {
  return decodeProtobuf(ProtobufTraceSerializer.serializeRequest(spans) as Uint8Array);
}
function viaJson(spans: ReadableSpan[]): OtlpSpan[] {
  const bytes = JsonTraceSerializer.serializeRequest(spans) as Uint8Array;
  return decodeJson(JSON.parse(Buffer.from(bytes).toString('utf8')));
}

const genAi = {
  'gen_ai.operation.name': 'chat',
  'gen_ai.provider.name': 'openai',
  'gen_ai.request.model': 'gpt-4o-mini',
  'gen_ai.response.model': 'gpt-4o-mini-2024-07-18',
  'gen_ai.usage.input_tokens': 120,
  'gen_ai.usage.output_tokens': 30,
  'gen_ai.usage.cache_read.input_tokens': 64,
  'gen_ai.response.finish_reasons': ['stop'],
  'gen_ai.conversation.id': 'conv-9',
  'user.id': 'alice',
  'gen_ai.input.messages': '[{"role":"user","content":"secret prompt"}]',
};

describe('OTLP decoding (the SDK’s own serializers)', () => {
  for (const [name, decode] of [
    ['protobuf', viaProtobuf],
    ['json', viaJson],
  ] as const)
    it(`${name}: ids, parentage, times, typed attributes, resource and scope`, () => {
      const sdk = sdkSpans([{ name: 'chat gpt-4o-mini', attributes: { ...genAi, 'x.ratio': 0.5, 'x.flag': true } }]);
      const spans = decode(sdk);
      expect(spans).toHaveLength(2);
      const call = spans.find((s) => s.name === 'chat gpt-4o-mini') as OtlpSpan;
      const root = spans.find((s) => s.name === 'agent.run') as OtlpSpan;
      const sdkCall = sdk.find((s) => s.name === 'chat gpt-4o-mini') as ReadableSpan;
      expect(call.traceId).toBe(sdkCall.spanContext().traceId);
      expect(call.spanId).toBe(sdkCall.spanContext().spanId);
      expect(call.parentSpanId).toBe(root.spanId);
      expect(root.parentSpanId).toBeNull();
      expect(call.attributes['gen_ai.usage.input_tokens']).toBe(120);
      expect(call.attributes['gen_ai.response.finish_reasons']).toEqual(['stop']);
      expect(call.attributes['x.ratio']).toBe(0.5);
      expect(call.attributes['x.flag']).toBe(true);
      expect(call.resource['service.name']).toBe('support-bot');
      expect(call.scope.name).toBe('test-scope');
      const startNs = BigInt(sdkCall.startTime[0]) * 1_000_000_000n + BigInt(sdkCall.startTime[1]);
      expect(call.startNs).toBe(startNs);
      expect(call.endNs >= call.startNs).toBe(true);
    });

  it("JSON: values as proto3's JSON mapping may write them (64-bit ints and doubles as strings, enum names)", () => {
    const [s] = decodeJson({
      resource_spans: [
        {
          scope_spans: [
            {
              spans: [
                {
                  trace_id: '0af7651916cd43dd8448eb211c80319c',
                  span_id: 'b7ad6b7169203331',
                  kind: 'SPAN_KIND_CLIENT',
                  start_time_unix_nano: '1700000000000000000',
                  end_time_unix_nano: 1_700_000_000_500_000_000,
                  attributes: [
                    { key: 'tokens', value: { intValue: '12' } },
                    { key: 'ttft', value: { doubleValue: '120.5' } },
                    { key: 'big', value: { double_value: '-1.5e3' } },
                    { key: 'nan', value: { doubleValue: 'NaN' } },
                  ],
                  status: { code: 'STATUS_CODE_ERROR' },
                },
              ],
            },
          ],
        },
      ],
    });
    expect(s?.attributes).toEqual({ tokens: 12, ttft: 120.5, big: -1500, nan: Number.NaN });
    expect([s?.kind, s?.status.code]).toEqual([3, 2]);
    expect(() =>
      decodeJson({
        resourceSpans: [{ scopeSpans: [{ spans: [{ attributes: [{ key: 'x', value: { doubleValue: '1.2.3' } }] }] }] }],
      }),
    ).toThrow(/doubleValue is not a number/);
  });

  it('throws on bytes that are not an export request, and on JSON of the wrong shape', () => {
    expect(() => decodeProtobuf(Buffer.from('this is not protobuf at all, not even close'))).toThrow(/not an OTLP/);
    expect(() => decodeJson({ resourceSpans: {} })).toThrow(/resourceSpans is not an array/);
    expect(() => decodeJson({ resourceSpans: [{ scopeSpans: [{ spans: [{ startTimeUnixNano: 'soon' }] }] }] })).toThrow(
      /startTimeUnixNano/,
    );
    expect(decodeJson({})).toEqual([]);
  });
});

function span(attributes: Record<string, unknown>, over: Partial<OtlpSpan> = {}): OtlpSpan {
  return {
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
    parentSpanId: '00f067aa0ba902b7',
    name: 'x',
    kind: 3,
    startNs: 1_700_000_000_000_000_000n,
    endNs: 1_700_000_001_250_000_000n,
    attributes: attributes as OtlpSpan['attributes'],
    events: [],
    status: { code: 0, message: '' },
    resource: {},
    scope: { name: '', version: '' },
    ...over,
  };
}

describe('LLM spans to calls', () => {
  it('GenAI semconv (current names): tokens, model, provider, latency, attribution, content left out', () => {
    const [s] = viaProtobuf(sdkSpans([{ name: 'chat gpt-4o-mini', attributes: genAi }])).filter(isLlmSpan);
    const c = spanToCall(s as OtlpSpan);
    expect(c).toMatchObject({
      requestId: requestIdOf(s as OtlpSpan),
      traceId: s?.traceId,
      provider: 'openai',
      model: 'gpt-4o-mini',
      endpoint: 'chat.completions',
      status: 'ok',
      httpStatus: 200,
      inputTokens: 120,
      outputTokens: 30,
      cachedInputTokens: 64,
      finishReason: 'stop',
      user: 'alice',
      session: 'conv-9',
      team: 'growth',
      feature: 'support-bot',
      source: 'ingest',
      costUsd: null,
    });
    expect(c.latencyMs).toBeCloseTo(c.endedAt - c.startedAt, 6);
    expect(c.spans[0]?.attributes['gen_ai.input.messages']).toBeUndefined();
    expect(c.spans[0]?.attributes['gen_ai.usage.input_tokens']).toBe(120);
  });

  it('older GenAI names and OpenLLMetry (gen_ai.system, prompt/completion tokens, llm.usage.*)', () => {
    const s = span({
      'gen_ai.system': 'OpenAI',
      'llm.request.type': 'chat',
      'gen_ai.request.model': 'gpt-4o',
      'gen_ai.usage.prompt_tokens': 11,
      'gen_ai.usage.completion_tokens': 7,
      'llm.usage.total_tokens': 18,
      'gen_ai.prompt.0.content': 'hello',
    });
    expect(isLlmSpan(s)).toBe(true);
    const c = spanToCall(s);
    expect(c).toMatchObject({ provider: 'openai', model: 'gpt-4o', inputTokens: 11, outputTokens: 7 });
    expect(c.latencyMs).toBeCloseTo(1250, 6);
    expect(c.spans[0]?.attributes['gen_ai.prompt.0.content']).toBeUndefined();
  });

  it('OpenInference: LLM and EMBEDDING kinds are calls, CHAIN/TOOL/AGENT are not', () => {
    const llm = span({
      'openinference.span.kind': 'LLM',
      'llm.model_name': 'gpt-4o-mini-2024-07-18',
      'llm.provider': 'openai',
      'llm.token_count.prompt': 40,
      'llm.token_count.completion': 9,
      'llm.token_count.prompt_details.cache_read': 32,
      'llm.invocation_parameters': '{"model":"gpt-4o-mini","stream":true}',
      'session.id': 's-1',
    });
    expect(isLlmSpan(llm)).toBe(true);
    expect(spanToCall(llm)).toMatchObject({
      model: 'gpt-4o-mini-2024-07-18',
      provider: 'openai',
      stream: true,
      inputTokens: 40,
      outputTokens: 9,
      cachedInputTokens: 32,
      session: 's-1',
    });
    // OpenInference's llm.finish_reason; the request/response model names of its newer conventions
    const newer = span({
      'openinference.span.kind': 'LLM',
      'llm.request.model_name': 'gpt-4o',
      'llm.response.model_name': 'gpt-4o-2024-08-06',
      'llm.finish_reason': 'content_filter',
      'llm.token_count.prompt': 4,
      'llm.token_count.completion': 1,
    });
    expect(spanToCall(newer)).toMatchObject({ model: 'gpt-4o', finishReason: 'content_filter', refusal: true });
    // the Responses API, as OpenInference and @opentelemetry/instrumentation-openai record a responses.create
    const oiResponses = span({
      'openinference.span.kind': 'LLM',
      'llm.model_name': 'gpt-4o-mini',
      'llm.system': 'openai',
      'output.value': '{"id":"resp_abc","object":"response","status":"completed"}',
    });
    expect(spanToCall(oiResponses).endpoint).toBe('responses');
    const otelResponses = span({
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.provider.name': 'openai',
      'gen_ai.response.id': 'resp_abc',
    });
    expect(spanToCall(otelResponses).endpoint).toBe('responses');
    expect(
      spanToCall({ ...otelResponses, attributes: { ...otelResponses.attributes, 'gen_ai.response.id': 'chatcmpl-1' } })
        .endpoint,
    ).toBe('chat.completions');
    const responseOnly = span({ 'openinference.span.kind': 'LLM', 'llm.response.model_name': 'gpt-4o-mini' });
    expect(spanToCall(responseOnly).model).toBe('gpt-4o-mini');
    for (const k of ['CHAIN', 'TOOL', 'AGENT', 'RETRIEVER'])
      expect(isLlmSpan(span({ 'openinference.span.kind': k, 'llm.model_name': 'gpt-4o' }))).toBe(false);
    expect(spanToCall(span({ 'openinference.span.kind': 'EMBEDDING', 'llm.model_name': 'e' })).endpoint).toBe(
      'embeddings',
    );
  });

  it('Vercel AI SDK: doStream is the call (TTFT from msToFirstChunk), the outer generateText is not', () => {
    const outer = span({ 'ai.operationId': 'ai.streamText', 'ai.model.id': 'gpt-4o-mini', 'ai.usage.inputTokens': 5 });
    const inner = span({
      'ai.operationId': 'ai.streamText.doStream',
      'ai.model.id': 'gpt-4o-mini',
      'ai.model.provider': 'openai.chat',
      'ai.usage.inputTokens': 5,
      'ai.usage.outputTokens': 21,
      'ai.response.msToFirstChunk': 180.5,
      'ai.response.finishReason': 'stop',
      'ai.telemetry.metadata.llmscope.user': 'bob',
      'ai.telemetry.metadata.llmscope.feature': 'search',
      'ai.prompt.messages': '[...]',
      'ai.response.text': 'the answer',
    });
    expect(isLlmSpan(outer)).toBe(false);
    expect(isLlmSpan(inner)).toBe(true);
    const c = spanToCall(inner);
    expect(c).toMatchObject({
      provider: 'openai',
      model: 'gpt-4o-mini',
      stream: true,
      inputTokens: 5,
      outputTokens: 21,
      ttftMs: 180.5,
      finishReason: 'stop',
      user: 'bob',
      feature: 'search',
    });
    expect(c.tpotMs).toBeCloseTo((1250 - 180.5) / 20, 6);
    expect(c.spans[0]?.attributes['ai.response.text']).toBeUndefined();
    expect(c.spans[0]?.attributes['ai.prompt.messages']).toBeUndefined();
  });

  it('a filtered or blocked answer is a refusal in every convention: the AI SDK content-filter, Gemini SPII and RECITATION', () => {
    const call = (finish: string, key = 'gen_ai.response.finish_reasons') =>
      spanToCall(
        span({
          'gen_ai.operation.name': 'chat',
          'gen_ai.request.model': 'gemini-2.5-flash',
          [key]: key === 'gen_ai.response.finish_reasons' ? [finish] : finish,
        }),
      );
    for (const f of ['content_filter', 'content-filter', 'refusal', 'SAFETY', 'SPII', 'RECITATION', 'IMAGE_SAFETY'])
      expect(call(f).refusal, f).toBe(true);
    expect(call('content-filter', 'ai.response.finishReason')).toMatchObject({
      finishReason: 'content-filter',
      refusal: true,
    });
    for (const f of ['stop', 'tool-calls', 'length', 'STOP', 'MAX_TOKENS']) expect(call(f).refusal, f).toBe(false);
  });

  it("Google's providers as the GenAI conventions name them are generate_content calls, whatever the operation", () => {
    for (const provider of ['gcp.gemini', 'gcp.vertex_ai', 'gcp.gen_ai', 'gemini'])
      expect(
        spanToCall(
          span({
            'gen_ai.operation.name': 'chat',
            'gen_ai.provider.name': provider,
            'gen_ai.request.model': 'gemini-2.5-flash',
          }),
        ),
        provider,
      ).toMatchObject({ endpoint: 'generate_content', provider });
    expect(
      spanToCall(
        span({
          'gen_ai.operation.name': 'chat',
          'gen_ai.provider.name': 'azure.ai.openai',
          'gen_ai.request.model': 'gpt-4o',
        }),
      ).endpoint,
    ).toBe('chat.completions');
  });

  it('a stream that failed after it began (finish reason error, span status unset or OK) is a failed call', () => {
    const failed = spanToCall(
      span({
        'ai.operationId': 'ai.streamText.doStream',
        'ai.model.id': 'gpt-4o-mini',
        'ai.model.provider': 'openai.responses',
        'ai.response.finishReason': 'error',
        'gen_ai.response.finish_reasons': ['error'],
        'ai.usage.inputTokens': 8,
        'ai.usage.outputTokens': 32,
      }),
    );
    expect(failed).toMatchObject({
      status: 'upstream_error',
      httpStatus: 200,
      errorType: 'error',
      finishReason: 'error',
      inputTokens: 8,
      outputTokens: 32,
    });
    const ok = span({
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'm',
      'gen_ai.response.finish_reasons': ['stop'],
    });
    expect(spanToCall(ok)).toMatchObject({ status: 'ok', errorType: null });
  });

  it('a total with only one of the two counts gives the other (OpenLLMetry llm.usage.total_tokens)', () => {
    const base = { 'gen_ai.system': 'openai', 'llm.request.type': 'chat', 'gen_ai.request.model': 'gpt-4o' };
    const withPrompt = spanToCall(span({ ...base, 'gen_ai.usage.prompt_tokens': 10, 'llm.usage.total_tokens': 15 }));
    expect(withPrompt).toMatchObject({ inputTokens: 10, outputTokens: 5, tokenSource: 'usage' });
    const withOutput = spanToCall(
      span({ ...base, 'gen_ai.usage.completion_tokens': 5, 'gen_ai.usage.total_tokens': 15 }),
    );
    expect(withOutput).toMatchObject({ inputTokens: 10, outputTokens: 5 });
    // both given: the total is not read; a total below the count is no total
    expect(
      spanToCall(
        span({
          ...base,
          'gen_ai.usage.prompt_tokens': 10,
          'gen_ai.usage.completion_tokens': 2,
          'llm.usage.total_tokens': 99,
        }),
      ),
    ).toMatchObject({ inputTokens: 10, outputTokens: 2 });
    expect(spanToCall(span({ ...base, 'gen_ai.usage.prompt_tokens': 10, 'llm.usage.total_tokens': 4 }))).toMatchObject({
      inputTokens: 10,
      outputTokens: null,
    });
    expect(usageProblem(span({ ...base, 'llm.usage.total_tokens': '99999999999999999999' }))).toMatch(/total_tokens/);
  });

  it('Vercel AI SDK 6: cache reads, cache writes and reasoning from ai.usage.*TokenDetails', () => {
    // What ai 6 sets on an Anthropic doGenerate span (inputTokens is the whole prompt, cache included)
    const c = spanToCall(
      span({
        'ai.operationId': 'ai.generateText.doGenerate',
        'ai.model.id': 'claude-sonnet-4-5',
        'ai.model.provider': 'anthropic.messages',
        'ai.usage.inputTokens': 1000,
        'ai.usage.inputTokenDetails.noCacheTokens': 100,
        'ai.usage.inputTokenDetails.cacheReadTokens': 600,
        'ai.usage.inputTokenDetails.cacheWriteTokens': 300,
        'ai.usage.outputTokens': 50,
        'ai.usage.outputTokenDetails.textTokens': 30,
        'ai.usage.outputTokenDetails.reasoningTokens': 20,
        'ai.usage.totalTokens': 1050,
      }),
    );
    expect(c).toMatchObject({
      provider: 'anthropic',
      endpoint: 'messages',
      inputTokens: 1000,
      cachedInputTokens: 600,
      cacheWriteInputTokens: 300,
      outputTokens: 50,
      reasoningTokens: 20,
    });
  });

  it("Vercel AI SDK: the provider's API names the endpoint (openai('m') is the Responses API in @ai-sdk/openai 2)", () => {
    const call = (provider: string) =>
      spanToCall(
        span({
          'ai.operationId': 'ai.generateText.doGenerate',
          'ai.model.id': 'gpt-4o-mini',
          'ai.model.provider': provider,
          'ai.usage.inputTokens': 5,
          'ai.usage.outputTokens': 7,
        }),
      );
    expect(call('openai.responses')).toMatchObject({ provider: 'openai', endpoint: 'responses' });
    expect(call('azure.responses')).toMatchObject({ provider: 'azure', endpoint: 'responses' });
    expect(call('openai.chat')).toMatchObject({ provider: 'openai', endpoint: 'chat.completions' });
    expect(call('openai.completion')).toMatchObject({ endpoint: 'completions' });
    expect(call('anthropic.messages')).toMatchObject({ provider: 'anthropic', endpoint: 'messages' });
    expect(call('google.generative-ai')).toMatchObject({ provider: 'google', endpoint: 'generate_content' });
  });

  it('status: an error span with error.type, a rate limit, an HTTP status; tool and agent spans are not calls', () => {
    const err = spanToCall(
      span({ ...genAi, 'error.type': 'RateLimitError' }, { status: { code: 2, message: '429 Rate limit reached' } }),
    );
    expect(err).toMatchObject({
      status: 'rate_limited',
      httpStatus: 429,
      errorType: 'RateLimitError',
      errorMessage: '429 Rate limit reached',
    });
    // The SDKs' error classes, as instrumentations set error.type (or only the exception event's exception.type)
    const byClass = (type: string, on: 'attribute' | 'event' = 'attribute') =>
      spanToCall(
        on === 'attribute'
          ? span({ ...genAi, 'error.type': type }, { status: { code: 2, message: 'failed' } })
          : span(genAi, {
              status: { code: 2, message: 'failed' },
              events: [{ name: 'exception', timeNs: 1n, attributes: { 'exception.type': type } }],
            }),
      );
    for (const [type, status, http] of [
      ['BadRequestError', 'client_error', 400],
      ['openai.BadRequestError', 'client_error', 400],
      ['AuthenticationError', 'client_error', 401],
      ['anthropic.PermissionDeniedError', 'client_error', 403],
      ['NotFoundError', 'client_error', 404],
      ['UnprocessableEntityError', 'client_error', 422],
      ['openai.RateLimitError', 'rate_limited', 429],
      ['APITimeoutError', 'timeout', 504],
      ['InternalServerError', 'upstream_error', 500],
      ['OverloadedError', 'upstream_error', 529],
      ['APIConnectionError', 'upstream_error', 500],
    ] as const) {
      expect(byClass(type), type).toMatchObject({ status, httpStatus: http, errorType: type });
      expect(byClass(type, 'event'), type).toMatchObject({ status, httpStatus: http, errorType: type });
    }
    const bad = spanToCall(span({ ...genAi, 'http.response.status_code': 400 }, { status: { code: 2, message: '' } }));
    expect(bad).toMatchObject({ status: 'client_error', httpStatus: 400, errorType: 'error' });
    expect(isLlmSpan(span({ 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'search' }))).toBe(false);
    expect(isLlmSpan(span({ 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.request.model': 'gpt-4o' }))).toBe(false);
    // llmscope's own gateway span, exported back: the gateway already recorded that call
    expect(isLlmSpan(span({ ...genAi, 'llmscope.request_id': 'r1' }))).toBe(false);
  });
});

describe('prompt and answer text from content attributes (never stored with the span)', () => {
  it('reads messages carried by span events (Azure AI Inference, Semantic Kernel, Strands, older GenAI) and never stores them', () => {
    const ev = (name: string, attributes: Record<string, unknown>) => ({
      name,
      timeNs: 1_700_000_000_500_000_000n,
      attributes: attributes as OtlpSpan['attributes'],
    });
    const cases: [OtlpSpan['events'], string, string][] = [
      [
        [
          ev('gen_ai.system.message', {
            'gen_ai.system': 'az.ai.inference',
            'gen_ai.event.content': '{"role":"system","content":"Be brief."}',
          }),
          ev('gen_ai.user.message', {
            'gen_ai.system': 'az.ai.inference',
            'gen_ai.event.content': '{"role":"user","content":"Mail alice@example.com"}',
          }),
          ev('gen_ai.choice', {
            'gen_ai.event.content': '{"message":{"content":"Sent."},"finish_reason":"stop","index":0}',
          }),
        ],
        'Be brief.\nMail alice@example.com',
        'Sent.',
      ],
      [
        [
          ev('gen_ai.user.message', { content: '[{"text":"Mail alice@example.com"}]' }),
          ev('gen_ai.choice', { message: '[{"text":"Sent."}]', finish_reason: 'end_turn' }),
        ],
        'Mail alice@example.com',
        'Sent.',
      ],
      [
        [
          ev('gen_ai.content.prompt', { 'gen_ai.prompt': '[{"role":"user","content":"Mail alice@example.com"}]' }),
          ev('gen_ai.content.completion', { 'gen_ai.completion': '[{"role":"assistant","content":"Sent."}]' }),
        ],
        'Mail alice@example.com',
        'Sent.',
      ],
      [
        [
          ev('gen_ai.client.inference.operation.details', {
            'gen_ai.input.messages': '[{"role":"user","parts":[{"type":"text","content":"Mail alice@example.com"}]}]',
            'gen_ai.output.messages': '[{"role":"assistant","parts":[{"type":"text","content":"Sent."}]}]',
          }),
        ],
        'Mail alice@example.com',
        'Sent.',
      ],
    ];
    const { 'gen_ai.input.messages': _, ...usageOnly } = genAi;
    for (const [events, prompt, output] of cases) {
      const s = span(usageOnly, { events });
      expect(textsOfSpan(s)).toEqual({ prompt, output });
      const stored = JSON.stringify(toSpanRecord(s));
      expect(stored).not.toContain('alice@example.com');
      expect(stored).not.toContain('Sent.');
      expect(spanToCall(s).internal?.promptText).toBe(prompt);
    }
    // Pydantic AI (instrumentation version 1) and other frameworks' content attributes: read, never stored
    const pydantic = span({
      ...usageOnly,
      events: JSON.stringify([
        { content: 'Be brief.', role: 'system', 'gen_ai.system': 'openai', 'event.name': 'gen_ai.system.message' },
        { content: 'Mail alice@example.com', role: 'user', 'event.name': 'gen_ai.user.message' },
        { index: 0, message: { role: 'assistant', content: 'Sent.' }, 'event.name': 'gen_ai.choice' },
      ]),
      final_result: 'Sent.',
      'langfuse.observation.input': '{"q":"alice@example.com"}',
      'langfuse.observation.output': 'Sent.',
      'mlflow.spanInputs': '{"q":"alice@example.com"}',
      'mlflow.spanOutputs': '"Sent."',
    });
    // a rerank step's documents (AI SDK 6's ai.rerank, OpenInference's RERANKER spans)
    const rerank = toSpanRecord(
      span({
        'ai.operationId': 'ai.rerank.doRerank',
        'ai.documents': ['alice@example.com wrote Sent.'],
        'ai.ranking': '[{"originalIndex":0,"score":0.9,"document":"alice@example.com"}]',
        'openinference.span.kind': 'RERANKER',
        'reranker.query': 'alice@example.com',
        'reranker.input_documents.0.document.content': 'Sent.',
        'reranker.output_documents.0.document.content': 'Sent.',
        'reranker.top_k': 1,
      }),
    );
    expect(JSON.stringify(rerank)).not.toMatch(/alice@example\.com|Sent\./);
    expect(rerank.attributes['reranker.top_k']).toBe(1);
    expect(textsOfSpan(pydantic)).toEqual({ prompt: 'Be brief.\nMail alice@example.com', output: 'Sent.' });
    const kept = JSON.stringify(toSpanRecord(pydantic));
    expect(kept).not.toContain('alice@example.com');
    expect(kept).not.toContain('Sent.');
    // What a content event keeps: its name, time and the attributes that are no message
    const [system, , choice] = toSpanRecord(span(usageOnly, { events: cases[0]?.[0] })).events;
    expect(system).toMatchObject({ name: 'gen_ai.system.message', attributes: { 'gen_ai.system': 'az.ai.inference' } });
    expect(choice).toEqual({ name: 'gen_ai.choice', time: 1_700_000_000_500 });
    expect(toSpanRecord(span(usageOnly, { events: cases[1]?.[0] })).events[1]).toMatchObject({
      attributes: { finish_reason: 'end_turn' },
    });
  });

  it('reads GenAI messages, OpenLLMetry and OpenInference indexed attributes, and the AI SDK', () => {
    expect(
      textsOfSpan(
        span({
          'gen_ai.system_instructions': '[{"type":"text","content":"Be brief."}]',
          'gen_ai.input.messages': '[{"role":"user","parts":[{"type":"text","content":"Capital of France?"}]}]',
          'gen_ai.output.messages': '[{"role":"assistant","parts":[{"type":"text","content":"Paris."}]}]',
        }),
      ),
    ).toEqual({ prompt: 'Be brief.\nCapital of France?', output: 'Paris.' });
    expect(
      textsOfSpan(
        span({
          'gen_ai.prompt.1.content': 'second',
          'gen_ai.prompt.0.content': 'first',
          'gen_ai.prompt.0.role': 'user',
          'gen_ai.completion.0.content': 'answer',
        }),
      ),
    ).toEqual({ prompt: 'first\nsecond', output: 'answer' });
    expect(
      textsOfSpan(
        span({
          'llm.input_messages.0.message.role': 'user',
          'llm.input_messages.0.message.content': 'hi there',
          'llm.output_messages.0.message.contents.0.message_content.text': 'hello',
          'input.value': '{"messages":[{"content":"ignored, the messages came first"}]}',
        }),
      ),
    ).toEqual({ prompt: 'hi there', output: 'hello' });
    expect(
      textsOfSpan(
        span({
          'ai.prompt.messages': '[{"role":"user","content":[{"type":"text","text":"Write a haiku"}]}]',
          'ai.response.text': 'Rain on the roof',
        }),
      ),
    ).toEqual({ prompt: 'Write a haiku', output: 'Rain on the roof' });
    expect(textsOfSpan(span(genAi))).toEqual({ prompt: 'secret prompt', output: null });
    expect(textsOfSpan(span({ 'gen_ai.request.model': 'x' }))).toEqual({ prompt: null, output: null });
  });

  it('a chat call with text but no usage is estimated from its messages; its span keeps no text', () => {
    const c = spanToCall(
      span({
        'gen_ai.operation.name': 'chat',
        'gen_ai.request.model': 'gpt-4o-mini',
        'gen_ai.input.messages': '[{"role":"user","content":"Name three rivers."}]',
        'gen_ai.output.messages': '[{"role":"assistant","content":"Rhine, Danube, Seine."}]',
      }),
    );
    // a chat prompt is counted whole, with the framing OpenAI bills: 3 + (3 + "user" 1 + 4 text) = 11
    expect(c).toMatchObject({ tokenSource: 'estimate', inputTokens: 11, outputTokens: 8 });
    expect(c.internal?.promptText).toBe('Name three rivers.');
    expect(c.internal?.outputText).toBe('Rhine, Danube, Seine.');
    expect(JSON.stringify(c.spans)).not.toMatch(/rivers|Rhine/);
    // text that is not a chat (a completion's prompt) is left to the tokenizer enricher
    const plain = spanToCall(
      span({
        'gen_ai.operation.name': 'text_completion',
        'gen_ai.prompt.0.content': 'Say hi',
        'gen_ai.request.model': 'x',
      }),
    );
    expect(plain).toMatchObject({ tokenSource: null, inputTokens: null });
  });

  it('an OpenInference streamed span without token counts: input counted from the whole chat prompt (9, as billed)', () => {
    const oi = {
      'openinference.span.kind': 'LLM',
      'llm.provider': 'openai',
      'llm.model_name': 'gpt-4o-mini',
      'llm.invocation_parameters': '{"model":"gpt-4o-mini","stream":true}',
      'output.value': 'Hi!',
    };
    // the provider reported 9 prompt tokens for one user message "Say hi" (2 tokens of text)
    for (const prompt of [
      { 'llm.input_messages.0.message.role': 'user', 'llm.input_messages.0.message.content': 'Say hi' },
      {
        'llm.input_messages.0.message.role': 'user',
        'llm.input_messages.0.message.contents.0.message_content.type': 'text',
        'llm.input_messages.0.message.contents.0.message_content.text': 'Say hi',
      },
      { 'input.value': '{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"Say hi"}]}' },
    ]) {
      const c = spanToCall(span({ ...oi, ...prompt }));
      expect(c).toMatchObject({ stream: true, tokenSource: 'estimate', inputTokens: 9, outputTokens: 2 });
      expect(c.internal?.promptText).toBe('Say hi');
    }
    // a system message and a user message: 3 + (3 + 1 + 5) + (3 + 1 + 2)
    const two = spanToCall(
      span({
        ...oi,
        'llm.input_messages.0.message.role': 'system',
        'llm.input_messages.0.message.content': 'You are terse today.',
        'llm.input_messages.1.message.role': 'user',
        'llm.input_messages.1.message.content': 'Say hi',
      }),
    );
    expect(two).toMatchObject({ tokenSource: 'estimate', inputTokens: 18 });
    // reported counts win
    expect(spanToCall(span({ ...oi, 'llm.token_count.prompt': 9, 'llm.token_count.completion': 2 }))).toMatchObject({
      tokenSource: 'usage',
      inputTokens: 9,
    });
  });
});

describe('metadata from llmscope.meta.* attributes', () => {
  it('resource, span and AI SDK metadata merge into the call; a bad key or a long value rejects the span', async () => {
    const s = span(
      {
        ...genAi,
        'llmscope.meta.tenant': 'acme',
        'ai.telemetry.metadata.llmscope.meta.arm': 'b',
        'llmscope.meta.n': 3,
      },
      { resource: { 'llmscope.meta.tenant': 'ignored', 'llmscope.meta.region': 'eu' } },
    );
    expect(spanToCall(s).metadata).toEqual({ tenant: 'acme', arm: 'b', n: '3', region: 'eu' });
    expect(spanToCall(span(genAi)).metadata).toBeNull();
    const { r, recorded } = recordingReceiver();
    const out = await r.accept([
      span({ ...genAi, 'llmscope.meta.Tenant': 'x' }),
      span({ ...genAi, 'llmscope.meta.note': 'x'.repeat(257) }, { spanId: '2222222222222222' }),
      span({ ...genAi, 'llmscope.meta.ok': 'yes' }, { spanId: '3333333333333333' }),
    ]);
    expect(out.counts).toMatchObject({ call: 1, rejected: 2 });
    expect(out.rejectedMessage).toMatch(/llmscope\.meta\.Tenant/);
    expect(recorded[0]?.metadata).toEqual({ ok: 'yes' });
  });
});

describe('OtlpReceiver.accept', () => {
  const setup = (known: string[] = []) => {
    return recordingReceiver({ store: { knownIds: async (ids) => new Set(ids.filter((i) => known.includes(i))) } });
  };

  it('records each call once, keeps the trace’s other spans with its first call, counts every span', async () => {
    const { r, recorded, registry } = setup();
    const spans = viaJson(
      sdkSpans([
        { name: 'chat gpt-4o-mini', attributes: genAi },
        { name: 'tool', attributes: {} },
      ]),
    );
    const out = await r.accept(spans);
    expect(out.counts).toMatchObject({ call: 1, trace: 2, rejected: 0 });
    expect(recorded).toHaveLength(1);
    expect(recorded[0]?.spans.map((s) => s.name).sort()).toEqual(['agent.run', 'chat gpt-4o-mini', 'tool']);
    const again = await r.accept(spans);
    expect(again.counts).toMatchObject({ call: 0, duplicate: 1 });
    expect(recorded).toHaveLength(1);
    const text = await registry.metrics();
    expect(text).toMatch(/llmscope_otlp_spans_total\{result="call"\} 1/);
    expect(text).toMatch(/llmscope_otlp_spans_total\{result="duplicate"\} 1/);
  });

  it('one model call seen by two instrumentations (a LangChain LLM span around the OpenAI SDK one) counts once', async () => {
    const oi = (id: string, parent: string, extra: Record<string, unknown>) =>
      span(
        {
          'openinference.span.kind': 'LLM',
          'llm.model_name': 'gpt-4o-mini',
          'llm.provider': 'openai',
          'llm.token_count.prompt': 20,
          'llm.token_count.completion': 5,
          ...extra,
        },
        { spanId: id, parentSpanId: parent },
      );
    const chain = '1111111111111111';
    const wrapper = oi('2222222222222222', chain, { 'openinference.instrumentation.name': 'langchain' });
    const inner = oi('3333333333333333', '2222222222222222', {});
    // in one export (in either order)
    const one = setup();
    const out = await one.r.accept([wrapper, inner]);
    expect(out.counts).toMatchObject({ call: 1, trace: 1 });
    expect(one.recorded.map((c) => c.requestId)).toEqual([requestIdOf(inner)]);
    expect(one.recorded[0]?.spans.map((x) => x.spanId).sort()).toEqual(['2222222222222222', '3333333333333333']);
    // the wrapper in a later export than the call it wraps (it ends after it)
    const two = setup();
    expect((await two.r.accept([inner])).counts).toMatchObject({ call: 1 });
    expect((await two.r.accept([wrapper])).counts).toMatchObject({ call: 0 });
    expect(two.recorded).toHaveLength(1);
    // the wrapper in an earlier export (another exporter flushed first): it stays the call, the inner span is not one
    const four = setup();
    expect((await four.r.accept([wrapper])).counts).toMatchObject({ call: 1 });
    expect((await four.r.accept([inner])).counts).toMatchObject({ call: 0 });
    expect(four.recorded.map((c) => c.requestId)).toEqual([requestIdOf(wrapper)]);
    // two separate calls under one chain span are both calls
    const three = setup();
    const out3 = await three.r.accept([inner, oi('4444444444444444', '2222222222222222', {})]);
    expect(out3.counts).toMatchObject({ call: 2 });
  });

  it("a failed AI SDK span without a status takes its HTTP client child's, from the same or an earlier export", async () => {
    // as ai 6 records a provider's error on doGenerate: status ERROR, an AI_APICallError exception event, no status
    const doGenerate = (spanId: string) =>
      span(
        {
          'ai.operationId': 'ai.generateText.doGenerate',
          'ai.model.provider': 'openai.chat',
          'ai.model.id': 'gpt-4o-mini',
        },
        {
          spanId,
          status: { code: 2, message: 'Rate limit reached for gpt-4o-mini' },
          events: [
            {
              name: 'exception',
              timeNs: 1_700_000_001_000_000_000n,
              attributes: { 'exception.type': 'AI_APICallError', 'exception.message': 'Rate limit reached' },
            },
          ],
        },
      );
    const fetchSpan = (parent: string, status: number, id: string) =>
      span(
        { 'http.request.method': 'POST', 'http.response.status_code': status },
        { spanId: id, parentSpanId: parent, name: 'POST' },
      );
    const { r, recorded } = setup();
    // its fetch span in an earlier export; another's in the same export; a third with none
    await r.accept([fetchSpan('aaaaaaaaaaaaaaaa', 429, '1000000000000001')]);
    await r.accept([
      doGenerate('aaaaaaaaaaaaaaaa'),
      fetchSpan('bbbbbbbbbbbbbbbb', 400, '1000000000000002'),
      doGenerate('bbbbbbbbbbbbbbbb'),
      doGenerate('cccccccccccccccc'),
      fetchSpan('dddddddddddddddd', 200, '1000000000000003'),
    ]);
    expect(recorded.map((c) => [c.status, c.httpStatus, c.errorType])).toEqual([
      ['rate_limited', 429, 'AI_APICallError'],
      ['client_error', 400, 'AI_APICallError'],
      ['upstream_error', 500, 'AI_APICallError'],
    ]);
  });

  it('spans of a trace with no call: only AI spans wait for one (pending), plain HTTP spans are unrecognised', async () => {
    const { SqliteTraceSpanStore } = await import('./storage/index.js');
    const { default: Database } = await import('better-sqlite3');
    const { SQLITE_MIGRATIONS } = await import('./storage/sqlite.js');
    const db = new Database(':memory:');
    for (const m of SQLITE_MIGRATIONS) db.exec(m.up as string);
    const { r, recorded } = recordingReceiver({ traceSpans: new SqliteTraceSpanStore(db) });
    const out = await r.accept([
      span({ 'http.request.method': 'GET', 'url.path': '/health' }, { spanId: '4444444444444444' }),
      span({ 'openinference.span.kind': 'RETRIEVER' }, { spanId: '5555555555555555' }),
    ]);
    expect(out.counts).toMatchObject({ pending: 1, unrecognised: 1 });
    // the trace's first call (an export of calls only) takes the pending span
    await r.accept([span(genAi, { spanId: '6666666666666666' })]);
    expect(recorded[0]?.spans.map((x) => x.spanId)).toEqual(['6666666666666666', '5555555555555555']);
    // once the trace has its call, every later span of it is kept beside the call
    const late = await r.accept([span({ 'http.request.method': 'GET' }, { spanId: '7777777777777777' })]);
    expect(late.counts).toMatchObject({ trace: 1, unrecognised: 0 });
    db.close();
  });

  it('an export re-sent while the first is still being taken counts once (stores that answer later, as PostgreSQL does)', async () => {
    const { SqliteTraceSpanStore } = await import('./storage/index.js');
    const { default: Database } = await import('better-sqlite3');
    const { SQLITE_MIGRATIONS } = await import('./storage/sqlite.js');
    const db = new Database(':memory:');
    for (const m of SQLITE_MIGRATIONS) db.exec(m.up as string);
    const sqlite = new SqliteTraceSpanStore(db);
    // every look-up answers after a round trip, so two exports taken at once interleave
    const later = <T>(v: Promise<T>): Promise<T> => new Promise((ok) => setTimeout(() => ok(v), 10));
    const recorded: LlmCall[] = [];
    const registry = new Registry();
    const r = new OtlpReceiver({
      recorder: { record: (c) => void recorded.push(c) },
      store: { knownIds: () => later(Promise.resolve(new Set<string>())) },
      registry,
      bodyLimit: 1 << 20,
      traceSpans: {
        ...sqlite,
        anchors: (t) => later(sqlite.anchors(t)),
        claim: (a, now) => later(sqlite.claim(a, now)),
        add: (...a) => later(sqlite.add(...a)),
        prune: (...a) => sqlite.prune(...a),
      } as typeof sqlite,
    });
    const llm = span(genAi, { spanId: '8888888888888888' });
    const tool = span({ 'tool.name': 'search' }, { spanId: '9999999999999999', name: 'tool' });
    const [a, b] = await Promise.all([r.accept([llm, tool]), r.accept([llm, tool])]);
    expect(recorded).toHaveLength(1);
    expect(a.counts.call + b.counts.call).toBe(1);
    expect(a.counts.duplicate + b.counts.duplicate).toBeGreaterThanOrEqual(1);
    expect(await registry.metrics()).toMatch(/llmscope_otlp_spans_total\{result="call"\} 1\n/);
    db.close();
  });

  it('remembers the last recentIds call ids: a re-sent call the store has not yet is a duplicate until it is the oldest', async () => {
    const { r, recorded } = recordingReceiver({ recentIds: 3 });
    const call = (n: number) => span(genAi, { spanId: `${n}`.padStart(16, 'a') });
    for (const n of [1, 2, 3]) await r.accept([call(n)]);
    expect((await r.accept([call(1)])).counts).toMatchObject({ call: 0, duplicate: 1 });
    await r.accept([call(4)]); // 1 is forgotten: the oldest of 1, 2, 3, 4
    expect((await r.accept([call(2), call(3), call(4)])).counts).toMatchObject({ call: 0, duplicate: 3 });
    expect((await r.accept([call(1)])).counts).toMatchObject({ call: 1, duplicate: 0 });
    expect(recorded.map((c) => c.spans[0]?.spanId)).toEqual([
      'aaaaaaaaaaaaaaa1',
      'aaaaaaaaaaaaaaa2',
      'aaaaaaaaaaaaaaa3',
      'aaaaaaaaaaaaaaa4',
      'aaaaaaaaaaaaaaa1',
    ]);
    // 1 came back as the newest: 2 is forgotten next
    await r.accept([call(5)]);
    expect((await r.accept([call(2), call(1)])).counts).toMatchObject({ call: 1, duplicate: 1 });
  });

  it('rejects a call span whose token count is past what a count can be, so no spend total is swamped', async () => {
    const { r, recorded } = setup();
    // an intValue as OTLP/JSON writes it, decoded as the receiver does
    const json = {
      resourceSpans: [
        {
          scopeSpans: [
            {
              spans: [
                {
                  traceId: '0af7651916cd43dd8448eb211c80319c',
                  spanId: 'abababababababab',
                  name: 'chat',
                  startTimeUnixNano: '1700000000000000000',
                  endTimeUnixNano: '1700000001000000000',
                  attributes: [
                    { key: 'gen_ai.operation.name', value: { stringValue: 'chat' } },
                    { key: 'gen_ai.system', value: { stringValue: 'openai' } },
                    { key: 'gen_ai.request.model', value: { stringValue: 'gpt-4o' } },
                    { key: 'gen_ai.usage.input_tokens', value: { intValue: '99999999999999999999' } },
                  ],
                },
              ],
            },
          ],
        },
      ],
    };
    const big = span({ ...genAi, 'gen_ai.usage.output_tokens': '9007199254740993' }, { spanId: 'cdcdcdcdcdcdcdcd' });
    const ok = span({ ...genAi, 'gen_ai.usage.input_tokens': Number.MAX_SAFE_INTEGER }, { spanId: 'efefefefefefefef' });
    const out = await r.accept([...decodeJson(json), big, ok]);
    expect(out.counts).toMatchObject({ call: 1, rejected: 2 });
    expect(out.rejectedMessage).toMatch(/gen_ai\.usage\.input_tokens is .*not a token count/);
    expect(out.rejectedMessage).toMatch(/gen_ai\.usage\.output_tokens is 9007199254740993/);
    expect(recorded.map((c) => c.inputTokens)).toEqual([Number.MAX_SAFE_INTEGER]);
  });

  it('skips calls the store already holds; rejects bad ids; bounds the spans kept per trace', async () => {
    const llm = span(genAi);
    const { r, recorded } = setup([requestIdOf(llm)]);
    expect((await r.accept([llm])).counts.duplicate).toBe(1);
    expect(recorded).toHaveLength(0);
    const fresh = span(genAi, { spanId: '1111111111111111' });
    const others = Array.from({ length: MAX_TRACE_SPANS + 5 }, (_, i) =>
      span({}, { spanId: (0x2000000000000000n + BigInt(i)).toString(16), name: `step ${i}` }),
    );
    const out = await r.accept([fresh, ...others, span(genAi, { traceId: '0'.repeat(32) })]);
    expect(out.counts).toMatchObject({ call: 1, trace: MAX_TRACE_SPANS, dropped: 5, rejected: 1 });
    expect(out.rejectedMessage).toMatch(/trace_id/);
    expect(recorded[0]?.spans).toHaveLength(MAX_TRACE_SPANS + 1);
  });
});

describe('OtlpReceiver backpressure', () => {
  it('holds an export until the store lane has room, and refuses it with 503 (nothing recorded) when it stays full', async () => {
    let open: () => void = () => {};
    const gate = new Promise<void>((resolve) => (open = resolve));
    const stored: string[] = [];
    const rec = new Recorder({ capacity: 4 });
    rec.addSink({
      name: 'store',
      lossless: true,
      write: async (calls) => {
        await gate;
        for (const c of calls) stored.push(c.requestId);
      },
    });
    const r = new OtlpReceiver({
      recorder: rec,
      store: { knownIds: async () => new Set() },
      registry: new Registry(),
      bodyLimit: 1 << 20,
      roomWaitMs: 50,
    });
    const spans = (from: number, n: number) =>
      Array.from({ length: n }, (_, i) => span(genAi, { spanId: (from + i + 1).toString(16).padStart(16, '0') }));
    expect((await r.accept(spans(0, 3))).counts.call).toBe(3); // being written: the store holds them
    await new Promise((resolve) => setImmediate(resolve));
    expect((await r.accept(spans(3, 4))).counts.call).toBe(4); // queued behind them: the lane (4) is full
    await expect(r.accept(spans(10, 2))).rejects.toMatchObject({ code: 'LLMSCOPE_ERR_OVERLOADED', status: 503 });
    const waiting = r.accept(spans(20, 2)); // waits for room instead of being dropped
    open();
    await rec.flush();
    expect((await waiting).counts.call).toBe(2);
    await rec.flush();
    expect(stored).toHaveLength(9);
    expect(stored.some((id) => id.endsWith('00000000000b'))).toBe(false); // the refused export left nothing
  });
});
