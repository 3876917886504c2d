// Logfire (logfire.instrument_openai) records a streamed call as two spans with the same GenAI attributes: the
// request's span, ended when the stream is handed to the app (no usage, no answer), and a zero-length log when the
// stream has been read (`streaming response from 'gpt-4o-mini' took 1.25s`, with `duration` and `response_data`, the
// answer and its usage). Both were recorded as calls: one streamed call counted twice, neither with its tokens. The
// log is the call (its latency the stream's duration, its tokens from response_data); the request's span stays with
// the trace. Spans as Logfire 4 sends them (attributes from its llm_providers/openai.py and llm_provider.py).
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { LlmCall } from '../calls/index.js';
import { decodeJson } from './json.js';
import { OtlpReceiver } from './receiver.js';

const str = (key: string, v: string) => ({ key, value: { stringValue: v } });
const dbl = (key: string, v: number) => ({ key, value: { doubleValue: v } });
const TRACE = '6b1a3f2c9d8e7f6a5b4c3d2e1f0a9b8c';
const T0 = 1_760_000_000_000; // ms

function logfireExport(responses = false) {
  const model = 'gpt-4o-mini';
  const common = [
    str('gen_ai.provider.name', 'openai'),
    str('gen_ai.operation.name', 'chat'),
    str('gen_ai.request.model', model),
    str('gen_ai.input.messages', JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: 'Say hello' }] }])),
    { key: 'async', value: { boolValue: false } },
  ];
  const requestData = responses
    ? { model, stream: true }
    : { messages: [{ role: 'user', content: 'Say hello' }], model, stream: true };
  const template = responses
    ? 'Responses API with {request_data[model]!r}'
    : 'Chat Completion with {request_data[model]!r}';
  const responseData = responses
    ? {
        id: 'resp_0123',
        object: 'response',
        status: 'completed',
        output: [{ type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Hello there!' }] }],
        usage: { input_tokens: 12, output_tokens: 4, input_tokens_details: { cached_tokens: 0 } },
      }
    : {
        message: { content: 'Hello there!', role: 'assistant', tool_calls: null },
        usage: {
          completion_tokens: 4,
          prompt_tokens: 12,
          total_tokens: 16,
          prompt_tokens_details: { cached_tokens: 0 },
        },
      };
  const ns = (ms: number) => `${ms}000000`;
  return {
    resourceSpans: [
      {
        resource: { attributes: [str('service.name', 'support-bot')] },
        scopeSpans: [
          {
            scope: { name: 'logfire.openai' },
            spans: [
              {
                traceId: TRACE,
                spanId: '1111111111111111',
                parentSpanId: 'aaaaaaaaaaaaaaaa',
                name: template,
                kind: 1,
                startTimeUnixNano: ns(T0),
                endTimeUnixNano: ns(T0 + 180), // the stream handed over after the headers
                attributes: [
                  ...common,
                  str('logfire.msg_template', template),
                  str('logfire.msg', `${responses ? 'Responses API' : 'Chat Completion'} with '${model}'`),
                  str('logfire.span_type', 'span'),
                  str('logfire.tags', '["LLM"]'),
                  str('request_data', JSON.stringify(requestData)),
                ],
              },
              {
                traceId: TRACE,
                spanId: '2222222222222222',
                parentSpanId: 'aaaaaaaaaaaaaaaa',
                name: 'streaming response from {request_data[model]!r} took {duration:.2f}s',
                kind: 1,
                startTimeUnixNano: ns(T0 + 1430),
                endTimeUnixNano: ns(T0 + 1430),
                attributes: [
                  ...common,
                  str('logfire.msg_template', 'streaming response from {request_data[model]!r} took {duration:.2f}s'),
                  str('logfire.msg', `streaming response from '${model}' took 1.25s`),
                  str('logfire.span_type', 'log'),
                  { key: 'logfire.level_num', value: { intValue: 9 } },
                  str('request_data', JSON.stringify(requestData)),
                  dbl('duration', 1.25),
                  str('response_data', JSON.stringify(responseData)),
                ],
              },
              {
                traceId: TRACE,
                spanId: 'aaaaaaaaaaaaaaaa',
                name: 'handle ticket',
                kind: 1,
                startTimeUnixNano: ns(T0 - 20),
                endTimeUnixNano: ns(T0 + 1500),
                attributes: [str('logfire.msg_template', 'handle ticket'), str('logfire.span_type', 'span')],
              },
            ],
          },
        ],
      },
    ],
  };
}

async function accept(body: unknown): Promise<{ calls: LlmCall[]; counts: Record<string, number> }> {
  const calls: LlmCall[] = [];
  const r = new OtlpReceiver({
    recorder: { record: (c: LlmCall) => void calls.push(c) },
    store: { knownIds: async () => new Set() },
    registry: new Registry(),
    bodyLimit: 16 << 20,
  });
  const { counts } = await r.accept(decodeJson(body));
  return { calls, counts };
}

describe('Logfire streamed calls', () => {
  it('chat: one call, from the log, with the stream duration, tokens and answer; the request span kept with the trace', async () => {
    const { calls, counts } = await accept(logfireExport());
    expect(counts.call).toBe(1);
    const [c] = calls as [LlmCall];
    expect(c).toMatchObject({
      traceId: TRACE,
      provider: 'openai',
      model: 'gpt-4o-mini',
      endpoint: 'chat.completions',
      stream: true,
      status: 'ok',
      inputTokens: 12,
      outputTokens: 4,
      cachedInputTokens: 0,
      tokenSource: 'usage',
      latencyMs: 1250,
      startedAt: T0 + 180,
      endedAt: T0 + 1430,
      feature: 'support-bot',
    });
    expect(c.internal?.outputText).toBe('Hello there!');
    // the request's span and the app's span are in the call's trace
    expect(c.spans.map((s) => s.spanId).sort()).toEqual(['1111111111111111', '2222222222222222', 'aaaaaaaaaaaaaaaa']);
  });

  it('Responses API: one call on the responses endpoint, its usage from the Response', async () => {
    const { calls, counts } = await accept(logfireExport(true));
    expect(counts.call).toBe(1);
    expect(calls[0]).toMatchObject({ endpoint: 'responses', stream: true, inputTokens: 12, outputTokens: 4 });
    expect(calls[0]?.internal?.outputText).toBe('Hello there!');
  });

  it('a call not streamed (request_data without stream) is still the request span, as before', async () => {
    const body = logfireExport();
    const spans = body.resourceSpans[0]?.scopeSpans[0]?.spans as { attributes: { key: string }[] }[];
    spans.splice(1, 1); // no log
    const req = spans[0] as { attributes: { key: string; value: unknown }[] };
    for (const a of req.attributes)
      if (a.key === 'request_data') a.value = { stringValue: JSON.stringify({ model: 'gpt-4o-mini', messages: [] }) };
    req.attributes.push({ key: 'gen_ai.usage.input_tokens', value: { intValue: 9 } });
    const { calls, counts } = await accept(body);
    expect(counts.call).toBe(1);
    expect(calls[0]).toMatchObject({ stream: false, inputTokens: 9, latencyMs: 180 });
  });
});
