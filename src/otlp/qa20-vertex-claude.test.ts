// Claude on Vertex AI is Anthropic's Messages API (the gateway records it on /v1/messages, endpoint `messages`), but a
// span naming a Google provider was always taken as Gemini's generateContent: the AI SDK's `vertex.anthropic.messages`
// provider (@ai-sdk/google-vertex/anthropic) and GenAI spans with gen_ai.provider.name gcp.vertex_ai and a Claude
// model were recorded with endpoint `generate_content`. Gemini on Vertex stays generate_content.
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { LlmCall } from '../calls/index.js';
import { decodeJson } from './json.js';
import { OtlpReceiver } from './receiver.js';

const str = (key: string, v: string) => ({ key, value: { stringValue: v } });
const int = (key: string, v: number) => ({ key, value: { intValue: v } });

async function callsOf(spans: { attributes: unknown[] }[]): Promise<LlmCall[]> {
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
                traceId: `9c1a3f2c9d8e7f6a5b4c3d2e1f0a9b8${i}`,
                spanId: `111111111111111${i}`,
                name: 'call',
                kind: 3,
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

describe('Claude on Vertex AI over OTLP', () => {
  it('the AI SDK, GenAI spans with a Claude model: messages; Gemini on Vertex: generate_content', async () => {
    const calls = await callsOf([
      {
        attributes: [
          str('ai.operationId', 'ai.generateText.doGenerate'),
          str('ai.model.provider', 'vertex.anthropic.messages'),
          str('ai.model.id', 'claude-sonnet-4-5@20250929'),
          int('ai.usage.inputTokens', 30),
          int('ai.usage.outputTokens', 5),
        ],
      },
      {
        attributes: [
          str('gen_ai.operation.name', 'chat'),
          str('gen_ai.provider.name', 'gcp.vertex_ai'),
          str('gen_ai.request.model', 'claude-3-5-haiku@20241022'),
          int('gen_ai.usage.input_tokens', 30),
          int('gen_ai.usage.output_tokens', 5),
        ],
      },
      {
        attributes: [
          str('gen_ai.operation.name', 'chat'),
          str('gen_ai.provider.name', 'gcp.vertex_ai'),
          str('gen_ai.request.model', 'gemini-2.5-flash'),
          int('gen_ai.usage.input_tokens', 30),
          int('gen_ai.usage.output_tokens', 5),
        ],
      },
    ]);
    expect(calls.map((c) => [c.model, c.endpoint])).toEqual([
      ['claude-sonnet-4-5@20250929', 'messages'],
      ['claude-3-5-haiku@20241022', 'messages'],
      ['gemini-2.5-flash', 'generate_content'],
    ]);
  });
});
