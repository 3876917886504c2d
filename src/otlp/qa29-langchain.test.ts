// OpenInference's LangChain instrumentation (@arizeai/openinference-instrumentation-langchain 4.1 over
// @langchain/openai 1.5, as QA29 captured its export): the chat model's LLM span names no provider but in LangChain's
// run `metadata` JSON (`ls_provider`), and a failed call keeps only the error's message, which the provider SDK leads
// with the HTTP status (`429 Rate limit reached…`; the Python SDKs: `Error code: 429 - {…}`). Such calls were
// recorded with provider `unknown`, and every failure as upstream_error 500.
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { LlmCall } from '../calls/index.js';
import { decodeJson } from './json.js';
import { OtlpReceiver } from './receiver.js';

const str = (key: string, v: string) => ({ key, value: { stringValue: v } });
const int = (key: string, v: number) => ({ key, value: { intValue: v } });

const META = JSON.stringify({
  ls_provider: 'openai',
  ls_model_name: 'gpt-4o-mini',
  ls_model_type: 'chat',
  ls_integration: 'langchain_chat_model',
  versions: { '@langchain/core': '1.4.0', '@langchain/openai': '1.5.8' },
});
const llmSpan = [
  str('openinference.span.kind', 'LLM'),
  str('llm.invocation_parameters', '{"model":"gpt-4o-mini","stream":false}'),
  str('llm.model_name', 'gpt-4o-mini'),
  str('metadata', META),
];

async function callsOf(spans: { attributes: unknown[]; status?: unknown; events?: unknown[] }[]): Promise<LlmCall[]> {
  const calls: LlmCall[] = [];
  const r = new OtlpReceiver({
    recorder: { record: (c: LlmCall) => void calls.push(c) },
    store: { knownIds: async () => new Set() },
    registry: new Registry(),
    bodyLimit: 16 << 20,
  });
  await r.accept(
    decodeJson({
      resourceSpans: [
        {
          scopeSpans: [
            {
              spans: spans.map((s, i) => ({
                traceId: `7c1a3f2c9d8e7f6a5b4c3d2e1f0a9b8${i}`,
                spanId: `222222222222222${i}`,
                name: 'ChatOpenAI',
                kind: 1,
                startTimeUnixNano: '1760000000000000000',
                endTimeUnixNano: '1760000000500000000',
                ...s,
              })),
            },
          ],
        },
      ],
    }),
  );
  return calls;
}

describe("OpenInference's LangChain spans", () => {
  it("the provider from LangChain's ls_provider metadata", async () => {
    const [call] = await callsOf([
      {
        attributes: [
          ...llmSpan,
          int('llm.token_count.prompt', 11),
          int('llm.token_count.completion', 20),
          str('llm.finish_reason', 'stop'),
        ],
        status: { code: 1 },
      },
    ]);
    expect(call).toMatchObject({ provider: 'openai', model: 'gpt-4o-mini', inputTokens: 11, status: 'ok' });
  });

  it("a failure's status from the SDK's message when the span names no error class", async () => {
    const message =
      '429 Rate limit reached for gpt-4o-mini in organization org-x on requests per min (RPM): Limit 500, Used 500, Requested 1.\n\nTroubleshooting URL: https://docs.langchain.com/oss/javascript/langchain/errors/MODEL_RATE_LIMIT/\n';
    const calls = await callsOf([
      {
        attributes: llmSpan,
        status: { code: 2, message },
        events: [
          { name: 'exception', timeUnixNano: '1760000000400000000', attributes: [str('exception.message', message)] },
        ],
      },
      // the Python SDKs' form, in the exception event alone
      {
        attributes: llmSpan,
        status: { code: 2 },
        events: [
          {
            name: 'exception',
            timeUnixNano: '1760000000400000000',
            attributes: [str('exception.message', "Error code: 400 - {'error': {'message': 'bad'}}")],
          },
        ],
      },
      // a message that leads with no status stays 500
      { attributes: llmSpan, status: { code: 2, message: 'socket hang up' } },
    ]);
    expect(calls.map((c) => [c.status, c.httpStatus])).toEqual([
      ['rate_limited', 429],
      ['client_error', 400],
      ['upstream_error', 500],
    ]);
  });
});
