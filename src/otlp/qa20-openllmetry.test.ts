// OpenLLMetry (traceloop's Python instrumentations) shapes the receiver mapped wrongly, as its sources emit them:
// - opentelemetry-instrumentation-google-generativeai: span `gemini.generate_content` with gen_ai.system `Google` and
//   llm.request.type `completion` was recorded on the `completions` endpoint; a Gemini call is `generate_content`, as
//   the gateway and the GenAI conventions' spans record it;
// - opentelemetry-instrumentation-cohere's rerank (`cohere.rerank`, llm.request.type `rerank`): a search billed per
//   search unit, no tokens, was recorded as a chat.completions call; a trace span now, as the AI SDK's doRerank and
//   OpenInference's RERANKER spans are.
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { LlmCall } from '../calls/index.js';
import { decodeJson } from './json.js';
import { OtlpReceiver } from './receiver.js';

const str = (key: string, v: string) => ({ key, value: { stringValue: v } });
const int = (key: string, v: number) => ({ key, value: { intValue: v } });
const TRACE = '7c1a3f2c9d8e7f6a5b4c3d2e1f0a9b8c';

function exportOf(spans: { spanId: string; name: string; attributes: unknown[]; parentSpanId?: string }[]) {
  return {
    resourceSpans: [
      {
        resource: { attributes: [str('service.name', 'rag')] },
        scopeSpans: [
          {
            scope: { name: 'opentelemetry.instrumentation.x', version: '0.47.0' },
            spans: spans.map((s, i) => ({
              traceId: TRACE,
              kind: 3,
              startTimeUnixNano: `${1_760_000_000_000 + i}000000`,
              endTimeUnixNano: `${1_760_000_000_900 + i}000000`,
              ...s,
            })),
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

describe('OpenLLMetry spans', () => {
  it('a Gemini call (gen_ai.system Google, llm.request.type completion) is a generate_content call', async () => {
    const { calls } = await accept(
      exportOf([
        {
          spanId: '1111111111111111',
          name: 'gemini.generate_content',
          attributes: [
            str('gen_ai.system', 'Google'),
            str('llm.request.type', 'completion'),
            str('gen_ai.request.model', 'gemini-2.0-flash'),
            str('gen_ai.response.model', 'gemini-2.0-flash'),
            int('gen_ai.usage.input_tokens', 8),
            int('gen_ai.usage.output_tokens', 20),
            int('llm.usage.total_tokens', 28),
          ],
        },
      ]),
    );
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({
      provider: 'google',
      model: 'gemini-2.0-flash',
      endpoint: 'generate_content',
      inputTokens: 8,
      outputTokens: 20,
    });
  });

  it('an OpenAI legacy completion (llm.request.type completion) stays a completions call', async () => {
    const { calls } = await accept(
      exportOf([
        {
          spanId: '3333333333333333',
          name: 'openai.completion',
          attributes: [
            str('gen_ai.system', 'openai'),
            str('llm.request.type', 'completion'),
            str('gen_ai.request.model', 'gpt-3.5-turbo-instruct'),
            int('gen_ai.usage.prompt_tokens', 5),
            int('gen_ai.usage.completion_tokens', 7),
          ],
        },
      ]),
    );
    expect(calls[0]).toMatchObject({ endpoint: 'completions', inputTokens: 5, outputTokens: 7 });
  });

  it("a Cohere rerank is kept with its trace, not counted as a chat call; the trace's chat call is", async () => {
    const { calls, counts } = await accept(
      exportOf([
        {
          spanId: '2222222222222222',
          parentSpanId: 'aaaaaaaaaaaaaaaa',
          name: 'cohere.rerank',
          attributes: [
            str('gen_ai.system', 'Cohere'),
            str('llm.request.type', 'rerank'),
            str('gen_ai.request.model', 'rerank-english-v3.0'),
          ],
        },
        {
          spanId: '4444444444444444',
          parentSpanId: 'aaaaaaaaaaaaaaaa',
          name: 'openai.chat',
          attributes: [
            str('gen_ai.system', 'openai'),
            str('llm.request.type', 'chat'),
            str('gen_ai.request.model', 'gpt-4o-mini'),
            int('gen_ai.usage.prompt_tokens', 50),
            int('gen_ai.usage.completion_tokens', 9),
          ],
        },
      ]),
    );
    expect(counts.call).toBe(1);
    expect(calls.map((c) => [c.model, c.endpoint])).toEqual([['gpt-4o-mini', 'chat.completions']]);
    expect(calls[0]?.spans.map((s) => s.name).sort()).toEqual(['cohere.rerank', 'openai.chat']);
  });

  it('a rerank named in gen_ai.operation.name (OpenLLMetry 0.5 moved llm.request.type there) is a trace span too', async () => {
    const { counts } = await accept(
      exportOf([
        {
          spanId: '5555555555555555',
          name: 'cohere.rerank',
          attributes: [
            str('gen_ai.provider.name', 'cohere'),
            str('gen_ai.operation.name', 'rerank'),
            str('gen_ai.request.model', 'rerank-v3.5'),
          ],
        },
      ]),
    );
    expect(counts.call).toBe(0);
  });
});
